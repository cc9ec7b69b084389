// SPDX-License-Identifier: GPL-2.0

//! The channel class (`crate::host`) against NVIDIA's headers.
//!
//! Every expected number was transcribed from `src/common/sdk/nvidia/inc/class/clc36f.h`
//! (VOLTA_CHANNEL_GPFIFO_A: host methods, the GP entry format, `Nvc36fControl`) and
//! `clc361.h` (VOLTA_USERMODE_A) of NVIDIA/open-gpu-kernel-modules, and, for the class
//! numbers, from nouveau's `include/nvif/class.h`. Fields are `(hi, lo)` as the headers write
//! `hi:lo`.

use crate::ce::field::Field;
use crate::host::{class, gp, mthd, userd, usermode, BadGpEntry, GpEntry, Segment};

/// Asserts that `f` is the header's `hi:lo`.
fn is(f: Field, hi: u32, lo: u32, name: &str) {
    assert_eq!((f.hi(), f.lo()), (hi, lo), "{name}");
}

#[test]
fn class_numbers() {
    // nouveau include/nvif/class.h.
    assert_eq!(class::VOLTA_CHANNEL_GPFIFO_A, 0x0000_c36f);
    assert_eq!(class::TURING_CHANNEL_GPFIFO_A, 0x0000_c46f);
    assert_eq!(class::AMPERE_CHANNEL_GPFIFO_A, 0x0000_c56f);
    assert_eq!(class::HOPPER_CHANNEL_GPFIFO_A, 0x0000_c86f);
    assert_eq!(class::BLACKWELL_CHANNEL_GPFIFO_A, 0x0000_c96f);
    assert_eq!(class::BLACKWELL_CHANNEL_GPFIFO_B, 0x0000_ca6f);
    assert_eq!(usermode::VOLTA_USERMODE_A, 0x0000_c361);
    assert_eq!(usermode::TURING_USERMODE_A, 0x0000_c461);
    assert_eq!(usermode::AMPERE_USERMODE_A, 0x0000_c561);
    assert_eq!(usermode::HOPPER_USERMODE_A, 0x0000_c661);
    assert_eq!(usermode::BLACKWELL_USERMODE_A, 0x0000_c761);
}

#[test]
fn gp_entry_fields() {
    assert_eq!(gp::ENTRY_SIZE, 8, "NVC36F_GP_ENTRY__SIZE");
    is(gp::ENTRY0_FETCH, 0, 0, "GP_ENTRY0_FETCH");
    assert_eq!(gp::FETCH_UNCONDITIONAL, 0x0);
    assert_eq!(gp::FETCH_CONDITIONAL, 0x1);
    is(gp::ENTRY0_GET, 31, 2, "GP_ENTRY0_GET");
    is(gp::ENTRY0_OPERAND, 31, 0, "GP_ENTRY0_OPERAND");
    is(gp::ENTRY1_GET_HI, 7, 0, "GP_ENTRY1_GET_HI");
    is(gp::ENTRY1_PRIV, 8, 8, "GP_ENTRY1_PRIV");
    assert_eq!(gp::PRIV_USER, 0x0);
    assert_eq!(gp::PRIV_KERNEL, 0x1);
    is(gp::ENTRY1_LEVEL, 9, 9, "GP_ENTRY1_LEVEL");
    assert_eq!(gp::LEVEL_MAIN, 0x0);
    assert_eq!(gp::LEVEL_SUBROUTINE, 0x1);
    is(gp::ENTRY1_LENGTH, 30, 10, "GP_ENTRY1_LENGTH");
    is(gp::ENTRY1_SYNC, 31, 31, "GP_ENTRY1_SYNC");
    assert_eq!(gp::SYNC_PROCEED, 0x0);
    assert_eq!(gp::SYNC_WAIT, 0x1);
    is(gp::ENTRY1_OPCODE, 7, 0, "GP_ENTRY1_OPCODE");
    assert_eq!(gp::OPCODE_NOP, 0x0);
    assert_eq!(gp::OPCODE_ILLEGAL, 0x1);
    assert_eq!(gp::OPCODE_GP_CRC, 0x2);
    assert_eq!(gp::OPCODE_PB_CRC, 0x3);
    // GET (31:2) and GET_HI (7:0) hold bits 39:2 of the address.
    assert_eq!(gp::ADDRESS_BITS, 40);
}

#[test]
fn gp_entry_encode_words() {
    // A kernel segment of 0x21 dwords at 0x12_3456_7890, waiting for the previous ones:
    // ENTRY0 = GET (0x3456_7890 >> 2) << 2 | FETCH_UNCONDITIONAL;
    // ENTRY1 = SYNC_WAIT << 31 | 0x21 << 10 | LEVEL_MAIN << 9 | PRIV_KERNEL << 8 | 0x12.
    let s = Segment {
        va: 0x12_3456_7890,
        dwords: 0x21,
        sync: true,
    };
    assert_eq!(
        s.encode(true),
        Some([0x3456_7890, (1 << 31) | (0x21 << 10) | (1 << 8) | 0x12])
    );
    // The same for a user channel without SYNC_WAIT.
    let s = Segment { sync: false, ..s };
    assert_eq!(s.encode(false), Some([0x3456_7890, (0x21 << 10) | 0x12]));
    // The longest segment LENGTH takes: 2^21 - 1 dwords.
    let s = Segment {
        va: 0xff_ffff_fffc,
        dwords: (1 << 21) - 1,
        sync: false,
    };
    assert_eq!(
        s.encode(false),
        Some([0xffff_fffc, (0x1f_ffff << 10) | 0xff])
    );
}

#[test]
fn gp_entry_encode_refuses() {
    let ok = Segment {
        va: 0x1000,
        dwords: 1,
        sync: false,
    };
    assert!(ok.encode(false).is_some());
    // Not dword aligned.
    assert_eq!(Segment { va: 0x1002, ..ok }.encode(false), None);
    // Above 2^40.
    assert_eq!(Segment { va: 1 << 40, ..ok }.encode(false), None);
    // Zero dwords would be a control entry.
    assert_eq!(Segment { dwords: 0, ..ok }.encode(false), None);
    // Too long for LENGTH.
    assert_eq!(
        Segment {
            dwords: 1 << 21,
            ..ok
        }
        .encode(false),
        None
    );
}

#[test]
fn gp_entry_decode() {
    // What `encode` writes comes back.
    for (va, dwords, sync) in [
        (0u64, 1u32, false),
        (0xab_cdef_0124, 77, true),
        (0xff_ffff_fffc, 0x1f_ffff, false),
    ] {
        let s = Segment { va, dwords, sync };
        for kernel in [false, true] {
            let e = s.encode(kernel).expect("encodable");
            assert_eq!(
                GpEntry::decode(e),
                Ok(GpEntry::Segment(s)),
                "{s:?} kernel={kernel}"
            );
        }
    }
    // A control entry: LENGTH zero, OPCODE_NOP; the operand means nothing.
    assert_eq!(GpEntry::decode([0xdead_beef, 0]), Ok(GpEntry::Nop));
    assert_eq!(GpEntry::decode([0, 1 << 31]), Ok(GpEntry::Nop));
    // Other control opcodes, and stray bits in a control entry.
    assert_eq!(
        GpEntry::decode([0, 0x1]),
        Err(BadGpEntry::Opcode(gp::OPCODE_ILLEGAL))
    );
    assert_eq!(
        GpEntry::decode([0, 0x3]),
        Err(BadGpEntry::Opcode(gp::OPCODE_PB_CRC))
    );
    assert_eq!(GpEntry::decode([0, 1 << 8]), Err(BadGpEntry::ControlBits));
    // FETCH_CONDITIONAL and LEVEL_SUBROUTINE are not implemented.
    assert_eq!(
        GpEntry::decode([0x1001, 4 << 10]),
        Err(BadGpEntry::Conditional)
    );
    assert_eq!(
        GpEntry::decode([0x1000, (4 << 10) | (1 << 9)]),
        Err(BadGpEntry::Subroutine)
    );
}

#[test]
fn host_methods() {
    assert_eq!(mthd::SET_OBJECT, 0x0000_0000);
    assert_eq!(mthd::ILLEGAL, 0x0000_0004);
    assert_eq!(mthd::NOP, 0x0000_0008);
    assert_eq!(mthd::NON_STALL_INTERRUPT, 0x0000_0020);
    assert_eq!(mthd::MEM_OP_A, 0x0000_0028);
    assert_eq!(mthd::MEM_OP_B, 0x0000_002c);
    assert_eq!(mthd::MEM_OP_C, 0x0000_0030);
    assert_eq!(mthd::MEM_OP_D, 0x0000_0034);
    assert_eq!(mthd::SET_REFERENCE, 0x0000_0050);
    assert_eq!(mthd::SEM_ADDR_LO, 0x0000_005c);
    assert_eq!(mthd::SEM_ADDR_HI, 0x0000_0060);
    assert_eq!(mthd::SEM_PAYLOAD_LO, 0x0000_0064);
    assert_eq!(mthd::SEM_PAYLOAD_HI, 0x0000_0068);
    assert_eq!(mthd::SEM_EXECUTE, 0x0000_006c);
    assert_eq!(mthd::WFI, 0x0000_0078);
    // Every host method is below the first engine method.
    const { assert!(mthd::WFI < crate::ce::header::HOST_METHOD_LIMIT) };
}

#[test]
fn semaphore_fields() {
    is(mthd::SEM_ADDR_LO_OFFSET, 31, 2, "SEM_ADDR_LO_OFFSET");
    is(mthd::SEM_ADDR_HI_OFFSET, 7, 0, "SEM_ADDR_HI_OFFSET");
    // SEM_ADDR_HI_OFFSET (7:0) above SEM_ADDR_LO_OFFSET (31:2): 40 bits.
    assert_eq!(
        mthd::SEM_ADDRESS_BITS,
        32 + mthd::SEM_ADDR_HI_OFFSET.width()
    );
    is(mthd::SEM_EXECUTE_OPERATION, 2, 0, "SEM_EXECUTE_OPERATION");
    assert_eq!(mthd::sem_op::ACQUIRE, 0x0);
    assert_eq!(mthd::sem_op::RELEASE, 0x1);
    assert_eq!(mthd::sem_op::ACQ_STRICT_GEQ, 0x2);
    assert_eq!(mthd::sem_op::ACQ_CIRC_GEQ, 0x3);
    assert_eq!(mthd::sem_op::ACQ_AND, 0x4);
    assert_eq!(mthd::sem_op::ACQ_NOR, 0x5);
    assert_eq!(mthd::sem_op::REDUCTION, 0x6);
    is(
        mthd::SEM_EXECUTE_ACQUIRE_SWITCH_TSG,
        12,
        12,
        "SEM_EXECUTE_ACQUIRE_SWITCH_TSG",
    );
    is(
        mthd::SEM_EXECUTE_RELEASE_WFI,
        20,
        20,
        "SEM_EXECUTE_RELEASE_WFI",
    );
    // SEM_EXECUTE's WFI_EN is 1 (SEMAPHORED's, the old method, is 0).
    assert_eq!(mthd::RELEASE_WFI_EN, 0x1);
    is(
        mthd::SEM_EXECUTE_PAYLOAD_SIZE,
        24,
        24,
        "SEM_EXECUTE_PAYLOAD_SIZE",
    );
    assert_eq!(mthd::PAYLOAD_SIZE_32BIT, 0x0);
    assert_eq!(mthd::PAYLOAD_SIZE_64BIT, 0x1);
    is(
        mthd::SEM_EXECUTE_RELEASE_TIMESTAMP,
        25,
        25,
        "SEM_EXECUTE_RELEASE_TIMESTAMP",
    );
    is(mthd::SEM_EXECUTE_REDUCTION, 30, 27, "SEM_EXECUTE_REDUCTION");
    is(
        mthd::SEM_EXECUTE_REDUCTION_FORMAT,
        31,
        31,
        "SEM_EXECUTE_REDUCTION_FORMAT",
    );
}

#[test]
fn mem_op_fields() {
    is(
        mthd::MEM_OP_A_INVALIDATION_SIZE,
        5,
        0,
        "MEM_OP_A_TLB_INVALIDATE_INVALIDATION_SIZE",
    );
    is(
        mthd::MEM_OP_A_SYSMEMBAR,
        11,
        11,
        "MEM_OP_A_TLB_INVALIDATE_SYSMEMBAR",
    );
    is(
        mthd::MEM_OP_A_TARGET_ADDR_LO,
        31,
        12,
        "MEM_OP_A_TLB_INVALIDATE_TARGET_ADDR_LO",
    );
    is(
        mthd::MEM_OP_B_TARGET_ADDR_HI,
        31,
        0,
        "MEM_OP_B_TLB_INVALIDATE_TARGET_ADDR_HI",
    );
    is(mthd::MEM_OP_C_PDB, 0, 0, "MEM_OP_C_TLB_INVALIDATE_PDB");
    assert_eq!(mthd::PDB_ONE, 0x0);
    assert_eq!(mthd::PDB_ALL, 0x1);
    is(mthd::MEM_OP_C_GPC, 1, 1, "MEM_OP_C_TLB_INVALIDATE_GPC");
    is(
        mthd::MEM_OP_C_REPLAY,
        4,
        2,
        "MEM_OP_C_TLB_INVALIDATE_REPLAY",
    );
    is(
        mthd::MEM_OP_C_ACK_TYPE,
        6,
        5,
        "MEM_OP_C_TLB_INVALIDATE_ACK_TYPE",
    );
    assert_eq!(mthd::ACK_TYPE_GLOBALLY, 0x1);
    is(
        mthd::MEM_OP_C_PAGE_TABLE_LEVEL,
        9,
        7,
        "MEM_OP_C_TLB_INVALIDATE_PAGE_TABLE_LEVEL",
    );
    assert_eq!(mthd::PAGE_TABLE_LEVEL_ALL, 0x0);
    is(
        mthd::MEM_OP_C_PDB_APERTURE,
        11,
        10,
        "MEM_OP_C_TLB_INVALIDATE_PDB_APERTURE",
    );
    assert_eq!(mthd::PDB_APERTURE_VID_MEM, 0x0);
    assert_eq!(mthd::PDB_APERTURE_SYS_MEM_COHERENT, 0x2);
    assert_eq!(mthd::PDB_APERTURE_SYS_MEM_NONCOHERENT, 0x3);
    is(
        mthd::MEM_OP_C_PDB_ADDR_LO,
        31,
        12,
        "MEM_OP_C_TLB_INVALIDATE_PDB_ADDR_LO",
    );
    is(
        mthd::MEM_OP_D_PDB_ADDR_HI,
        26,
        0,
        "MEM_OP_D_TLB_INVALIDATE_PDB_ADDR_HI",
    );
    is(mthd::MEM_OP_D_OPERATION, 31, 27, "MEM_OP_D_OPERATION");
    assert_eq!(mthd::OPERATION_MEMBAR, 0x05);
    assert_eq!(mthd::OPERATION_MMU_TLB_INVALIDATE, 0x09);
    assert_eq!(mthd::OPERATION_MMU_TLB_INVALIDATE_TARGETED, 0x0a);
    is(mthd::WFI_SCOPE, 0, 0, "WFI_SCOPE");
}

#[test]
fn userd_layout() {
    // Nvc36fControl: Ignored00[0x10] (0x00-0x3f), Put, Get, Reference, PutHi,
    // Ignored01[2], TopLevelGet, TopLevelGetHi, GetHi, Ignored02[7], Ignored03,
    // Ignored04[1], GPGet, GPPut, Ignored05[0x5c].
    let mut off = 0x10 * 4;
    assert_eq!(userd::PUT, off);
    off += 4;
    assert_eq!(userd::GET, off);
    off += 4;
    assert_eq!(userd::REFERENCE, off);
    off += 4 + 4 + 2 * 4;
    assert_eq!(userd::TOP_LEVEL_GET, off);
    off += 4 + 4 + 4 + 7 * 4 + 4 + 4;
    assert_eq!(userd::GP_GET, off);
    off += 4;
    assert_eq!(userd::GP_PUT, off);
    off += 4 + 0x5c * 4;
    assert_eq!(userd::SIZE, off);
    // The comments of the header give the offsets too.
    assert_eq!(
        (
            userd::PUT,
            userd::GET,
            userd::REFERENCE,
            userd::TOP_LEVEL_GET,
            userd::GP_GET,
            userd::GP_PUT
        ),
        (0x40, 0x44, 0x48, 0x58, 0x88, 0x8c)
    );
}

#[test]
fn usermode_doorbell() {
    // NVC361_NOTIFY_CHANNEL_PENDING, within NVC361_NV_USERMODE__SIZE (65536).
    assert_eq!(usermode::NOTIFY_CHANNEL_PENDING, 0x0000_0090);
    const { assert!(usermode::NOTIFY_CHANNEL_PENDING < 65536) };
}
