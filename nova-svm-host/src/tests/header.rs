// SPDX-License-Identifier: GPL-2.0

//! Method header format against `clc36f.h` (NVIDIA/open-gpu-kernel-modules,
//! `kernel-open/nvidia-uvm/clc36f.h`) and nouveau's `cl906f.h`.

use super::Rng;
use crate::ce::header::*;

#[test]
fn format_defines() {
    let fields = [
        // NVC36F_DMA_METHOD_ADDRESS 11:0
        ("NVC36F_DMA_METHOD_ADDRESS", DMA_METHOD_ADDRESS, (11, 0)),
        // NVC36F_DMA_METHOD_SUBCHANNEL 15:13
        (
            "NVC36F_DMA_METHOD_SUBCHANNEL",
            DMA_METHOD_SUBCHANNEL,
            (15, 13),
        ),
        // NVC36F_DMA_METHOD_COUNT 28:16
        ("NVC36F_DMA_METHOD_COUNT", DMA_METHOD_COUNT, (28, 16)),
        // NVC36F_DMA_IMMD_DATA 28:16
        ("NVC36F_DMA_IMMD_DATA", DMA_IMMD_DATA, (28, 16)),
        // NVC36F_DMA_SEC_OP 31:29
        ("NVC36F_DMA_SEC_OP", DMA_SEC_OP, (31, 29)),
        // NVC36F_SET_OBJECT_NVCLASS 15:0
        ("NVC36F_SET_OBJECT_NVCLASS", SET_OBJECT_NVCLASS, (15, 0)),
        // NVC36F_SET_OBJECT_ENGINE 20:16
        ("NVC36F_SET_OBJECT_ENGINE", SET_OBJECT_ENGINE, (20, 16)),
    ];
    for (define, field, (hi, lo)) in fields {
        assert_eq!((field.hi(), field.lo()), (hi, lo), "{define}");
    }

    let values = [
        (
            "NVC36F_DMA_SEC_OP_GRP0_USE_TERT",
            sec_op::GRP0_USE_TERT,
            0x0,
        ),
        ("NVC36F_DMA_SEC_OP_INC_METHOD", sec_op::INC_METHOD, 0x1),
        (
            "NVC36F_DMA_SEC_OP_GRP2_USE_TERT",
            sec_op::GRP2_USE_TERT,
            0x2,
        ),
        (
            "NVC36F_DMA_SEC_OP_NON_INC_METHOD",
            sec_op::NON_INC_METHOD,
            0x3,
        ),
        (
            "NVC36F_DMA_SEC_OP_IMMD_DATA_METHOD",
            sec_op::IMMD_DATA_METHOD,
            0x4,
        ),
        ("NVC36F_DMA_SEC_OP_ONE_INC", sec_op::ONE_INC, 0x5),
        ("NVC36F_DMA_SEC_OP_RESERVED6", sec_op::RESERVED6, 0x6),
        (
            "NVC36F_DMA_SEC_OP_END_PB_SEGMENT",
            sec_op::END_PB_SEGMENT,
            0x7,
        ),
        ("NVC36F_DMA_NOP", DMA_NOP, 0x0),
        ("NVC36F_SET_OBJECT", SET_OBJECT, 0x0),
        (
            "NVC36F_NUMBER_OF_SUBCHANNELS",
            u32::from(NUMBER_OF_SUBCHANNELS),
            8,
        ),
    ];
    for (define, actual, header) in values {
        assert_eq!(actual, header, "{define}");
    }
}

/// The brief's formula, `(1 << 29) | (count << 16) | (subchannel << 13) | (method >> 2)`,
/// which is also what nvgpu's `NV_PUSH_INC_METHOD` and nouveau's `PUSH_MTHD` produce.
#[test]
fn inc_method_encoding() {
    // SET_OBJECT on subchannel 4, one dword: 0x2001_8000.
    assert_eq!(inc_method(4, 0x0000, 1), Some(0x2001_8000));
    // LAUNCH_DMA (0x300 >> 2 = 0xc0) on subchannel 4, one dword.
    assert_eq!(inc_method(4, 0x0300, 1), Some(0x2001_80c0));
    // OFFSET_IN_UPPER (0x400 >> 2 = 0x100) on subchannel 0, eight dwords.
    assert_eq!(inc_method(0, 0x0400, 8), Some(0x2008_0100));
    // Largest method, count and subchannel.
    assert_eq!(inc_method(7, 0x3ffc, 0x1fff), Some(0x3fff_efff));

    for (subchannel, method, count) in [
        (0, 0x0102, 1),      // not dword aligned
        (0, 0x4000, 1),      // past METHOD_ADDRESS
        (8, 0x0100, 1),      // no such subchannel
        (0, 0x0100, 0),      // empty
        (0, 0x0100, 0x2000), // past METHOD_COUNT
    ] {
        assert_eq!(inc_method(subchannel, method, count), None);
    }
}

#[test]
fn decode_headers() {
    assert_eq!(decode(0), Some(Header::Nop));
    assert_eq!(
        decode(0x2008_0100),
        Some(Header::Methods {
            kind: Kind::Inc,
            subchannel: 0,
            method: 0x400,
            count: 8
        })
    );
    // NON_INC_METHOD: SEC_OP 3.
    assert_eq!(
        decode((3 << 29) | (2 << 16) | (5 << 13) | (0x700 >> 2)),
        Some(Header::Methods {
            kind: Kind::NonInc,
            subchannel: 5,
            method: 0x700,
            count: 2
        })
    );
    // ONE_INC: SEC_OP 5.
    assert_eq!(
        decode((5 << 29) | (3 << 16) | (0x400 >> 2)),
        Some(Header::Methods {
            kind: Kind::OneInc,
            subchannel: 0,
            method: 0x400,
            count: 3
        })
    );
    // IMMD_DATA_METHOD: SEC_OP 4, data in 28:16.
    assert_eq!(
        decode((4 << 29) | (0x1234 << 16) | (1 << 13) | (0x264 >> 2)),
        Some(Header::Immediate {
            subchannel: 1,
            method: 0x264,
            data: 0x1234
        })
    );

    for bad in [
        0x0001_0000,                               // GRP0_USE_TERT with a tertiary opcode
        (2 << 29) | (1 << 16),                     // GRP2_USE_TERT
        (6 << 29) | (1 << 16),                     // RESERVED6
        (7 << 29),                                 // END_PB_SEGMENT
        (1 << 29) | 0x100,                         // INC_METHOD with a count of zero
        (1 << 29) | (1 << 16) | (1 << 12) | 0x100, // undefined bit 12
    ] {
        assert_eq!(decode(bad), None, "{bad:#x}");
    }

    assert_eq!(Kind::Inc.method(0x400, 3), 0x40c);
    assert_eq!(Kind::NonInc.method(0x400, 3), 0x400);
    assert_eq!(Kind::OneInc.method(0x400, 0), 0x400);
    assert_eq!(Kind::OneInc.method(0x400, 3), 0x404);
}

#[test]
fn inc_method_round_trip() {
    let mut rng = Rng::new(0x5eed_1234);
    for _ in 0..10_000 {
        // CAST: below 8.
        let subchannel = rng.below(8) as u8;
        // CAST: below 0x1000.
        let method = (rng.below(0x1000) as u32) * 4;
        // CAST: at most 0x1fff.
        let count = rng.range(1, 0x1fff) as u32;
        let word = inc_method(subchannel, method, count).unwrap();
        assert_eq!(
            word,
            (1 << 29) | (count << 16) | (u32::from(subchannel) << 13) | (method >> 2)
        );
        assert_eq!(
            decode(word),
            Some(Header::Methods {
                kind: Kind::Inc,
                subchannel,
                method,
                count
            })
        );
    }
}
