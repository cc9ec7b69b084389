// SPDX-License-Identifier: GPL-2.0

//! Copy-engine classes: method offsets and field positions, one table per class.
//!
//! Every number in this file comes from NVIDIA's published class headers; the header (and
//! where it was read) is named above each table. The encodings built from them are our own.
//! Only the methods and fields that nova-svm uses, or that the software copy engine must
//! recognise to reject, are listed.
//!
//! Differences between the classes that matter here:
//!
//! - `OFFSET_{IN,OUT}_UPPER_UPPER` and `SET_SEMAPHORE_A_UPPER` are `16:0` up to
//!   AMPERE_DMA_COPY_B (49-bit addresses) and `24:0` from HOPPER_DMA_COPY_A (57-bit).
//! - `SET_SEMAPHORE_PAYLOAD_UPPER` and `LAUNCH_DMA_SEMAPHORE_PAYLOAD_SIZE` (64-bit semaphore
//!   payloads) appear in AMPERE_DMA_COPY_B.
//! - `LAUNCH_DMA` bit 11 is `FORCE_RMWDISABLE` up to HOPPER_DMA_COPY_A, `COMPRESSION_ENABLE`
//!   in BLACKWELL_DMA_COPY_A and undefined in BLACKWELL_DMA_COPY_B.
//! - `LAUNCH_DMA` bits 20 and 21 are `SRC_BYPASS_L2`/`DST_BYPASS_L2` up to TURING_DMA_COPY_A,
//!   undefined in the Ampere classes and `COPY_TYPE` (`21:20`) from HOPPER_DMA_COPY_A.
//! - `LAUNCH_DMA_VPRMODE` is `23:22` from VOLTA_DMA_COPY_A and `22:22` from HOPPER_DMA_COPY_A,
//!   where bit 23 becomes `MEMORY_SCRUB_ENABLE`.
//! - `SET_{SRC,DST}_PHYS_MODE` gain `BASIC_KIND` (`5:2`) in VOLTA_DMA_COPY_A and `PEER_ID`
//!   (`8:6`), `FLA` (`9:9`) and `TARGET_PEERMEM` in AMPERE_DMA_COPY_A.

use super::field::Field;

/// Values of `SET_SRC_PHYS_MODE_TARGET` and `SET_DST_PHYS_MODE_TARGET` (the same in every
/// header listed in this file).
pub(crate) mod phys_mode_target {
    /// `TARGET_LOCAL_FB`: video memory.
    pub(crate) const LOCAL_FB: u32 = 0x0;
    /// `TARGET_COHERENT_SYSMEM`: system memory, snooped.
    pub(crate) const COHERENT_SYSMEM: u32 = 0x1;
    /// `TARGET_NONCOHERENT_SYSMEM`: system memory, not snooped.
    pub(crate) const NONCOHERENT_SYSMEM: u32 = 0x2;
    /// `TARGET_PEERMEM`: a peer GPU's memory (AMPERE_DMA_COPY_A and later).
    pub(crate) const PEERMEM: u32 = 0x3;
}

/// Values of `LAUNCH_DMA_DATA_TRANSFER_TYPE`.
pub(crate) mod data_transfer_type {
    /// `NONE`: no data moves (a semaphore-only launch).
    pub(crate) const NONE: u32 = 0x0;
    /// `PIPELINED`: may overlap the previous transfer.
    pub(crate) const PIPELINED: u32 = 0x1;
    /// `NON_PIPELINED`: starts after the previous transfer completes.
    pub(crate) const NON_PIPELINED: u32 = 0x2;
    /// `PREFETCH` (BLACKWELL_DMA_COPY_B only).
    pub(crate) const PREFETCH: u32 = 0x3;
}

/// Values of `LAUNCH_DMA_FLUSH_ENABLE` and the other one-bit `FALSE`/`TRUE` fields.
pub(crate) mod flag {
    /// `FALSE`.
    pub(crate) const FALSE: u32 = 0x0;
    /// `TRUE`.
    pub(crate) const TRUE: u32 = 0x1;
}

/// Values of `LAUNCH_DMA_SEMAPHORE_TYPE`.
pub(crate) mod semaphore_type {
    /// `NONE`.
    pub(crate) const NONE: u32 = 0x0;
    /// `RELEASE_ONE_WORD_SEMAPHORE` (alias `RELEASE_SEMAPHORE_NO_TIMESTAMP` from
    /// AMPERE_DMA_COPY_B).
    pub(crate) const RELEASE_ONE_WORD_SEMAPHORE: u32 = 0x1;
    /// `RELEASE_FOUR_WORD_SEMAPHORE` (alias `RELEASE_SEMAPHORE_WITH_TIMESTAMP` from
    /// AMPERE_DMA_COPY_B).
    pub(crate) const RELEASE_FOUR_WORD_SEMAPHORE: u32 = 0x2;
    /// `RELEASE_CONDITIONAL_INTR_SEMAPHORE` (TURING_DMA_COPY_A and later).
    pub(crate) const RELEASE_CONDITIONAL_INTR_SEMAPHORE: u32 = 0x3;
}

/// Values of `LAUNCH_DMA_INTERRUPT_TYPE`.
pub(crate) mod interrupt_type {
    /// `NONE`.
    pub(crate) const NONE: u32 = 0x0;
    /// `BLOCKING`.
    pub(crate) const BLOCKING: u32 = 0x1;
    /// `NON_BLOCKING`.
    pub(crate) const NON_BLOCKING: u32 = 0x2;
}

/// Values of `LAUNCH_DMA_SRC_MEMORY_LAYOUT` and `LAUNCH_DMA_DST_MEMORY_LAYOUT`.
pub(crate) mod memory_layout {
    /// `BLOCKLINEAR`.
    pub(crate) const BLOCKLINEAR: u32 = 0x0;
    /// `PITCH`.
    pub(crate) const PITCH: u32 = 0x1;
}

/// Values of `LAUNCH_DMA_SRC_TYPE` and `LAUNCH_DMA_DST_TYPE`.
pub(crate) mod addr_type {
    /// `VIRTUAL`: a GPU virtual address.
    pub(crate) const VIRTUAL: u32 = 0x0;
    /// `PHYSICAL`: a physical address in the aperture of `SET_*_PHYS_MODE`.
    pub(crate) const PHYSICAL: u32 = 0x1;
}

/// Values of `LAUNCH_DMA_SEMAPHORE_PAYLOAD_SIZE` (AMPERE_DMA_COPY_B and later).
pub(crate) mod semaphore_payload_size {
    /// `ONE_WORD`: a 32-bit payload.
    pub(crate) const ONE_WORD: u32 = 0x0;
    /// `TWO_WORD`: a 64-bit payload (`SET_SEMAPHORE_PAYLOAD_UPPER` holds bits 63:32).
    pub(crate) const TWO_WORD: u32 = 0x1;
}

/// Values of `LAUNCH_DMA_COPY_TYPE` (HOPPER_DMA_COPY_A and later).
pub(crate) mod copy_type {
    /// `DEFAULT` (alias `PROT2PROT`).
    pub(crate) const DEFAULT: u32 = 0x0;
    /// `SECURE`.
    pub(crate) const SECURE: u32 = 0x1;
    /// `NONPROT2NONPROT`.
    pub(crate) const NONPROT2NONPROT: u32 = 0x2;
}

/// Values of `SET_REMAP_COMPONENTS_DST_X` (and `_DST_Y`, `_DST_Z`, `_DST_W`).
pub(crate) mod remap_dst {
    /// `SRC_X`.
    pub(crate) const SRC_X: u32 = 0x0;
    /// `SRC_Y`.
    pub(crate) const SRC_Y: u32 = 0x1;
    /// `SRC_Z`.
    pub(crate) const SRC_Z: u32 = 0x2;
    /// `SRC_W`.
    pub(crate) const SRC_W: u32 = 0x3;
    /// `CONST_A`: the value of `SET_REMAP_CONST_A`.
    pub(crate) const CONST_A: u32 = 0x4;
    /// `CONST_B`: the value of `SET_REMAP_CONST_B`.
    pub(crate) const CONST_B: u32 = 0x5;
    /// `NO_WRITE`.
    pub(crate) const NO_WRITE: u32 = 0x6;
}

/// Values of `SET_REMAP_COMPONENTS_COMPONENT_SIZE` and of `_NUM_SRC_COMPONENTS` /
/// `_NUM_DST_COMPONENTS`: the field value is the count minus one.
pub(crate) mod remap_count {
    /// `ONE`.
    pub(crate) const ONE: u32 = 0x0;
    /// `TWO`.
    pub(crate) const TWO: u32 = 0x1;
    /// `THREE`.
    pub(crate) const THREE: u32 = 0x2;
    /// `FOUR`.
    pub(crate) const FOUR: u32 = 0x3;
}

/// Copy-engine generations, one per class nova-svm supports.
///
/// The generation names the class; which chips carry which class is the chipset code's
/// business (GA100 has AMPERE_DMA_COPY_A while later Ampere and Ada chips have
/// AMPERE_DMA_COPY_B, for example).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Generation {
    /// PASCAL_DMA_COPY_A (`0xc0b5`).
    Pascal,
    /// VOLTA_DMA_COPY_A (`0xc3b5`).
    Volta,
    /// TURING_DMA_COPY_A (`0xc5b5`).
    Turing,
    /// AMPERE_DMA_COPY_A (`0xc6b5`).
    AmpereA,
    /// AMPERE_DMA_COPY_B (`0xc7b5`).
    AmpereB,
    /// HOPPER_DMA_COPY_A (`0xc8b5`).
    Hopper,
    /// BLACKWELL_DMA_COPY_A (`0xc9b5`).
    BlackwellA,
    /// BLACKWELL_DMA_COPY_B (`0xcab5`).
    BlackwellB,
}

impl Generation {
    /// Every generation, oldest first.
    pub(crate) const ALL: [Generation; 8] = [
        Generation::Pascal,
        Generation::Volta,
        Generation::Turing,
        Generation::AmpereA,
        Generation::AmpereB,
        Generation::Hopper,
        Generation::BlackwellA,
        Generation::BlackwellB,
    ];

    /// Returns the copy-engine class table of this generation.
    pub(crate) const fn ce_class(self) -> &'static CeClass {
        match self {
            Generation::Pascal => &PASCAL_DMA_COPY_A,
            Generation::Volta => &VOLTA_DMA_COPY_A,
            Generation::Turing => &TURING_DMA_COPY_A,
            Generation::AmpereA => &AMPERE_DMA_COPY_A,
            Generation::AmpereB => &AMPERE_DMA_COPY_B,
            Generation::Hopper => &HOPPER_DMA_COPY_A,
            Generation::BlackwellA => &BLACKWELL_DMA_COPY_A,
            Generation::BlackwellB => &BLACKWELL_DMA_COPY_B,
        }
    }

    /// Returns the generation whose copy-engine class number is `class`, if nova-svm supports
    /// it.
    pub(crate) fn from_class(class: u32) -> Option<Generation> {
        Self::ALL.into_iter().find(|g| g.ce_class().id == class)
    }
}

/// Method offsets of a copy-engine class, named as in the class header.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Methods {
    /// `NOP`.
    pub(crate) nop: u32,
    /// `SET_SEMAPHORE_A`: semaphore address, upper bits.
    pub(crate) set_semaphore_a: u32,
    /// `SET_SEMAPHORE_B`: semaphore address, lower 32 bits.
    pub(crate) set_semaphore_b: u32,
    /// `SET_SEMAPHORE_PAYLOAD`: semaphore payload, bits 31:0.
    pub(crate) set_semaphore_payload: u32,
    /// `SET_SEMAPHORE_PAYLOAD_UPPER`: semaphore payload, bits 63:32 (AMPERE_DMA_COPY_B and
    /// later).
    pub(crate) set_semaphore_payload_upper: Option<u32>,
    /// `SET_SRC_PHYS_MODE`: aperture of a physical source.
    pub(crate) set_src_phys_mode: u32,
    /// `SET_DST_PHYS_MODE`: aperture of a physical destination.
    pub(crate) set_dst_phys_mode: u32,
    /// `LAUNCH_DMA`: starts the operation the other methods describe.
    pub(crate) launch_dma: u32,
    /// `OFFSET_IN_UPPER`: source address, upper bits.
    pub(crate) offset_in_upper: u32,
    /// `OFFSET_IN_LOWER`: source address, lower 32 bits.
    pub(crate) offset_in_lower: u32,
    /// `OFFSET_OUT_UPPER`: destination address, upper bits.
    pub(crate) offset_out_upper: u32,
    /// `OFFSET_OUT_LOWER`: destination address, lower 32 bits.
    pub(crate) offset_out_lower: u32,
    /// `PITCH_IN`: bytes between source lines.
    pub(crate) pitch_in: u32,
    /// `PITCH_OUT`: bytes between destination lines.
    pub(crate) pitch_out: u32,
    /// `LINE_LENGTH_IN`: bytes per line (elements per line with `REMAP_ENABLE`).
    pub(crate) line_length_in: u32,
    /// `LINE_COUNT`: lines (with `MULTI_LINE_ENABLE`).
    pub(crate) line_count: u32,
    /// `SET_REMAP_CONST_A`.
    pub(crate) set_remap_const_a: u32,
    /// `SET_REMAP_CONST_B`.
    pub(crate) set_remap_const_b: u32,
    /// `SET_REMAP_COMPONENTS`.
    pub(crate) set_remap_components: u32,
}

/// Fields of `SET_SRC_PHYS_MODE` and `SET_DST_PHYS_MODE` (the two share one layout in every
/// header).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PhysModeFields {
    /// `TARGET`.
    pub(crate) target: Field,
    /// `BASIC_KIND` (VOLTA_DMA_COPY_A and later).
    pub(crate) basic_kind: Option<Field>,
    /// `PEER_ID` (AMPERE_DMA_COPY_A and later).
    pub(crate) peer_id: Option<Field>,
    /// `FLA` (AMPERE_DMA_COPY_A and later).
    pub(crate) fla: Option<Field>,
    /// Whether `TARGET_PEERMEM` is defined.
    pub(crate) target_peermem: bool,
}

impl PhysModeFields {
    /// Returns the bits that some field of the method defines.
    pub(crate) const fn defined_mask(&self) -> u32 {
        self.target.mask() | opt_mask(self.basic_kind) | opt_mask(self.peer_id) | opt_mask(self.fla)
    }
}

/// Fields of `LAUNCH_DMA`, named as in the class header.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LaunchDmaFields {
    /// `DATA_TRANSFER_TYPE`.
    pub(crate) data_transfer_type: Field,
    /// Whether `DATA_TRANSFER_TYPE_PREFETCH` is defined.
    pub(crate) data_transfer_type_prefetch: bool,
    /// `FLUSH_ENABLE`.
    pub(crate) flush_enable: Field,
    /// `FLUSH_TYPE` (VOLTA_DMA_COPY_A and later).
    pub(crate) flush_type: Option<Field>,
    /// `SEMAPHORE_TYPE`.
    pub(crate) semaphore_type: Field,
    /// Whether `SEMAPHORE_TYPE_RELEASE_CONDITIONAL_INTR_SEMAPHORE` is defined.
    pub(crate) semaphore_type_conditional_intr: bool,
    /// `INTERRUPT_TYPE`.
    pub(crate) interrupt_type: Field,
    /// `SRC_MEMORY_LAYOUT`.
    pub(crate) src_memory_layout: Field,
    /// `DST_MEMORY_LAYOUT`.
    pub(crate) dst_memory_layout: Field,
    /// `MULTI_LINE_ENABLE`.
    pub(crate) multi_line_enable: Field,
    /// `REMAP_ENABLE`.
    pub(crate) remap_enable: Field,
    /// `FORCE_RMWDISABLE` (up to HOPPER_DMA_COPY_A).
    pub(crate) force_rmwdisable: Option<Field>,
    /// `COMPRESSION_ENABLE` (BLACKWELL_DMA_COPY_A).
    pub(crate) compression_enable: Option<Field>,
    /// `SRC_TYPE`.
    pub(crate) src_type: Field,
    /// `DST_TYPE`.
    pub(crate) dst_type: Field,
    /// `SEMAPHORE_REDUCTION`.
    pub(crate) semaphore_reduction: Field,
    /// `SEMAPHORE_REDUCTION_SIGN`.
    pub(crate) semaphore_reduction_sign: Field,
    /// `SEMAPHORE_REDUCTION_ENABLE`.
    pub(crate) semaphore_reduction_enable: Field,
    /// `SRC_BYPASS_L2` (up to TURING_DMA_COPY_A).
    pub(crate) src_bypass_l2: Option<Field>,
    /// `DST_BYPASS_L2` (up to TURING_DMA_COPY_A).
    pub(crate) dst_bypass_l2: Option<Field>,
    /// `COPY_TYPE` (HOPPER_DMA_COPY_A and later).
    pub(crate) copy_type: Option<Field>,
    /// `VPRMODE` (VOLTA_DMA_COPY_A and later).
    pub(crate) vprmode: Option<Field>,
    /// `MEMORY_SCRUB_ENABLE` (HOPPER_DMA_COPY_A and later).
    pub(crate) memory_scrub_enable: Option<Field>,
    /// `RESERVED_START_OF_COPY` (VOLTA_DMA_COPY_A and later).
    pub(crate) reserved_start_of_copy: Option<Field>,
    /// `DISABLE_PLC` (TURING_DMA_COPY_A and later).
    pub(crate) disable_plc: Option<Field>,
    /// `SEMAPHORE_PAYLOAD_SIZE` (AMPERE_DMA_COPY_B and later).
    pub(crate) semaphore_payload_size: Option<Field>,
    /// `RESERVED_ERR_CODE` (`RESERVED` in PASCAL_DMA_COPY_A).
    pub(crate) reserved_err_code: Field,
}

impl LaunchDmaFields {
    /// Returns the bits that some field of `LAUNCH_DMA` defines.
    pub(crate) const fn defined_mask(&self) -> u32 {
        self.data_transfer_type.mask()
            | self.flush_enable.mask()
            | opt_mask(self.flush_type)
            | self.semaphore_type.mask()
            | self.interrupt_type.mask()
            | self.src_memory_layout.mask()
            | self.dst_memory_layout.mask()
            | self.multi_line_enable.mask()
            | self.remap_enable.mask()
            | opt_mask(self.force_rmwdisable)
            | opt_mask(self.compression_enable)
            | self.src_type.mask()
            | self.dst_type.mask()
            | self.semaphore_reduction.mask()
            | self.semaphore_reduction_sign.mask()
            | self.semaphore_reduction_enable.mask()
            | opt_mask(self.src_bypass_l2)
            | opt_mask(self.dst_bypass_l2)
            | opt_mask(self.copy_type)
            | opt_mask(self.vprmode)
            | opt_mask(self.memory_scrub_enable)
            | opt_mask(self.reserved_start_of_copy)
            | opt_mask(self.disable_plc)
            | opt_mask(self.semaphore_payload_size)
            | self.reserved_err_code.mask()
    }
}

/// Fields of `SET_REMAP_COMPONENTS`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RemapComponentsFields {
    /// `DST_X`.
    pub(crate) dst_x: Field,
    /// `DST_Y`.
    pub(crate) dst_y: Field,
    /// `DST_Z`.
    pub(crate) dst_z: Field,
    /// `DST_W`.
    pub(crate) dst_w: Field,
    /// `COMPONENT_SIZE`.
    pub(crate) component_size: Field,
    /// `NUM_SRC_COMPONENTS`.
    pub(crate) num_src_components: Field,
    /// `NUM_DST_COMPONENTS`.
    pub(crate) num_dst_components: Field,
}

impl RemapComponentsFields {
    /// Returns the bits that some field of `SET_REMAP_COMPONENTS` defines.
    pub(crate) const fn defined_mask(&self) -> u32 {
        self.dst_x.mask()
            | self.dst_y.mask()
            | self.dst_z.mask()
            | self.dst_w.mask()
            | self.component_size.mask()
            | self.num_src_components.mask()
            | self.num_dst_components.mask()
    }

    /// Returns the `DST_X`, `DST_Y`, `DST_Z` and `DST_W` fields, in component order.
    pub(crate) const fn dst(&self) -> [Field; 4] {
        [self.dst_x, self.dst_y, self.dst_z, self.dst_w]
    }
}

/// A copy-engine class: its number, its header and the layout of the methods nova-svm uses.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CeClass {
    /// The generation this class belongs to.
    pub(crate) generation: Generation,
    /// Class number, e.g. `0xc6b5`.
    pub(crate) id: u32,
    /// Class name, e.g. `AMPERE_DMA_COPY_A`.
    pub(crate) name: &'static str,
    /// The header the table was written from.
    pub(crate) header: &'static str,
    /// Method offsets.
    pub(crate) mthd: Methods,
    /// `SET_SEMAPHORE_A_UPPER`.
    pub(crate) set_semaphore_a_upper: Field,
    /// `OFFSET_IN_UPPER_UPPER`.
    pub(crate) offset_in_upper_upper: Field,
    /// `OFFSET_OUT_UPPER_UPPER`.
    pub(crate) offset_out_upper_upper: Field,
    /// Fields of `SET_SRC_PHYS_MODE` and `SET_DST_PHYS_MODE`.
    pub(crate) phys_mode: PhysModeFields,
    /// Fields of `LAUNCH_DMA`.
    pub(crate) launch_dma: LaunchDmaFields,
    /// Fields of `SET_REMAP_COMPONENTS`.
    pub(crate) remap_components: RemapComponentsFields,
}

impl CeClass {
    /// Returns the number of address bits `OFFSET_IN_*` can express: 32 in `*_LOWER` and the
    /// width of `OFFSET_IN_UPPER_UPPER`.
    pub(crate) const fn address_bits(&self) -> u32 {
        32 + self.offset_in_upper_upper.width()
    }

    /// Returns the number of semaphore address bits: 32 in `SET_SEMAPHORE_B` and the width of
    /// `SET_SEMAPHORE_A_UPPER`.
    pub(crate) const fn semaphore_address_bits(&self) -> u32 {
        32 + self.set_semaphore_a_upper.width()
    }

    /// Returns whether the class can release a 64-bit semaphore payload.
    pub(crate) const fn has_semaphore_payload_upper(&self) -> bool {
        self.mthd.set_semaphore_payload_upper.is_some()
            && self.launch_dma.semaphore_payload_size.is_some()
    }
}

/// Returns the mask of an optional field, or zero.
const fn opt_mask(field: Option<Field>) -> u32 {
    match field {
        Some(f) => f.mask(),
        None => 0,
    }
}

/// Returns the method offsets, which are the same in every header in this file apart from
/// `SET_SEMAPHORE_PAYLOAD_UPPER` (AMPERE_DMA_COPY_B and later). The host tests check every
/// class's offsets against the values its own header gives.
const fn methods(set_semaphore_payload_upper: Option<u32>) -> Methods {
    Methods {
        nop: 0x0100,
        set_semaphore_a: 0x0240,
        set_semaphore_b: 0x0244,
        set_semaphore_payload: 0x0248,
        set_semaphore_payload_upper,
        set_src_phys_mode: 0x0260,
        set_dst_phys_mode: 0x0264,
        launch_dma: 0x0300,
        offset_in_upper: 0x0400,
        offset_in_lower: 0x0404,
        offset_out_upper: 0x0408,
        offset_out_lower: 0x040c,
        pitch_in: 0x0410,
        pitch_out: 0x0414,
        line_length_in: 0x0418,
        line_count: 0x041c,
        set_remap_const_a: 0x0700,
        set_remap_const_b: 0x0704,
        set_remap_components: 0x0708,
    }
}

/// `SET_REMAP_COMPONENTS` layout, identical in every header in this file.
const REMAP_COMPONENTS: RemapComponentsFields = RemapComponentsFields {
    dst_x: Field::new(2, 0),
    dst_y: Field::new(6, 4),
    dst_z: Field::new(10, 8),
    dst_w: Field::new(14, 12),
    component_size: Field::new(17, 16),
    num_src_components: Field::new(21, 20),
    num_dst_components: Field::new(25, 24),
};

/// PASCAL_DMA_COPY_A, from `clc0b5.h` (NVIDIA/open-gpu-kernel-modules,
/// `src/common/sdk/nvidia/inc/class/clc0b5.h`).
pub(crate) static PASCAL_DMA_COPY_A: CeClass = CeClass {
    generation: Generation::Pascal,
    id: 0xc0b5,
    name: "PASCAL_DMA_COPY_A",
    header: "clc0b5.h",
    mthd: methods(None),
    set_semaphore_a_upper: Field::new(16, 0),
    offset_in_upper_upper: Field::new(16, 0),
    offset_out_upper_upper: Field::new(16, 0),
    phys_mode: PhysModeFields {
        target: Field::new(1, 0),
        basic_kind: None,
        peer_id: None,
        fla: None,
        target_peermem: false,
    },
    launch_dma: LaunchDmaFields {
        data_transfer_type: Field::new(1, 0),
        data_transfer_type_prefetch: false,
        flush_enable: Field::bit(2),
        flush_type: None,
        semaphore_type: Field::new(4, 3),
        semaphore_type_conditional_intr: false,
        interrupt_type: Field::new(6, 5),
        src_memory_layout: Field::bit(7),
        dst_memory_layout: Field::bit(8),
        multi_line_enable: Field::bit(9),
        remap_enable: Field::bit(10),
        force_rmwdisable: Some(Field::bit(11)),
        compression_enable: None,
        src_type: Field::bit(12),
        dst_type: Field::bit(13),
        semaphore_reduction: Field::new(17, 14),
        semaphore_reduction_sign: Field::bit(18),
        semaphore_reduction_enable: Field::bit(19),
        src_bypass_l2: Some(Field::bit(20)),
        dst_bypass_l2: Some(Field::bit(21)),
        copy_type: None,
        vprmode: None,
        memory_scrub_enable: None,
        reserved_start_of_copy: None,
        disable_plc: None,
        semaphore_payload_size: None,
        reserved_err_code: Field::new(31, 28),
    },
    remap_components: REMAP_COMPONENTS,
};

/// VOLTA_DMA_COPY_A, from `clc3b5.h` (NVIDIA/open-gpu-doc, `classes/dma-copy/clc3b5.h`).
pub(crate) static VOLTA_DMA_COPY_A: CeClass = CeClass {
    generation: Generation::Volta,
    id: 0xc3b5,
    name: "VOLTA_DMA_COPY_A",
    header: "clc3b5.h",
    mthd: methods(None),
    set_semaphore_a_upper: Field::new(16, 0),
    offset_in_upper_upper: Field::new(16, 0),
    offset_out_upper_upper: Field::new(16, 0),
    phys_mode: PhysModeFields {
        target: Field::new(1, 0),
        basic_kind: Some(Field::new(5, 2)),
        peer_id: None,
        fla: None,
        target_peermem: false,
    },
    launch_dma: LaunchDmaFields {
        data_transfer_type: Field::new(1, 0),
        data_transfer_type_prefetch: false,
        flush_enable: Field::bit(2),
        flush_type: Some(Field::bit(25)),
        semaphore_type: Field::new(4, 3),
        semaphore_type_conditional_intr: false,
        interrupt_type: Field::new(6, 5),
        src_memory_layout: Field::bit(7),
        dst_memory_layout: Field::bit(8),
        multi_line_enable: Field::bit(9),
        remap_enable: Field::bit(10),
        force_rmwdisable: Some(Field::bit(11)),
        compression_enable: None,
        src_type: Field::bit(12),
        dst_type: Field::bit(13),
        semaphore_reduction: Field::new(17, 14),
        semaphore_reduction_sign: Field::bit(18),
        semaphore_reduction_enable: Field::bit(19),
        src_bypass_l2: Some(Field::bit(20)),
        dst_bypass_l2: Some(Field::bit(21)),
        copy_type: None,
        vprmode: Some(Field::new(23, 22)),
        memory_scrub_enable: None,
        reserved_start_of_copy: Some(Field::bit(24)),
        disable_plc: None,
        semaphore_payload_size: None,
        reserved_err_code: Field::new(31, 28),
    },
    remap_components: REMAP_COMPONENTS,
};

/// TURING_DMA_COPY_A, from `clc5b5.h` (NVIDIA/open-gpu-doc, `classes/dma-copy/clc5b5.h`).
pub(crate) static TURING_DMA_COPY_A: CeClass = CeClass {
    generation: Generation::Turing,
    id: 0xc5b5,
    name: "TURING_DMA_COPY_A",
    header: "clc5b5.h",
    mthd: methods(None),
    set_semaphore_a_upper: Field::new(16, 0),
    offset_in_upper_upper: Field::new(16, 0),
    offset_out_upper_upper: Field::new(16, 0),
    phys_mode: PhysModeFields {
        target: Field::new(1, 0),
        basic_kind: Some(Field::new(5, 2)),
        peer_id: None,
        fla: None,
        target_peermem: false,
    },
    launch_dma: LaunchDmaFields {
        data_transfer_type: Field::new(1, 0),
        data_transfer_type_prefetch: false,
        flush_enable: Field::bit(2),
        flush_type: Some(Field::bit(25)),
        semaphore_type: Field::new(4, 3),
        semaphore_type_conditional_intr: true,
        interrupt_type: Field::new(6, 5),
        src_memory_layout: Field::bit(7),
        dst_memory_layout: Field::bit(8),
        multi_line_enable: Field::bit(9),
        remap_enable: Field::bit(10),
        force_rmwdisable: Some(Field::bit(11)),
        compression_enable: None,
        src_type: Field::bit(12),
        dst_type: Field::bit(13),
        semaphore_reduction: Field::new(17, 14),
        semaphore_reduction_sign: Field::bit(18),
        semaphore_reduction_enable: Field::bit(19),
        src_bypass_l2: Some(Field::bit(20)),
        dst_bypass_l2: Some(Field::bit(21)),
        copy_type: None,
        vprmode: Some(Field::new(23, 22)),
        memory_scrub_enable: None,
        reserved_start_of_copy: Some(Field::bit(24)),
        disable_plc: Some(Field::bit(26)),
        semaphore_payload_size: None,
        reserved_err_code: Field::new(31, 28),
    },
    remap_components: REMAP_COMPONENTS,
};

/// AMPERE_DMA_COPY_A, from `clc6b5.h` (NVIDIA/open-gpu-kernel-modules,
/// `kernel-open/nvidia-uvm/clc6b5.h`).
pub(crate) static AMPERE_DMA_COPY_A: CeClass = CeClass {
    generation: Generation::AmpereA,
    id: 0xc6b5,
    name: "AMPERE_DMA_COPY_A",
    header: "clc6b5.h",
    mthd: methods(None),
    set_semaphore_a_upper: Field::new(16, 0),
    offset_in_upper_upper: Field::new(16, 0),
    offset_out_upper_upper: Field::new(16, 0),
    phys_mode: PhysModeFields {
        target: Field::new(1, 0),
        basic_kind: Some(Field::new(5, 2)),
        peer_id: Some(Field::new(8, 6)),
        fla: Some(Field::bit(9)),
        target_peermem: true,
    },
    launch_dma: LaunchDmaFields {
        data_transfer_type: Field::new(1, 0),
        data_transfer_type_prefetch: false,
        flush_enable: Field::bit(2),
        flush_type: Some(Field::bit(25)),
        semaphore_type: Field::new(4, 3),
        semaphore_type_conditional_intr: true,
        interrupt_type: Field::new(6, 5),
        src_memory_layout: Field::bit(7),
        dst_memory_layout: Field::bit(8),
        multi_line_enable: Field::bit(9),
        remap_enable: Field::bit(10),
        force_rmwdisable: Some(Field::bit(11)),
        compression_enable: None,
        src_type: Field::bit(12),
        dst_type: Field::bit(13),
        semaphore_reduction: Field::new(17, 14),
        semaphore_reduction_sign: Field::bit(18),
        semaphore_reduction_enable: Field::bit(19),
        src_bypass_l2: None,
        dst_bypass_l2: None,
        copy_type: None,
        vprmode: Some(Field::new(23, 22)),
        memory_scrub_enable: None,
        reserved_start_of_copy: Some(Field::bit(24)),
        disable_plc: Some(Field::bit(26)),
        semaphore_payload_size: None,
        reserved_err_code: Field::new(31, 28),
    },
    remap_components: REMAP_COMPONENTS,
};

/// AMPERE_DMA_COPY_B, from `clc7b5.h` (NVIDIA/open-gpu-kernel-modules,
/// `kernel-open/nvidia-uvm/clc7b5.h`).
pub(crate) static AMPERE_DMA_COPY_B: CeClass = CeClass {
    generation: Generation::AmpereB,
    id: 0xc7b5,
    name: "AMPERE_DMA_COPY_B",
    header: "clc7b5.h",
    mthd: methods(Some(0x024c)),
    set_semaphore_a_upper: Field::new(16, 0),
    offset_in_upper_upper: Field::new(16, 0),
    offset_out_upper_upper: Field::new(16, 0),
    phys_mode: PhysModeFields {
        target: Field::new(1, 0),
        basic_kind: Some(Field::new(5, 2)),
        peer_id: Some(Field::new(8, 6)),
        fla: Some(Field::bit(9)),
        target_peermem: true,
    },
    launch_dma: LaunchDmaFields {
        data_transfer_type: Field::new(1, 0),
        data_transfer_type_prefetch: false,
        flush_enable: Field::bit(2),
        flush_type: Some(Field::bit(25)),
        semaphore_type: Field::new(4, 3),
        semaphore_type_conditional_intr: true,
        interrupt_type: Field::new(6, 5),
        src_memory_layout: Field::bit(7),
        dst_memory_layout: Field::bit(8),
        multi_line_enable: Field::bit(9),
        remap_enable: Field::bit(10),
        force_rmwdisable: Some(Field::bit(11)),
        compression_enable: None,
        src_type: Field::bit(12),
        dst_type: Field::bit(13),
        semaphore_reduction: Field::new(17, 14),
        semaphore_reduction_sign: Field::bit(18),
        semaphore_reduction_enable: Field::bit(19),
        src_bypass_l2: None,
        dst_bypass_l2: None,
        copy_type: None,
        vprmode: Some(Field::new(23, 22)),
        memory_scrub_enable: None,
        reserved_start_of_copy: Some(Field::bit(24)),
        disable_plc: Some(Field::bit(26)),
        semaphore_payload_size: Some(Field::bit(27)),
        reserved_err_code: Field::new(31, 28),
    },
    remap_components: REMAP_COMPONENTS,
};

/// HOPPER_DMA_COPY_A, from `clc8b5.h` (NVIDIA/open-gpu-kernel-modules,
/// `kernel-open/nvidia-uvm/clc8b5.h`).
pub(crate) static HOPPER_DMA_COPY_A: CeClass = CeClass {
    generation: Generation::Hopper,
    id: 0xc8b5,
    name: "HOPPER_DMA_COPY_A",
    header: "clc8b5.h",
    mthd: methods(Some(0x024c)),
    set_semaphore_a_upper: Field::new(24, 0),
    offset_in_upper_upper: Field::new(24, 0),
    offset_out_upper_upper: Field::new(24, 0),
    phys_mode: PhysModeFields {
        target: Field::new(1, 0),
        basic_kind: Some(Field::new(5, 2)),
        peer_id: Some(Field::new(8, 6)),
        fla: Some(Field::bit(9)),
        target_peermem: true,
    },
    launch_dma: LaunchDmaFields {
        data_transfer_type: Field::new(1, 0),
        data_transfer_type_prefetch: false,
        flush_enable: Field::bit(2),
        flush_type: Some(Field::bit(25)),
        semaphore_type: Field::new(4, 3),
        semaphore_type_conditional_intr: true,
        interrupt_type: Field::new(6, 5),
        src_memory_layout: Field::bit(7),
        dst_memory_layout: Field::bit(8),
        multi_line_enable: Field::bit(9),
        remap_enable: Field::bit(10),
        force_rmwdisable: Some(Field::bit(11)),
        compression_enable: None,
        src_type: Field::bit(12),
        dst_type: Field::bit(13),
        semaphore_reduction: Field::new(17, 14),
        semaphore_reduction_sign: Field::bit(18),
        semaphore_reduction_enable: Field::bit(19),
        src_bypass_l2: None,
        dst_bypass_l2: None,
        copy_type: Some(Field::new(21, 20)),
        vprmode: Some(Field::bit(22)),
        memory_scrub_enable: Some(Field::bit(23)),
        reserved_start_of_copy: Some(Field::bit(24)),
        disable_plc: Some(Field::bit(26)),
        semaphore_payload_size: Some(Field::bit(27)),
        reserved_err_code: Field::new(31, 28),
    },
    remap_components: REMAP_COMPONENTS,
};

/// BLACKWELL_DMA_COPY_A, from `clc9b5.h` (NVIDIA/open-gpu-kernel-modules,
/// `kernel-open/nvidia-uvm/clc9b5.h`).
pub(crate) static BLACKWELL_DMA_COPY_A: CeClass = CeClass {
    generation: Generation::BlackwellA,
    id: 0xc9b5,
    name: "BLACKWELL_DMA_COPY_A",
    header: "clc9b5.h",
    mthd: methods(Some(0x024c)),
    set_semaphore_a_upper: Field::new(24, 0),
    offset_in_upper_upper: Field::new(24, 0),
    offset_out_upper_upper: Field::new(24, 0),
    phys_mode: PhysModeFields {
        target: Field::new(1, 0),
        basic_kind: Some(Field::new(5, 2)),
        peer_id: Some(Field::new(8, 6)),
        fla: Some(Field::bit(9)),
        target_peermem: true,
    },
    launch_dma: LaunchDmaFields {
        data_transfer_type: Field::new(1, 0),
        data_transfer_type_prefetch: false,
        flush_enable: Field::bit(2),
        flush_type: Some(Field::bit(25)),
        semaphore_type: Field::new(4, 3),
        semaphore_type_conditional_intr: true,
        interrupt_type: Field::new(6, 5),
        src_memory_layout: Field::bit(7),
        dst_memory_layout: Field::bit(8),
        multi_line_enable: Field::bit(9),
        remap_enable: Field::bit(10),
        force_rmwdisable: None,
        compression_enable: Some(Field::bit(11)),
        src_type: Field::bit(12),
        dst_type: Field::bit(13),
        semaphore_reduction: Field::new(17, 14),
        semaphore_reduction_sign: Field::bit(18),
        semaphore_reduction_enable: Field::bit(19),
        src_bypass_l2: None,
        dst_bypass_l2: None,
        copy_type: Some(Field::new(21, 20)),
        vprmode: Some(Field::bit(22)),
        memory_scrub_enable: Some(Field::bit(23)),
        reserved_start_of_copy: Some(Field::bit(24)),
        disable_plc: Some(Field::bit(26)),
        semaphore_payload_size: Some(Field::bit(27)),
        reserved_err_code: Field::new(31, 28),
    },
    remap_components: REMAP_COMPONENTS,
};

/// BLACKWELL_DMA_COPY_B, from `clcab5.h` (NVIDIA/open-gpu-doc, `classes/dma-copy/clcab5.h`;
/// the copy in open-gpu-kernel-modules' `kernel-open/nvidia-uvm/` only lists what changed
/// from BLACKWELL_DMA_COPY_A, `DATA_TRANSFER_TYPE_PREFETCH` and `REQ_ATTR`).
pub(crate) static BLACKWELL_DMA_COPY_B: CeClass = CeClass {
    generation: Generation::BlackwellB,
    id: 0xcab5,
    name: "BLACKWELL_DMA_COPY_B",
    header: "clcab5.h",
    mthd: methods(Some(0x024c)),
    set_semaphore_a_upper: Field::new(24, 0),
    offset_in_upper_upper: Field::new(24, 0),
    offset_out_upper_upper: Field::new(24, 0),
    phys_mode: PhysModeFields {
        target: Field::new(1, 0),
        basic_kind: Some(Field::new(5, 2)),
        peer_id: Some(Field::new(8, 6)),
        fla: Some(Field::bit(9)),
        target_peermem: true,
    },
    launch_dma: LaunchDmaFields {
        data_transfer_type: Field::new(1, 0),
        data_transfer_type_prefetch: true,
        flush_enable: Field::bit(2),
        flush_type: Some(Field::bit(25)),
        semaphore_type: Field::new(4, 3),
        semaphore_type_conditional_intr: true,
        interrupt_type: Field::new(6, 5),
        src_memory_layout: Field::bit(7),
        dst_memory_layout: Field::bit(8),
        multi_line_enable: Field::bit(9),
        remap_enable: Field::bit(10),
        force_rmwdisable: None,
        compression_enable: None,
        src_type: Field::bit(12),
        dst_type: Field::bit(13),
        semaphore_reduction: Field::new(17, 14),
        semaphore_reduction_sign: Field::bit(18),
        semaphore_reduction_enable: Field::bit(19),
        src_bypass_l2: None,
        dst_bypass_l2: None,
        copy_type: Some(Field::new(21, 20)),
        vprmode: Some(Field::bit(22)),
        memory_scrub_enable: Some(Field::bit(23)),
        reserved_start_of_copy: Some(Field::bit(24)),
        disable_plc: Some(Field::bit(26)),
        semaphore_payload_size: Some(Field::bit(27)),
        reserved_err_code: Field::new(31, 28),
    },
    remap_components: REMAP_COMPONENTS,
};
