// SPDX-License-Identifier: GPL-2.0

//! A GPU virtual address space: page tables in instance memory.
//!
//! [`Vmm`] keeps a shadow of the tree ([`crate::mmu`]) in CPU memory, to know which tables
//! exist and how many valid entries each has, and writes the entries the GPU walks into VRAM
//! through the BAR. Mapping allocates the tables on the way; unmapping frees a table when its
//! last entry goes, after clearing the entry that pointed at it. Neither invalidates the
//! GPU's TLB: the caller does that from a channel ([`crate::chan::Channel::invalidate_tlb`])
//! before it relies on the change, and keeps the tables it freed ([`Retired`]) until then.

use kernel::prelude::*;

use crate::{
    ce::Aperture,
    instmem::{InstBlock, Instmem},
    mmu::{self, Level, PageSize, Pde, Pte, Version},
};
use kernel::sync::Arc;

/// A table of the shadow tree.
struct Table {
    block: InstBlock,
    /// The tables below, for a directory: one per entry, or two (small, big) per entry of
    /// PD0.
    children: KVec<Option<KBox<Table>>>,
    /// Valid entries: child tables or PTEs.
    used: usize,
}

/// Tables that were unlinked from the tree, to be freed once the TLB is invalidated.
pub(crate) struct Retired(KVec<InstBlock>);

impl Retired {
    /// No tables.
    pub(crate) fn new() -> Self {
        Self(KVec::new())
    }
}

impl Table {
    /// Allocates a table of `bytes` bytes with `children` child slots.
    fn new(im: &Arc<Instmem>, bytes: usize, children: usize) -> Result<KBox<Table>> {
        let pages = bytes.div_ceil(crate::instmem::INST_PAGE);
        let block = im.alloc(pages)?;
        let mut kids = KVec::with_capacity(children, GFP_KERNEL)?;
        for _ in 0..children {
            kids.push(None, GFP_KERNEL)?;
        }
        Ok(KBox::new(
            Table {
                block,
                children: kids,
                used: 0,
            },
            GFP_KERNEL,
        )?)
    }

    /// The table as a directory entry points at it.
    fn pde(&self) -> Pde {
        Pde {
            aperture: Aperture::Vram,
            addr: self.block.addr(),
        }
    }
}

/// A GPU virtual address space.
pub(crate) struct Vmm {
    im: Arc<Instmem>,
    version: Version,
    root: KBox<Table>,
}

/// Converts an encoding error (an address the format cannot hold) to an errno.
fn enc(_e: mmu::EncodeError) -> Error {
    EINVAL
}

impl Vmm {
    /// Creates an empty address space of `version` in `im`.
    pub(crate) fn new(im: Arc<Instmem>, version: Version) -> Result<Self> {
        let dirs = version.dirs();
        let root = dirs.first().ok_or(EINVAL)?;
        let root = Table::new(
            &im,
            root.table_bytes().max(crate::instmem::INST_PAGE),
            root.entries(),
        )?;
        Ok(Self { im, version, root })
    }

    /// The root page directory, as a channel's instance block names it.
    pub(crate) fn pdb(&self) -> Pde {
        self.root.pde()
    }

    /// The number of tables, root included.
    pub(crate) fn tables(&self) -> usize {
        fn count(t: &Table) -> usize {
            1 + t.children.iter().flatten().map(|c| count(c)).sum::<usize>()
        }
        count(&self.root)
    }

    /// Checks that `va..va + size` is aligned to `size` and inside the address space.
    fn check(&self, va: u64, size: PageSize) -> Result {
        if va % size.bytes() != 0 || va >> self.version.va_bits() != 0 {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// Walks from the root to the PD0 of `va`, creating the directories on the way.
    fn pd0_mut(&mut self, va: u64) -> Result<&mut Table> {
        let version = self.version;
        let dirs = version.dirs();
        let im = self.im.clone();
        let mut t: &mut Table = &mut self.root;
        for (depth, level) in dirs.iter().enumerate().take(dirs.len() - 1) {
            let next: &Level = dirs.get(depth + 1).ok_or(EINVAL)?;
            let i = level.index(va);
            let slot = t.children.get_mut(i).ok_or(EINVAL)?;
            if slot.is_none() {
                // PD0 has two child slots per entry: the small and the big page table.
                let kids = if depth + 2 == dirs.len() {
                    2 * next.entries()
                } else {
                    next.entries()
                };
                let child = Table::new(&im, next.table_bytes(), kids)?;
                let w = version.encode_pde(Some(&child.pde())).map_err(enc)?;
                // CAST: an index below 512 times 8.
                t.block.write_u64(i * level.entry_size, w)?;
                *slot = Some(child);
                t.used += 1;
            }
            t = t
                .children
                .get_mut(i)
                .and_then(|c| c.as_deref_mut())
                .ok_or(EINVAL)?;
        }
        Ok(t)
    }

    /// Writes the dual entry `i` of `pd0` from its child tables.
    fn write_dual(version: Version, pd0: &Table, i: usize) -> Result {
        let small = pd0
            .children
            .get(2 * i)
            .and_then(|c| c.as_ref())
            .map(|t| t.pde());
        let big = pd0
            .children
            .get(2 * i + 1)
            .and_then(|c| c.as_ref())
            .map(|t| t.pde());
        let w = version
            .encode_dual(big.as_ref(), small.as_ref())
            .map_err(enc)?;
        pd0.block.write_u64(i * 16, w[0])?;
        pd0.block.write_u64(i * 16 + 8, w[1])
    }

    /// Maps the page of `size` at `va` to `pte`. The entry must be free; a 2 MiB page needs
    /// its PD0 entry free of page tables.
    pub(crate) fn map(&mut self, va: u64, pte: &Pte, size: PageSize) -> Result {
        self.check(va, size)?;
        let version = self.version;
        let word = version.encode_pte(pte).map_err(enc)?;
        let im = self.im.clone();
        let pd0 = self.pd0_mut(va)?;
        let i = mmu::PD0.index(va);
        match size {
            PageSize::Huge => {
                let has_tables = pd0.children.get(2 * i).is_some_and(|c| c.is_some())
                    || pd0.children.get(2 * i + 1).is_some_and(|c| c.is_some());
                let mut cur = [0u8; 8];
                pd0.block.read(i * 16, &mut cur)?;
                if has_tables || u64::from_le_bytes(cur) & 1 != 0 {
                    return Err(EBUSY);
                }
                let w = version.encode_huge(pte).map_err(enc)?;
                pd0.block.write_u64(i * 16 + 8, w[1])?;
                pd0.block.write_u64(i * 16, w[0])?;
                pd0.used += 1;
                Ok(())
            }
            PageSize::Small | PageSize::Big => {
                let (slot, level) = if size == PageSize::Small {
                    (2 * i, mmu::SMALL_PT)
                } else {
                    (2 * i + 1, mmu::BIG_PT)
                };
                let mut cur = [0u8; 8];
                pd0.block.read(i * 16, &mut cur)?;
                if u64::from_le_bytes(cur) & 1 != 0 {
                    // A 2 MiB page is mapped here.
                    return Err(EBUSY);
                }
                if pd0.children.get(slot).is_some_and(|c| c.is_none()) {
                    let pt = Table::new(&im, level.table_bytes(), 0)?;
                    if let Some(c) = pd0.children.get_mut(slot) {
                        *c = Some(pt);
                    }
                    pd0.used += 1;
                    Self::write_dual(version, pd0, i)?;
                }
                let pt = pd0
                    .children
                    .get_mut(slot)
                    .and_then(|c| c.as_deref_mut())
                    .ok_or(EINVAL)?;
                let j = level.index(va);
                let mut cur = [0u8; 8];
                pt.block.read(j * 8, &mut cur)?;
                if u64::from_le_bytes(cur) & 1 != 0 {
                    return Err(EBUSY);
                }
                pt.block.write_u64(j * 8, word)?;
                pt.used += 1;
                Ok(())
            }
        }
    }

    /// Unmaps the page of `size` at `va`, if it is mapped. Tables that become empty are
    /// unlinked and added to `retired`.
    pub(crate) fn unmap(&mut self, va: u64, size: PageSize, retired: &mut Retired) -> Result {
        self.check(va, size)?;
        let version = self.version;
        let dirs = version.dirs();
        // The path of tables from the root to PD0, as indices.
        let mut path = [0usize; 8];
        let mut t: &mut Table = &mut self.root;
        for (depth, level) in dirs.iter().enumerate().take(dirs.len() - 1) {
            let i = level.index(va);
            *path.get_mut(depth).ok_or(EINVAL)? = i;
            match t.children.get_mut(i).and_then(|c| c.as_deref_mut()) {
                Some(c) => t = c,
                None => return Ok(()),
            }
        }
        let i = mmu::PD0.index(va);
        let pd0 = t;
        let pd0_empty = match size {
            PageSize::Huge => {
                let mut cur = [0u8; 8];
                pd0.block.read(i * 16, &mut cur)?;
                if u64::from_le_bytes(cur) & 1 == 0 {
                    return Ok(());
                }
                pd0.block.write_u64(i * 16, 0)?;
                pd0.block.write_u64(i * 16 + 8, 0)?;
                pd0.used -= 1;
                pd0.used == 0
            }
            PageSize::Small | PageSize::Big => {
                let (slot, level) = if size == PageSize::Small {
                    (2 * i, mmu::SMALL_PT)
                } else {
                    (2 * i + 1, mmu::BIG_PT)
                };
                let Some(pt) = pd0.children.get_mut(slot).and_then(|c| c.as_deref_mut()) else {
                    return Ok(());
                };
                let j = level.index(va);
                let mut cur = [0u8; 8];
                pt.block.read(j * 8, &mut cur)?;
                if u64::from_le_bytes(cur) & 1 == 0 {
                    return Ok(());
                }
                pt.block.write_u64(j * 8, 0)?;
                pt.used -= 1;
                if pt.used == 0 {
                    if let Some(old) = pd0.children.get_mut(slot).and_then(|c| c.take()) {
                        retire_tree(old, retired)?;
                    }
                    pd0.used -= 1;
                    Self::write_dual(version, pd0, i)?;
                }
                pd0.used == 0
            }
        };
        if pd0_empty {
            self.prune(va, &path, dirs.len() - 1, retired)?;
        }
        Ok(())
    }

    /// Unlinks the empty directory at depth `depth` on the path of `va`, and the directories
    /// above it that become empty, except the root.
    fn prune(&mut self, va: u64, path: &[usize; 8], depth: usize, retired: &mut Retired) -> Result {
        let dirs = self.version.dirs();
        let mut d = depth;
        while d > 0 {
            // The parent of the table at depth `d`.
            let mut t: &mut Table = &mut self.root;
            for k in 0..d - 1 {
                let i = *path.get(k).ok_or(EINVAL)?;
                t = t
                    .children
                    .get_mut(i)
                    .and_then(|c| c.as_deref_mut())
                    .ok_or(EINVAL)?;
            }
            let i = *path.get(d - 1).ok_or(EINVAL)?;
            let empty = t
                .children
                .get(i)
                .and_then(|c| c.as_ref())
                .is_some_and(|c| c.used == 0);
            if !empty {
                break;
            }
            let level = dirs.get(d - 1).ok_or(EINVAL)?;
            t.block.write_u64(i * level.entry_size, 0)?;
            if let Some(old) = t.children.get_mut(i).and_then(|c| c.take()) {
                retire_tree(old, retired)?;
            }
            t.used -= 1;
            let _ = va;
            d -= 1;
        }
        Ok(())
    }
}

/// Adds `t` (empty) to `retired`.
fn retire_tree(t: KBox<Table>, retired: &mut Retired) -> Result {
    let t = KBox::into_inner(t);
    retired.0.push(t.block, GFP_KERNEL)?;
    Ok(())
}
