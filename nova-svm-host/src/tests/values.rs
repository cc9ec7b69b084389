// SPDX-License-Identifier: GPL-2.0

//! Field values and table invariants.
//!
//! The value defines below are the same in every copy-engine header of `ce/class.rs`
//! (clc0b5.h, clc3b5.h, clc5b5.h, clc6b5.h, clc7b5.h, clc8b5.h, clc9b5.h, clcab5.h); the
//! defines are spelled with the AMPERE_DMA_COPY_A prefix, `NVC6B5_`, except where a value
//! exists only in later classes.

use crate::ce::class::*;
use crate::ce::Aperture;

#[test]
fn field_values() {
    let values: &[(&str, u32, u32)] = &[
        (
            "NVC6B5_SET_SRC_PHYS_MODE_TARGET_LOCAL_FB",
            phys_mode_target::LOCAL_FB,
            0x0,
        ),
        (
            "NVC6B5_SET_SRC_PHYS_MODE_TARGET_COHERENT_SYSMEM",
            phys_mode_target::COHERENT_SYSMEM,
            0x1,
        ),
        (
            "NVC6B5_SET_SRC_PHYS_MODE_TARGET_NONCOHERENT_SYSMEM",
            phys_mode_target::NONCOHERENT_SYSMEM,
            0x2,
        ),
        (
            "NVC6B5_SET_SRC_PHYS_MODE_TARGET_PEERMEM",
            phys_mode_target::PEERMEM,
            0x3,
        ),
        (
            "NVC6B5_LAUNCH_DMA_DATA_TRANSFER_TYPE_NONE",
            data_transfer_type::NONE,
            0x0,
        ),
        (
            "NVC6B5_LAUNCH_DMA_DATA_TRANSFER_TYPE_PIPELINED",
            data_transfer_type::PIPELINED,
            0x1,
        ),
        (
            "NVC6B5_LAUNCH_DMA_DATA_TRANSFER_TYPE_NON_PIPELINED",
            data_transfer_type::NON_PIPELINED,
            0x2,
        ),
        (
            "NVCAB5_LAUNCH_DMA_DATA_TRANSFER_TYPE_PREFETCH",
            data_transfer_type::PREFETCH,
            0x3,
        ),
        ("NVC6B5_LAUNCH_DMA_FLUSH_ENABLE_FALSE", flag::FALSE, 0x0),
        ("NVC6B5_LAUNCH_DMA_FLUSH_ENABLE_TRUE", flag::TRUE, 0x1),
        (
            "NVC6B5_LAUNCH_DMA_SEMAPHORE_TYPE_NONE",
            semaphore_type::NONE,
            0x0,
        ),
        (
            "NVC6B5_LAUNCH_DMA_SEMAPHORE_TYPE_RELEASE_ONE_WORD_SEMAPHORE",
            semaphore_type::RELEASE_ONE_WORD_SEMAPHORE,
            0x1,
        ),
        (
            "NVC8B5_LAUNCH_DMA_SEMAPHORE_TYPE_RELEASE_SEMAPHORE_NO_TIMESTAMP",
            semaphore_type::RELEASE_ONE_WORD_SEMAPHORE,
            0x1,
        ),
        (
            "NVC6B5_LAUNCH_DMA_SEMAPHORE_TYPE_RELEASE_FOUR_WORD_SEMAPHORE",
            semaphore_type::RELEASE_FOUR_WORD_SEMAPHORE,
            0x2,
        ),
        (
            "NVC6B5_LAUNCH_DMA_SEMAPHORE_TYPE_RELEASE_CONDITIONAL_INTR_SEMAPHORE",
            semaphore_type::RELEASE_CONDITIONAL_INTR_SEMAPHORE,
            0x3,
        ),
        (
            "NVC6B5_LAUNCH_DMA_INTERRUPT_TYPE_NONE",
            interrupt_type::NONE,
            0x0,
        ),
        (
            "NVC6B5_LAUNCH_DMA_INTERRUPT_TYPE_BLOCKING",
            interrupt_type::BLOCKING,
            0x1,
        ),
        (
            "NVC6B5_LAUNCH_DMA_INTERRUPT_TYPE_NON_BLOCKING",
            interrupt_type::NON_BLOCKING,
            0x2,
        ),
        (
            "NVC6B5_LAUNCH_DMA_SRC_MEMORY_LAYOUT_BLOCKLINEAR",
            memory_layout::BLOCKLINEAR,
            0x0,
        ),
        (
            "NVC6B5_LAUNCH_DMA_SRC_MEMORY_LAYOUT_PITCH",
            memory_layout::PITCH,
            0x1,
        ),
        (
            "NVC6B5_LAUNCH_DMA_SRC_TYPE_VIRTUAL",
            addr_type::VIRTUAL,
            0x0,
        ),
        (
            "NVC6B5_LAUNCH_DMA_SRC_TYPE_PHYSICAL",
            addr_type::PHYSICAL,
            0x1,
        ),
        (
            "NVC7B5_LAUNCH_DMA_SEMAPHORE_PAYLOAD_SIZE_ONE_WORD",
            semaphore_payload_size::ONE_WORD,
            0x0,
        ),
        (
            "NVC7B5_LAUNCH_DMA_SEMAPHORE_PAYLOAD_SIZE_TWO_WORD",
            semaphore_payload_size::TWO_WORD,
            0x1,
        ),
        (
            "NVC8B5_LAUNCH_DMA_COPY_TYPE_DEFAULT",
            copy_type::DEFAULT,
            0x0,
        ),
        ("NVC8B5_LAUNCH_DMA_COPY_TYPE_SECURE", copy_type::SECURE, 0x1),
        (
            "NVC8B5_LAUNCH_DMA_COPY_TYPE_NONPROT2NONPROT",
            copy_type::NONPROT2NONPROT,
            0x2,
        ),
        (
            "NVC6B5_SET_REMAP_COMPONENTS_DST_X_SRC_X",
            remap_dst::SRC_X,
            0x0,
        ),
        (
            "NVC6B5_SET_REMAP_COMPONENTS_DST_X_SRC_Y",
            remap_dst::SRC_Y,
            0x1,
        ),
        (
            "NVC6B5_SET_REMAP_COMPONENTS_DST_X_SRC_Z",
            remap_dst::SRC_Z,
            0x2,
        ),
        (
            "NVC6B5_SET_REMAP_COMPONENTS_DST_X_SRC_W",
            remap_dst::SRC_W,
            0x3,
        ),
        (
            "NVC6B5_SET_REMAP_COMPONENTS_DST_X_CONST_A",
            remap_dst::CONST_A,
            0x4,
        ),
        (
            "NVC6B5_SET_REMAP_COMPONENTS_DST_X_CONST_B",
            remap_dst::CONST_B,
            0x5,
        ),
        (
            "NVC6B5_SET_REMAP_COMPONENTS_DST_X_NO_WRITE",
            remap_dst::NO_WRITE,
            0x6,
        ),
        (
            "NVC6B5_SET_REMAP_COMPONENTS_COMPONENT_SIZE_ONE",
            remap_count::ONE,
            0x0,
        ),
        (
            "NVC6B5_SET_REMAP_COMPONENTS_COMPONENT_SIZE_TWO",
            remap_count::TWO,
            0x1,
        ),
        (
            "NVC6B5_SET_REMAP_COMPONENTS_COMPONENT_SIZE_THREE",
            remap_count::THREE,
            0x2,
        ),
        (
            "NVC6B5_SET_REMAP_COMPONENTS_COMPONENT_SIZE_FOUR",
            remap_count::FOUR,
            0x3,
        ),
        (
            "NVC6B5_SET_REMAP_COMPONENTS_NUM_DST_COMPONENTS_ONE",
            remap_count::ONE,
            0x0,
        ),
        (
            "NVC6B5_SET_REMAP_COMPONENTS_NUM_DST_COMPONENTS_FOUR",
            remap_count::FOUR,
            0x3,
        ),
    ];
    for &(define, actual, header) in values {
        assert_eq!(actual, header, "{define}");
    }
}

#[test]
fn aperture_targets() {
    for aperture in [
        Aperture::Vram,
        Aperture::SysmemCoherent,
        Aperture::SysmemNoncoherent,
    ] {
        assert_eq!(Aperture::from_target(aperture.target()), Some(aperture));
    }
    assert_eq!(Aperture::Vram.target(), 0x0);
    assert_eq!(Aperture::SysmemCoherent.target(), 0x1);
    assert_eq!(Aperture::SysmemNoncoherent.target(), 0x2);
    assert_eq!(Aperture::from_target(phys_mode_target::PEERMEM), None);
}

/// Every field of every table is a valid `hi:lo`, and no two fields of a method overlap.
#[test]
fn tables_are_consistent() {
    for generation in Generation::ALL {
        let c = generation.ce_class();
        assert_eq!(c.generation, generation);

        let f = &c.launch_dma;
        let launch: Vec<_> = [
            Some(f.data_transfer_type),
            Some(f.flush_enable),
            f.flush_type,
            Some(f.semaphore_type),
            Some(f.interrupt_type),
            Some(f.src_memory_layout),
            Some(f.dst_memory_layout),
            Some(f.multi_line_enable),
            Some(f.remap_enable),
            f.force_rmwdisable,
            f.compression_enable,
            Some(f.src_type),
            Some(f.dst_type),
            Some(f.semaphore_reduction),
            Some(f.semaphore_reduction_sign),
            Some(f.semaphore_reduction_enable),
            f.src_bypass_l2,
            f.dst_bypass_l2,
            f.copy_type,
            f.vprmode,
            f.memory_scrub_enable,
            f.reserved_start_of_copy,
            f.disable_plc,
            f.semaphore_payload_size,
            Some(f.reserved_err_code),
        ]
        .into_iter()
        .flatten()
        .collect();
        let p = &c.phys_mode;
        let phys: Vec<_> = [Some(p.target), p.basic_kind, p.peer_id, p.fla]
            .into_iter()
            .flatten()
            .collect();
        let r = &c.remap_components;
        let remap = [
            r.dst_x,
            r.dst_y,
            r.dst_z,
            r.dst_w,
            r.component_size,
            r.num_src_components,
            r.num_dst_components,
        ];

        for (fields, mask) in [
            (&launch[..], f.defined_mask()),
            (&phys[..], p.defined_mask()),
            (&remap[..], r.defined_mask()),
        ] {
            let mut seen = 0u32;
            for field in fields {
                assert!(field.is_valid(), "{}: {field:?}", c.name);
                assert_eq!(seen & field.mask(), 0, "{}: {field:?} overlaps", c.name);
                seen |= field.mask();
            }
            assert_eq!(seen, mask, "{}", c.name);
        }

        for field in [
            c.set_semaphore_a_upper,
            c.offset_in_upper_upper,
            c.offset_out_upper_upper,
        ] {
            assert!(field.is_valid());
            assert_eq!(field.lo(), 0);
        }
        assert_eq!(c.offset_in_upper_upper, c.offset_out_upper_upper);
        assert_eq!(c.address_bits(), c.semaphore_address_bits());
        let bits = if c.id >= 0xc8b5 { 57 } else { 49 };
        assert_eq!(c.address_bits(), bits, "{}", c.name);
        assert_eq!(
            c.has_semaphore_payload_upper(),
            c.id >= 0xc7b5,
            "{}",
            c.name
        );
    }
    assert_eq!(Generation::from_class(0xc1b5), None);
    assert_eq!(Generation::from_class(0xa0b5), None);
}

#[test]
fn field_helpers() {
    use crate::ce::field::Field;

    let f = Field::new(4, 3);
    assert_eq!(f.width(), 2);
    assert_eq!(f.max(), 3);
    assert_eq!(f.mask(), 0x18);
    assert_eq!(f.val(2), 0x10);
    assert_eq!(f.val(7), 0x18);
    assert_eq!(f.get(0xffff_fff7), 0x2);
    assert!(f.fits(3));
    assert!(!f.fits(4));

    let all = Field::new(31, 0);
    assert_eq!(all.mask(), u32::MAX);
    assert_eq!(all.max(), u32::MAX);
    assert_eq!(all.val(0x1234_5678), 0x1234_5678);

    let top = Field::bit(31);
    assert_eq!(top.mask(), 0x8000_0000);
    assert_eq!(top.val(1), 0x8000_0000);
    assert!(!Field::new(3, 4).is_valid());
    assert!(!Field::new(32, 0).is_valid());
}
