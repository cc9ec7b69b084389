// SPDX-License-Identifier: GPL-2.0

//! The simulated GPU's view of system memory: a table of the live DMA mappings.
//!
//! The simulated GPU reaches system memory only at bus addresses that the DMA API returned
//! for it and that are still mapped, like a device behind an IOMMU. [`Iommu`] records each
//! mapping (its bus address, its length and a handle to the memory) when the driver maps a
//! page, and forgets it when the driver unmaps it; an access to any other address is a fault
//! that the channel reports, never a silent access to whatever memory is there.
//!
//! The table has a fixed capacity, allocated up front: mapping never allocates, so pages can
//! be mapped under locks that memory reclaim takes. Each 4 KiB frame of a mapping has a slot
//! in an open-addressed hash table (linear probing, backward-shift deletion); a mapping of a
//! 2 MiB folio takes 512 slots. Without an IOMMU the DMA API returns the same bus address
//! each time a page is mapped, so mappings may overlap: a frame then has a slot per mapping,
//! and an access finds any of them, which all lead to the same memory.
//!
//! This file uses only `core`, so that the host crate `nova-svm-host` compiles and tests it.

use core::ops::DerefMut;

/// Bytes of a frame.
pub(crate) const FRAME: u64 = 4096;

/// A slot of the hash table: frame `frame` belongs to mapping `map`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    /// The bus frame number, [`EMPTY`] for a free slot.
    frame: u64,
    /// Index of the mapping in the mapping list.
    map: u32,
}

/// The frame number of a free slot; no frame has it (it would be above 2^64 bytes).
const EMPTY: u64 = u64::MAX;

impl Slot {
    /// A free slot.
    pub(crate) const FREE: Slot = Slot {
        frame: EMPTY,
        map: 0,
    };
}

/// A live mapping.
#[derive(Debug)]
pub(crate) struct Map<H> {
    /// The handle to the memory.
    pub(crate) handle: H,
    /// Its bus address, frame aligned.
    pub(crate) bus: u64,
    /// Its length in bytes, a whole number of frames.
    pub(crate) len: u64,
}

/// Why a mapping could not be recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IommuError {
    /// The address or length is not frame aligned, or the length is zero.
    Misaligned,
    /// The table is full.
    Full,
}

/// The table of live mappings, in storage the caller allocated: `maps` holds one entry per
/// mapping that can be live at once, `slots` (a power of two long) the frames.
pub(crate) struct Iommu<H, M, S> {
    /// The mapping list.
    maps: M,
    /// The hash table of frames.
    slots: S,
    /// The head of the list of free entries of `maps`, linked through [`MapSlot::Free`].
    free: Option<u32>,
    /// Frames in use.
    used: usize,
    /// Live mappings.
    live: usize,
    /// The type of the handles that `maps` holds.
    _h: core::marker::PhantomData<H>,
}

/// An entry of the mapping list: a live mapping, or the next free entry.
#[derive(Debug)]
pub(crate) enum MapSlot<H> {
    /// A live mapping.
    Live(Map<H>),
    /// A free entry, and the next free one.
    Free(Option<u32>),
}

impl<H, M, S> Iommu<H, M, S>
where
    M: DerefMut<Target = [MapSlot<H>]>,
    S: DerefMut<Target = [Slot]>,
{
    /// Creates an empty table over `maps` (every entry free) and `slots` (every slot
    /// [`Slot::FREE`], a power of two long). Returns `None` for other storage.
    pub(crate) fn new(mut maps: M, slots: S) -> Option<Self> {
        let n = slots.deref().len();
        if n == 0 || !n.is_power_of_two() || slots.deref().iter().any(|s| *s != Slot::FREE) {
            return None;
        }
        let count = u32::try_from(maps.deref().len()).ok()?;
        for (i, m) in (0u32..).zip(maps.deref_mut().iter_mut()) {
            *m = MapSlot::Free((i + 1 < count).then_some(i + 1));
        }
        Some(Self {
            free: (count > 0).then_some(0),
            maps,
            slots,
            used: 0,
            live: 0,
            _h: core::marker::PhantomData,
        })
    }

    /// The number of live mappings.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// The number of frames mapped.
    pub(crate) fn frames(&self) -> usize {
        self.used
    }

    /// The home slot of `frame`.
    fn home(&self, frame: u64) -> usize {
        let mask = self.slots.deref().len() - 1;
        // The low bits of the frame: the frames of a large folio, and pages the allocator
        // handed out in a row, take neighbouring slots, which keeps lookups in few cache
        // lines. Frames collide only when they lie a multiple of the table apart.
        // CAST: the mask cuts the frame to the table.
        (frame as usize) & mask
    }

    /// A slot that holds `frame` (of mapping `map`, if given), if any.
    fn find(&self, frame: u64, map: Option<u32>) -> Option<usize> {
        let slots = self.slots.deref();
        let mask = slots.len() - 1;
        let mut i = self.home(frame);
        loop {
            let s = slots.get(i)?;
            if s.frame == frame && map.is_none_or(|m| m == s.map) {
                return Some(i);
            }
            if s.frame == EMPTY {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    /// Records the mapping of `len` bytes at bus address `bus` to `handle`. On failure the
    /// handle is given back.
    pub(crate) fn insert(&mut self, bus: u64, len: u64, handle: H) -> Result<(), (IommuError, H)> {
        if bus % FRAME != 0 || len % FRAME != 0 || len == 0 {
            return Err((IommuError::Misaligned, handle));
        }
        let frames = len / FRAME;
        let first = bus / FRAME;
        // Keep a quarter of the table free, so that probes stay short and always end.
        let cap = self.slots.deref().len() / 4 * 3;
        let Some(total) = usize::try_from(frames)
            .ok()
            .and_then(|f| f.checked_add(self.used))
        else {
            return Err((IommuError::Full, handle));
        };
        if total > cap {
            return Err((IommuError::Full, handle));
        }
        let Some(id) = self.free else {
            return Err((IommuError::Full, handle));
        };
        let maps = self.maps.deref_mut();
        // CAST: `id` indexes `maps`, which is no longer than u32 allows.
        let Some(entry) = maps.get_mut(id as usize) else {
            return Err((IommuError::Full, handle));
        };
        let MapSlot::Free(next) = *entry else {
            return Err((IommuError::Full, handle));
        };
        *entry = MapSlot::Live(Map { handle, bus, len });
        self.free = next;
        for f in first..first + frames {
            let mask = self.slots.deref().len() - 1;
            let mut i = self.home(f);
            let slots = self.slots.deref_mut();
            while slots.get(i).is_some_and(|s| s.frame != EMPTY) {
                i = (i + 1) & mask;
            }
            if let Some(s) = slots.get_mut(i) {
                *s = Slot { frame: f, map: id };
            }
        }
        self.used = total;
        self.live += 1;
        Ok(())
    }

    /// Removes the slot at `i`, moving back the entries after it that probed past it.
    fn remove_slot(&mut self, mut i: usize) {
        let mask = self.slots.deref().len() - 1;
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let Some(next) = self.slots.deref().get(j).copied() else {
                break;
            };
            if next.frame == EMPTY {
                break;
            }
            let home = self.home(next.frame);
            // `next` may move to `i` if its home is not cyclically in `(i, j]`.
            let stays = if i <= j {
                i < home && home <= j
            } else {
                i < home || home <= j
            };
            if stays {
                continue;
            }
            let slots = self.slots.deref_mut();
            if let Some(s) = slots.get_mut(i) {
                *s = next;
            }
            i = j;
        }
        if let Some(s) = self.slots.deref_mut().get_mut(i) {
            *s = Slot::FREE;
        }
    }

    /// Forgets a mapping of `len` bytes at bus address `bus` and returns its handle.
    pub(crate) fn remove(&mut self, bus: u64, len: u64) -> Option<H> {
        // Find the mapping among those that hold the first frame.
        let frame = bus / FRAME;
        let mask = self.slots.deref().len() - 1;
        let mut i = self.home(frame);
        let id = loop {
            let s = *self.slots.deref().get(i)?;
            if s.frame == EMPTY {
                return None;
            }
            if s.frame == frame {
                // CAST: `map` indexes `maps`.
                if let Some(MapSlot::Live(m)) = self.maps.deref().get(s.map as usize) {
                    if m.bus == bus && m.len == len {
                        break s.map;
                    }
                }
            }
            i = (i + 1) & mask;
        };
        let frames = len / FRAME;
        // Last frame first: the frames of a mapping sit in a run of slots, and removing the
        // last slot of a run moves nothing back, where removing the first would move the
        // whole run.
        for f in (frame..frame + frames).rev() {
            if let Some(j) = self.find(f, Some(id)) {
                self.remove_slot(j);
            }
        }
        // CAST: `id` indexes `maps`.
        let entry = self.maps.deref_mut().get_mut(id as usize)?;
        let MapSlot::Live(m) = core::mem::replace(entry, MapSlot::Free(self.free)) else {
            return None;
        };
        self.free = Some(id);
        // CAST: the frames of a live mapping were counted in `used`.
        self.used -= frames as usize;
        self.live -= 1;
        Some(m.handle)
    }

    /// The mapping that holds bus address `addr`, and the offset of `addr` in it.
    pub(crate) fn lookup(&self, addr: u64) -> Option<(&Map<H>, u64)> {
        let slot = self.find(addr / FRAME, None)?;
        let id = self.slots.deref().get(slot)?.map;
        // CAST: `id` indexes `maps`.
        match self.maps.deref().get(id as usize)? {
            MapSlot::Live(m) => Some((m, addr - m.bus)),
            MapSlot::Free(_) => None,
        }
    }
}
