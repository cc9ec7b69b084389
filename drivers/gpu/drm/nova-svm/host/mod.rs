// SPDX-License-Identifier: GPL-2.0

//! The channel (host) class: GPFIFO entries, host methods, USERD and the usermode doorbell.
//!
//! A channel fetches work from a ring of GP entries (the GPFIFO). Each entry points at a
//! segment of push buffer in the channel's GPU virtual address space; the segment is a
//! stream of method headers ([`crate::ce::header`]) and data. Methods below
//! [`crate::ce::header::HOST_METHOD_LIMIT`] are executed by the host itself (semaphores,
//! TLB invalidates, interrupts), the rest go to the engine object bound to the subchannel.
//! Software writes GP entries, advances `GPPut` in the channel's USERD page, and writes the
//! channel's work-submit token to the usermode doorbell; the host advances `GPGet` as it
//! consumes entries.
//!
//! The numbers come from `clc36f.h` (VOLTA_CHANNEL_GPFIFO_A), whose host methods, GP entry
//! format and USERD layout Turing (`clc46f.h`), Ampere (`clc56f.h`), Hopper (`clc86f.h`)
//! and Blackwell (`clc96f.h`) keep, and from `clc361.h` (VOLTA_USERMODE_A), all in
//! NVIDIA/open-gpu-kernel-modules. `firmware-notes/chips.md` lists the class of each chip.
//!
//! This module depends on `core` only, so that the host crate `nova-svm-host` can compile and
//! test it.

use crate::ce::field::Field;

/// Channel (GPFIFO) classes, one per generation.
pub(crate) mod class {
    /// `VOLTA_CHANNEL_GPFIFO_A`.
    pub(crate) const VOLTA_CHANNEL_GPFIFO_A: u32 = 0xc36f;
    /// `TURING_CHANNEL_GPFIFO_A`.
    pub(crate) const TURING_CHANNEL_GPFIFO_A: u32 = 0xc46f;
    /// `AMPERE_CHANNEL_GPFIFO_A`.
    pub(crate) const AMPERE_CHANNEL_GPFIFO_A: u32 = 0xc56f;
    /// `HOPPER_CHANNEL_GPFIFO_A`.
    pub(crate) const HOPPER_CHANNEL_GPFIFO_A: u32 = 0xc86f;
    /// `BLACKWELL_CHANNEL_GPFIFO_A`.
    pub(crate) const BLACKWELL_CHANNEL_GPFIFO_A: u32 = 0xc96f;
    /// `BLACKWELL_CHANNEL_GPFIFO_B`.
    pub(crate) const BLACKWELL_CHANNEL_GPFIFO_B: u32 = 0xca6f;
}

/// GPFIFO entries (`NVC36F_GP_ENTRY*`).
pub(crate) mod gp {
    use super::Field;

    /// `NVC36F_GP_ENTRY__SIZE`: bytes of one entry.
    pub(crate) const ENTRY_SIZE: usize = 8;
    /// `NVC36F_GP_ENTRY0_FETCH`.
    pub(crate) const ENTRY0_FETCH: Field = Field::bit(0);
    /// `NVC36F_GP_ENTRY0_FETCH_UNCONDITIONAL`.
    pub(crate) const FETCH_UNCONDITIONAL: u32 = 0;
    /// `NVC36F_GP_ENTRY0_FETCH_CONDITIONAL`.
    pub(crate) const FETCH_CONDITIONAL: u32 = 1;
    /// `NVC36F_GP_ENTRY0_GET`: bits 31:2 of the segment's address.
    pub(crate) const ENTRY0_GET: Field = Field::new(31, 2);
    /// `NVC36F_GP_ENTRY0_OPERAND`: the operand of a control entry.
    pub(crate) const ENTRY0_OPERAND: Field = Field::new(31, 0);
    /// `NVC36F_GP_ENTRY1_GET_HI`: bits 39:32 of the segment's address.
    pub(crate) const ENTRY1_GET_HI: Field = Field::new(7, 0);
    /// `NVC36F_GP_ENTRY1_PRIV`.
    pub(crate) const ENTRY1_PRIV: Field = Field::bit(8);
    /// `NVC36F_GP_ENTRY1_PRIV_USER`.
    pub(crate) const PRIV_USER: u32 = 0;
    /// `NVC36F_GP_ENTRY1_PRIV_KERNEL`.
    pub(crate) const PRIV_KERNEL: u32 = 1;
    /// `NVC36F_GP_ENTRY1_LEVEL`.
    pub(crate) const ENTRY1_LEVEL: Field = Field::bit(9);
    /// `NVC36F_GP_ENTRY1_LEVEL_MAIN`.
    pub(crate) const LEVEL_MAIN: u32 = 0;
    /// `NVC36F_GP_ENTRY1_LEVEL_SUBROUTINE`.
    pub(crate) const LEVEL_SUBROUTINE: u32 = 1;
    /// `NVC36F_GP_ENTRY1_LENGTH`: dwords of the segment; zero makes a control entry.
    pub(crate) const ENTRY1_LENGTH: Field = Field::new(30, 10);
    /// `NVC36F_GP_ENTRY1_SYNC`.
    pub(crate) const ENTRY1_SYNC: Field = Field::bit(31);
    /// `NVC36F_GP_ENTRY1_SYNC_PROCEED`.
    pub(crate) const SYNC_PROCEED: u32 = 0;
    /// `NVC36F_GP_ENTRY1_SYNC_WAIT`: wait for the previous segments' methods to complete.
    pub(crate) const SYNC_WAIT: u32 = 1;
    /// `NVC36F_GP_ENTRY1_OPCODE`: the operation of a control entry (`LENGTH` zero).
    pub(crate) const ENTRY1_OPCODE: Field = Field::new(7, 0);
    /// `NVC36F_GP_ENTRY1_OPCODE_NOP`.
    pub(crate) const OPCODE_NOP: u32 = 0;
    /// `NVC36F_GP_ENTRY1_OPCODE_ILLEGAL`.
    pub(crate) const OPCODE_ILLEGAL: u32 = 1;
    /// `NVC36F_GP_ENTRY1_OPCODE_GP_CRC`.
    pub(crate) const OPCODE_GP_CRC: u32 = 2;
    /// `NVC36F_GP_ENTRY1_OPCODE_PB_CRC`.
    pub(crate) const OPCODE_PB_CRC: u32 = 3;
    /// Bits of a GPU virtual address that an entry can hold: `GET` and `GET_HI`.
    pub(crate) const ADDRESS_BITS: u32 = 40;
}

/// A GP entry that points at a push-buffer segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    /// GPU virtual address of the segment, dword aligned and below 2^40.
    pub(crate) va: u64,
    /// Length of the segment in dwords, at least one.
    pub(crate) dwords: u32,
    /// `SYNC_WAIT`: the host waits for the methods before it to complete.
    pub(crate) sync: bool,
}

/// A decoded GP entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GpEntry {
    /// A push-buffer segment of the main level, fetched unconditionally.
    Segment(Segment),
    /// A control entry (`LENGTH` zero) with `OPCODE_NOP`.
    Nop,
}

/// Why a GP entry is not one the host accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BadGpEntry {
    /// `FETCH_CONDITIONAL`, which this host does not implement.
    Conditional,
    /// `LEVEL_SUBROUTINE`, which this host does not implement.
    Subroutine,
    /// A control entry whose opcode is not `NOP`.
    Opcode(u32),
    /// A control entry with bits outside `OPCODE`, `LENGTH` and `SYNC` set.
    ControlBits,
}

impl Segment {
    /// Returns the two dwords of a GP entry for the segment, or `None` when the address is
    /// not dword aligned, does not fit [`gp::ADDRESS_BITS`], or the length is zero or too
    /// long for `LENGTH`. `PRIV` is `KERNEL` for `kernel`.
    pub(crate) fn encode(&self, kernel: bool) -> Option<[u32; 2]> {
        if self.va % 4 != 0
            || self.va >> gp::ADDRESS_BITS != 0
            || self.dwords == 0
            || !gp::ENTRY1_LENGTH.fits(self.dwords)
        {
            return None;
        }
        // CAST: bits 31:2 of the address, and bits 39:32 below.
        let lo = (self.va as u32) >> 2;
        // CAST: the address is below 2^40, so the shift leaves 8 bits.
        let hi = (self.va >> 32) as u32;
        let e0 = gp::ENTRY0_FETCH.val(gp::FETCH_UNCONDITIONAL) | gp::ENTRY0_GET.val(lo);
        let e1 = gp::ENTRY1_GET_HI.val(hi)
            | gp::ENTRY1_PRIV.val(if kernel {
                gp::PRIV_KERNEL
            } else {
                gp::PRIV_USER
            })
            | gp::ENTRY1_LEVEL.val(gp::LEVEL_MAIN)
            | gp::ENTRY1_LENGTH.val(self.dwords)
            | gp::ENTRY1_SYNC.val(if self.sync {
                gp::SYNC_WAIT
            } else {
                gp::SYNC_PROCEED
            });
        Some([e0, e1])
    }
}

impl GpEntry {
    /// Decodes the two dwords of a GP entry.
    pub(crate) fn decode(e: [u32; 2]) -> Result<GpEntry, BadGpEntry> {
        let [e0, e1] = e;
        let dwords = gp::ENTRY1_LENGTH.get(e1);
        if dwords == 0 {
            let opcode = gp::ENTRY1_OPCODE.get(e1);
            if opcode != gp::OPCODE_NOP {
                return Err(BadGpEntry::Opcode(opcode));
            }
            let known =
                gp::ENTRY1_OPCODE.mask() | gp::ENTRY1_LENGTH.mask() | gp::ENTRY1_SYNC.mask();
            if e1 & !known != 0 {
                return Err(BadGpEntry::ControlBits);
            }
            // The operand of a NOP means nothing.
            return Ok(GpEntry::Nop);
        }
        if gp::ENTRY0_FETCH.get(e0) == gp::FETCH_CONDITIONAL {
            return Err(BadGpEntry::Conditional);
        }
        if gp::ENTRY1_LEVEL.get(e1) == gp::LEVEL_SUBROUTINE {
            return Err(BadGpEntry::Subroutine);
        }
        let va =
            (u64::from(gp::ENTRY1_GET_HI.get(e1)) << 32) | u64::from(gp::ENTRY0_GET.get(e0) << 2);
        Ok(GpEntry::Segment(Segment {
            va,
            dwords,
            sync: gp::ENTRY1_SYNC.get(e1) == gp::SYNC_WAIT,
        }))
    }
}

/// Host methods (`NVC36F_*`): offsets and fields.
pub(crate) mod mthd {
    use super::Field;

    /// `NVC36F_SET_OBJECT`.
    pub(crate) const SET_OBJECT: u32 = 0x0000;
    /// `NVC36F_ILLEGAL`.
    pub(crate) const ILLEGAL: u32 = 0x0004;
    /// `NVC36F_NOP`.
    pub(crate) const NOP: u32 = 0x0008;
    /// `NVC36F_NON_STALL_INTERRUPT`: raises the channel's non-stall interrupt.
    pub(crate) const NON_STALL_INTERRUPT: u32 = 0x0020;
    /// `NVC36F_MEM_OP_A`.
    pub(crate) const MEM_OP_A: u32 = 0x0028;
    /// `NVC36F_MEM_OP_B`.
    pub(crate) const MEM_OP_B: u32 = 0x002c;
    /// `NVC36F_MEM_OP_C`.
    pub(crate) const MEM_OP_C: u32 = 0x0030;
    /// `NVC36F_MEM_OP_D`: runs the memory operation that `MEM_OP_A` to `C` describe.
    pub(crate) const MEM_OP_D: u32 = 0x0034;
    /// `NVC36F_SET_REFERENCE`.
    pub(crate) const SET_REFERENCE: u32 = 0x0050;
    /// `NVC36F_SEM_ADDR_LO`.
    pub(crate) const SEM_ADDR_LO: u32 = 0x005c;
    /// `NVC36F_SEM_ADDR_HI`.
    pub(crate) const SEM_ADDR_HI: u32 = 0x0060;
    /// `NVC36F_SEM_PAYLOAD_LO`.
    pub(crate) const SEM_PAYLOAD_LO: u32 = 0x0064;
    /// `NVC36F_SEM_PAYLOAD_HI`.
    pub(crate) const SEM_PAYLOAD_HI: u32 = 0x0068;
    /// `NVC36F_SEM_EXECUTE`: acquires or releases the semaphore the `SEM_*` methods
    /// describe.
    pub(crate) const SEM_EXECUTE: u32 = 0x006c;
    /// `NVC36F_WFI`: waits until the engines of the channel are idle.
    pub(crate) const WFI: u32 = 0x0078;

    /// `NVC36F_SEM_ADDR_LO_OFFSET`: bits 31:2 of the semaphore's address.
    pub(crate) const SEM_ADDR_LO_OFFSET: Field = Field::new(31, 2);
    /// `NVC36F_SEM_ADDR_HI_OFFSET`: bits 39:32 of the semaphore's address.
    pub(crate) const SEM_ADDR_HI_OFFSET: Field = Field::new(7, 0);
    /// Bits of a semaphore's GPU virtual address.
    pub(crate) const SEM_ADDRESS_BITS: u32 = 40;

    /// `NVC36F_SEM_EXECUTE_OPERATION`.
    pub(crate) const SEM_EXECUTE_OPERATION: Field = Field::new(2, 0);
    /// `NVC36F_SEM_EXECUTE_ACQUIRE_SWITCH_TSG`.
    pub(crate) const SEM_EXECUTE_ACQUIRE_SWITCH_TSG: Field = Field::bit(12);
    /// `NVC36F_SEM_EXECUTE_RELEASE_WFI`.
    pub(crate) const SEM_EXECUTE_RELEASE_WFI: Field = Field::bit(20);
    /// `NVC36F_SEM_EXECUTE_PAYLOAD_SIZE`.
    pub(crate) const SEM_EXECUTE_PAYLOAD_SIZE: Field = Field::bit(24);
    /// `NVC36F_SEM_EXECUTE_RELEASE_TIMESTAMP`.
    pub(crate) const SEM_EXECUTE_RELEASE_TIMESTAMP: Field = Field::bit(25);
    /// `NVC36F_SEM_EXECUTE_REDUCTION`.
    pub(crate) const SEM_EXECUTE_REDUCTION: Field = Field::new(30, 27);
    /// `NVC36F_SEM_EXECUTE_REDUCTION_FORMAT`.
    pub(crate) const SEM_EXECUTE_REDUCTION_FORMAT: Field = Field::bit(31);

    /// Values of `NVC36F_SEM_EXECUTE_OPERATION`.
    pub(crate) mod sem_op {
        /// `ACQUIRE`: wait until the semaphore equals the payload.
        pub(crate) const ACQUIRE: u32 = 0;
        /// `RELEASE`: write the payload.
        pub(crate) const RELEASE: u32 = 1;
        /// `ACQ_STRICT_GEQ`: wait until the semaphore is at least the payload.
        pub(crate) const ACQ_STRICT_GEQ: u32 = 2;
        /// `ACQ_CIRC_GEQ`: as `ACQ_STRICT_GEQ`, in wrapping arithmetic.
        pub(crate) const ACQ_CIRC_GEQ: u32 = 3;
        /// `ACQ_AND`: wait until the semaphore and the payload share a set bit.
        pub(crate) const ACQ_AND: u32 = 4;
        /// `ACQ_NOR`: wait until the semaphore and the payload share no set bit.
        pub(crate) const ACQ_NOR: u32 = 5;
        /// `REDUCTION`.
        pub(crate) const REDUCTION: u32 = 6;
    }

    /// `NVC36F_SEM_EXECUTE_RELEASE_WFI_EN`.
    pub(crate) const RELEASE_WFI_EN: u32 = 1;
    /// `NVC36F_SEM_EXECUTE_PAYLOAD_SIZE_32BIT`.
    pub(crate) const PAYLOAD_SIZE_32BIT: u32 = 0;
    /// `NVC36F_SEM_EXECUTE_PAYLOAD_SIZE_64BIT`.
    pub(crate) const PAYLOAD_SIZE_64BIT: u32 = 1;

    /// `NVC36F_MEM_OP_A_TLB_INVALIDATE_INVALIDATION_SIZE`.
    pub(crate) const MEM_OP_A_INVALIDATION_SIZE: Field = Field::new(5, 0);
    /// `NVC36F_MEM_OP_A_TLB_INVALIDATE_SYSMEMBAR`.
    pub(crate) const MEM_OP_A_SYSMEMBAR: Field = Field::bit(11);
    /// `NVC36F_MEM_OP_A_TLB_INVALIDATE_TARGET_ADDR_LO`: bits 31:12 of a targeted
    /// invalidate's address.
    pub(crate) const MEM_OP_A_TARGET_ADDR_LO: Field = Field::new(31, 12);
    /// `NVC36F_MEM_OP_B_TLB_INVALIDATE_TARGET_ADDR_HI`.
    pub(crate) const MEM_OP_B_TARGET_ADDR_HI: Field = Field::new(31, 0);
    /// `NVC36F_MEM_OP_C_TLB_INVALIDATE_PDB`.
    pub(crate) const MEM_OP_C_PDB: Field = Field::bit(0);
    /// `NVC36F_MEM_OP_C_TLB_INVALIDATE_PDB_ONE`.
    pub(crate) const PDB_ONE: u32 = 0;
    /// `NVC36F_MEM_OP_C_TLB_INVALIDATE_PDB_ALL`.
    pub(crate) const PDB_ALL: u32 = 1;
    /// `NVC36F_MEM_OP_C_TLB_INVALIDATE_GPC`.
    pub(crate) const MEM_OP_C_GPC: Field = Field::bit(1);
    /// `NVC36F_MEM_OP_C_TLB_INVALIDATE_REPLAY`.
    pub(crate) const MEM_OP_C_REPLAY: Field = Field::new(4, 2);
    /// `NVC36F_MEM_OP_C_TLB_INVALIDATE_ACK_TYPE`.
    pub(crate) const MEM_OP_C_ACK_TYPE: Field = Field::new(6, 5);
    /// `NVC36F_MEM_OP_C_TLB_INVALIDATE_ACK_TYPE_GLOBALLY`.
    pub(crate) const ACK_TYPE_GLOBALLY: u32 = 1;
    /// `NVC36F_MEM_OP_C_TLB_INVALIDATE_PAGE_TABLE_LEVEL`.
    pub(crate) const MEM_OP_C_PAGE_TABLE_LEVEL: Field = Field::new(9, 7);
    /// `NVC36F_MEM_OP_C_TLB_INVALIDATE_PAGE_TABLE_LEVEL_ALL`.
    pub(crate) const PAGE_TABLE_LEVEL_ALL: u32 = 0;
    /// `NVC36F_MEM_OP_C_TLB_INVALIDATE_PDB_APERTURE`.
    pub(crate) const MEM_OP_C_PDB_APERTURE: Field = Field::new(11, 10);
    /// `NVC36F_MEM_OP_C_TLB_INVALIDATE_PDB_APERTURE_VID_MEM`.
    pub(crate) const PDB_APERTURE_VID_MEM: u32 = 0;
    /// `NVC36F_MEM_OP_C_TLB_INVALIDATE_PDB_APERTURE_SYS_MEM_COHERENT`.
    pub(crate) const PDB_APERTURE_SYS_MEM_COHERENT: u32 = 2;
    /// `NVC36F_MEM_OP_C_TLB_INVALIDATE_PDB_APERTURE_SYS_MEM_NONCOHERENT`.
    pub(crate) const PDB_APERTURE_SYS_MEM_NONCOHERENT: u32 = 3;
    /// `NVC36F_MEM_OP_C_TLB_INVALIDATE_PDB_ADDR_LO`: bits 31:12 of the page directory base.
    pub(crate) const MEM_OP_C_PDB_ADDR_LO: Field = Field::new(31, 12);
    /// `NVC36F_MEM_OP_D_TLB_INVALIDATE_PDB_ADDR_HI`: bits 58:32 of the page directory base.
    pub(crate) const MEM_OP_D_PDB_ADDR_HI: Field = Field::new(26, 0);
    /// `NVC36F_MEM_OP_D_OPERATION`.
    pub(crate) const MEM_OP_D_OPERATION: Field = Field::new(31, 27);
    /// `NVC36F_MEM_OP_D_OPERATION_MEMBAR`.
    pub(crate) const OPERATION_MEMBAR: u32 = 0x05;
    /// `NVC36F_MEM_OP_D_OPERATION_MMU_TLB_INVALIDATE`.
    pub(crate) const OPERATION_MMU_TLB_INVALIDATE: u32 = 0x09;
    /// `NVC36F_MEM_OP_D_OPERATION_MMU_TLB_INVALIDATE_TARGETED`.
    pub(crate) const OPERATION_MMU_TLB_INVALIDATE_TARGETED: u32 = 0x0a;

    /// `NVC36F_WFI_SCOPE`.
    pub(crate) const WFI_SCOPE: Field = Field::bit(0);
}

/// USERD, the channel's control page (`Nvc36fControl`): byte offsets of its registers.
pub(crate) mod userd {
    /// `Put`: the push-buffer put offset of the old DMA mode, unused with a GPFIFO.
    pub(crate) const PUT: usize = 0x40;
    /// `Get`: the host's push-buffer get offset.
    pub(crate) const GET: usize = 0x44;
    /// `Reference`: the value of the last `SET_REFERENCE`.
    pub(crate) const REFERENCE: usize = 0x48;
    /// `TopLevelGet`.
    pub(crate) const TOP_LEVEL_GET: usize = 0x58;
    /// `GPGet`: the index of the next GP entry the host fetches.
    pub(crate) const GP_GET: usize = 0x88;
    /// `GPPut`: one past the index of the last GP entry software wrote.
    pub(crate) const GP_PUT: usize = 0x8c;
    /// Bytes of the structure: `Ignored05[0x5c]` ends it at 0x200.
    pub(crate) const SIZE: usize = 0x200;
}

/// The usermode region (`VOLTA_USERMODE_A`, `clc361.h`), where the doorbell is.
pub(crate) mod usermode {
    /// `VOLTA_USERMODE_A`.
    pub(crate) const VOLTA_USERMODE_A: u32 = 0xc361;
    /// `TURING_USERMODE_A`.
    pub(crate) const TURING_USERMODE_A: u32 = 0xc461;
    /// `AMPERE_USERMODE_A`.
    pub(crate) const AMPERE_USERMODE_A: u32 = 0xc561;
    /// `HOPPER_USERMODE_A`.
    pub(crate) const HOPPER_USERMODE_A: u32 = 0xc661;
    /// `BLACKWELL_USERMODE_A`.
    pub(crate) const BLACKWELL_USERMODE_A: u32 = 0xc761;
    /// `NVC361_NOTIFY_CHANNEL_PENDING`: writing a channel's work-submit token here makes
    /// the host look at its `GPPut`.
    pub(crate) const NOTIFY_CHANNEL_PENDING: u32 = 0x90;
}
