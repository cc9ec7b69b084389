// SPDX-License-Identifier: GPL-2.0

//! Push-buffer builder output, dword by dword, and its argument checks.
//!
//! Headers are `(1 << 29) | (count << 16) | (subchannel << 13) | (method >> 2)`; the launch
//! values are spelled out field by field from the class headers.

use crate::ce::class::*;
use crate::ce::push::{CeError, PushBuffer};
use crate::ce::PhysAddr;

/// Builds a push buffer of `class` on `subchannel` with `f` and returns its dwords.
fn build(
    class: &'static CeClass,
    subchannel: u8,
    f: impl FnOnce(&mut PushBuffer<'_>) -> Result<(), CeError>,
) -> Vec<u32> {
    let mut buf = [0u32; 64];
    let mut pb = PushBuffer::new(class, subchannel, &mut buf).unwrap();
    f(&mut pb).unwrap();
    pb.as_slice().to_vec()
}

/// `LAUNCH_DMA` of a physical pitch copy: `DATA_TRANSFER_TYPE_NON_PIPELINED` (2 in 1:0),
/// `SRC_MEMORY_LAYOUT_PITCH` (bit 7), `DST_MEMORY_LAYOUT_PITCH` (bit 8), `SRC_TYPE_PHYSICAL`
/// (bit 12), `DST_TYPE_PHYSICAL` (bit 13).
const LAUNCH_COPY: u32 = 0x2 | (1 << 7) | (1 << 8) | (1 << 12) | (1 << 13);

/// `MULTI_LINE_ENABLE_TRUE` (bit 9).
const MULTI_LINE: u32 = 1 << 9;

/// `LAUNCH_DMA` of a physical remap fill: as [`LAUNCH_COPY`] without `SRC_TYPE_PHYSICAL`, with
/// `REMAP_ENABLE_TRUE` (bit 10).
const LAUNCH_CLEAR: u32 = 0x2 | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 13);

/// `LAUNCH_DMA` of a semaphore release: `DATA_TRANSFER_TYPE_NONE`, `FLUSH_ENABLE_TRUE` (bit 2),
/// `SEMAPHORE_TYPE_RELEASE_ONE_WORD_SEMAPHORE` (1 in 4:3).
const LAUNCH_RELEASE: u32 = (1 << 2) | (1 << 3);

#[test]
fn launch_values() {
    assert_eq!(LAUNCH_COPY, 0x3182);
    assert_eq!(LAUNCH_COPY | MULTI_LINE, 0x3382);
    assert_eq!(LAUNCH_CLEAR, 0x2582);
    assert_eq!(LAUNCH_RELEASE, 0xc);
}

#[test]
fn set_object() {
    let words = build(&AMPERE_DMA_COPY_A, 4, |pb| pb.set_object());
    assert_eq!(
        words,
        [
            0x2001_8000, // SET_OBJECT, subchannel 4, one dword
            0x0000_c6b5, // NVCLASS AMPERE_DMA_COPY_A, ENGINE 0
        ]
    );
}

#[test]
fn pascal_copy() {
    let words = build(&PASCAL_DMA_COPY_A, 4, |pb| {
        pb.copy(
            PhysAddr::sysmem(0x1_2345_6000),
            PhysAddr::vram(0x2000),
            4096,
            1,
            0,
            0,
        )
    });
    assert_eq!(
        words,
        [
            0x2002_8098, // SET_SRC_PHYS_MODE (0x260) x2, subchannel 4
            0x0000_0001, // SRC TARGET_COHERENT_SYSMEM
            0x0000_0000, // DST TARGET_LOCAL_FB
            0x2008_8100, // OFFSET_IN_UPPER (0x400) x8, subchannel 4
            0x0000_0001, // OFFSET_IN_UPPER
            0x2345_6000, // OFFSET_IN_LOWER
            0x0000_0000, // OFFSET_OUT_UPPER
            0x0000_2000, // OFFSET_OUT_LOWER
            0x0000_0000, // PITCH_IN
            0x0000_0000, // PITCH_OUT
            0x0000_1000, // LINE_LENGTH_IN
            0x0000_0001, // LINE_COUNT
            0x2001_80c0, // LAUNCH_DMA (0x300) x1, subchannel 4
            LAUNCH_COPY,
        ]
    );
}

#[test]
fn ampere_multi_line_copy() {
    let words = build(&AMPERE_DMA_COPY_A, 4, |pb| {
        pb.copy(
            PhysAddr::vram(0x40_0000_1000),
            PhysAddr::sysmem(0x8000),
            256,
            16,
            4096,
            256,
        )
    });
    assert_eq!(
        words,
        [
            0x2002_8098, // SET_SRC_PHYS_MODE x2
            0x0000_0000, // SRC TARGET_LOCAL_FB
            0x0000_0001, // DST TARGET_COHERENT_SYSMEM
            0x2008_8100, // OFFSET_IN_UPPER x8
            0x0000_0040, // OFFSET_IN_UPPER
            0x0000_1000, // OFFSET_IN_LOWER
            0x0000_0000, // OFFSET_OUT_UPPER
            0x0000_8000, // OFFSET_OUT_LOWER
            0x0000_1000, // PITCH_IN
            0x0000_0100, // PITCH_OUT
            0x0000_0100, // LINE_LENGTH_IN
            0x0000_0010, // LINE_COUNT
            0x2001_80c0, // LAUNCH_DMA x1
            LAUNCH_COPY | MULTI_LINE,
        ]
    );
}

#[test]
fn hopper_copy_above_49_bits() {
    let src = PhysAddr::vram(0x0100_0000_0000_0000);
    let dst = PhysAddr::sysmem(0x1000);
    let words = build(&HOPPER_DMA_COPY_A, 0, |pb| pb.copy(src, dst, 64, 1, 0, 0));
    assert_eq!(
        words,
        [
            0x2002_0098, // SET_SRC_PHYS_MODE x2, subchannel 0
            0x0000_0000,
            0x0000_0001,
            0x2008_0100, // OFFSET_IN_UPPER x8
            0x0100_0000, // OFFSET_IN_UPPER: bit 24 of the 24:0 field
            0x0000_0000,
            0x0000_0000,
            0x0000_1000,
            0x0000_0000,
            0x0000_0000,
            0x0000_0040,
            0x0000_0001,
            0x2001_00c0, // LAUNCH_DMA x1
            LAUNCH_COPY,
        ]
    );

    // The same address is past OFFSET_IN_UPPER_UPPER 16:0 of the older classes.
    let mut buf = [0u32; 64];
    let mut pb = PushBuffer::new(&AMPERE_DMA_COPY_B, 0, &mut buf).unwrap();
    assert_eq!(
        pb.copy(src, dst, 64, 1, 0, 0),
        Err(CeError::AddressOutOfRange)
    );
}

/// The clear is identical in every class; check a few.
#[test]
fn clear() {
    for class in [
        &PASCAL_DMA_COPY_A,
        &HOPPER_DMA_COPY_A,
        &BLACKWELL_DMA_COPY_B,
    ] {
        let words = build(class, 0, |pb| {
            pb.clear(PhysAddr::vram(0x10_0000_0000), 8192, 0xdead_beef)
        });
        assert_eq!(
            words,
            [
                0x2001_0099, // SET_DST_PHYS_MODE (0x264) x1
                0x0000_0000, // TARGET_LOCAL_FB
                0x2003_01c0, // SET_REMAP_CONST_A (0x700) x3
                0xdead_beef, // SET_REMAP_CONST_A
                0xdead_beef, // SET_REMAP_CONST_B
                0x0003_0004, // DST_X_CONST_A, COMPONENT_SIZE_FOUR, NUM_DST_COMPONENTS_ONE
                0x2002_0102, // OFFSET_OUT_UPPER (0x408) x2
                0x0000_0010, // OFFSET_OUT_UPPER
                0x0000_0000, // OFFSET_OUT_LOWER
                0x2001_0106, // LINE_LENGTH_IN (0x418) x1
                0x0000_0800, // 8192 bytes in four-byte elements
                0x2001_00c0, // LAUNCH_DMA x1
                LAUNCH_CLEAR,
            ],
            "{}",
            class.name
        );
    }
}

#[test]
fn semaphore_release() {
    for (class, subchannel, header_a, header_launch) in [
        (&PASCAL_DMA_COPY_A, 4, 0x2003_8090, 0x2001_80c0),
        (&AMPERE_DMA_COPY_A, 4, 0x2003_8090, 0x2001_80c0),
        (&HOPPER_DMA_COPY_A, 0, 0x2003_0090, 0x2001_00c0),
        (&BLACKWELL_DMA_COPY_A, 0, 0x2003_0090, 0x2001_00c0),
    ] {
        let words = build(class, subchannel, |pb| {
            pb.semaphore_release(0x1_0000_1000, 42)
        });
        assert_eq!(
            words,
            [
                header_a,    // SET_SEMAPHORE_A (0x240) x3
                0x0000_0001, // SET_SEMAPHORE_A_UPPER
                0x0000_1000, // SET_SEMAPHORE_B_LOWER
                42,          // SET_SEMAPHORE_PAYLOAD
                header_launch,
                LAUNCH_RELEASE, // (SEMAPHORE_PAYLOAD_SIZE_ONE_WORD is 0)
            ],
            "{}",
            class.name
        );
    }
}

#[test]
fn semaphore_release_64() {
    let words = build(&BLACKWELL_DMA_COPY_B, 0, |pb| {
        pb.semaphore_release_64(0x0100_0000_0000_0008, 0x1122_3344_5566_7788)
    });
    assert_eq!(
        words,
        [
            0x2004_0090,                // SET_SEMAPHORE_A (0x240) x4
            0x0100_0000,                // SET_SEMAPHORE_A_UPPER (24:0)
            0x0000_0008,                // SET_SEMAPHORE_B_LOWER
            0x5566_7788,                // SET_SEMAPHORE_PAYLOAD
            0x1122_3344,                // SET_SEMAPHORE_PAYLOAD_UPPER (0x24c)
            0x2001_00c0,                // LAUNCH_DMA x1
            LAUNCH_RELEASE | (1 << 27), // SEMAPHORE_PAYLOAD_SIZE_TWO_WORD (bit 27)
        ]
    );

    let words = build(&AMPERE_DMA_COPY_B, 1, |pb| {
        pb.semaphore_release_64(0x100, u64::MAX)
    });
    assert_eq!(
        words,
        [
            0x2004_2090,
            0x0000_0000,
            0x0000_0100,
            0xffff_ffff,
            0xffff_ffff,
            0x2001_20c0,
            LAUNCH_RELEASE | (1 << 27),
        ]
    );
}

#[test]
fn sequence() {
    let words = build(&TURING_DMA_COPY_A, 2, |pb| {
        pb.set_object()?;
        pb.copy(PhysAddr::sysmem(0), PhysAddr::vram(0), 4096, 1, 0, 0)?;
        pb.semaphore_release(0x40, 1)
    });
    assert_eq!(words.len(), 2 + 14 + 6);
    assert_eq!(words[0], 0x2001_4000); // SET_OBJECT, subchannel 2
    assert_eq!(words[1], 0xc5b5);
    assert_eq!(words[2], 0x2002_4098); // SET_SRC_PHYS_MODE x2, subchannel 2
    assert_eq!(words[16], 0x2003_4090); // SET_SEMAPHORE_A x3, subchannel 2
}

#[test]
fn argument_errors() {
    let mut buf = [0u32; 64];
    let mut pb = PushBuffer::new(&PASCAL_DMA_COPY_A, 0, &mut buf).unwrap();
    let s = PhysAddr::sysmem(0);
    let v = PhysAddr::vram(0x10000);

    assert_eq!(pb.copy(s, v, 0, 1, 0, 0), Err(CeError::ZeroLength));
    assert_eq!(pb.copy(s, v, 16, 0, 16, 16), Err(CeError::ZeroLineCount));
    assert_eq!(pb.copy(s, v, 16, 2, 15, 16), Err(CeError::PitchTooSmall));
    assert_eq!(pb.copy(s, v, 16, 2, 16, 15), Err(CeError::PitchTooSmall));
    // A single line ignores the pitches.
    assert_eq!(pb.copy(s, v, 16, 1, 0, 0), Ok(()));
    pb.reset();

    // Ranges up to 2^49 fit PASCAL_DMA_COPY_A, one byte more does not.
    let top = 1u64 << 49;
    assert_eq!(pb.copy(PhysAddr::vram(top - 16), s, 16, 1, 0, 0), Ok(()));
    pb.reset();
    assert_eq!(
        pb.copy(PhysAddr::vram(top - 15), s, 16, 1, 0, 0),
        Err(CeError::AddressOutOfRange)
    );
    assert_eq!(
        pb.copy(s, PhysAddr::vram(top - 4096), 16, 257, 16, 16),
        Err(CeError::AddressOutOfRange)
    );
    assert_eq!(
        pb.copy(s, PhysAddr::vram(u64::MAX), 16, 1, 0, 0),
        Err(CeError::AddressOutOfRange)
    );
    assert_eq!(
        pb.copy(s, v, u32::MAX, u32::MAX, u32::MAX, u32::MAX),
        Err(CeError::AddressOutOfRange)
    );

    // Overlap in the same aperture, not across apertures.
    let a = PhysAddr::vram(0x1000);
    assert_eq!(
        pb.copy(a, PhysAddr::vram(0x1800), 4096, 1, 0, 0),
        Err(CeError::Overlap)
    );
    assert_eq!(
        pb.copy(a, PhysAddr::vram(0x800), 4096, 1, 0, 0),
        Err(CeError::Overlap)
    );
    assert_eq!(pb.copy(a, a, 4096, 1, 0, 0), Err(CeError::Overlap));
    assert_eq!(pb.copy(a, PhysAddr::vram(0x2000), 4096, 1, 0, 0), Ok(()));
    assert_eq!(pb.copy(a, PhysAddr::sysmem(0x1000), 4096, 1, 0, 0), Ok(()));
    pb.reset();

    assert_eq!(pb.clear(v, 0, 0), Err(CeError::ZeroLength));
    assert_eq!(pb.clear(v, 6, 0), Err(CeError::Misaligned));
    assert_eq!(pb.clear(PhysAddr::vram(2), 8, 0), Err(CeError::Misaligned));
    assert_eq!(pb.clear(v, 4 << 32, 0), Err(CeError::TooLarge));
    assert_eq!(pb.clear(v, (4 << 32) - 4, 0), Ok(()));
    assert_eq!(
        pb.clear(PhysAddr::vram(top), 4, 0),
        Err(CeError::AddressOutOfRange)
    );
    pb.reset();

    assert_eq!(pb.semaphore_release(2, 0), Err(CeError::Misaligned));
    assert_eq!(pb.semaphore_release(top - 4, 0), Ok(()));
    assert_eq!(
        pb.semaphore_release(top, 0),
        Err(CeError::AddressOutOfRange)
    );
    assert_eq!(pb.semaphore_release_64(0x100, 0), Err(CeError::Unsupported));
    assert_eq!(
        pb.semaphore_release(u64::MAX - 3, 0),
        Err(CeError::AddressOutOfRange)
    );

    let mut buf = [0u32; 8];
    let mut pb = PushBuffer::new(&HOPPER_DMA_COPY_A, 0, &mut buf).unwrap();
    assert_eq!(pb.semaphore_release_64(0x104, 0), Err(CeError::Misaligned));

    assert_eq!(
        PushBuffer::new(&HOPPER_DMA_COPY_A, 8, &mut [0u32; 8]).err(),
        Some(CeError::BadSubchannel)
    );
}

#[test]
fn overflow_leaves_buffer_unchanged() {
    let mut buf = [0x5555_5555u32; 20];
    let mut pb = PushBuffer::new(&AMPERE_DMA_COPY_B, 0, &mut buf).unwrap();
    assert!(pb.is_empty());
    pb.semaphore_release(0x100, 1).unwrap();
    assert_eq!(pb.len(), 6);
    assert_eq!(pb.remaining(), 14);

    // A copy takes 14 dwords: it fits exactly once.
    pb.copy(PhysAddr::sysmem(0), PhysAddr::vram(0), 4, 1, 0, 0)
        .unwrap();
    assert_eq!(pb.remaining(), 0);
    assert_eq!(pb.semaphore_release(0x100, 2), Err(CeError::BufferFull));
    assert_eq!(pb.set_object(), Err(CeError::BufferFull));
    assert_eq!(pb.len(), 20);

    let mut buf = [0x5555_5555u32; 13];
    let mut pb = PushBuffer::new(&AMPERE_DMA_COPY_B, 0, &mut buf).unwrap();
    assert_eq!(
        pb.copy(PhysAddr::sysmem(0), PhysAddr::vram(0), 4, 1, 0, 0),
        Err(CeError::BufferFull)
    );
    assert!(pb.is_empty());
    assert_eq!(pb.class().id, 0xc7b5);
    assert_eq!(pb.subchannel(), 0);
    assert!(buf.iter().all(|&w| w == 0x5555_5555));
}

#[test]
fn virtual_copy() {
    // OFFSET_IN_UPPER..OFFSET_OUT_LOWER (0x400..0x40c) in one header, LINE_LENGTH_IN
    // (0x418), LAUNCH_DMA (0x300) with SRC_TYPE and DST_TYPE VIRTUAL (0): pitch layouts
    // (bits 7 and 8) and NON_PIPELINED.
    let words = build(&AMPERE_DMA_COPY_A, 4, |pb| {
        pb.copy_virtual(0x1_2345_6000, 0x2_0000_1000, 0x3000)
    });
    assert_eq!(
        words,
        [
            0x2004_8100,
            0x1,
            0x2345_6000,
            0x2,
            0x0000_1000,
            0x2001_8106,
            0x3000,
            0x2001_80c0,
            0x182,
        ]
    );
    let mut buf = [0u32; 64];
    let mut pb = PushBuffer::new(&AMPERE_DMA_COPY_A, 0, &mut buf).unwrap();
    assert_eq!(pb.copy_virtual(0x1000, 0x2000, 0), Err(CeError::ZeroLength));
    assert_eq!(
        pb.copy_virtual(0x1000, 0x1800, 0x1000),
        Err(CeError::Overlap)
    );
    assert!(pb.as_slice().is_empty());
}

#[test]
fn method_cache() {
    use crate::ce::push::MethodCache;

    let copy = |pb: &mut PushBuffer<'_>, cache: &mut MethodCache, dst: u64| {
        pb.copy_cached(
            Some(cache),
            PhysAddr::sysmem(0x1000),
            PhysAddr::vram(dst),
            4096,
            1,
            0,
            0,
        )
    };
    let mut cache = MethodCache::default();
    let first = build(&AMPERE_DMA_COPY_A, 0, |pb| copy(pb, &mut cache, 0x10_0000));
    let again = build(&AMPERE_DMA_COPY_A, 0, |pb| copy(pb, &mut cache, 0x10_1000));
    assert_eq!(
        first,
        build(&AMPERE_DMA_COPY_A, 0, |pb| pb.copy(
            PhysAddr::sysmem(0x1000),
            PhysAddr::vram(0x10_0000),
            4096,
            1,
            0,
            0
        ))
    );
    // Only OFFSET_OUT_LOWER changed; LAUNCH_DMA is always written.
    assert_eq!(again, [0x2001_0103, 0x10_1000, 0x2001_00c0, LAUNCH_COPY]);
    // After `clear` everything is written again.
    cache.clear();
    let cleared = build(&AMPERE_DMA_COPY_A, 0, |pb| copy(pb, &mut cache, 0x10_0000));
    assert_eq!(cleared, first);
}
