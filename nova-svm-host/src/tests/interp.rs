// SPDX-License-Identifier: GPL-2.0

//! The software copy engine executing builder output and hand-made push buffers.

use super::{SlowMem, TestMem};
use crate::ce::class::*;
use crate::ce::header;
use crate::ce::push::PushBuffer;
use crate::ce::{Aperture, PhysAddr};
use crate::ce_interp::{CeInterp, ExecError, ExecErrorKind, Memory, Target};

/// Size of each memory in the tests.
const MEM: usize = 1 << 20;

/// Returns the dwords `f` builds for `class` on `subchannel`, after `SET_OBJECT`.
fn push(class: &'static CeClass, subchannel: u8, f: impl FnOnce(&mut PushBuffer<'_>)) -> Vec<u32> {
    let mut buf = vec![0u32; 4096];
    let mut pb = PushBuffer::new(class, subchannel, &mut buf).unwrap();
    pb.set_object().unwrap();
    f(&mut pb);
    pb.as_slice().to_vec()
}

/// Returns an incrementing header and its data.
fn inc(subchannel: u8, method: u32, data: &[u32]) -> Vec<u32> {
    let count = u32::try_from(data.len()).unwrap();
    let mut words = vec![header::inc_method(subchannel, method, count).unwrap()];
    words.extend_from_slice(data);
    words
}

/// Returns the dwords binding `class` to subchannel 0.
fn bind(class: &CeClass) -> Vec<u32> {
    inc(0, header::SET_OBJECT, &[class.id])
}

/// Returns the error kind of executing `words` on a fresh copy engine of `class`, and checks
/// that memory did not change.
fn reject(class: &'static CeClass, words: &[u32]) -> ExecError {
    let mut mem = TestMem::new(MEM, MEM);
    let (vram, sysmem) = (mem.vram.clone(), mem.sysmem.clone());
    let mut ce = CeInterp::new(class);
    let err = ce.execute(&mut mem, words).unwrap_err();
    assert!(
        mem.vram == vram && mem.sysmem == sysmem,
        "memory changed: {err:?}"
    );
    assert_eq!(ce.launches(), 0);
    err
}

#[test]
fn copy_clear_release_every_generation() {
    for generation in Generation::ALL {
        let class = generation.ce_class();
        let words = push(class, 4, |pb| {
            // sysmem 0x1234.. -> VRAM 0x8000.., one odd-sized line.
            pb.copy(
                PhysAddr::sysmem(0x1234),
                PhysAddr::vram(0x8000),
                5000,
                1,
                0,
                0,
            )
            .unwrap();
            // VRAM -> sysmem, 8 lines of 100 bytes, different pitches.
            pb.copy(
                PhysAddr::vram(0x8000),
                PhysAddr::sysmem(0x40000),
                100,
                8,
                300,
                128,
            )
            .unwrap();
            pb.clear(PhysAddr::vram(0x20000), 4096, 0x0403_0201)
                .unwrap();
            pb.semaphore_release(0x80000, 0xcafe_f00d).unwrap();
        });

        let mut mem = TestMem::new(MEM, MEM);
        let before = mem.sysmem.clone();
        let mut ce = CeInterp::new(class);
        assert_eq!(ce.class().id, class.id);
        ce.execute(&mut mem, &words).unwrap();
        assert_eq!(ce.launches(), 4);

        assert_eq!(
            mem.vram[0x8000..0x8000 + 5000],
            before[0x1234..0x1234 + 5000]
        );
        assert_eq!(mem.vram[0x7fff], 0xaa);
        assert_eq!(mem.vram[0x8000 + 5000], 0xaa);

        let mut expect = before.clone();
        for line in 0..8 {
            let s = 0x8000 + line * 300;
            let d = 0x40000 + line * 128;
            expect[d..d + 100].copy_from_slice(&mem.vram[s..s + 100]);
        }
        expect[0x80000..0x80004].copy_from_slice(&0xcafe_f00du32.to_le_bytes());
        assert!(mem.sysmem == expect, "{}", class.name);

        assert!(mem.vram[0x20000..0x21000]
            .chunks_exact(4)
            .all(|c| c == [1, 2, 3, 4]));
        assert_eq!(mem.vram[0x1ffff], 0xaa);
        assert_eq!(mem.vram[0x21000], 0xaa);
    }
}

#[test]
fn semaphore_64() {
    let words = push(&HOPPER_DMA_COPY_A, 0, |pb| {
        pb.semaphore_release_64(0x100, 0x1122_3344_5566_7788)
            .unwrap();
    });
    let mut mem = TestMem::new(MEM, MEM);
    CeInterp::new(&HOPPER_DMA_COPY_A)
        .execute(&mut mem, &words)
        .unwrap();
    assert_eq!(
        mem.sysmem[0x100..0x108],
        0x1122_3344_5566_7788u64.to_le_bytes()
    );
}

#[test]
fn unknown_methods() {
    let c = &AMPERE_DMA_COPY_A;
    // SET_RENDER_ENABLE_A (0x254) is in the class but not implemented.
    let mut words = bind(c);
    words.extend(inc(0, 0x254, &[0]));
    let err = reject(c, &words);
    assert_eq!(err.dword, 3);
    assert_eq!(
        err.kind,
        ExecErrorKind::UnknownMethod {
            subchannel: 0,
            method: 0x254
        }
    );

    // SET_SEMAPHORE_PAYLOAD_UPPER (0x24c) does not exist before AMPERE_DMA_COPY_B.
    let mut words = bind(c);
    words.extend(inc(0, 0x24c, &[0]));
    assert!(matches!(
        reject(c, &words).kind,
        ExecErrorKind::UnknownMethod { method: 0x24c, .. }
    ));

    // Nothing at 0x800, nor at the host's NOP (0x8).
    for method in [0x800, 0x8] {
        let mut words = bind(c);
        words.extend(inc(0, method, &[0]));
        assert!(matches!(
            reject(c, &words).kind,
            ExecErrorKind::UnknownMethod { .. }
        ));
    }

    // The third dword of an incrementing run lands on an unknown method.
    let mut words = bind(c);
    words.extend(inc(0, 0x0260, &[0, 0, 0]));
    let err = reject(c, &words);
    assert_eq!(err.dword, 5);
    assert_eq!(
        err.kind,
        ExecErrorKind::UnknownMethod {
            subchannel: 0,
            method: 0x268
        }
    );
}

#[test]
fn objects() {
    let c = &TURING_DMA_COPY_A;
    let launch = inc(0, 0x300, &[0]);
    assert_eq!(
        reject(c, &launch).kind,
        ExecErrorKind::NoObject { subchannel: 0 }
    );

    // Bound on subchannel 3 only.
    let mut words = inc(3, header::SET_OBJECT, &[c.id]);
    words.extend(inc(1, 0x100, &[0]));
    assert_eq!(
        reject(c, &words).kind,
        ExecErrorKind::NoObject { subchannel: 1 }
    );

    assert_eq!(
        reject(c, &inc(0, header::SET_OBJECT, &[0xc6b5])).kind,
        ExecErrorKind::WrongClass { class: 0xc6b5 }
    );
    assert_eq!(
        reject(c, &inc(0, header::SET_OBJECT, &[(0x1f << 16) | c.id])).kind,
        ExecErrorKind::Unsupported {
            field: "SET_OBJECT_ENGINE",
            value: 0x1f
        }
    );
    assert_eq!(
        reject(c, &inc(0, header::SET_OBJECT, &[(1 << 24) | c.id])).kind,
        ExecErrorKind::ReservedBits {
            method: 0,
            bits: 1 << 24
        }
    );

    // NOP dwords and the class's NOP method are fine.
    let mut words = vec![header::DMA_NOP];
    words.extend(bind(c));
    words.extend(inc(0, 0x100, &[0x1234]));
    let mut mem = TestMem::new(16, 16);
    CeInterp::new(c).execute(&mut mem, &words).unwrap();
}

#[test]
fn framing() {
    let c = &VOLTA_DMA_COPY_A;
    let words = push(c, 0, |pb| {
        pb.copy(PhysAddr::sysmem(0), PhysAddr::vram(0), 64, 1, 0, 0)
            .unwrap();
    });

    // Cut anywhere inside a header's data: nothing runs, not even SET_OBJECT.
    for cut in [3, 4, 7, 13, 15] {
        let err = reject(c, &words[..cut]);
        assert!(
            matches!(err.kind, ExecErrorKind::Truncated { .. }),
            "{cut}: {err:?}"
        );
    }
    let err = reject(c, &words[..words.len() - 1]);
    assert_eq!(err.dword, words.len() - 2);
    assert_eq!(err.kind, ExecErrorKind::Truncated { needed: 1, left: 0 });
    let err = reject(c, &words[..6]);
    assert_eq!(err.dword, 5);
    assert_eq!(err.kind, ExecErrorKind::Truncated { needed: 8, left: 0 });

    // Bad headers anywhere stop everything before it starts.
    for bad in [
        7 << 29,                                  // END_PB_SEGMENT
        (6 << 29) | (1 << 16),                    // RESERVED6
        (1 << 29) | 0xc0,                         // count of zero
        (1 << 29) | (1 << 16) | (1 << 12) | 0xc0, // undefined bit 12
        0x0003_0000,                              // sub-device mask operation
    ] {
        let mut w = words.clone();
        w.push(bad);
        let err = reject(c, &w);
        assert_eq!(err.dword, words.len());
        assert_eq!(err.kind, ExecErrorKind::BadHeader(bad));
    }
}

/// Executes `words` with the last dword (the `LAUNCH_DMA` data) replaced by `launch`.
fn with_launch(class: &'static CeClass, words: &[u32], launch: u32) -> Result<(), ExecError> {
    let mut w = words.to_vec();
    *w.last_mut().unwrap() = launch;
    let mut mem = TestMem::new(MEM, MEM);
    let before = (mem.vram.clone(), mem.sysmem.clone());
    let result = CeInterp::new(class).execute(&mut mem, &w);
    if result.is_err() {
        assert!(before == (mem.vram, mem.sysmem), "memory changed");
    }
    result
}

/// Returns a copy (sysmem to VRAM) and a semaphore release in one launch, and the launch
/// value.
fn copy_and_release(class: &'static CeClass) -> (Vec<u32>, u32) {
    let mut words = bind(class);
    words.extend(inc(0, 0x240, &[0, 0x800, 7]));
    let mut buf = [0u32; 32];
    let mut pb = PushBuffer::new(class, 0, &mut buf).unwrap();
    pb.copy(PhysAddr::sysmem(0), PhysAddr::vram(0), 64, 1, 0, 0)
        .unwrap();
    words.extend_from_slice(pb.as_slice());
    // FLUSH_ENABLE_TRUE and SEMAPHORE_TYPE_RELEASE_ONE_WORD_SEMAPHORE.
    let launch = *words.last().unwrap() | (1 << 3) | (1 << 2);
    *words.last_mut().unwrap() = launch;
    (words, launch)
}

#[test]
fn launch_dma_fields() {
    for generation in Generation::ALL {
        let c = generation.ce_class();
        let (words, launch) = copy_and_release(c);
        with_launch(c, &words, launch).unwrap();

        let kind = |value| with_launch(c, &words, value).unwrap_err().kind;
        let unsupported = |field, value| ExecErrorKind::Unsupported { field, value };

        // Block-linear layouts.
        assert_eq!(
            kind(launch & !(1 << 7)),
            unsupported("LAUNCH_DMA_SRC_MEMORY_LAYOUT", 0)
        );
        assert_eq!(
            kind(launch & !(1 << 8)),
            unsupported("LAUNCH_DMA_DST_MEMORY_LAYOUT", 0)
        );
        // Interrupts.
        assert_eq!(
            kind(launch | (1 << 5)),
            unsupported("LAUNCH_DMA_INTERRUPT_TYPE", 1)
        );
        assert_eq!(
            kind(launch | (2 << 5)),
            unsupported("LAUNCH_DMA_INTERRUPT_TYPE", 2)
        );
        assert_eq!(
            kind(launch | (3 << 5)),
            ExecErrorKind::UndefinedValue {
                field: "LAUNCH_DMA_INTERRUPT_TYPE",
                value: 3
            }
        );
        // Four-word semaphores and reductions.
        assert_eq!(
            kind((launch & !(3 << 3)) | (2 << 3)),
            unsupported("LAUNCH_DMA_SEMAPHORE_TYPE", 2)
        );
        assert_eq!(
            kind(launch | (1 << 19) | (6 << 14)),
            unsupported("LAUNCH_DMA_SEMAPHORE_REDUCTION", 6)
        );
        assert_eq!(
            kind(launch | (1 << 19)),
            unsupported("LAUNCH_DMA_SEMAPHORE_REDUCTION_ENABLE", 1)
        );
        // The error code field belongs to the hardware.
        assert_eq!(
            kind(launch | (1 << 28)),
            unsupported("LAUNCH_DMA_RESERVED_ERR_CODE", 1)
        );

        // Fields that only tune the hardware are accepted with either value.
        with_launch(c, &words, launch & !(1 << 2)).unwrap();
        with_launch(c, &words, (launch & !3) | 1).unwrap();
        // MULTI_LINE_ENABLE with the builder's LINE_COUNT of 1.
        with_launch(c, &words, launch | (1 << 9)).unwrap();
    }
}

#[test]
fn launch_dma_per_class() {
    let reserved = |bits| ExecErrorKind::ReservedBits {
        method: 0x300,
        bits,
    };
    let unsupported = |field, value| ExecErrorKind::Unsupported { field, value };
    let undefined = |field, value| ExecErrorKind::UndefinedValue { field, value };
    let dtt = "LAUNCH_DMA_DATA_TRANSFER_TYPE";

    for generation in Generation::ALL {
        let c = generation.ce_class();
        let (words, launch) = copy_and_release(c);
        let result = |value| with_launch(c, &words, value).err().map(|e| e.kind);
        let id = c.id;

        // Bit 11: FORCE_RMWDISABLE up to Hopper, COMPRESSION_ENABLE on BLACKWELL_DMA_COPY_A,
        // nothing on BLACKWELL_DMA_COPY_B.
        let bit11 = match id {
            0xc9b5 => Some(unsupported("LAUNCH_DMA_COMPRESSION_ENABLE", 1)),
            0xcab5 => Some(reserved(1 << 11)),
            _ => None,
        };
        assert_eq!(result(launch | (1 << 11)), bit11, "{}", c.name);

        // Bits 20 and 21: *_BYPASS_L2 up to Turing, undefined on Ampere, COPY_TYPE after.
        let (b20, b21) = match id {
            0xc0b5 | 0xc3b5 | 0xc5b5 => (None, None),
            0xc6b5 | 0xc7b5 => (Some(reserved(1 << 20)), Some(reserved(1 << 21))),
            _ => (
                Some(unsupported("LAUNCH_DMA_COPY_TYPE", 1)),
                Some(unsupported("LAUNCH_DMA_COPY_TYPE", 2)),
            ),
        };
        assert_eq!(result(launch | (1 << 20)), b20, "{}", c.name);
        assert_eq!(result(launch | (1 << 21)), b21, "{}", c.name);
        if id >= 0xc8b5 {
            assert_eq!(
                result(launch | (3 << 20)),
                Some(undefined("LAUNCH_DMA_COPY_TYPE", 3))
            );
        }

        // Bits 22 and 23: VPRMODE 23:22 from Volta; VPRMODE 22:22 and MEMORY_SCRUB_ENABLE
        // from Hopper.
        let (b22, b23) = match id {
            0xc0b5 => (Some(reserved(1 << 22)), Some(reserved(1 << 23))),
            0xc3b5..=0xc7b5 => (
                Some(unsupported("LAUNCH_DMA_VPRMODE", 1)),
                Some(unsupported("LAUNCH_DMA_VPRMODE", 2)),
            ),
            _ => (
                Some(unsupported("LAUNCH_DMA_VPRMODE", 1)),
                Some(unsupported("LAUNCH_DMA_MEMORY_SCRUB_ENABLE", 1)),
            ),
        };
        assert_eq!(result(launch | (1 << 22)), b22, "{}", c.name);
        assert_eq!(result(launch | (1 << 23)), b23, "{}", c.name);

        // Bit 24: RESERVED_START_OF_COPY from Volta. Bit 25: FLUSH_TYPE from Volta (either
        // value is fine). Bit 26: DISABLE_PLC from Turing (fine too).
        let old = id == 0xc0b5;
        let b24 = match old {
            true => Some(reserved(1 << 24)),
            false => Some(unsupported("LAUNCH_DMA_RESERVED_START_OF_COPY", 1)),
        };
        assert_eq!(result(launch | (1 << 24)), b24, "{}", c.name);
        assert_eq!(
            result(launch | (1 << 25)),
            old.then(|| reserved(1 << 25)),
            "{}",
            c.name
        );
        let b26 = (id < 0xc5b5).then(|| reserved(1 << 26));
        assert_eq!(result(launch | (1 << 26)), b26, "{}", c.name);

        // Bit 27: SEMAPHORE_PAYLOAD_SIZE from AMPERE_DMA_COPY_B: TWO_WORD works.
        let b27 = (id < 0xc7b5).then(|| reserved(1 << 27));
        assert_eq!(result(launch | (1 << 27)), b27, "{}", c.name);

        // DATA_TRANSFER_TYPE 3 is PREFETCH on BLACKWELL_DMA_COPY_B only.
        let expected = match id {
            0xcab5 => unsupported(dtt, 3),
            _ => undefined(dtt, 3),
        };
        assert_eq!(result(launch | 3), Some(expected), "{}", c.name);

        // SEMAPHORE_TYPE 3 is RELEASE_CONDITIONAL_INTR_SEMAPHORE from Turing.
        let st = "LAUNCH_DMA_SEMAPHORE_TYPE";
        let expected = match id {
            0xc0b5 | 0xc3b5 => undefined(st, 3),
            _ => unsupported(st, 3),
        };
        assert_eq!(result(launch | (3 << 3)), Some(expected), "{}", c.name);
    }
}

#[test]
fn two_word_release_in_launch() {
    let c = &AMPERE_DMA_COPY_B;
    let mut words = push(c, 0, |pb| pb.semaphore_release(0x800, 7).unwrap());
    words.extend(inc(0, 0x24c, &[0x99]));
    words.extend(inc(0, 0x300, &[0xc | (1 << 27)]));
    let mut mem = TestMem::new(MEM, MEM);
    CeInterp::new(c).execute(&mut mem, &words).unwrap();
    assert_eq!(mem.sysmem[0x800..0x808], 0x99_0000_0007u64.to_le_bytes());

    // A misaligned two-word release.
    let mut words = push(c, 0, |pb| pb.semaphore_release(0x804, 7).unwrap());
    words.extend(inc(0, 0x300, &[0xc | (1 << 27)]));
    let err = reject_after_first_launch(c, &words);
    assert_eq!(err.kind, ExecErrorKind::Misaligned { addr: 0x804 });
}

/// Executes `words`, expecting an error after exactly one launch.
fn reject_after_first_launch(class: &'static CeClass, words: &[u32]) -> ExecError {
    let mut mem = TestMem::new(MEM, MEM);
    let mut ce = CeInterp::new(class);
    let err = ce.execute(&mut mem, words).unwrap_err();
    assert_eq!(ce.launches(), 1);
    err
}

#[test]
fn method_data_checks() {
    // PASCAL_DMA_COPY_A: SET_*_PHYS_MODE has only TARGET (1:0).
    let c = &PASCAL_DMA_COPY_A;
    let words = push(c, 0, |pb| {
        pb.copy(PhysAddr::sysmem(0), PhysAddr::vram(0), 64, 1, 0, 0)
            .unwrap();
    });
    // words: [SET_OBJECT hdr, class, phys hdr, src, dst, offset hdr, 8 x data, launch hdr,
    // launch]
    let patched = |index: usize, value: u32| {
        let mut w = words.clone();
        w[index] = value;
        reject(c, &w).kind
    };
    assert_eq!(
        patched(3, 1 << 2),
        ExecErrorKind::ReservedBits {
            method: 0x260,
            bits: 1 << 2
        }
    );
    assert_eq!(
        patched(4, 3),
        ExecErrorKind::UndefinedValue {
            field: "SET_DST_PHYS_MODE_TARGET",
            value: 3
        }
    );
    // OFFSET_IN_UPPER_UPPER is 16:0.
    assert_eq!(
        patched(6, 1 << 17),
        ExecErrorKind::ReservedBits {
            method: 0x400,
            bits: 1 << 17
        }
    );
    assert_eq!(
        patched(8, 1 << 31),
        ExecErrorKind::ReservedBits {
            method: 0x408,
            bits: 1 << 31
        }
    );
    assert_eq!(patched(12, 0), ExecErrorKind::ZeroLineLength);

    // AMPERE_DMA_COPY_A: PEERMEM, PEER_ID, FLA and BASIC_KIND exist but are not implemented.
    let c = &AMPERE_DMA_COPY_A;
    let words = push(c, 0, |pb| {
        pb.copy(PhysAddr::sysmem(0), PhysAddr::vram(0), 64, 4, 64, 64)
            .unwrap();
    });
    let patched = |index: usize, value: u32| {
        let mut w = words.clone();
        w[index] = value;
        reject(c, &w).kind
    };
    let unsupported = |field, value| ExecErrorKind::Unsupported { field, value };
    assert_eq!(patched(3, 3), unsupported("SET_SRC_PHYS_MODE_TARGET", 3));
    assert_eq!(
        patched(3, 1 | (5 << 2)),
        unsupported("SET_SRC_PHYS_MODE_BASIC_KIND", 5)
    );
    assert_eq!(
        patched(4, 2 << 6),
        unsupported("SET_DST_PHYS_MODE_PEER_ID", 2)
    );
    assert_eq!(patched(4, 1 << 9), unsupported("SET_DST_PHYS_MODE_FLA", 1));
    assert_eq!(
        patched(4, 1 << 10),
        ExecErrorKind::ReservedBits {
            method: 0x264,
            bits: 1 << 10
        }
    );
    assert_eq!(patched(13, 0), ExecErrorKind::ZeroLineCount);
    assert_eq!(patched(12, 0), ExecErrorKind::ZeroLineLength);
    // 2^32 - 1 lines of 64 bytes, 2^32 - 1 apart, run past 49 bits.
    let mut w = words.clone();
    w[10] = u32::MAX;
    w[13] = u32::MAX;
    assert_eq!(reject(c, &w).kind, ExecErrorKind::AddressOverflow);
}

#[test]
fn remap() {
    let c = &TURING_DMA_COPY_A;
    let fill = |components: u32, elements: u32| -> Result<TestMem, ExecErrorKind> {
        let mut words = bind(c);
        words.extend(inc(0, 0x264, &[0]));
        words.extend(inc(0, 0x700, &[0x4433_2211, 0x8877_6655, components]));
        words.extend(inc(0, 0x408, &[0, 0x100]));
        words.extend(inc(0, 0x418, &[elements]));
        words.extend(inc(0, 0x300, &[0x2582]));
        let mut mem = TestMem::new(MEM, MEM);
        CeInterp::new(c)
            .execute(&mut mem, &words)
            .map(|()| mem)
            .map_err(|e| e.kind)
    };

    // Two components of two bytes: CONST_B, then CONST_A.
    let comps = 5 | (4 << 4) | (1 << 16) | (1 << 24);
    let mem = fill(comps, 3).unwrap();
    assert_eq!(
        mem.vram[0xff..0x10d],
        [0xaa, 0x55, 0x66, 0x11, 0x22, 0x55, 0x66, 0x11, 0x22, 0x55, 0x66, 0x11, 0x22, 0xaa]
    );

    // Three components of three bytes (a 9-byte element), CONST_A each.
    let comps = 4 | (4 << 4) | (4 << 8) | (2 << 16) | (2 << 24);
    let mem = fill(comps, 2).unwrap();
    assert_eq!(mem.vram[0x100..0x112], [0x11, 0x22, 0x33].repeat(6)[..]);
    assert_eq!(mem.vram[0x112], 0xaa);

    // One byte of CONST_B; DST_Y..DST_W beyond NUM_DST_COMPONENTS are not looked at.
    let comps = 5 | (6 << 4) | (7 << 8);
    let mem = fill(comps, 5).unwrap();
    assert_eq!(mem.vram[0x100..0x106], [0x55, 0x55, 0x55, 0x55, 0x55, 0xaa]);

    let unsupported = |value| ExecErrorKind::Unsupported {
        field: "SET_REMAP_COMPONENTS_DST_X",
        value,
    };
    assert_eq!(fill(0, 1).err(), Some(unsupported(0))); // SRC_X
    assert_eq!(fill(3, 1).err(), Some(unsupported(3))); // SRC_W
    assert_eq!(fill(6, 1).err(), Some(unsupported(6))); // NO_WRITE
    assert_eq!(
        fill(4 | (7 << 4) | (1 << 24), 1).err(),
        Some(ExecErrorKind::UndefinedValue {
            field: "SET_REMAP_COMPONENTS_DST_Y",
            value: 7
        })
    );
    assert_eq!(
        fill(4 | (1 << 3), 1).err(),
        Some(ExecErrorKind::ReservedBits {
            method: 0x708,
            bits: 1 << 3
        })
    );
}

#[test]
fn other_header_kinds_and_persistent_state() {
    let c = &BLACKWELL_DMA_COPY_A;
    let mut words = bind(c);
    // IMMD_DATA_METHOD: SET_SRC_PHYS_MODE = COHERENT_SYSMEM, SET_DST_PHYS_MODE = LOCAL_FB.
    words.push((4 << 29) | (1 << 16) | (0x260 >> 2));
    words.push((4 << 29) | (0x264 >> 2));
    // NON_INC_METHOD: OFFSET_IN_LOWER twice, the last value wins.
    words.extend([(3 << 29) | (2 << 16) | (0x404 >> 2), 0xdead, 0x3000]);
    // ONE_INC: OFFSET_OUT_UPPER, then OFFSET_OUT_LOWER twice.
    words.extend([(5 << 29) | (3 << 16) | (0x408 >> 2), 0, 0x9999, 0x5000]);
    words.extend(inc(0, 0x400, &[0]));
    words.extend(inc(0, 0x418, &[32]));

    let mut mem = TestMem::new(MEM, MEM);
    let sys = mem.sysmem.clone();
    let mut ce = CeInterp::new(c);
    ce.execute(&mut mem, &words).unwrap();
    assert_eq!(ce.launches(), 0);

    // The launch comes in a second push buffer: the state persisted.
    ce.execute(&mut mem, &inc(0, 0x300, &[0x3182])).unwrap();
    assert_eq!(ce.launches(), 1);
    assert_eq!(mem.vram[0x5000..0x5020], sys[0x3000..0x3020]);
    assert_eq!(mem.vram[0x5020], 0xaa);

    // And again, with virtual addresses on both sides (mapped onto sysmem here).
    let launch = 0x3182 & !((1 << 12) | (1 << 13));
    ce.execute(&mut mem, &inc(0, 0x300, &[launch])).unwrap();
    assert_eq!(mem.sysmem[0x5000..0x5020], sys[0x3000..0x3020]);
}

#[test]
fn overlapping_lines_follow_line_order() {
    let c = &HOPPER_DMA_COPY_A;
    for (src, dst, len, lines, pitch_in, pitch_out) in [
        (0x1000u32, 0x1010u32, 64u32, 1u32, 0u32, 0u32),
        (0x1010, 0x1000, 64, 1, 0, 0),
        (0x1000, 0x1020, 32, 8, 32, 32), // contiguous but overlapping: line by line
        (0x1000, 0x1008, 16, 5, 24, 16),
    ] {
        let mut words = bind(c);
        words.extend(inc(0, 0x260, &[0, 0]));
        words.extend(inc(
            0,
            0x400,
            &[0, src, 0, dst, pitch_in, pitch_out, len, lines],
        ));
        words.extend(inc(0, 0x300, &[0x3382]));

        let mut mem = TestMem::new(MEM, MEM);
        for (i, b) in mem.vram.iter_mut().enumerate() {
            *b = (i % 251) as u8;
        }
        let mut expect = mem.vram.clone();
        for line in 0..lines {
            let s = (src + line * pitch_in) as usize;
            let d = (dst + line * pitch_out) as usize;
            expect.copy_within(s..s + len as usize, d);
        }

        let mut slow = SlowMem(TestMem {
            vram: mem.vram.clone(),
            sysmem: mem.sysmem.clone(),
            calls: 0,
        });
        CeInterp::new(c).execute(&mut mem, &words).unwrap();
        CeInterp::new(c).execute(&mut slow, &words).unwrap();
        assert!(mem.vram == expect);
        assert!(slow.0.vram == expect);
    }
}

#[test]
fn faults() {
    let c = &AMPERE_DMA_COPY_B;
    let words = push(c, 0, |pb| {
        pb.copy(
            PhysAddr::sysmem(0),
            PhysAddr::vram(MEM as u64 - 8),
            16,
            1,
            0,
            0,
        )
        .unwrap();
    });
    let err = reject(c, &words);
    assert_eq!(err.dword, words.len() - 1);
    assert_eq!(
        err.kind,
        ExecErrorKind::CopyFault {
            src: Target::Phys(Aperture::SysmemCoherent),
            src_addr: 0,
            dst: Target::Phys(Aperture::Vram),
            dst_addr: MEM as u64 - 8,
            len: 16
        }
    );

    let words = push(c, 0, |pb| pb.semaphore_release(MEM as u64, 1).unwrap());
    let mut mem = TestMem::new(MEM, MEM);
    let err = CeInterp::new(c).execute(&mut mem, &words).unwrap_err();
    assert_eq!(
        err.kind,
        ExecErrorKind::WriteFault {
            target: Target::Virtual,
            addr: MEM as u64,
            len: 4
        }
    );
}

#[test]
fn default_memory_methods() {
    let mut fast = TestMem::new(4096, 4096);
    let mut slow = SlowMem(TestMem::new(4096, 4096));
    let vram = Target::Phys(Aperture::Vram);
    let sys = Target::Phys(Aperture::SysmemNoncoherent);
    for mem in [&mut fast as &mut dyn Memory, &mut slow] {
        mem.copy(sys, 10, vram, 0, 3000).unwrap();
        mem.copy(vram, 0, vram, 700, 3000).unwrap(); // overlapping, backward
        mem.copy(vram, 100, vram, 50, 2000).unwrap(); // overlapping, forward
        mem.fill(sys, 1, 3 * 700, &[1, 2, 3]).unwrap();
        mem.fill(vram, 3800, 16 * 32, &[9; 16][..]).unwrap_err(); // past the end
        assert_eq!(
            mem.copy(vram, 4000, sys, 0, 200),
            Err(crate::ce_interp::Fault)
        );
    }
    assert!(fast.vram == slow.0.vram);
    assert!(fast.sysmem == slow.0.sysmem);
    assert_eq!(slow.fill(vram, 0, 4, &[]), Err(crate::ce_interp::Fault));
}

#[test]
fn large_transfers_are_whole_lines() {
    const BIG: usize = 64 << 20;
    let c = &HOPPER_DMA_COPY_A;
    let mut mem = TestMem::new(BIG, BIG);
    let mut ce = CeInterp::new(c);

    // 64 MiB in 4096 contiguous lines: one call.
    let words = push(c, 0, |pb| {
        pb.copy(
            PhysAddr::sysmem(0),
            PhysAddr::vram(0),
            16 << 10,
            4096,
            16 << 10,
            16 << 10,
        )
        .unwrap();
    });
    ce.execute(&mut mem, &words).unwrap();
    assert_eq!(mem.calls, 1);
    assert!(mem.vram == mem.sysmem);

    // 2048 lines with gaps: one call per line.
    mem.calls = 0;
    let words = push(c, 0, |pb| {
        pb.copy(
            PhysAddr::vram(0),
            PhysAddr::sysmem(0),
            8 << 10,
            2048,
            16 << 10,
            32 << 10,
        )
        .unwrap();
        pb.clear(PhysAddr::vram(0), BIG as u64, 0).unwrap();
    });
    ce.execute(&mut mem, &words).unwrap();
    assert_eq!(mem.calls, 2048 + 1);
    assert!(mem.vram.iter().all(|&b| b == 0));
}

#[test]
fn reset_unbinds() {
    let class = &AMPERE_DMA_COPY_B;
    let mut mem = TestMem::new(MEM, MEM);
    let mut ce = CeInterp::new(class);
    ce.execute(&mut mem, &bind(class)).unwrap();
    ce.execute(&mut mem, &inc(0, class.mthd.nop, &[0])).unwrap();
    ce.reset();
    let err = ce
        .execute(&mut mem, &inc(0, class.mthd.nop, &[0]))
        .unwrap_err();
    assert_eq!(err.kind, ExecErrorKind::NoObject { subchannel: 0 });
}
