// SPDX-License-Identifier: GPL-2.0

//! The class tables against NVIDIA's class headers.
//!
//! Every expected number below was transcribed from the header named in the test's comment.
//! Each name is the header's define without its class prefix (`NVC0B5_` and so on), so that a
//! reviewer can find it in the header. Fields are `(hi, lo)` as the headers write `hi:lo`;
//! `None` means the header does not define the method or field.

use crate::ce::class::*;
use crate::ce::field::Field;

/// Returns the table's method offset named `name`.
fn method(c: &CeClass, name: &str) -> Option<u32> {
    let m = &c.mthd;
    let offset = match name {
        "NOP" => m.nop,
        "SET_SEMAPHORE_A" => m.set_semaphore_a,
        "SET_SEMAPHORE_B" => m.set_semaphore_b,
        "SET_SEMAPHORE_PAYLOAD" => m.set_semaphore_payload,
        "SET_SRC_PHYS_MODE" => m.set_src_phys_mode,
        "SET_DST_PHYS_MODE" => m.set_dst_phys_mode,
        "LAUNCH_DMA" => m.launch_dma,
        "OFFSET_IN_UPPER" => m.offset_in_upper,
        "OFFSET_IN_LOWER" => m.offset_in_lower,
        "OFFSET_OUT_UPPER" => m.offset_out_upper,
        "OFFSET_OUT_LOWER" => m.offset_out_lower,
        "PITCH_IN" => m.pitch_in,
        "PITCH_OUT" => m.pitch_out,
        "LINE_LENGTH_IN" => m.line_length_in,
        "LINE_COUNT" => m.line_count,
        "SET_REMAP_CONST_A" => m.set_remap_const_a,
        "SET_REMAP_CONST_B" => m.set_remap_const_b,
        "SET_REMAP_COMPONENTS" => m.set_remap_components,
        "SET_SEMAPHORE_PAYLOAD_UPPER" => return m.set_semaphore_payload_upper,
        _ => panic!("no method {name}"),
    };
    Some(offset)
}

/// Returns the table's field named `name`.
fn field(c: &CeClass, name: &str) -> Option<Field> {
    let (p, f, r) = (&c.phys_mode, &c.launch_dma, &c.remap_components);
    match name {
        "SET_SEMAPHORE_A_UPPER" => Some(c.set_semaphore_a_upper),
        "OFFSET_IN_UPPER_UPPER" => Some(c.offset_in_upper_upper),
        "OFFSET_OUT_UPPER_UPPER" => Some(c.offset_out_upper_upper),
        "SET_SRC_PHYS_MODE_TARGET" => Some(p.target),
        "SET_SRC_PHYS_MODE_BASIC_KIND" => p.basic_kind,
        "SET_SRC_PHYS_MODE_PEER_ID" => p.peer_id,
        "SET_SRC_PHYS_MODE_FLA" => p.fla,
        "SET_DST_PHYS_MODE_TARGET" => Some(p.target),
        "SET_DST_PHYS_MODE_BASIC_KIND" => p.basic_kind,
        "SET_DST_PHYS_MODE_PEER_ID" => p.peer_id,
        "SET_DST_PHYS_MODE_FLA" => p.fla,
        "LAUNCH_DMA_DATA_TRANSFER_TYPE" => Some(f.data_transfer_type),
        "LAUNCH_DMA_FLUSH_ENABLE" => Some(f.flush_enable),
        "LAUNCH_DMA_FLUSH_TYPE" => f.flush_type,
        "LAUNCH_DMA_SEMAPHORE_TYPE" => Some(f.semaphore_type),
        "LAUNCH_DMA_INTERRUPT_TYPE" => Some(f.interrupt_type),
        "LAUNCH_DMA_SRC_MEMORY_LAYOUT" => Some(f.src_memory_layout),
        "LAUNCH_DMA_DST_MEMORY_LAYOUT" => Some(f.dst_memory_layout),
        "LAUNCH_DMA_MULTI_LINE_ENABLE" => Some(f.multi_line_enable),
        "LAUNCH_DMA_REMAP_ENABLE" => Some(f.remap_enable),
        "LAUNCH_DMA_FORCE_RMWDISABLE" => f.force_rmwdisable,
        "LAUNCH_DMA_COMPRESSION_ENABLE" => f.compression_enable,
        "LAUNCH_DMA_SRC_TYPE" => Some(f.src_type),
        "LAUNCH_DMA_DST_TYPE" => Some(f.dst_type),
        "LAUNCH_DMA_SEMAPHORE_REDUCTION" => Some(f.semaphore_reduction),
        "LAUNCH_DMA_SEMAPHORE_REDUCTION_SIGN" => Some(f.semaphore_reduction_sign),
        "LAUNCH_DMA_SEMAPHORE_REDUCTION_ENABLE" => Some(f.semaphore_reduction_enable),
        "LAUNCH_DMA_SRC_BYPASS_L2" => f.src_bypass_l2,
        "LAUNCH_DMA_DST_BYPASS_L2" => f.dst_bypass_l2,
        "LAUNCH_DMA_COPY_TYPE" => f.copy_type,
        "LAUNCH_DMA_VPRMODE" => f.vprmode,
        "LAUNCH_DMA_MEMORY_SCRUB_ENABLE" => f.memory_scrub_enable,
        "LAUNCH_DMA_RESERVED_START_OF_COPY" => f.reserved_start_of_copy,
        "LAUNCH_DMA_DISABLE_PLC" => f.disable_plc,
        "LAUNCH_DMA_SEMAPHORE_PAYLOAD_SIZE" => f.semaphore_payload_size,
        "SET_REMAP_COMPONENTS_DST_X" => Some(r.dst_x),
        "SET_REMAP_COMPONENTS_DST_Y" => Some(r.dst_y),
        "SET_REMAP_COMPONENTS_DST_Z" => Some(r.dst_z),
        "SET_REMAP_COMPONENTS_DST_W" => Some(r.dst_w),
        "SET_REMAP_COMPONENTS_COMPONENT_SIZE" => Some(r.component_size),
        "SET_REMAP_COMPONENTS_NUM_SRC_COMPONENTS" => Some(r.num_src_components),
        "SET_REMAP_COMPONENTS_NUM_DST_COMPONENTS" => Some(r.num_dst_components),
        "LAUNCH_DMA_RESERVED_ERR_CODE" => Some(f.reserved_err_code),
        // PASCAL_DMA_COPY_A calls RESERVED_ERR_CODE `RESERVED`.
        "LAUNCH_DMA_RESERVED" => Some(f.reserved_err_code),
        _ => panic!("no field {name}"),
    }
}

/// Returns the table's answer to whether the header defines the value named `name`.
fn defines(c: &CeClass, name: &str) -> bool {
    match name {
        "SET_SRC_PHYS_MODE_TARGET_PEERMEM" => c.phys_mode.target_peermem,
        "LAUNCH_DMA_DATA_TRANSFER_TYPE_PREFETCH" => c.launch_dma.data_transfer_type_prefetch,
        "LAUNCH_DMA_SEMAPHORE_TYPE_RELEASE_CONDITIONAL_INTR_SEMAPHORE" => {
            c.launch_dma.semaphore_type_conditional_intr
        }
        _ => panic!("no value {name}"),
    }
}

/// Checks the class number, name and generation of `c`.
fn check_class(c: &'static CeClass, id: u32, name: &str, header: &str, generation: Generation) {
    assert_eq!(c.id, id);
    assert_eq!(c.name, name);
    assert_eq!(c.header, header);
    assert_eq!(c.generation, generation);
    assert!(core::ptr::eq(generation.ce_class(), c));
    assert_eq!(Generation::from_class(id), Some(generation));
}

/// Checks method offsets against the header's: (define, offset).
fn check_methods(c: &CeClass, prefix: &str, expected: &[(&str, Option<u32>)]) {
    for &(name, header) in expected {
        assert_eq!(method(c, name), header, "{prefix}_{name}");
    }
}

/// Checks fields against the header's: (define, `hi:lo`).
fn check_fields(c: &CeClass, prefix: &str, expected: &[(&str, Option<(u32, u32)>)]) {
    for &(name, header) in expected {
        let table = field(c, name).map(|f| (f.hi(), f.lo()));
        assert_eq!(table, header, "{prefix}_{name}");
    }
}

/// Checks which values the header defines: (define, defined).
fn check_values(c: &CeClass, prefix: &str, expected: &[(&str, bool)]) {
    for &(name, header) in expected {
        assert_eq!(defines(c, name), header, "{prefix}_{name}");
    }
}

/// PASCAL_DMA_COPY_A against `clc0b5.h`, read in NVIDIA/open-gpu-kernel-modules,
/// `src/common/sdk/nvidia/inc/class/clc0b5.h`.
#[test]
fn pascal_dma_copy_a() {
    let c = &PASCAL_DMA_COPY_A;
    // PASCAL_DMA_COPY_A (0x0000C0B5)
    check_class(
        c,
        0xc0b5,
        "PASCAL_DMA_COPY_A",
        "clc0b5.h",
        Generation::Pascal,
    );

    check_methods(
        c,
        "NVC0B5",
        &[
            ("NOP", Some(0x0100)),
            ("SET_SEMAPHORE_A", Some(0x0240)),
            ("SET_SEMAPHORE_B", Some(0x0244)),
            ("SET_SEMAPHORE_PAYLOAD", Some(0x0248)),
            ("SET_SRC_PHYS_MODE", Some(0x0260)),
            ("SET_DST_PHYS_MODE", Some(0x0264)),
            ("LAUNCH_DMA", Some(0x0300)),
            ("OFFSET_IN_UPPER", Some(0x0400)),
            ("OFFSET_IN_LOWER", Some(0x0404)),
            ("OFFSET_OUT_UPPER", Some(0x0408)),
            ("OFFSET_OUT_LOWER", Some(0x040c)),
            ("PITCH_IN", Some(0x0410)),
            ("PITCH_OUT", Some(0x0414)),
            ("LINE_LENGTH_IN", Some(0x0418)),
            ("LINE_COUNT", Some(0x041c)),
            ("SET_REMAP_CONST_A", Some(0x0700)),
            ("SET_REMAP_CONST_B", Some(0x0704)),
            ("SET_REMAP_COMPONENTS", Some(0x0708)),
            ("SET_SEMAPHORE_PAYLOAD_UPPER", None),
        ],
    );

    check_fields(
        c,
        "NVC0B5",
        &[
            ("SET_SEMAPHORE_A_UPPER", Some((16, 0))),
            ("OFFSET_IN_UPPER_UPPER", Some((16, 0))),
            ("OFFSET_OUT_UPPER_UPPER", Some((16, 0))),
            ("SET_SRC_PHYS_MODE_TARGET", Some((1, 0))),
            ("SET_SRC_PHYS_MODE_BASIC_KIND", None),
            ("SET_SRC_PHYS_MODE_PEER_ID", None),
            ("SET_SRC_PHYS_MODE_FLA", None),
            ("SET_DST_PHYS_MODE_TARGET", Some((1, 0))),
            ("SET_DST_PHYS_MODE_BASIC_KIND", None),
            ("SET_DST_PHYS_MODE_PEER_ID", None),
            ("SET_DST_PHYS_MODE_FLA", None),
            ("LAUNCH_DMA_DATA_TRANSFER_TYPE", Some((1, 0))),
            ("LAUNCH_DMA_FLUSH_ENABLE", Some((2, 2))),
            ("LAUNCH_DMA_FLUSH_TYPE", None),
            ("LAUNCH_DMA_SEMAPHORE_TYPE", Some((4, 3))),
            ("LAUNCH_DMA_INTERRUPT_TYPE", Some((6, 5))),
            ("LAUNCH_DMA_SRC_MEMORY_LAYOUT", Some((7, 7))),
            ("LAUNCH_DMA_DST_MEMORY_LAYOUT", Some((8, 8))),
            ("LAUNCH_DMA_MULTI_LINE_ENABLE", Some((9, 9))),
            ("LAUNCH_DMA_REMAP_ENABLE", Some((10, 10))),
            ("LAUNCH_DMA_FORCE_RMWDISABLE", Some((11, 11))),
            ("LAUNCH_DMA_COMPRESSION_ENABLE", None),
            ("LAUNCH_DMA_SRC_TYPE", Some((12, 12))),
            ("LAUNCH_DMA_DST_TYPE", Some((13, 13))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION", Some((17, 14))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION_SIGN", Some((18, 18))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION_ENABLE", Some((19, 19))),
            ("LAUNCH_DMA_SRC_BYPASS_L2", Some((20, 20))),
            ("LAUNCH_DMA_DST_BYPASS_L2", Some((21, 21))),
            ("LAUNCH_DMA_COPY_TYPE", None),
            ("LAUNCH_DMA_VPRMODE", None),
            ("LAUNCH_DMA_MEMORY_SCRUB_ENABLE", None),
            ("LAUNCH_DMA_RESERVED_START_OF_COPY", None),
            ("LAUNCH_DMA_DISABLE_PLC", None),
            ("LAUNCH_DMA_SEMAPHORE_PAYLOAD_SIZE", None),
            ("LAUNCH_DMA_RESERVED", Some((31, 28))),
            ("SET_REMAP_COMPONENTS_DST_X", Some((2, 0))),
            ("SET_REMAP_COMPONENTS_DST_Y", Some((6, 4))),
            ("SET_REMAP_COMPONENTS_DST_Z", Some((10, 8))),
            ("SET_REMAP_COMPONENTS_DST_W", Some((14, 12))),
            ("SET_REMAP_COMPONENTS_COMPONENT_SIZE", Some((17, 16))),
            ("SET_REMAP_COMPONENTS_NUM_SRC_COMPONENTS", Some((21, 20))),
            ("SET_REMAP_COMPONENTS_NUM_DST_COMPONENTS", Some((25, 24))),
        ],
    );

    check_values(
        c,
        "NVC0B5",
        &[
            ("SET_SRC_PHYS_MODE_TARGET_PEERMEM", false),
            ("LAUNCH_DMA_DATA_TRANSFER_TYPE_PREFETCH", false),
            (
                "LAUNCH_DMA_SEMAPHORE_TYPE_RELEASE_CONDITIONAL_INTR_SEMAPHORE",
                false,
            ),
        ],
    );
}

/// VOLTA_DMA_COPY_A against `clc3b5.h`, read in NVIDIA/open-gpu-doc,
/// `classes/dma-copy/clc3b5.h`.
#[test]
fn volta_dma_copy_a() {
    let c = &VOLTA_DMA_COPY_A;
    // VOLTA_DMA_COPY_A (0x0000C3B5)
    check_class(c, 0xc3b5, "VOLTA_DMA_COPY_A", "clc3b5.h", Generation::Volta);

    check_methods(
        c,
        "NVC3B5",
        &[
            ("NOP", Some(0x0100)),
            ("SET_SEMAPHORE_A", Some(0x0240)),
            ("SET_SEMAPHORE_B", Some(0x0244)),
            ("SET_SEMAPHORE_PAYLOAD", Some(0x0248)),
            ("SET_SRC_PHYS_MODE", Some(0x0260)),
            ("SET_DST_PHYS_MODE", Some(0x0264)),
            ("LAUNCH_DMA", Some(0x0300)),
            ("OFFSET_IN_UPPER", Some(0x0400)),
            ("OFFSET_IN_LOWER", Some(0x0404)),
            ("OFFSET_OUT_UPPER", Some(0x0408)),
            ("OFFSET_OUT_LOWER", Some(0x040c)),
            ("PITCH_IN", Some(0x0410)),
            ("PITCH_OUT", Some(0x0414)),
            ("LINE_LENGTH_IN", Some(0x0418)),
            ("LINE_COUNT", Some(0x041c)),
            ("SET_REMAP_CONST_A", Some(0x0700)),
            ("SET_REMAP_CONST_B", Some(0x0704)),
            ("SET_REMAP_COMPONENTS", Some(0x0708)),
            ("SET_SEMAPHORE_PAYLOAD_UPPER", None),
        ],
    );

    check_fields(
        c,
        "NVC3B5",
        &[
            ("SET_SEMAPHORE_A_UPPER", Some((16, 0))),
            ("OFFSET_IN_UPPER_UPPER", Some((16, 0))),
            ("OFFSET_OUT_UPPER_UPPER", Some((16, 0))),
            ("SET_SRC_PHYS_MODE_TARGET", Some((1, 0))),
            ("SET_SRC_PHYS_MODE_BASIC_KIND", Some((5, 2))),
            ("SET_SRC_PHYS_MODE_PEER_ID", None),
            ("SET_SRC_PHYS_MODE_FLA", None),
            ("SET_DST_PHYS_MODE_TARGET", Some((1, 0))),
            ("SET_DST_PHYS_MODE_BASIC_KIND", Some((5, 2))),
            ("SET_DST_PHYS_MODE_PEER_ID", None),
            ("SET_DST_PHYS_MODE_FLA", None),
            ("LAUNCH_DMA_DATA_TRANSFER_TYPE", Some((1, 0))),
            ("LAUNCH_DMA_FLUSH_ENABLE", Some((2, 2))),
            ("LAUNCH_DMA_FLUSH_TYPE", Some((25, 25))),
            ("LAUNCH_DMA_SEMAPHORE_TYPE", Some((4, 3))),
            ("LAUNCH_DMA_INTERRUPT_TYPE", Some((6, 5))),
            ("LAUNCH_DMA_SRC_MEMORY_LAYOUT", Some((7, 7))),
            ("LAUNCH_DMA_DST_MEMORY_LAYOUT", Some((8, 8))),
            ("LAUNCH_DMA_MULTI_LINE_ENABLE", Some((9, 9))),
            ("LAUNCH_DMA_REMAP_ENABLE", Some((10, 10))),
            ("LAUNCH_DMA_FORCE_RMWDISABLE", Some((11, 11))),
            ("LAUNCH_DMA_COMPRESSION_ENABLE", None),
            ("LAUNCH_DMA_SRC_TYPE", Some((12, 12))),
            ("LAUNCH_DMA_DST_TYPE", Some((13, 13))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION", Some((17, 14))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION_SIGN", Some((18, 18))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION_ENABLE", Some((19, 19))),
            ("LAUNCH_DMA_SRC_BYPASS_L2", Some((20, 20))),
            ("LAUNCH_DMA_DST_BYPASS_L2", Some((21, 21))),
            ("LAUNCH_DMA_COPY_TYPE", None),
            ("LAUNCH_DMA_VPRMODE", Some((23, 22))),
            ("LAUNCH_DMA_MEMORY_SCRUB_ENABLE", None),
            ("LAUNCH_DMA_RESERVED_START_OF_COPY", Some((24, 24))),
            ("LAUNCH_DMA_DISABLE_PLC", None),
            ("LAUNCH_DMA_SEMAPHORE_PAYLOAD_SIZE", None),
            ("LAUNCH_DMA_RESERVED_ERR_CODE", Some((31, 28))),
            ("SET_REMAP_COMPONENTS_DST_X", Some((2, 0))),
            ("SET_REMAP_COMPONENTS_DST_Y", Some((6, 4))),
            ("SET_REMAP_COMPONENTS_DST_Z", Some((10, 8))),
            ("SET_REMAP_COMPONENTS_DST_W", Some((14, 12))),
            ("SET_REMAP_COMPONENTS_COMPONENT_SIZE", Some((17, 16))),
            ("SET_REMAP_COMPONENTS_NUM_SRC_COMPONENTS", Some((21, 20))),
            ("SET_REMAP_COMPONENTS_NUM_DST_COMPONENTS", Some((25, 24))),
        ],
    );

    check_values(
        c,
        "NVC3B5",
        &[
            ("SET_SRC_PHYS_MODE_TARGET_PEERMEM", false),
            ("LAUNCH_DMA_DATA_TRANSFER_TYPE_PREFETCH", false),
            (
                "LAUNCH_DMA_SEMAPHORE_TYPE_RELEASE_CONDITIONAL_INTR_SEMAPHORE",
                false,
            ),
        ],
    );
}

/// TURING_DMA_COPY_A against `clc5b5.h`, read in NVIDIA/open-gpu-doc,
/// `classes/dma-copy/clc5b5.h`.
#[test]
fn turing_dma_copy_a() {
    let c = &TURING_DMA_COPY_A;
    // TURING_DMA_COPY_A (0x0000C5B5)
    check_class(
        c,
        0xc5b5,
        "TURING_DMA_COPY_A",
        "clc5b5.h",
        Generation::Turing,
    );

    check_methods(
        c,
        "NVC5B5",
        &[
            ("NOP", Some(0x0100)),
            ("SET_SEMAPHORE_A", Some(0x0240)),
            ("SET_SEMAPHORE_B", Some(0x0244)),
            ("SET_SEMAPHORE_PAYLOAD", Some(0x0248)),
            ("SET_SRC_PHYS_MODE", Some(0x0260)),
            ("SET_DST_PHYS_MODE", Some(0x0264)),
            ("LAUNCH_DMA", Some(0x0300)),
            ("OFFSET_IN_UPPER", Some(0x0400)),
            ("OFFSET_IN_LOWER", Some(0x0404)),
            ("OFFSET_OUT_UPPER", Some(0x0408)),
            ("OFFSET_OUT_LOWER", Some(0x040c)),
            ("PITCH_IN", Some(0x0410)),
            ("PITCH_OUT", Some(0x0414)),
            ("LINE_LENGTH_IN", Some(0x0418)),
            ("LINE_COUNT", Some(0x041c)),
            ("SET_REMAP_CONST_A", Some(0x0700)),
            ("SET_REMAP_CONST_B", Some(0x0704)),
            ("SET_REMAP_COMPONENTS", Some(0x0708)),
            ("SET_SEMAPHORE_PAYLOAD_UPPER", None),
        ],
    );

    check_fields(
        c,
        "NVC5B5",
        &[
            ("SET_SEMAPHORE_A_UPPER", Some((16, 0))),
            ("OFFSET_IN_UPPER_UPPER", Some((16, 0))),
            ("OFFSET_OUT_UPPER_UPPER", Some((16, 0))),
            ("SET_SRC_PHYS_MODE_TARGET", Some((1, 0))),
            ("SET_SRC_PHYS_MODE_BASIC_KIND", Some((5, 2))),
            ("SET_SRC_PHYS_MODE_PEER_ID", None),
            ("SET_SRC_PHYS_MODE_FLA", None),
            ("SET_DST_PHYS_MODE_TARGET", Some((1, 0))),
            ("SET_DST_PHYS_MODE_BASIC_KIND", Some((5, 2))),
            ("SET_DST_PHYS_MODE_PEER_ID", None),
            ("SET_DST_PHYS_MODE_FLA", None),
            ("LAUNCH_DMA_DATA_TRANSFER_TYPE", Some((1, 0))),
            ("LAUNCH_DMA_FLUSH_ENABLE", Some((2, 2))),
            ("LAUNCH_DMA_FLUSH_TYPE", Some((25, 25))),
            ("LAUNCH_DMA_SEMAPHORE_TYPE", Some((4, 3))),
            ("LAUNCH_DMA_INTERRUPT_TYPE", Some((6, 5))),
            ("LAUNCH_DMA_SRC_MEMORY_LAYOUT", Some((7, 7))),
            ("LAUNCH_DMA_DST_MEMORY_LAYOUT", Some((8, 8))),
            ("LAUNCH_DMA_MULTI_LINE_ENABLE", Some((9, 9))),
            ("LAUNCH_DMA_REMAP_ENABLE", Some((10, 10))),
            ("LAUNCH_DMA_FORCE_RMWDISABLE", Some((11, 11))),
            ("LAUNCH_DMA_COMPRESSION_ENABLE", None),
            ("LAUNCH_DMA_SRC_TYPE", Some((12, 12))),
            ("LAUNCH_DMA_DST_TYPE", Some((13, 13))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION", Some((17, 14))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION_SIGN", Some((18, 18))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION_ENABLE", Some((19, 19))),
            ("LAUNCH_DMA_SRC_BYPASS_L2", Some((20, 20))),
            ("LAUNCH_DMA_DST_BYPASS_L2", Some((21, 21))),
            ("LAUNCH_DMA_COPY_TYPE", None),
            ("LAUNCH_DMA_VPRMODE", Some((23, 22))),
            ("LAUNCH_DMA_MEMORY_SCRUB_ENABLE", None),
            ("LAUNCH_DMA_RESERVED_START_OF_COPY", Some((24, 24))),
            ("LAUNCH_DMA_DISABLE_PLC", Some((26, 26))),
            ("LAUNCH_DMA_SEMAPHORE_PAYLOAD_SIZE", None),
            ("LAUNCH_DMA_RESERVED_ERR_CODE", Some((31, 28))),
            ("SET_REMAP_COMPONENTS_DST_X", Some((2, 0))),
            ("SET_REMAP_COMPONENTS_DST_Y", Some((6, 4))),
            ("SET_REMAP_COMPONENTS_DST_Z", Some((10, 8))),
            ("SET_REMAP_COMPONENTS_DST_W", Some((14, 12))),
            ("SET_REMAP_COMPONENTS_COMPONENT_SIZE", Some((17, 16))),
            ("SET_REMAP_COMPONENTS_NUM_SRC_COMPONENTS", Some((21, 20))),
            ("SET_REMAP_COMPONENTS_NUM_DST_COMPONENTS", Some((25, 24))),
        ],
    );

    check_values(
        c,
        "NVC5B5",
        &[
            ("SET_SRC_PHYS_MODE_TARGET_PEERMEM", false),
            ("LAUNCH_DMA_DATA_TRANSFER_TYPE_PREFETCH", false),
            (
                "LAUNCH_DMA_SEMAPHORE_TYPE_RELEASE_CONDITIONAL_INTR_SEMAPHORE",
                true,
            ),
        ],
    );
}

/// AMPERE_DMA_COPY_A against `clc6b5.h`, read in NVIDIA/open-gpu-kernel-modules,
/// `kernel-open/nvidia-uvm/clc6b5.h`.
#[test]
fn ampere_dma_copy_a() {
    let c = &AMPERE_DMA_COPY_A;
    // AMPERE_DMA_COPY_A (0x0000C6B5)
    check_class(
        c,
        0xc6b5,
        "AMPERE_DMA_COPY_A",
        "clc6b5.h",
        Generation::AmpereA,
    );

    check_methods(
        c,
        "NVC6B5",
        &[
            ("NOP", Some(0x0100)),
            ("SET_SEMAPHORE_A", Some(0x0240)),
            ("SET_SEMAPHORE_B", Some(0x0244)),
            ("SET_SEMAPHORE_PAYLOAD", Some(0x0248)),
            ("SET_SRC_PHYS_MODE", Some(0x0260)),
            ("SET_DST_PHYS_MODE", Some(0x0264)),
            ("LAUNCH_DMA", Some(0x0300)),
            ("OFFSET_IN_UPPER", Some(0x0400)),
            ("OFFSET_IN_LOWER", Some(0x0404)),
            ("OFFSET_OUT_UPPER", Some(0x0408)),
            ("OFFSET_OUT_LOWER", Some(0x040c)),
            ("PITCH_IN", Some(0x0410)),
            ("PITCH_OUT", Some(0x0414)),
            ("LINE_LENGTH_IN", Some(0x0418)),
            ("LINE_COUNT", Some(0x041c)),
            ("SET_REMAP_CONST_A", Some(0x0700)),
            ("SET_REMAP_CONST_B", Some(0x0704)),
            ("SET_REMAP_COMPONENTS", Some(0x0708)),
            ("SET_SEMAPHORE_PAYLOAD_UPPER", None),
        ],
    );

    check_fields(
        c,
        "NVC6B5",
        &[
            ("SET_SEMAPHORE_A_UPPER", Some((16, 0))),
            ("OFFSET_IN_UPPER_UPPER", Some((16, 0))),
            ("OFFSET_OUT_UPPER_UPPER", Some((16, 0))),
            ("SET_SRC_PHYS_MODE_TARGET", Some((1, 0))),
            ("SET_SRC_PHYS_MODE_BASIC_KIND", Some((5, 2))),
            ("SET_SRC_PHYS_MODE_PEER_ID", Some((8, 6))),
            ("SET_SRC_PHYS_MODE_FLA", Some((9, 9))),
            ("SET_DST_PHYS_MODE_TARGET", Some((1, 0))),
            ("SET_DST_PHYS_MODE_BASIC_KIND", Some((5, 2))),
            ("SET_DST_PHYS_MODE_PEER_ID", Some((8, 6))),
            ("SET_DST_PHYS_MODE_FLA", Some((9, 9))),
            ("LAUNCH_DMA_DATA_TRANSFER_TYPE", Some((1, 0))),
            ("LAUNCH_DMA_FLUSH_ENABLE", Some((2, 2))),
            ("LAUNCH_DMA_FLUSH_TYPE", Some((25, 25))),
            ("LAUNCH_DMA_SEMAPHORE_TYPE", Some((4, 3))),
            ("LAUNCH_DMA_INTERRUPT_TYPE", Some((6, 5))),
            ("LAUNCH_DMA_SRC_MEMORY_LAYOUT", Some((7, 7))),
            ("LAUNCH_DMA_DST_MEMORY_LAYOUT", Some((8, 8))),
            ("LAUNCH_DMA_MULTI_LINE_ENABLE", Some((9, 9))),
            ("LAUNCH_DMA_REMAP_ENABLE", Some((10, 10))),
            ("LAUNCH_DMA_FORCE_RMWDISABLE", Some((11, 11))),
            ("LAUNCH_DMA_COMPRESSION_ENABLE", None),
            ("LAUNCH_DMA_SRC_TYPE", Some((12, 12))),
            ("LAUNCH_DMA_DST_TYPE", Some((13, 13))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION", Some((17, 14))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION_SIGN", Some((18, 18))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION_ENABLE", Some((19, 19))),
            ("LAUNCH_DMA_SRC_BYPASS_L2", None),
            ("LAUNCH_DMA_DST_BYPASS_L2", None),
            ("LAUNCH_DMA_COPY_TYPE", None),
            ("LAUNCH_DMA_VPRMODE", Some((23, 22))),
            ("LAUNCH_DMA_MEMORY_SCRUB_ENABLE", None),
            ("LAUNCH_DMA_RESERVED_START_OF_COPY", Some((24, 24))),
            ("LAUNCH_DMA_DISABLE_PLC", Some((26, 26))),
            ("LAUNCH_DMA_SEMAPHORE_PAYLOAD_SIZE", None),
            ("LAUNCH_DMA_RESERVED_ERR_CODE", Some((31, 28))),
            ("SET_REMAP_COMPONENTS_DST_X", Some((2, 0))),
            ("SET_REMAP_COMPONENTS_DST_Y", Some((6, 4))),
            ("SET_REMAP_COMPONENTS_DST_Z", Some((10, 8))),
            ("SET_REMAP_COMPONENTS_DST_W", Some((14, 12))),
            ("SET_REMAP_COMPONENTS_COMPONENT_SIZE", Some((17, 16))),
            ("SET_REMAP_COMPONENTS_NUM_SRC_COMPONENTS", Some((21, 20))),
            ("SET_REMAP_COMPONENTS_NUM_DST_COMPONENTS", Some((25, 24))),
        ],
    );

    check_values(
        c,
        "NVC6B5",
        &[
            ("SET_SRC_PHYS_MODE_TARGET_PEERMEM", true),
            ("LAUNCH_DMA_DATA_TRANSFER_TYPE_PREFETCH", false),
            (
                "LAUNCH_DMA_SEMAPHORE_TYPE_RELEASE_CONDITIONAL_INTR_SEMAPHORE",
                true,
            ),
        ],
    );
}

/// AMPERE_DMA_COPY_B against `clc7b5.h`, read in NVIDIA/open-gpu-kernel-modules,
/// `kernel-open/nvidia-uvm/clc7b5.h`.
#[test]
fn ampere_dma_copy_b() {
    let c = &AMPERE_DMA_COPY_B;
    // AMPERE_DMA_COPY_B (0x0000C7B5)
    check_class(
        c,
        0xc7b5,
        "AMPERE_DMA_COPY_B",
        "clc7b5.h",
        Generation::AmpereB,
    );

    check_methods(
        c,
        "NVC7B5",
        &[
            ("NOP", Some(0x0100)),
            ("SET_SEMAPHORE_A", Some(0x0240)),
            ("SET_SEMAPHORE_B", Some(0x0244)),
            ("SET_SEMAPHORE_PAYLOAD", Some(0x0248)),
            ("SET_SRC_PHYS_MODE", Some(0x0260)),
            ("SET_DST_PHYS_MODE", Some(0x0264)),
            ("LAUNCH_DMA", Some(0x0300)),
            ("OFFSET_IN_UPPER", Some(0x0400)),
            ("OFFSET_IN_LOWER", Some(0x0404)),
            ("OFFSET_OUT_UPPER", Some(0x0408)),
            ("OFFSET_OUT_LOWER", Some(0x040c)),
            ("PITCH_IN", Some(0x0410)),
            ("PITCH_OUT", Some(0x0414)),
            ("LINE_LENGTH_IN", Some(0x0418)),
            ("LINE_COUNT", Some(0x041c)),
            ("SET_REMAP_CONST_A", Some(0x0700)),
            ("SET_REMAP_CONST_B", Some(0x0704)),
            ("SET_REMAP_COMPONENTS", Some(0x0708)),
            ("SET_SEMAPHORE_PAYLOAD_UPPER", Some(0x024c)),
        ],
    );

    check_fields(
        c,
        "NVC7B5",
        &[
            ("SET_SEMAPHORE_A_UPPER", Some((16, 0))),
            ("OFFSET_IN_UPPER_UPPER", Some((16, 0))),
            ("OFFSET_OUT_UPPER_UPPER", Some((16, 0))),
            ("SET_SRC_PHYS_MODE_TARGET", Some((1, 0))),
            ("SET_SRC_PHYS_MODE_BASIC_KIND", Some((5, 2))),
            ("SET_SRC_PHYS_MODE_PEER_ID", Some((8, 6))),
            ("SET_SRC_PHYS_MODE_FLA", Some((9, 9))),
            ("SET_DST_PHYS_MODE_TARGET", Some((1, 0))),
            ("SET_DST_PHYS_MODE_BASIC_KIND", Some((5, 2))),
            ("SET_DST_PHYS_MODE_PEER_ID", Some((8, 6))),
            ("SET_DST_PHYS_MODE_FLA", Some((9, 9))),
            ("LAUNCH_DMA_DATA_TRANSFER_TYPE", Some((1, 0))),
            ("LAUNCH_DMA_FLUSH_ENABLE", Some((2, 2))),
            ("LAUNCH_DMA_FLUSH_TYPE", Some((25, 25))),
            ("LAUNCH_DMA_SEMAPHORE_TYPE", Some((4, 3))),
            ("LAUNCH_DMA_INTERRUPT_TYPE", Some((6, 5))),
            ("LAUNCH_DMA_SRC_MEMORY_LAYOUT", Some((7, 7))),
            ("LAUNCH_DMA_DST_MEMORY_LAYOUT", Some((8, 8))),
            ("LAUNCH_DMA_MULTI_LINE_ENABLE", Some((9, 9))),
            ("LAUNCH_DMA_REMAP_ENABLE", Some((10, 10))),
            ("LAUNCH_DMA_FORCE_RMWDISABLE", Some((11, 11))),
            ("LAUNCH_DMA_COMPRESSION_ENABLE", None),
            ("LAUNCH_DMA_SRC_TYPE", Some((12, 12))),
            ("LAUNCH_DMA_DST_TYPE", Some((13, 13))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION", Some((17, 14))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION_SIGN", Some((18, 18))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION_ENABLE", Some((19, 19))),
            ("LAUNCH_DMA_SRC_BYPASS_L2", None),
            ("LAUNCH_DMA_DST_BYPASS_L2", None),
            ("LAUNCH_DMA_COPY_TYPE", None),
            ("LAUNCH_DMA_VPRMODE", Some((23, 22))),
            ("LAUNCH_DMA_MEMORY_SCRUB_ENABLE", None),
            ("LAUNCH_DMA_RESERVED_START_OF_COPY", Some((24, 24))),
            ("LAUNCH_DMA_DISABLE_PLC", Some((26, 26))),
            ("LAUNCH_DMA_SEMAPHORE_PAYLOAD_SIZE", Some((27, 27))),
            ("LAUNCH_DMA_RESERVED_ERR_CODE", Some((31, 28))),
            ("SET_REMAP_COMPONENTS_DST_X", Some((2, 0))),
            ("SET_REMAP_COMPONENTS_DST_Y", Some((6, 4))),
            ("SET_REMAP_COMPONENTS_DST_Z", Some((10, 8))),
            ("SET_REMAP_COMPONENTS_DST_W", Some((14, 12))),
            ("SET_REMAP_COMPONENTS_COMPONENT_SIZE", Some((17, 16))),
            ("SET_REMAP_COMPONENTS_NUM_SRC_COMPONENTS", Some((21, 20))),
            ("SET_REMAP_COMPONENTS_NUM_DST_COMPONENTS", Some((25, 24))),
        ],
    );

    check_values(
        c,
        "NVC7B5",
        &[
            ("SET_SRC_PHYS_MODE_TARGET_PEERMEM", true),
            ("LAUNCH_DMA_DATA_TRANSFER_TYPE_PREFETCH", false),
            (
                "LAUNCH_DMA_SEMAPHORE_TYPE_RELEASE_CONDITIONAL_INTR_SEMAPHORE",
                true,
            ),
        ],
    );
}

/// HOPPER_DMA_COPY_A against `clc8b5.h`, read in NVIDIA/open-gpu-kernel-modules,
/// `kernel-open/nvidia-uvm/clc8b5.h`.
#[test]
fn hopper_dma_copy_a() {
    let c = &HOPPER_DMA_COPY_A;
    // HOPPER_DMA_COPY_A (0x0000C8B5)
    check_class(
        c,
        0xc8b5,
        "HOPPER_DMA_COPY_A",
        "clc8b5.h",
        Generation::Hopper,
    );

    check_methods(
        c,
        "NVC8B5",
        &[
            ("NOP", Some(0x0100)),
            ("SET_SEMAPHORE_A", Some(0x0240)),
            ("SET_SEMAPHORE_B", Some(0x0244)),
            ("SET_SEMAPHORE_PAYLOAD", Some(0x0248)),
            ("SET_SRC_PHYS_MODE", Some(0x0260)),
            ("SET_DST_PHYS_MODE", Some(0x0264)),
            ("LAUNCH_DMA", Some(0x0300)),
            ("OFFSET_IN_UPPER", Some(0x0400)),
            ("OFFSET_IN_LOWER", Some(0x0404)),
            ("OFFSET_OUT_UPPER", Some(0x0408)),
            ("OFFSET_OUT_LOWER", Some(0x040c)),
            ("PITCH_IN", Some(0x0410)),
            ("PITCH_OUT", Some(0x0414)),
            ("LINE_LENGTH_IN", Some(0x0418)),
            ("LINE_COUNT", Some(0x041c)),
            ("SET_REMAP_CONST_A", Some(0x0700)),
            ("SET_REMAP_CONST_B", Some(0x0704)),
            ("SET_REMAP_COMPONENTS", Some(0x0708)),
            ("SET_SEMAPHORE_PAYLOAD_UPPER", Some(0x024c)),
        ],
    );

    check_fields(
        c,
        "NVC8B5",
        &[
            ("SET_SEMAPHORE_A_UPPER", Some((24, 0))),
            ("OFFSET_IN_UPPER_UPPER", Some((24, 0))),
            ("OFFSET_OUT_UPPER_UPPER", Some((24, 0))),
            ("SET_SRC_PHYS_MODE_TARGET", Some((1, 0))),
            ("SET_SRC_PHYS_MODE_BASIC_KIND", Some((5, 2))),
            ("SET_SRC_PHYS_MODE_PEER_ID", Some((8, 6))),
            ("SET_SRC_PHYS_MODE_FLA", Some((9, 9))),
            ("SET_DST_PHYS_MODE_TARGET", Some((1, 0))),
            ("SET_DST_PHYS_MODE_BASIC_KIND", Some((5, 2))),
            ("SET_DST_PHYS_MODE_PEER_ID", Some((8, 6))),
            ("SET_DST_PHYS_MODE_FLA", Some((9, 9))),
            ("LAUNCH_DMA_DATA_TRANSFER_TYPE", Some((1, 0))),
            ("LAUNCH_DMA_FLUSH_ENABLE", Some((2, 2))),
            ("LAUNCH_DMA_FLUSH_TYPE", Some((25, 25))),
            ("LAUNCH_DMA_SEMAPHORE_TYPE", Some((4, 3))),
            ("LAUNCH_DMA_INTERRUPT_TYPE", Some((6, 5))),
            ("LAUNCH_DMA_SRC_MEMORY_LAYOUT", Some((7, 7))),
            ("LAUNCH_DMA_DST_MEMORY_LAYOUT", Some((8, 8))),
            ("LAUNCH_DMA_MULTI_LINE_ENABLE", Some((9, 9))),
            ("LAUNCH_DMA_REMAP_ENABLE", Some((10, 10))),
            ("LAUNCH_DMA_FORCE_RMWDISABLE", Some((11, 11))),
            ("LAUNCH_DMA_COMPRESSION_ENABLE", None),
            ("LAUNCH_DMA_SRC_TYPE", Some((12, 12))),
            ("LAUNCH_DMA_DST_TYPE", Some((13, 13))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION", Some((17, 14))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION_SIGN", Some((18, 18))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION_ENABLE", Some((19, 19))),
            ("LAUNCH_DMA_SRC_BYPASS_L2", None),
            ("LAUNCH_DMA_DST_BYPASS_L2", None),
            ("LAUNCH_DMA_COPY_TYPE", Some((21, 20))),
            ("LAUNCH_DMA_VPRMODE", Some((22, 22))),
            ("LAUNCH_DMA_MEMORY_SCRUB_ENABLE", Some((23, 23))),
            ("LAUNCH_DMA_RESERVED_START_OF_COPY", Some((24, 24))),
            ("LAUNCH_DMA_DISABLE_PLC", Some((26, 26))),
            ("LAUNCH_DMA_SEMAPHORE_PAYLOAD_SIZE", Some((27, 27))),
            ("LAUNCH_DMA_RESERVED_ERR_CODE", Some((31, 28))),
            ("SET_REMAP_COMPONENTS_DST_X", Some((2, 0))),
            ("SET_REMAP_COMPONENTS_DST_Y", Some((6, 4))),
            ("SET_REMAP_COMPONENTS_DST_Z", Some((10, 8))),
            ("SET_REMAP_COMPONENTS_DST_W", Some((14, 12))),
            ("SET_REMAP_COMPONENTS_COMPONENT_SIZE", Some((17, 16))),
            ("SET_REMAP_COMPONENTS_NUM_SRC_COMPONENTS", Some((21, 20))),
            ("SET_REMAP_COMPONENTS_NUM_DST_COMPONENTS", Some((25, 24))),
        ],
    );

    check_values(
        c,
        "NVC8B5",
        &[
            ("SET_SRC_PHYS_MODE_TARGET_PEERMEM", true),
            ("LAUNCH_DMA_DATA_TRANSFER_TYPE_PREFETCH", false),
            (
                "LAUNCH_DMA_SEMAPHORE_TYPE_RELEASE_CONDITIONAL_INTR_SEMAPHORE",
                true,
            ),
        ],
    );
}

/// BLACKWELL_DMA_COPY_A against `clc9b5.h`, read in NVIDIA/open-gpu-kernel-modules,
/// `kernel-open/nvidia-uvm/clc9b5.h`.
#[test]
fn blackwell_dma_copy_a() {
    let c = &BLACKWELL_DMA_COPY_A;
    // BLACKWELL_DMA_COPY_A (0x0000C9B5)
    check_class(
        c,
        0xc9b5,
        "BLACKWELL_DMA_COPY_A",
        "clc9b5.h",
        Generation::BlackwellA,
    );

    check_methods(
        c,
        "NVC9B5",
        &[
            ("NOP", Some(0x0100)),
            ("SET_SEMAPHORE_A", Some(0x0240)),
            ("SET_SEMAPHORE_B", Some(0x0244)),
            ("SET_SEMAPHORE_PAYLOAD", Some(0x0248)),
            ("SET_SRC_PHYS_MODE", Some(0x0260)),
            ("SET_DST_PHYS_MODE", Some(0x0264)),
            ("LAUNCH_DMA", Some(0x0300)),
            ("OFFSET_IN_UPPER", Some(0x0400)),
            ("OFFSET_IN_LOWER", Some(0x0404)),
            ("OFFSET_OUT_UPPER", Some(0x0408)),
            ("OFFSET_OUT_LOWER", Some(0x040c)),
            ("PITCH_IN", Some(0x0410)),
            ("PITCH_OUT", Some(0x0414)),
            ("LINE_LENGTH_IN", Some(0x0418)),
            ("LINE_COUNT", Some(0x041c)),
            ("SET_REMAP_CONST_A", Some(0x0700)),
            ("SET_REMAP_CONST_B", Some(0x0704)),
            ("SET_REMAP_COMPONENTS", Some(0x0708)),
            ("SET_SEMAPHORE_PAYLOAD_UPPER", Some(0x024c)),
        ],
    );

    check_fields(
        c,
        "NVC9B5",
        &[
            ("SET_SEMAPHORE_A_UPPER", Some((24, 0))),
            ("OFFSET_IN_UPPER_UPPER", Some((24, 0))),
            ("OFFSET_OUT_UPPER_UPPER", Some((24, 0))),
            ("SET_SRC_PHYS_MODE_TARGET", Some((1, 0))),
            ("SET_SRC_PHYS_MODE_BASIC_KIND", Some((5, 2))),
            ("SET_SRC_PHYS_MODE_PEER_ID", Some((8, 6))),
            ("SET_SRC_PHYS_MODE_FLA", Some((9, 9))),
            ("SET_DST_PHYS_MODE_TARGET", Some((1, 0))),
            ("SET_DST_PHYS_MODE_BASIC_KIND", Some((5, 2))),
            ("SET_DST_PHYS_MODE_PEER_ID", Some((8, 6))),
            ("SET_DST_PHYS_MODE_FLA", Some((9, 9))),
            ("LAUNCH_DMA_DATA_TRANSFER_TYPE", Some((1, 0))),
            ("LAUNCH_DMA_FLUSH_ENABLE", Some((2, 2))),
            ("LAUNCH_DMA_FLUSH_TYPE", Some((25, 25))),
            ("LAUNCH_DMA_SEMAPHORE_TYPE", Some((4, 3))),
            ("LAUNCH_DMA_INTERRUPT_TYPE", Some((6, 5))),
            ("LAUNCH_DMA_SRC_MEMORY_LAYOUT", Some((7, 7))),
            ("LAUNCH_DMA_DST_MEMORY_LAYOUT", Some((8, 8))),
            ("LAUNCH_DMA_MULTI_LINE_ENABLE", Some((9, 9))),
            ("LAUNCH_DMA_REMAP_ENABLE", Some((10, 10))),
            ("LAUNCH_DMA_FORCE_RMWDISABLE", None),
            ("LAUNCH_DMA_COMPRESSION_ENABLE", Some((11, 11))),
            ("LAUNCH_DMA_SRC_TYPE", Some((12, 12))),
            ("LAUNCH_DMA_DST_TYPE", Some((13, 13))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION", Some((17, 14))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION_SIGN", Some((18, 18))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION_ENABLE", Some((19, 19))),
            ("LAUNCH_DMA_SRC_BYPASS_L2", None),
            ("LAUNCH_DMA_DST_BYPASS_L2", None),
            ("LAUNCH_DMA_COPY_TYPE", Some((21, 20))),
            ("LAUNCH_DMA_VPRMODE", Some((22, 22))),
            ("LAUNCH_DMA_MEMORY_SCRUB_ENABLE", Some((23, 23))),
            ("LAUNCH_DMA_RESERVED_START_OF_COPY", Some((24, 24))),
            ("LAUNCH_DMA_DISABLE_PLC", Some((26, 26))),
            ("LAUNCH_DMA_SEMAPHORE_PAYLOAD_SIZE", Some((27, 27))),
            ("LAUNCH_DMA_RESERVED_ERR_CODE", Some((31, 28))),
            ("SET_REMAP_COMPONENTS_DST_X", Some((2, 0))),
            ("SET_REMAP_COMPONENTS_DST_Y", Some((6, 4))),
            ("SET_REMAP_COMPONENTS_DST_Z", Some((10, 8))),
            ("SET_REMAP_COMPONENTS_DST_W", Some((14, 12))),
            ("SET_REMAP_COMPONENTS_COMPONENT_SIZE", Some((17, 16))),
            ("SET_REMAP_COMPONENTS_NUM_SRC_COMPONENTS", Some((21, 20))),
            ("SET_REMAP_COMPONENTS_NUM_DST_COMPONENTS", Some((25, 24))),
        ],
    );

    check_values(
        c,
        "NVC9B5",
        &[
            ("SET_SRC_PHYS_MODE_TARGET_PEERMEM", true),
            ("LAUNCH_DMA_DATA_TRANSFER_TYPE_PREFETCH", false),
            (
                "LAUNCH_DMA_SEMAPHORE_TYPE_RELEASE_CONDITIONAL_INTR_SEMAPHORE",
                true,
            ),
        ],
    );
}

/// BLACKWELL_DMA_COPY_B against `clcab5.h`, read in NVIDIA/open-gpu-doc,
/// `classes/dma-copy/clcab5.h`.
#[test]
fn blackwell_dma_copy_b() {
    let c = &BLACKWELL_DMA_COPY_B;
    // BLACKWELL_DMA_COPY_B (0x0000CAB5)
    check_class(
        c,
        0xcab5,
        "BLACKWELL_DMA_COPY_B",
        "clcab5.h",
        Generation::BlackwellB,
    );

    check_methods(
        c,
        "NVCAB5",
        &[
            ("NOP", Some(0x0100)),
            ("SET_SEMAPHORE_A", Some(0x0240)),
            ("SET_SEMAPHORE_B", Some(0x0244)),
            ("SET_SEMAPHORE_PAYLOAD", Some(0x0248)),
            ("SET_SRC_PHYS_MODE", Some(0x0260)),
            ("SET_DST_PHYS_MODE", Some(0x0264)),
            ("LAUNCH_DMA", Some(0x0300)),
            ("OFFSET_IN_UPPER", Some(0x0400)),
            ("OFFSET_IN_LOWER", Some(0x0404)),
            ("OFFSET_OUT_UPPER", Some(0x0408)),
            ("OFFSET_OUT_LOWER", Some(0x040c)),
            ("PITCH_IN", Some(0x0410)),
            ("PITCH_OUT", Some(0x0414)),
            ("LINE_LENGTH_IN", Some(0x0418)),
            ("LINE_COUNT", Some(0x041c)),
            ("SET_REMAP_CONST_A", Some(0x0700)),
            ("SET_REMAP_CONST_B", Some(0x0704)),
            ("SET_REMAP_COMPONENTS", Some(0x0708)),
            ("SET_SEMAPHORE_PAYLOAD_UPPER", Some(0x024c)),
        ],
    );

    check_fields(
        c,
        "NVCAB5",
        &[
            ("SET_SEMAPHORE_A_UPPER", Some((24, 0))),
            ("OFFSET_IN_UPPER_UPPER", Some((24, 0))),
            ("OFFSET_OUT_UPPER_UPPER", Some((24, 0))),
            ("SET_SRC_PHYS_MODE_TARGET", Some((1, 0))),
            ("SET_SRC_PHYS_MODE_BASIC_KIND", Some((5, 2))),
            ("SET_SRC_PHYS_MODE_PEER_ID", Some((8, 6))),
            ("SET_SRC_PHYS_MODE_FLA", Some((9, 9))),
            ("SET_DST_PHYS_MODE_TARGET", Some((1, 0))),
            ("SET_DST_PHYS_MODE_BASIC_KIND", Some((5, 2))),
            ("SET_DST_PHYS_MODE_PEER_ID", Some((8, 6))),
            ("SET_DST_PHYS_MODE_FLA", Some((9, 9))),
            ("LAUNCH_DMA_DATA_TRANSFER_TYPE", Some((1, 0))),
            ("LAUNCH_DMA_FLUSH_ENABLE", Some((2, 2))),
            ("LAUNCH_DMA_FLUSH_TYPE", Some((25, 25))),
            ("LAUNCH_DMA_SEMAPHORE_TYPE", Some((4, 3))),
            ("LAUNCH_DMA_INTERRUPT_TYPE", Some((6, 5))),
            ("LAUNCH_DMA_SRC_MEMORY_LAYOUT", Some((7, 7))),
            ("LAUNCH_DMA_DST_MEMORY_LAYOUT", Some((8, 8))),
            ("LAUNCH_DMA_MULTI_LINE_ENABLE", Some((9, 9))),
            ("LAUNCH_DMA_REMAP_ENABLE", Some((10, 10))),
            ("LAUNCH_DMA_FORCE_RMWDISABLE", None),
            ("LAUNCH_DMA_COMPRESSION_ENABLE", None),
            ("LAUNCH_DMA_SRC_TYPE", Some((12, 12))),
            ("LAUNCH_DMA_DST_TYPE", Some((13, 13))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION", Some((17, 14))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION_SIGN", Some((18, 18))),
            ("LAUNCH_DMA_SEMAPHORE_REDUCTION_ENABLE", Some((19, 19))),
            ("LAUNCH_DMA_SRC_BYPASS_L2", None),
            ("LAUNCH_DMA_DST_BYPASS_L2", None),
            ("LAUNCH_DMA_COPY_TYPE", Some((21, 20))),
            ("LAUNCH_DMA_VPRMODE", Some((22, 22))),
            ("LAUNCH_DMA_MEMORY_SCRUB_ENABLE", Some((23, 23))),
            ("LAUNCH_DMA_RESERVED_START_OF_COPY", Some((24, 24))),
            ("LAUNCH_DMA_DISABLE_PLC", Some((26, 26))),
            ("LAUNCH_DMA_SEMAPHORE_PAYLOAD_SIZE", Some((27, 27))),
            ("LAUNCH_DMA_RESERVED_ERR_CODE", Some((31, 28))),
            ("SET_REMAP_COMPONENTS_DST_X", Some((2, 0))),
            ("SET_REMAP_COMPONENTS_DST_Y", Some((6, 4))),
            ("SET_REMAP_COMPONENTS_DST_Z", Some((10, 8))),
            ("SET_REMAP_COMPONENTS_DST_W", Some((14, 12))),
            ("SET_REMAP_COMPONENTS_COMPONENT_SIZE", Some((17, 16))),
            ("SET_REMAP_COMPONENTS_NUM_SRC_COMPONENTS", Some((21, 20))),
            ("SET_REMAP_COMPONENTS_NUM_DST_COMPONENTS", Some((25, 24))),
        ],
    );

    check_values(
        c,
        "NVCAB5",
        &[
            ("SET_SRC_PHYS_MODE_TARGET_PEERMEM", true),
            ("LAUNCH_DMA_DATA_TRANSFER_TYPE_PREFETCH", true),
            (
                "LAUNCH_DMA_SEMAPHORE_TYPE_RELEASE_CONDITIONAL_INTR_SEMAPHORE",
                true,
            ),
        ],
    );
}
