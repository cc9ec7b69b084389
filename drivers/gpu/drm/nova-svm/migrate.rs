// SPDX-License-Identifier: GPL-2.0

//! Moving pages between system memory and VRAM, and device access to SVM memory.
//!
//! Data moves only through the copy engine: the functions here collect pages with
//! `migrate_vma` (or fault them with `hmm_range_fault`), build a [`Job`] of copies between
//! their system pages and VRAM, run it, and only then switch the page tables.

use kernel::{
    mm::{
        hmm::{self, Access, FaultRange, PageRef},
        memremap::{DeviceFault, FaultResult, PMD_ORDER},
        migrate::{MigrateVma, Select},
        mmu_notifier::IntervalNotifier,
        virt::flags as vm_flags,
        MmWithUser,
    },
    page::PAGE_SIZE,
    prelude::*,
    sync::Arc,
};

use crate::{
    ce::PhysAddr,
    dmem::{vram_addr, Chunk, Dmem, Region},
    gpu::{pages, Gpu, Job, PushMem, SysPages},
    svm::Mirror,
};

/// Pages of one PMD: the largest folio, and the batch of one `migrate_vma` call.
const PMD_PAGES: usize = 1 << PMD_ORDER;

/// Pages that one step of a device copy faults and copies.
const COPY_BATCH: usize = 64;

/// How long a range fault retries before it gives up with `EBUSY`.
const FAULT_TIMEOUT_MS: u32 = 2000;

/// The source pages of a migration to VRAM, for the copy engine.
struct Sources<'a, 'b>(&'a MigrateVma<'b>);

impl SysPages for Sources<'_, '_> {
    fn read(&self, i: usize, out: &mut [u8]) -> Result {
        self.0.copy_src_to(i, out)
    }

    fn write(&self, _i: usize, _data: &[u8]) -> Result {
        Err(EINVAL)
    }
}

/// The destination pages of a migration to system memory, for the copy engine.
struct Destinations<'a, 'b>(&'a MigrateVma<'b>);

impl SysPages for Destinations<'_, '_> {
    fn read(&self, _i: usize, _out: &mut [u8]) -> Result {
        Err(EINVAL)
    }

    fn write(&self, i: usize, data: &[u8]) -> Result {
        self.0.copy_to_dst(i, data)
    }
}

/// One copy of a migration: `pages` pages between entry `entry` of the migration and VRAM
/// address `vram`.
#[derive(Clone, Copy)]
struct Move {
    entry: usize,
    vram: u64,
    pages: usize,
}

/// Allocates a device folio of `order` as the destination of entry `i` of `mig`, from the
/// chunk in `cache` or a new one. Returns its VRAM address, or `None` when VRAM is full.
fn alloc_dst(
    dmem: &Dmem,
    mig: &mut MigrateVma<'_>,
    i: usize,
    order: u32,
    cache: &mut Option<Arc<Region>>,
) -> Result<Option<u64>> {
    if !cache.as_ref().is_some_and(|r| r.has_free(order)) {
        match dmem.region_for(order) {
            Ok(r) => *cache = Some(r),
            Err(e) if e == ENOSPC => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    let Some(region) = cache.as_ref() else {
        return Ok(None);
    };
    let Some(folio) = region.alloc(order) else {
        return Ok(None);
    };
    let first = region.pfns().start + folio.folio().index();
    let vram = vram_addr(region, first).ok_or(EINVAL)?;
    mig.set_dst_device(i, folio)?;
    Ok(Some(vram))
}

/// Gives every selected entry of `mig` a device destination while VRAM lasts, copies the
/// sources into VRAM with the copy engine (a page without a source is cleared), and switches
/// the page tables. Returns the number of pages moved.
fn fill_vram(dmem: &Dmem, mig: &mut MigrateVma<'_>) -> Result<usize> {
    let mut moves: KVec<Move> = KVec::new();
    let mut cache = None;
    let mut i = 0;
    'entries: while i < mig.npages() {
        let s = mig.src(i);
        if !s.migrate() {
            i += 1;
            continue;
        }
        let (order, n) = if s.compound() {
            (PMD_ORDER, PMD_PAGES)
        } else {
            (0, 1)
        };
        if let Some(vram) = alloc_dst(dmem, mig, i, order, &mut cache)? {
            moves.push(
                Move {
                    entry: i,
                    vram,
                    pages: n,
                },
                GFP_KERNEL,
            )?;
        } else if order > 0 {
            // No free 2 MiB block: single pages, the core splits the source folio.
            for k in 0..n {
                let Some(vram) = alloc_dst(dmem, mig, i + k, 0, &mut cache)? else {
                    break 'entries;
                };
                moves.push(
                    Move {
                        entry: i + k,
                        vram,
                        pages: 1,
                    },
                    GFP_KERNEL,
                )?;
            }
        } else {
            // VRAM is full: the rest stays in system memory.
            break;
        }
        i += n;
    }
    if moves.is_empty() {
        return Ok(0);
    }

    let sources = Sources(mig);
    let mut mem = PushMem::new()?;
    let mut job = Job::new(dmem.gpu(), &sources, &mut mem);
    for m in moves.iter() {
        let dst = PhysAddr::vram(m.vram);
        if mig.src_pfn(m.entry).is_some() {
            job.copy(job.sys(m.entry), dst, pages(m.pages))?;
        } else {
            // An empty or zero-page mapping: the device page starts zeroed.
            job.fill(dst, pages(m.pages), 0)?;
        }
    }
    job.finish()?;

    mig.migrate_pages();
    Ok(moves
        .iter()
        .filter(|m| mig.migrated(m.entry))
        .map(|m| m.pages)
        .sum())
}

/// Gives every selected device page of `mig` that `vram_of` knows a system destination,
/// copies the data home with the copy engine of `gpu`, and switches the page tables. Returns
/// the number of pages moved.
fn fill_system(
    gpu: &dyn Gpu,
    mig: &mut MigrateVma<'_>,
    mut vram_of: impl FnMut(usize) -> Option<u64>,
) -> Result<usize> {
    let mut moves: KVec<Move> = KVec::new();
    let mut i = 0;
    while i < mig.npages() {
        let s = mig.src(i);
        let vram = mig.src_pfn(i).and_then(&mut vram_of);
        let (true, true, Some(vram)) = (s.migrate(), s.has_page(), vram) else {
            i += 1;
            continue;
        };
        let n = if s.compound() { PMD_PAGES } else { 1 };
        if n > 1 && mig.set_dst_system(i, PMD_ORDER).is_ok() {
            moves.push(
                Move {
                    entry: i,
                    vram,
                    pages: n,
                },
                GFP_KERNEL,
            )?;
        } else {
            // One page at a time when there is no free large folio.
            for k in 0..n {
                mig.set_dst_system(i + k, 0)?;
                moves.push(
                    Move {
                        entry: i + k,
                        // CAST: a byte offset within a folio fits u64.
                        vram: vram + pages(k) as u64,
                        pages: 1,
                    },
                    GFP_KERNEL,
                )?;
            }
        }
        i += n;
    }
    if moves.is_empty() {
        return Ok(0);
    }

    let dsts = Destinations(mig);
    let mut mem = PushMem::new()?;
    let mut job = Job::new(gpu, &dsts, &mut mem);
    for m in moves.iter() {
        job.copy(PhysAddr::vram(m.vram), job.sys(m.entry), pages(m.pages))?;
    }
    job.finish()?;

    mig.migrate_pages();
    Ok(moves
        .iter()
        .filter(|m| mig.migrated(m.entry))
        .map(|m| m.pages)
        .sum())
}

/// The direction of a migration.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// To system memory.
    System,
    /// To this device's VRAM.
    Vram,
}

/// Migrates the pages of `start..end` (page aligned) of `mm` to `target`. Mappings that
/// cannot migrate are skipped. Returns the number of pages moved.
pub(crate) fn migrate_range(
    dmem: &Dmem,
    mm: &MmWithUser,
    start: usize,
    end: usize,
    target: Target,
) -> Result<usize> {
    let owner = dmem.owner();
    let select = match target {
        Target::Vram => Select::SYSTEM | Select::COMPOUND | Select::PAGECACHE,
        Target::System => Select::DEVICE_PRIVATE | Select::COMPOUND,
    };
    let guard = mm.mmap_read_lock();
    let mut moved = 0;
    let mut addr = start;
    while addr < end {
        let Some(vma) = guard.find_vma(addr) else {
            break;
        };
        if vma.start() >= end {
            break;
        }
        addr = addr.max(vma.start());
        // One PMD at a time, so that a large folio is never cut by a batch.
        let pmd_end = (addr | (pages(PMD_PAGES) - 1)).saturating_add(1);
        let next = end.min(vma.end()).min(pmd_end);
        // The device cannot reach a mapping without access (PROT_NONE): there is nothing to
        // prefetch into VRAM. Device pages found there still go home.
        let reachable = vma.flags() & (vm_flags::READ | vm_flags::WRITE) != 0;
        if !reachable && matches!(target, Target::Vram) {
            addr = end.min(vma.end());
            continue;
        }
        match MigrateVma::setup(vma, addr, next, select, owner) {
            Ok(mut mig) => {
                moved += match target {
                    Target::Vram => fill_vram(dmem, &mut mig)?,
                    Target::System => {
                        let mut cache = None;
                        fill_system(dmem.gpu(), &mut mig, |p| dmem.vram_of(p, &mut cache))?
                    }
                };
            }
            // A mapping that cannot migrate (VM_IO, VM_PFNMAP, hugetlb, DAX): skip it.
            Err(e) if e == EINVAL => {}
            Err(e) => return Err(e),
        }
        addr = next;
        if kernel::current!().signal_pending() {
            return Err(EINTR);
        }
    }
    Ok(moved)
}

/// Serves a CPU fault on a device page: brings the page (the whole folio when the fault came
/// through a PMD) home.
pub(crate) fn fault_to_ram(fault: &DeviceFault<'_, Chunk>) -> FaultResult {
    let folio = fault.folio();
    let order = if fault.is_pte() { 0 } else { folio.order() };
    let span = PAGE_SIZE << order;
    let start = fault.address() & !(span - 1);
    let mut select = Select::DEVICE_PRIVATE;
    if order > 0 {
        select = select | Select::COMPOUND;
    }
    let Ok(mut mig) = MigrateVma::setup_for_fault(fault, start, start + span, select) else {
        return FaultResult::SigBus;
    };
    let region = folio.region();
    match fill_system(region.ops().gpu(), &mut mig, |p| vram_addr(region, p)) {
        Ok(_) => FaultResult::Done,
        Err(e) if e == ENOMEM => FaultResult::Oom,
        Err(_) => FaultResult::SigBus,
    }
}

/// Where the copy engine finds one page of a device copy.
enum Loc {
    /// In VRAM at `addr`; `_page` keeps the device page (and its VRAM) from being reused.
    Vram { addr: u64, _page: PageRef },
    /// In system memory: page `usize` of the job.
    Sys(usize),
}

/// The system pages of one step of a device copy.
struct Faulted(KVec<PageRef>);

impl SysPages for Faulted {
    fn read(&self, i: usize, out: &mut [u8]) -> Result {
        self.0.get(i).ok_or(EINVAL)?.read(out)
    }

    fn write(&self, i: usize, data: &[u8]) -> Result {
        self.0.get(i).ok_or(EINVAL)?.write(data)
    }
}

/// Locates the pages of a range fault: VRAM pages of this device stay where they are, other
/// pages become system pages of the job.
fn locate(
    dmem: &Dmem,
    f: &hmm::Faulted<'_, impl Sized>,
    sys: &mut KVec<PageRef>,
    out: &mut KVec<Loc>,
    cache: &mut Option<Arc<Region>>,
) -> Result {
    for i in 0..f.len() {
        let page = f.page(i).ok_or(EFAULT)?;
        if page.is_device_private() {
            let vram = dmem.vram_of(page.pfn(), cache).ok_or(EFAULT)?;
            out.push(
                Loc::Vram {
                    addr: vram,
                    _page: page,
                },
                GFP_KERNEL,
            )?;
        } else {
            out.push(Loc::Sys(sys.len()), GFP_KERNEL)?;
            sys.push(page, GFP_KERNEL)?;
        }
    }
    Ok(())
}

/// What a device copy does.
#[derive(Clone, Copy)]
pub(crate) enum CopyOp {
    /// Copy from this address.
    From(usize),
    /// Fill with this 32-bit pattern.
    Fill(u32),
}

/// Makes the copy engine copy (or fill) `len` bytes to `dst`, a page-aligned range of the
/// mirror's mm. Pages are accessed where they are. `done` counts the bytes completed, also
/// when an error stops the copy.
pub(crate) fn device_copy(
    dmem: &Dmem,
    notifier: &IntervalNotifier<Mirror>,
    dst: usize,
    op: CopyOp,
    len: usize,
    done: &mut usize,
) -> Result {
    let owner = dmem.owner();
    let mut pfns = KVec::<usize>::zeroed(COPY_BATCH, GFP_KERNEL)?;
    let mut mem = PushMem::new()?;
    let mut cache = None;
    *done = 0;
    while *done < len {
        let n = ((len - *done) / PAGE_SIZE).min(COPY_BATCH);
        // Everything the step needs is allocated before it takes the mirror lock: reclaim
        // takes that lock too (through invalidations).
        let mut sys = KVec::with_capacity(2 * n, GFP_KERNEL)?;
        let mut src_loc = KVec::with_capacity(n, GFP_KERNEL)?;
        let mut dst_loc = KVec::with_capacity(n, GFP_KERNEL)?;
        if let CopyOp::From(src) = op {
            let start = src + *done;
            let range = FaultRange {
                start,
                end: start + pages(n),
                access: Access::Read,
                owner,
            };
            let slice = pfns.get_mut(..n).ok_or(EINVAL)?;
            let f = hmm::range_fault(
                notifier,
                &range,
                slice,
                || notifier.data().lock(),
                FAULT_TIMEOUT_MS,
            )
            .map_err(fault_err)?;
            // The references keep the pages; the source may change under the copy, which
            // the uapi allows.
            locate(dmem, &f, &mut sys, &mut src_loc, &mut cache)?;
        }

        let start = dst + *done;
        let range = FaultRange {
            start,
            end: start + pages(n),
            access: Access::Write,
            owner,
        };
        let slice = pfns.get_mut(..n).ok_or(EINVAL)?;
        // The destination stays faulted in while the mirror lock is held: an invalidation
        // (a migration, an unmap) waits for the copy to finish.
        let f = hmm::range_fault(
            notifier,
            &range,
            slice,
            || notifier.data().lock(),
            FAULT_TIMEOUT_MS,
        )
        .map_err(fault_err)?;
        locate(dmem, &f, &mut sys, &mut dst_loc, &mut cache)?;

        let sys = self::Faulted(sys);
        let r = run_copy(dmem, &sys, &mut mem, op, &src_loc, &dst_loc);
        drop(f);
        // The copy engine wrote the system pages behind the page tables' back: mark them
        // dirty, or reclaim and writeback would take a page mapped writable but clean for
        // unchanged. Also after an error: a push buffer that filled up ran already. Outside
        // the mirror lock (dropped with `f`): dirtying takes the folio lock, which ranks
        // above it.
        for d in dst_loc.iter() {
            if let Loc::Sys(i) = d {
                sys.0.get(*i).ok_or(EINVAL)?.mark_dirty();
            }
        }
        r?;
        *done += pages(n);
    }
    Ok(())
}

/// Runs one step of a device copy on the copy engine: `op` from `src` (for copies) to `dst`,
/// a page each.
fn run_copy(
    dmem: &Dmem,
    sys: &Faulted,
    mem: &mut PushMem,
    op: CopyOp,
    src: &[Loc],
    dst: &[Loc],
) -> Result {
    let mut job = Job::new(dmem.gpu(), sys, mem);
    for (k, d) in dst.iter().enumerate() {
        let to = match d {
            Loc::Vram { addr, .. } => PhysAddr::vram(*addr),
            Loc::Sys(s) => job.sys(*s),
        };
        match (op, src.get(k)) {
            (CopyOp::Fill(pattern), _) => job.fill(to, PAGE_SIZE, pattern)?,
            (CopyOp::From(_), Some(Loc::Vram { addr, .. })) => {
                job.copy(PhysAddr::vram(*addr), to, PAGE_SIZE)?
            }
            (CopyOp::From(_), Some(Loc::Sys(s))) => job.copy(job.sys(*s), to, PAGE_SIZE)?,
            (CopyOp::From(_), None) => return Err(EINVAL),
        }
    }
    job.finish()
}

/// A range fault fails with `EFAULT` where a page has no mapping or lacks the access; report
/// `EPERM` (a mapping HMM cannot mirror) the same way.
fn fault_err(e: Error) -> Error {
    if e == EPERM {
        EFAULT
    } else {
        e
    }
}
