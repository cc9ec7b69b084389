// SPDX-License-Identifier: GPL-2.0

//! The simulated GPU's table of live DMA mappings (`hw/sim/iommu.rs`).

use std::collections::HashMap;

use crate::iommu::{Iommu, IommuError, MapSlot, Slot, FRAME};

type Table = Iommu<u32, Vec<MapSlot<u32>>, Vec<Slot>>;

/// A table for `maps` mappings and `slots` frames.
fn table(maps: usize, slots: usize) -> Table {
    let m = (0..maps).map(|_| MapSlot::Free(None)).collect();
    Iommu::new(m, vec![Slot::FREE; slots]).expect("valid storage")
}

#[test]
fn storage_is_checked() {
    let m = || {
        (0..4)
            .map(|_| MapSlot::<u32>::Free(None))
            .collect::<Vec<_>>()
    };
    assert!(Iommu::new(m(), vec![Slot::FREE; 0]).is_none());
    assert!(
        Iommu::new(m(), vec![Slot::FREE; 12]).is_none(),
        "not a power of two"
    );
    assert!(Iommu::new(m(), vec![Slot::FREE; 16]).is_some());
}

#[test]
fn insert_lookup_remove() {
    let mut t = table(8, 64);
    t.insert(0x10_0000, 3 * FRAME, 7).expect("room");
    assert_eq!((t.live(), t.frames()), (1, 3));
    for off in [0, 1, FRAME, 3 * FRAME - 1] {
        let (m, at) = t.lookup(0x10_0000 + off).expect("mapped");
        assert_eq!((m.handle, m.bus, m.len, at), (7, 0x10_0000, 3 * FRAME, off));
    }
    assert!(t.lookup(0x10_0000 + 3 * FRAME).is_none());
    assert!(t.lookup(0x10_0000 - 1).is_none());
    // A removal must name the mapping exactly.
    assert_eq!(t.remove(0x10_0000, FRAME), None);
    assert_eq!(t.remove(0x10_1000, 2 * FRAME), None);
    assert_eq!(t.remove(0x10_0000, 3 * FRAME), Some(7));
    assert!(
        t.lookup(0x10_0000).is_none(),
        "an unmapped address is not reachable"
    );
    assert_eq!((t.live(), t.frames()), (0, 0));
    assert_eq!(t.remove(0x10_0000, 3 * FRAME), None);
}

#[test]
fn refuses_misaligned_and_full() {
    let mut t = table(2, 16);
    assert_eq!(t.insert(0x1001, FRAME, 1), Err((IommuError::Misaligned, 1)));
    assert_eq!(t.insert(0x1000, 100, 2), Err((IommuError::Misaligned, 2)));
    assert_eq!(t.insert(0x1000, 0, 3), Err((IommuError::Misaligned, 3)));
    // Three quarters of 16 slots: 12 frames.
    assert_eq!(t.insert(0x1000, 13 * FRAME, 4), Err((IommuError::Full, 4)));
    t.insert(0x1000, 12 * FRAME, 5).expect("room");
    assert_eq!(t.insert(0x10_0000, FRAME, 6), Err((IommuError::Full, 6)));
    assert_eq!(t.remove(0x1000, 12 * FRAME), Some(5));
    // Two mapping entries.
    t.insert(0x1000, FRAME, 7).expect("room");
    t.insert(0x2000, FRAME, 8).expect("room");
    assert_eq!(t.insert(0x3000, FRAME, 9), Err((IommuError::Full, 9)));
}

#[test]
fn overlapping_mappings() {
    // Without an IOMMU a page mapped twice has the same bus address twice.
    let mut t = table(8, 64);
    t.insert(0x5000, FRAME, 1).expect("room");
    t.insert(0x5000, FRAME, 2).expect("room");
    t.insert(0x4000, 4 * FRAME, 3).expect("room");
    assert!(t.lookup(0x5000).is_some());
    assert_eq!(
        t.remove(0x5000, FRAME).map(|h| h == 1 || h == 2),
        Some(true)
    );
    assert!(
        t.lookup(0x5000).is_some(),
        "two mappings hold the frame still"
    );
    assert!(t.remove(0x5000, FRAME).is_some());
    assert_eq!(
        t.lookup(0x5000).map(|(m, at)| (m.handle, at)),
        Some((3, 0x1000))
    );
    assert_eq!(t.remove(0x4000, 4 * FRAME), Some(3));
    assert!(t.lookup(0x5000).is_none());
    assert_eq!(t.frames(), 0);
}

#[test]
fn random_against_a_model() {
    // Frames that collide in the table (a multiple of its size apart) and frames next to
    // each other, mapped and unmapped in random order, against a map of the live mappings.
    let mut rng = super::Rng::new(0x10_3355);
    let mut t = table(64, 256);
    let mut live: HashMap<u32, (u64, u64)> = HashMap::new();
    let mut next = 0u32;
    for step in 0..20_000 {
        if live.len() < 48 && !rng.one_in(3) {
            let frame = rng.below(8) * 256 + rng.below(16);
            let frames = rng.range(1, 8);
            let used: u64 = live.values().map(|(_, len)| len / FRAME).sum();
            let r = t.insert(frame * FRAME, frames * FRAME, next);
            if used + frames > 192 {
                assert_eq!(r, Err((IommuError::Full, next)), "step {step}");
            } else {
                assert_eq!(r, Ok(()), "step {step}");
                live.insert(next, (frame * FRAME, frames * FRAME));
            }
            next += 1;
        } else if let Some(&h) = live
            .keys()
            .nth(rng.below(live.len().max(1) as u64) as usize)
        {
            let (bus, len) = live[&h];
            let got = t.remove(bus, len).expect("live");
            // Another mapping of the same range may be the one removed.
            let (gb, gl) = live.remove(&got).expect("a live handle");
            assert_eq!((gb, gl), (bus, len), "step {step}");
        }
        // Every address is reachable exactly when some live mapping holds it.
        if step % 97 == 0 {
            for frame in (0..8).flat_map(|k| (0..24).map(move |f| k * 256 + f)) {
                let addr = frame * FRAME + 8;
                let want = live.values().any(|&(b, l)| addr >= b && addr < b + l);
                let got = t.lookup(addr);
                assert_eq!(got.is_some(), want, "step {step} frame {frame:#x}");
                if let Some((m, at)) = got {
                    assert_eq!(live.get(&m.handle), Some(&(m.bus, m.len)));
                    assert_eq!(m.bus + at, addr);
                }
            }
        }
        assert_eq!(t.live(), live.len());
    }
}
