// SPDX-License-Identifier: GPL-2.0

//! The simulated GPU's MMU: a page-table walker and a TLB.
//!
//! [`Mmu::translate`] turns a GPU virtual address into an aperture and a physical address by
//! walking the page tables of [`crate::mmu`] from the channel's page directory base, the way
//! the GMMU does, and caches the result in a small TLB. Like the hardware's, the TLB is only
//! emptied by a TLB invalidate ([`Mmu::invalidate`], from `MEM_OP_D`): a driver that changes
//! a PTE and does not invalidate keeps seeing the old translation.
//!
//! This file uses only `core` and the definitions at `crate::ce` and `crate::mmu`, so that
//! the host crate `nova-svm-host` compiles and tests it.

use crate::ce::Aperture;
use crate::mmu::{self, DirEntry, DualEntry, PageSize, Pde, Pte, Version};

/// Page-table memory, as the walker reads it.
pub(crate) trait TableMem {
    /// Reads the little-endian 64-bit words at `addr` in `aperture` into `out`; `Err` when
    /// the memory is not there.
    fn read_words(&mut self, aperture: Aperture, addr: u64, out: &mut [u64]) -> Result<(), ()>;
}

/// Why a translation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WalkFault {
    /// The address is beyond the address space.
    VaRange,
    /// A directory entry is invalid, or is a PTE where this MMU does not take one.
    Pde,
    /// The PTE is invalid.
    Pte,
    /// A write to a read-only page.
    ReadOnly,
    /// An unprivileged access to a privileged page.
    Privilege,
    /// A page table could not be read.
    TableRead,
}

/// A translation: the page of a virtual address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Leaf {
    /// The PTE.
    pub(crate) pte: Pte,
    /// The page size it maps.
    pub(crate) size: PageSize,
}

impl Leaf {
    /// The physical address of `va` in this page, and the bytes left in the page from there.
    pub(crate) fn locate(&self, va: u64) -> (u64, u64) {
        let mask = self.size.bytes() - 1;
        (self.pte.addr | (va & mask), self.size.bytes() - (va & mask))
    }
}

/// Walks the tables of `version` from `pdb` for `va`.
pub(crate) fn walk(
    version: Version,
    pdb: &Pde,
    va: u64,
    mem: &mut impl TableMem,
) -> Result<Leaf, WalkFault> {
    if va >> version.va_bits() != 0 {
        return Err(WalkFault::VaRange);
    }
    let dirs = version.dirs();
    let mut table = *pdb;
    // Every directory but PD0 points at the next one.
    for level in dirs.iter().take(dirs.len() - 1) {
        let mut w = [0u64; 1];
        // CAST: an index below 512 times 8 fits u64.
        let at = table.addr + (level.index(va) * level.entry_size) as u64;
        mem.read_words(table.aperture, at, &mut w)
            .map_err(|()| WalkFault::TableRead)?;
        table = match version.decode_pde(w[0]) {
            DirEntry::Table(next) => next,
            DirEntry::Invalid | DirEntry::Pte => return Err(WalkFault::Pde),
        };
    }
    let mut w = [0u64; 2];
    // CAST: as above.
    let at = table.addr + (mmu::PD0.index(va) * mmu::PD0.entry_size) as u64;
    mem.read_words(table.aperture, at, &mut w)
        .map_err(|()| WalkFault::TableRead)?;
    let (big, small) = match version.decode_dual(w) {
        DualEntry::Huge(pte) => {
            return Ok(Leaf {
                pte,
                size: PageSize::Huge,
            })
        }
        DualEntry::Tables { big, small } => (big, small),
    };
    // A valid 4 KiB PTE wins over the big page table, which is looked at when the small one
    // is absent or has no valid PTE for the address.
    let mut found_table = false;
    for (pt, level, size) in [
        (small, mmu::SMALL_PT, PageSize::Small),
        (big, mmu::BIG_PT, PageSize::Big),
    ] {
        let Some(pt) = pt else {
            continue;
        };
        found_table = true;
        let mut w = [0u64; 1];
        // CAST: as above.
        let at = pt.addr + (level.index(va) * level.entry_size) as u64;
        mem.read_words(pt.aperture, at, &mut w)
            .map_err(|()| WalkFault::TableRead)?;
        if let Some(pte) = version.decode_pte(w[0]) {
            return Ok(Leaf { pte, size });
        }
    }
    Err(if found_table {
        WalkFault::Pte
    } else {
        WalkFault::Pde
    })
}

/// Sets of the TLB.
const TLB_SETS: usize = 16;
/// Entries per set of the TLB.
const TLB_WAYS: usize = 4;

/// One TLB entry: the page of virtual 4 KiB frame `tag`.
#[derive(Clone, Copy, Debug)]
struct TlbEntry {
    /// The virtual 4 KiB frame number.
    tag: u64,
    /// Its translation.
    leaf: Leaf,
}

/// The set of virtual 4 KiB frame `tag`: its bits folded, so that addresses a power of two
/// apart (a GPFIFO ring and a buffer, say) do not share a set.
fn tlb_set(tag: u64) -> usize {
    let h = tag ^ (tag >> 4) ^ (tag >> 8) ^ (tag >> 16) ^ (tag >> 24);
    // CAST: the mask leaves 4 bits.
    (h as usize) & (TLB_SETS - 1)
}

/// A channel's MMU context: its page directory base, its format and its TLB.
pub(crate) struct Mmu {
    /// The page-table format.
    version: Version,
    /// The root of the page tables.
    pdb: Pde,
    /// A set-associative TLB; within a set, entries are replaced round-robin.
    tlb: [[Option<TlbEntry>; TLB_WAYS]; TLB_SETS],
    /// The next way to replace, per set.
    next: [u8; TLB_SETS],
    /// Walks done, for tests and statistics.
    walks: u64,
}

impl Mmu {
    /// Creates the MMU context of an address space of `version` rooted at `pdb`.
    pub(crate) fn new(version: Version, pdb: Pde) -> Self {
        Self {
            version,
            pdb,
            tlb: [[None; TLB_WAYS]; TLB_SETS],
            next: [0; TLB_SETS],
            walks: 0,
        }
    }

    /// The page directory base.
    pub(crate) fn pdb(&self) -> Pde {
        self.pdb
    }

    /// The number of page-table walks so far.
    pub(crate) fn walks(&self) -> u64 {
        self.walks
    }

    /// Translates `va` for a write when `write`, by an unprivileged client unless
    /// `privileged`: the TLB first, then a walk.
    pub(crate) fn translate(
        &mut self,
        va: u64,
        write: bool,
        privileged: bool,
        mem: &mut impl TableMem,
    ) -> Result<Leaf, WalkFault> {
        let tag = va >> 12;
        let set = tlb_set(tag);
        let cached = self
            .tlb
            .get(set)
            .and_then(|ways| ways.iter().flatten().find(|e| e.tag == tag).copied());
        let leaf = match cached {
            Some(e) => e.leaf,
            None => {
                self.walks += 1;
                let leaf = walk(self.version, &self.pdb, va, mem)?;
                if let (Some(ways), Some(next)) = (self.tlb.get_mut(set), self.next.get_mut(set)) {
                    if let Some(w) = ways.get_mut(usize::from(*next) % TLB_WAYS) {
                        *w = Some(TlbEntry { tag, leaf });
                    }
                    // CAST: the ways fit u8.
                    *next = ((usize::from(*next) + 1) % TLB_WAYS) as u8;
                }
                leaf
            }
        };
        if leaf.pte.privileged && !privileged {
            return Err(WalkFault::Privilege);
        }
        if write && leaf.pte.read_only {
            return Err(WalkFault::ReadOnly);
        }
        Ok(leaf)
    }

    /// Empties the TLB (`MMU_TLB_INVALIDATE`).
    pub(crate) fn invalidate(&mut self) {
        self.tlb = [[None; TLB_WAYS]; TLB_SETS];
    }
}
