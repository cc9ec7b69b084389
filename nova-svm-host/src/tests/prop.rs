// SPDX-License-Identifier: GPL-2.0

//! Randomised tests with a seeded generator: builder output run through the software copy
//! engine against a reference model, and random method streams that must never panic.

use super::{Rng, TestMem};
use crate::ce::class::{CeClass, Generation};
use crate::ce::header;
use crate::ce::push::{CeError, PushBuffer};
use crate::ce::{Aperture, PhysAddr};
use crate::ce_interp::{CeInterp, Fault, Memory, Target};

/// Size of each memory.
const MEM: u64 = 256 << 10;

/// Returns the reference store of `aperture`.
fn store(mem: &mut TestMem, aperture: Aperture) -> &mut Vec<u8> {
    match aperture {
        Aperture::Vram => &mut mem.vram,
        _ => &mut mem.sysmem,
    }
}

/// Returns a random aperture.
fn aperture(rng: &mut Rng) -> Aperture {
    match rng.below(3) {
        0 => Aperture::Vram,
        1 => Aperture::SysmemCoherent,
        _ => Aperture::SysmemNoncoherent,
    }
}

/// A random copy: (src, dst, bytes per line, lines, pitch in, pitch out).
type Copy = (PhysAddr, PhysAddr, u32, u32, u32, u32);

/// Returns a random copy that fits in the memories.
fn random_copy(rng: &mut Rng) -> Copy {
    let len = match rng.below(4) {
        0 => rng.range(1, 16),
        1 => rng.range(1, 4096),
        2 => 4096,
        _ => rng.range(1, 300),
    };
    let lines = if rng.one_in(2) { 1 } else { rng.range(1, 8) };
    let pitch_in = len + if rng.one_in(3) { 0 } else { rng.range(0, 512) };
    let pitch_out = len + if rng.one_in(3) { 0 } else { rng.range(0, 512) };
    let span_in = (lines - 1) * pitch_in + len;
    let span_out = (lines - 1) * pitch_out + len;
    let src = PhysAddr {
        aperture: aperture(rng),
        addr: rng.range(0, MEM - span_in),
    };
    let dst = PhysAddr {
        aperture: aperture(rng),
        addr: rng.range(0, MEM - span_out),
    };
    // CAST: all below 2^32 by construction.
    (
        src,
        dst,
        len as u32,
        lines as u32,
        pitch_in as u32,
        pitch_out as u32,
    )
}

/// Applies a copy to the reference memory, line by line as `memmove`.
fn reference_copy(mem: &mut TestMem, (src, dst, len, lines, pitch_in, pitch_out): Copy) {
    let len = len as usize;
    for line in 0..u64::from(lines) {
        let s = (src.addr + line * u64::from(pitch_in)) as usize;
        let d = (dst.addr + line * u64::from(pitch_out)) as usize;
        let bytes = store(mem, src.aperture)[s..s + len].to_vec();
        store(mem, dst.aperture)[d..d + len].copy_from_slice(&bytes);
    }
}

/// Returns whether the extents of a copy's source and destination overlap in one store.
fn overlaps((src, dst, len, lines, pitch_in, pitch_out): Copy) -> bool {
    let end_in = src.addr + u64::from(lines - 1) * u64::from(pitch_in) + u64::from(len);
    let end_out = dst.addr + u64::from(lines - 1) * u64::from(pitch_out) + u64::from(len);
    src.aperture == dst.aperture && src.addr < end_out && dst.addr < end_in
}

/// Random copies, clears and semaphore releases, several per push buffer, built by the
/// builder and run by the software copy engine, compared with a reference model.
#[test]
fn random_operations_match_reference() {
    let mut rng = Rng::new(0x00c0_ffee_1234_5678);
    let mut checked = 0;
    let mut rejected = 0;

    for round in 0..300 {
        let generation = Generation::ALL[round % Generation::ALL.len()];
        let class = generation.ce_class();
        // CAST: below 8.
        let subchannel = rng.below(8) as u8;

        let mut mem = TestMem::new(MEM as usize, MEM as usize);
        for b in mem.vram.iter_mut() {
            *b = rng.next() as u8;
        }
        let mut reference = TestMem {
            vram: mem.vram.clone(),
            sysmem: mem.sysmem.clone(),
            calls: 0,
        };

        let mut buf = vec![0u32; 1024];
        let mut pb = PushBuffer::new(class, subchannel, &mut buf).unwrap();
        pb.set_object().unwrap();

        for _ in 0..rng.range(1, 12) {
            match rng.below(8) {
                0 => {
                    let len = rng.range(1, 1024) * 4;
                    let dst = PhysAddr {
                        aperture: aperture(&mut rng),
                        addr: rng.range(0, (MEM - len) / 4) * 4,
                    };
                    let value = rng.next() as u32;
                    pb.clear(dst, len, value).unwrap();
                    let d = dst.addr as usize;
                    for chunk in
                        store(&mut reference, dst.aperture)[d..d + len as usize].chunks_exact_mut(4)
                    {
                        chunk.copy_from_slice(&value.to_le_bytes());
                    }
                }
                1 => {
                    let va = rng.range(0, MEM / 4 - 1) * 4;
                    let payload = rng.next() as u32;
                    pb.semaphore_release(va, payload).unwrap();
                    let v = va as usize;
                    reference.sysmem[v..v + 4].copy_from_slice(&payload.to_le_bytes());
                }
                2 if class.has_semaphore_payload_upper() => {
                    let va = rng.range(0, MEM / 8 - 1) * 8;
                    let payload = rng.next();
                    pb.semaphore_release_64(va, payload).unwrap();
                    let v = va as usize;
                    reference.sysmem[v..v + 8].copy_from_slice(&payload.to_le_bytes());
                }
                _ => {
                    let copy = random_copy(&mut rng);
                    let (src, dst, len, lines, pitch_in, pitch_out) = copy;
                    match pb.copy(src, dst, len, lines, pitch_in, pitch_out) {
                        Ok(()) => {
                            assert!(!overlaps(copy), "{copy:?}");
                            reference_copy(&mut reference, copy);
                            checked += 1;
                        }
                        Err(CeError::Overlap) => {
                            assert!(overlaps(copy), "{copy:?}");
                            rejected += 1;
                        }
                        Err(e) => panic!("{copy:?}: {e:?}"),
                    }
                }
            }
        }

        let words = pb.as_slice().to_vec();
        CeInterp::new(class).execute(&mut mem, &words).unwrap();
        assert!(mem.vram == reference.vram, "round {round}, {}", class.name);
        assert!(
            mem.sysmem == reference.sysmem,
            "round {round}, {}",
            class.name
        );
    }
    assert!(checked > 500, "{checked}");
    assert!(rejected > 0);
}

/// Returns a random method offset: mostly ones the class knows, sometimes anything.
fn random_method(rng: &mut Rng, class: &CeClass) -> u32 {
    let m = &class.mthd;
    let known = [
        header::SET_OBJECT,
        m.nop,
        m.set_semaphore_a,
        m.set_semaphore_b,
        m.set_semaphore_payload,
        m.set_semaphore_payload_upper.unwrap_or(0x24c),
        m.set_src_phys_mode,
        m.set_dst_phys_mode,
        m.launch_dma,
        m.offset_in_upper,
        m.offset_in_lower,
        m.offset_out_upper,
        m.offset_out_lower,
        m.pitch_in,
        m.pitch_out,
        m.line_length_in,
        m.line_count,
        m.set_remap_const_a,
        m.set_remap_const_b,
        m.set_remap_components,
    ];
    if rng.one_in(10) {
        // CAST: below 0x1000.
        return (rng.below(0x1000) as u32) * 4;
    }
    known[rng.below(known.len() as u64) as usize]
}

/// Returns random data for `method`: mostly plausible values, sometimes any bits.
fn random_data(rng: &mut Rng, class: &CeClass, method: u32) -> u32 {
    let m = &class.mthd;
    if rng.one_in(8) {
        return rng.next() as u32;
    }
    match method {
        header::SET_OBJECT => class.id,
        x if x == m.launch_dma => {
            // Copy, multi-line copy, fill, release, copy and release; sometimes a bit flipped.
            let launches = [0x3182, 0x3382, 0x2582, 0x2782, 0xc, 0x318e, 0x1182, 0x0182];
            let launch = launches[rng.below(launches.len() as u64) as usize];
            match rng.one_in(4) {
                true => launch ^ (1 << rng.below(32)),
                false => launch,
            }
        }
        x if x == m.set_src_phys_mode || x == m.set_dst_phys_mode => rng.below(4) as u32,
        x if x == m.offset_in_upper || x == m.offset_out_upper || x == m.set_semaphore_a => {
            u32::from(rng.one_in(16))
        }
        x if x == m.line_count => rng.below(16) as u32,
        x if x == m.line_length_in || x == m.pitch_in || x == m.pitch_out => rng.below(8192) as u32,
        x if x == m.set_remap_components => {
            let dst = |rng: &mut Rng| 4 + rng.below(2) as u32;
            dst(rng)
                | (dst(rng) << 4)
                | (dst(rng) << 8)
                | (dst(rng) << 12)
                | ((rng.below(4) as u32) << 16)
                | ((rng.below(4) as u32) << 24)
        }
        _ => rng.below(MEM) as u32,
    }
}

/// Random, mostly well-formed method streams: the interpreter returns, with or without an
/// error, and never panics, loops or writes out of bounds.
#[test]
fn random_streams_never_panic() {
    let mut rng = Rng::new(0xdead_beef_0bad_cafe);
    let mut ok = 0;
    let mut launches = 0;

    for round in 0..3000 {
        let class = Generation::ALL[round % Generation::ALL.len()].ce_class();
        // Start from valid state most of the time, so that later launches get far.
        let mut buf = [0u32; 64];
        let mut pb = PushBuffer::new(class, 0, &mut buf).unwrap();
        pb.set_object().unwrap();
        if !rng.one_in(4) {
            let (src, dst, len, lines, pitch_in, pitch_out) = random_copy(&mut rng);
            let _ = pb.copy(src, dst, len, lines, pitch_in, pitch_out);
        }
        let mut words = pb.as_slice().to_vec();
        for _ in 0..rng.range(1, 24) {
            match rng.below(20) {
                0 => words.push(rng.next() as u32),
                1 => words.push(header::DMA_NOP),
                _ => {
                    let method = random_method(&mut rng, class);
                    // CAST: at most 4.
                    let count = rng.range(1, 4) as u32;
                    let subchannel = if rng.one_in(8) { rng.below(8) as u8 } else { 0 };
                    words.push(header::inc_method(subchannel, method, count).unwrap());
                    for index in 0..count {
                        let target = header::Kind::Inc.method(method, index);
                        words.push(random_data(&mut rng, class, target));
                    }
                }
            }
        }
        if rng.one_in(10) {
            words.pop();
        }

        let mut mem = TestMem::new(MEM as usize, MEM as usize);
        let mut ce = CeInterp::new(class);
        if ce.execute(&mut mem, &words).is_ok() {
            ok += 1;
        }
        launches += ce.launches();
        assert_eq!(mem.vram.len(), MEM as usize);
    }
    assert!(ok > 50, "{ok}");
    assert!(launches > 100, "{launches}");
}

/// Memory that accepts every access: reads return zeros, writes vanish.
struct NullMem;

impl Memory for NullMem {
    fn read(&mut self, _: Target, _: u64, buf: &mut [u8]) -> Result<(), Fault> {
        buf.fill(0);
        Ok(())
    }

    fn write(&mut self, _: Target, _: u64, _: &[u8]) -> Result<(), Fault> {
        Ok(())
    }

    fn copy(&mut self, _: Target, _: u64, _: Target, _: u64, _: u64) -> Result<(), Fault> {
        Ok(())
    }

    fn fill(&mut self, _: Target, _: u64, _: u64, _: &[u8]) -> Result<(), Fault> {
        Ok(())
    }
}

/// Returns a random 64-bit value of random magnitude.
fn any(rng: &mut Rng) -> u64 {
    rng.next() >> rng.below(64)
}

/// Random builder arguments, valid or not, on every class: the builder either refuses them or
/// builds dwords that the software copy engine accepts, up to the top of the class's address
/// range.
#[test]
fn builder_output_is_always_accepted() {
    let mut rng = Rng::new(0x1357_9bdf_2468_ace0);
    let mut built = 0;
    let mut refused = 0;

    for round in 0..20_000 {
        let class = Generation::ALL[round % Generation::ALL.len()].ce_class();
        let mut buf = [0u32; 32];
        // CAST: below 8.
        let mut pb = PushBuffer::new(class, rng.below(8) as u8, &mut buf).unwrap();
        pb.set_object().unwrap();

        let near_top = |rng: &mut Rng| (1u64 << class.address_bits()) - any(rng) % 0x10_0000;
        let addr = |rng: &mut Rng| {
            let addr = if rng.one_in(3) {
                near_top(rng)
            } else {
                any(rng)
            };
            PhysAddr {
                aperture: aperture(rng),
                addr,
            }
        };
        let small = |rng: &mut Rng| any(rng) as u32 >> rng.below(32);

        let result = match rng.below(4) {
            0 => pb.clear(addr(&mut rng), any(&mut rng) & !3, rng.next() as u32),
            1 => pb.semaphore_release(any(&mut rng) & !3, rng.next() as u32),
            2 => pb.semaphore_release_64(any(&mut rng) & !7, rng.next()),
            _ => {
                let (src, dst) = (addr(&mut rng), addr(&mut rng));
                let len = small(&mut rng);
                // Not too many lines: the software copy engine visits each one.
                let lines = small(&mut rng) % 0x1_0000;
                let pitch_in = len.saturating_add(small(&mut rng));
                let pitch_out = len.saturating_add(small(&mut rng));
                pb.copy(src, dst, len, lines, pitch_in, pitch_out)
            }
        };

        let words = pb.as_slice().to_vec();
        let mut ce = CeInterp::new(class);
        ce.execute(&mut NullMem, &words).unwrap();
        match result {
            Ok(()) => {
                assert_eq!(ce.launches(), 1);
                built += 1;
            }
            Err(_) => {
                assert_eq!(ce.launches(), 0);
                refused += 1;
            }
        }
    }
    assert!(built > 2000, "{built}");
    assert!(refused > 2000, "{refused}");
}
