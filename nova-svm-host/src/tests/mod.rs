// SPDX-License-Identifier: GPL-2.0

//! Host tests of the copy-engine encodings, the push-buffer builder and the software copy
//! engine; of the channel class, the GMMU formats; and of the simulated GPU's host
//! (PBDMA), page-table walker, TLB and DMA mapping table.

mod args;
mod builder;
mod classes;
mod header;
mod host;
mod interp;
mod iommu;
mod mmu;
mod pbdma;
mod prop;
mod values;

use crate::ce::Aperture;
use crate::ce_interp::{Fault, Memory, Target};
use std::ops::Range;
use std::vec::Vec;

/// Simulated memory for the tests: VRAM and system memory as byte vectors. GPU virtual
/// addresses map one to one onto system memory, as a flat mapping would.
pub(crate) struct TestMem {
    /// Video memory.
    pub(crate) vram: Vec<u8>,
    /// System memory (coherent and non-coherent alike).
    pub(crate) sysmem: Vec<u8>,
    /// Number of `copy` and `fill` calls.
    pub(crate) calls: usize,
}

impl TestMem {
    /// Creates memory of the given sizes, VRAM filled with `0xaa` and system memory with a
    /// pattern of its address.
    pub(crate) fn new(vram: usize, sysmem: usize) -> Self {
        Self {
            vram: vec![0xaa; vram],
            sysmem: (0..sysmem).map(|i| (i * 7 + 3) as u8).collect(),
            calls: 0,
        }
    }

    /// Returns whether `target` is backed by VRAM (else by system memory).
    fn is_vram(target: Target) -> bool {
        target == Target::Phys(Aperture::Vram)
    }

    /// Returns the backing store of `target`.
    pub(crate) fn space(&self, target: Target) -> &Vec<u8> {
        if Self::is_vram(target) {
            &self.vram
        } else {
            &self.sysmem
        }
    }

    /// Returns the backing store of `target`, mutably.
    pub(crate) fn space_mut(&mut self, target: Target) -> &mut Vec<u8> {
        if Self::is_vram(target) {
            &mut self.vram
        } else {
            &mut self.sysmem
        }
    }
}

/// Returns the index range of `len` bytes at `addr` in a store of `size` bytes.
fn range(size: usize, addr: u64, len: u64) -> Result<Range<usize>, Fault> {
    let start = usize::try_from(addr).map_err(|_| Fault)?;
    let len = usize::try_from(len).map_err(|_| Fault)?;
    let end = start.checked_add(len).ok_or(Fault)?;
    if end > size {
        return Err(Fault);
    }
    Ok(start..end)
}

impl Memory for TestMem {
    fn read(&mut self, target: Target, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        let space = self.space(target);
        let r = range(space.len(), addr, buf.len() as u64)?;
        buf.copy_from_slice(&space[r]);
        Ok(())
    }

    fn write(&mut self, target: Target, addr: u64, data: &[u8]) -> Result<(), Fault> {
        let space = self.space_mut(target);
        let r = range(space.len(), addr, data.len() as u64)?;
        space[r].copy_from_slice(data);
        Ok(())
    }

    fn copy(
        &mut self,
        src: Target,
        src_addr: u64,
        dst: Target,
        dst_addr: u64,
        len: u64,
    ) -> Result<(), Fault> {
        self.calls += 1;
        if Self::is_vram(src) == Self::is_vram(dst) {
            let space = self.space_mut(src);
            let s = range(space.len(), src_addr, len)?;
            let d = range(space.len(), dst_addr, len)?;
            space.copy_within(s, d.start);
        } else {
            let (from, to) = if Self::is_vram(src) {
                (&self.vram, &mut self.sysmem)
            } else {
                (&self.sysmem, &mut self.vram)
            };
            let s = range(from.len(), src_addr, len)?;
            let d = range(to.len(), dst_addr, len)?;
            to[d].copy_from_slice(&from[s]);
        }
        Ok(())
    }

    fn fill(&mut self, target: Target, addr: u64, len: u64, pattern: &[u8]) -> Result<(), Fault> {
        self.calls += 1;
        let space = self.space_mut(target);
        let r = range(space.len(), addr, len)?;
        if pattern.is_empty() || r.len() % pattern.len() != 0 {
            return Err(Fault);
        }
        for chunk in space[r].chunks_exact_mut(pattern.len()) {
            chunk.copy_from_slice(pattern);
        }
        Ok(())
    }
}

/// Memory that only implements `read` and `write`, to exercise the default `copy` and
/// `fill` of [`Memory`].
pub(crate) struct SlowMem(pub(crate) TestMem);

impl Memory for SlowMem {
    fn read(&mut self, target: Target, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        self.0.read(target, addr, buf)
    }

    fn write(&mut self, target: Target, addr: u64, data: &[u8]) -> Result<(), Fault> {
        self.0.write(target, addr, data)
    }
}

/// A seeded xorshift64* generator, so that the random tests are reproducible.
pub(crate) struct Rng(u64);

impl Rng {
    /// Creates a generator from a non-zero seed.
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// Returns the next 64 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Returns a number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Returns a number in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Returns true with probability `1 / n`.
    pub(crate) fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}
