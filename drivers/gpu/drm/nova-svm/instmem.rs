// SPDX-License-Identifier: GPL-2.0

//! Instance memory: the VRAM the driver keeps for its own GPU objects.
//!
//! Page tables, GPFIFO rings, push buffers, USERD pages and semaphores live in a region at the
//! start of VRAM that is never handed to the core mm. [`Instmem`] allocates it in runs of
//! 4 KiB pages from a bitmap; the CPU reads and writes the blocks through the backend's BAR.
//! A block is zeroed when it is allocated, so that a new page table holds only invalid
//! entries.

use kernel::{new_spinlock, prelude::*, sync::Arc, sync::SpinLock};

use crate::hw::Backend;

/// Bytes of an instance-memory page.
pub(crate) const INST_PAGE: usize = 4096;

/// The instance memory of a GPU.
#[pin_data]
pub(crate) struct Instmem {
    backend: Arc<dyn Backend>,
    /// VRAM address of the region.
    base: u64,
    /// Pages of the region.
    pages: usize,
    /// One bit per page, set while the page is allocated.
    #[pin]
    map: SpinLock<KVec<u64>>,
}

/// A run of instance-memory pages.
pub(crate) struct InstBlock {
    im: Arc<Instmem>,
    first: usize,
    pages: usize,
}

impl Instmem {
    /// Creates the instance memory of `backend` at VRAM `base..base + size` (whole pages),
    /// bringing the VRAM online.
    pub(crate) fn new(backend: Arc<dyn Backend>, base: u64, size: u64) -> Result<Arc<Self>> {
        // CAST: the page size fits u64.
        let pages = usize::try_from(size / INST_PAGE as u64).map_err(|_| EINVAL)?;
        if pages == 0 {
            return Err(EINVAL);
        }
        backend.vram_online(base, size)?;
        let map = KVec::from_elem(0u64, pages.div_ceil(64), GFP_KERNEL)?;
        Arc::pin_init(
            try_pin_init!(Self {
                backend,
                base,
                pages,
                map <- new_spinlock!(map, "nova_svm::Instmem::map"),
            }),
            GFP_KERNEL,
        )
    }

    /// The backend, shared.
    pub(crate) fn backend_arc(&self) -> Arc<dyn Backend> {
        self.backend.clone()
    }

    /// The number of pages allocated.
    pub(crate) fn used(&self) -> usize {
        self.map
            .lock()
            .iter()
            // CAST: a popcount fits usize.
            .map(|w| w.count_ones() as usize)
            .sum()
    }

    /// Allocates `pages` contiguous pages, zeroed. `ENOSPC` when there is no such run.
    pub(crate) fn alloc(self: &Arc<Self>, pages: usize) -> Result<InstBlock> {
        if pages == 0 {
            return Err(EINVAL);
        }
        let first = {
            let mut map = self.map.lock();
            let bit =
                |m: &KVec<u64>, i: usize| m.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0);
            let mut run = 0;
            let mut found = None;
            for i in 0..self.pages {
                if bit(&map, i) {
                    run = 0;
                    continue;
                }
                run += 1;
                if run == pages {
                    found = Some(i + 1 - pages);
                    break;
                }
            }
            let first = found.ok_or(ENOSPC)?;
            for i in first..first + pages {
                if let Some(w) = map.get_mut(i / 64) {
                    *w |= 1 << (i % 64);
                }
            }
            first
        };
        let block = InstBlock {
            im: self.clone(),
            first,
            pages,
        };
        block.zero()?;
        Ok(block)
    }
}

impl InstBlock {
    /// VRAM address of the block.
    pub(crate) fn addr(&self) -> u64 {
        // CAST: a byte offset in VRAM fits u64.
        self.im.base + (self.first * INST_PAGE) as u64
    }

    /// Bytes of the block.
    pub(crate) fn size(&self) -> usize {
        self.pages * INST_PAGE
    }

    /// Writes `data` at byte `offset` of the block.
    pub(crate) fn write(&self, offset: usize, data: &[u8]) -> Result {
        if offset
            .checked_add(data.len())
            .is_none_or(|end| end > self.size())
        {
            return Err(EINVAL);
        }
        // CAST: as above.
        self.im.backend.bar_write(self.addr() + offset as u64, data)
    }

    /// Reads `out.len()` bytes at byte `offset` of the block.
    pub(crate) fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        if offset
            .checked_add(out.len())
            .is_none_or(|end| end > self.size())
        {
            return Err(EINVAL);
        }
        // CAST: as above.
        self.im.backend.bar_read(self.addr() + offset as u64, out)
    }

    /// Writes the dwords `words` (little endian) at byte `offset` of the block.
    pub(crate) fn write_u32s(&self, offset: usize, words: &[u32]) -> Result {
        if offset
            .checked_add(words.len() * 4)
            .is_none_or(|end| end > self.size())
        {
            return Err(EINVAL);
        }
        // CAST: a byte offset in VRAM fits u64.
        self.im
            .backend
            .bar_write_u32s(self.addr() + offset as u64, words)
    }

    /// Writes the little-endian 64-bit `value` at byte `offset` of the block.
    pub(crate) fn write_u64(&self, offset: usize, value: u64) -> Result {
        self.write(offset, &value.to_le_bytes())
    }

    /// Zeroes the block.
    fn zero(&self) -> Result {
        let zeros = [0u8; 512];
        let mut off = 0;
        while off < self.size() {
            self.write(off, &zeros)?;
            off += zeros.len();
        }
        Ok(())
    }
}

impl Drop for InstBlock {
    fn drop(&mut self) {
        let mut map = self.im.map.lock();
        for i in self.first..self.first + self.pages {
            if let Some(w) = map.get_mut(i / 64) {
                *w &= !(1 << (i % 64));
            }
        }
    }
}
