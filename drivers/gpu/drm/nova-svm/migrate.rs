// SPDX-License-Identifier: GPL-2.0

//! Moving pages between system memory and VRAM, and device access to SVM memory.
//!
//! Data moves only through the copy engine: the functions here collect pages with
//! `migrate_vma` (or fault them with `hmm_range_fault`), map their system pages for the GPU
//! with the DMA API, build a [`Job`] of copies between those bus addresses and VRAM, submit
//! it to the kernel channel, and switch the page tables only once its fence has signalled.
//! A migration of many PMDs keeps one batch in flight: the next batch is collected and
//! submitted while the copy engine runs the previous one.

use kernel::{
    dma::DataDirection,
    mm::{
        hmm::{self, Access, FaultRange, PageRef},
        memremap::{DeviceFault, FaultResult, PMD_ORDER},
        migrate::{MigrateVma, Select},
        mmu_notifier::IntervalNotifier,
        virt::{flags as vm_flags, FilePages},
        MmWithUser,
    },
    page::PAGE_SIZE,
    prelude::*,
    sync::Arc,
};

use crate::{
    ce::PhysAddr,
    chan::Fence,
    dmem::{vram_addr, Chunk, Dmem, Region},
    gpu::{pages, DmaMaps, Gpu, Job, Phase, PushMem},
    svm::Mirror,
};

/// Pages of one PMD: the largest folio, and the batch of one `migrate_vma` call.
const PMD_PAGES: usize = 1 << PMD_ORDER;

/// Pages that one step of a device copy faults and copies.
const COPY_BATCH: usize = 64;

/// How long a range fault retries before it gives up with `EBUSY`.
const FAULT_TIMEOUT_MS: u32 = 2000;

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

/// A batch of a migration whose copies were submitted: the migration, the DMA mappings of
/// its system pages, the copies and the fence of the last of them.
struct Flight<'m, 'g> {
    mig: MigrateVma<'m>,
    maps: DmaMaps<'g>,
    moves: KVec<Move>,
    fence: Option<Fence>,
}

impl Flight<'_, '_> {
    /// Waits for the copies, unmaps the system pages, switches the page tables of the
    /// entries that were copied and returns the number of pages moved. When the copies fail,
    /// nothing is switched: the migration ends with every page where it was.
    fn complete(mut self, gpu: &Gpu) -> Result<usize> {
        if let Some(f) = self.fence.take() {
            // The mappings go after the wait, whatever it returns: a failed wait resets
            // the channel, so the GPU no longer touches them either way.
            let r = gpu.timed(Phase::Wait, || f.wait(gpu.timeout_ms()));
            gpu.timed(Phase::Unmap, || self.maps.clear());
            r?;
        }
        self.maps.clear();
        if self.moves.is_empty() {
            return Ok(0);
        }
        gpu.timed(Phase::Switch, || {
            self.mig.migrate_pages();
            let moved = self
                .moves
                .iter()
                .filter(|m| self.mig.migrated(m.entry))
                .map(|m| m.pages)
                .sum();
            drop(self.mig);
            Ok(moved)
        })
    }
}

/// Maps the system pages of `moves` (entry `m.entry` of `mig`, `m.pages` pages) for the GPU
/// and submits a job that copies between them and VRAM, towards VRAM when `to_vram`. Entries
/// to VRAM without a source page are cleared instead.
fn submit_moves<'g>(
    gpu: &'g Gpu,
    mig: &MigrateVma<'_>,
    moves: &[Move],
    to_vram: bool,
) -> Result<(DmaMaps<'g>, Option<Fence>)> {
    let mut maps = DmaMaps::new(gpu, moves.len())?;
    // Map every system page first, publish them together, then write the copies.
    let mut sys = KVec::with_capacity(moves.len(), GFP_KERNEL)?;
    for m in moves {
        let len = pages(m.pages);
        let page = if to_vram {
            mig.src_page(m.entry)
        } else {
            mig.dst_page(m.entry)
        };
        let addr = match (page, to_vram) {
            (Some(p), true) => Some(maps.map(&p, len, DataDirection::ToDevice)?),
            (Some(p), false) => Some(maps.map(&p, len, DataDirection::FromDevice)?),
            // An empty or zero-page mapping: the device page starts zeroed.
            (None, true) => None,
            (None, false) => return Err(EINVAL),
        };
        sys.push(addr, GFP_KERNEL)?;
    }
    maps.publish()?;
    let mut mem = PushMem::new()?;
    let mut job = Job::new(gpu, &mut mem);
    for (m, addr) in moves.iter().zip(sys.iter()) {
        let vram = PhysAddr::vram(m.vram);
        let len = pages(m.pages);
        match (addr, to_vram) {
            (Some(a), true) => job.copy(*a, vram, len)?,
            (Some(a), false) => job.copy(vram, *a, len)?,
            (None, _) => job.fill(vram, len, 0)?,
        }
    }
    Ok((maps, job.finish()?))
}

/// Gives every selected entry of `mig` a device destination while VRAM lasts, and submits
/// the copies of the sources into VRAM (a page without a source is cleared).
fn start_vram<'m, 'g>(dmem: &'g Dmem, mut mig: MigrateVma<'m>) -> Result<Flight<'m, 'g>> {
    let mut moves: KVec<Move> = KVec::with_capacity(PMD_PAGES, GFP_KERNEL)?;
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
        if let Some(vram) = alloc_dst(dmem, &mut mig, i, order, &mut cache)? {
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
                let Some(vram) = alloc_dst(dmem, &mut mig, i + k, 0, &mut cache)? else {
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
    let gpu = dmem.gpu();
    let (maps, fence) = submit_moves(gpu, &mig, &moves, true)?;
    Ok(Flight {
        mig,
        maps,
        moves,
        fence,
    })
}

/// Gives every selected device page of `mig` that `vram_of` knows a system destination, and
/// submits the copies of the data home.
fn start_system<'m, 'g>(
    gpu: &'g Gpu,
    mut mig: MigrateVma<'m>,
    mut vram_of: impl FnMut(usize) -> Option<u64>,
) -> Result<Flight<'m, 'g>> {
    let mut moves: KVec<Move> = KVec::with_capacity(PMD_PAGES, GFP_KERNEL)?;
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
    let (maps, fence) = submit_moves(gpu, &mig, &moves, false)?;
    Ok(Flight {
        mig,
        maps,
        moves,
        fence,
    })
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
    let gpu = dmem.gpu();
    let guard = mm.mmap_read_lock();
    let mut moved = 0;
    let mut addr = start;
    // The batch whose copies run while the next one is collected.
    let mut flight: Option<Flight<'_, '_>> = None;
    // The page cache pages that the batch in flight took, if any.
    let mut flight_file: Option<FilePages> = None;
    let mut cache = None;
    let result = (|| -> Result {
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
            // The device cannot reach a mapping without access (PROT_NONE): there is nothing
            // to prefetch into VRAM. Device pages found there still go home.
            let reachable = vma.flags() & (vm_flags::READ | vm_flags::WRITE) != 0;
            if !reachable && matches!(target, Target::Vram) {
                addr = end.min(vma.end());
                continue;
            }
            // Collecting page cache folios for VRAM first faults in what the range does not map
            // yet, and a fault waits for the lock of its folio. The batch in flight holds its
            // folios locked until it completes: when it has page cache pages of the file range
            // that this batch maps too (a file mapped twice, or moved with mremap), the fault
            // would wait for this thread itself. Finish that batch first.
            let file = match target {
                Target::Vram => vma.file_pages(addr, next),
                Target::System => None,
            };
            if file
                .zip(flight_file)
                .is_some_and(|(f, prev)| f.overlaps(&prev))
            {
                if let Some(prev) = flight.take() {
                    moved += prev.complete(gpu)?;
                }
            }
            match gpu.timed(Phase::Setup, || {
                MigrateVma::setup(vma, addr, next, select, owner)
            }) {
                Ok(mig) => {
                    let started = gpu.timed(Phase::Start, || match target {
                        Target::Vram => start_vram(dmem, mig),
                        Target::System => start_system(gpu, mig, |p| dmem.vram_of(p, &mut cache)),
                    })?;
                    if let Some(prev) = flight.replace(started) {
                        moved += prev.complete(gpu)?;
                    }
                    flight_file = file;
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
        Ok(())
    })();
    // The last batch, or the one in flight when something failed: its copies must finish
    // before its pages are released.
    if let Some(last) = flight.take() {
        let r = last.complete(gpu);
        result?;
        moved += r?;
        return Ok(moved);
    }
    result.map(|()| moved)
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
    let Ok(mig) = MigrateVma::setup_for_fault(fault, start, start + span, select) else {
        return FaultResult::SigBus;
    };
    let region = folio.region();
    let gpu = region.ops().gpu();
    let r = start_system(gpu, mig, |p| vram_addr(region, p)).and_then(|f| f.complete(gpu));
    match r {
        Ok(_) => FaultResult::Done,
        Err(e) if e == ENOMEM => FaultResult::Oom,
        Err(_) => FaultResult::SigBus,
    }
}

/// Where the copy engine finds one page of a device copy.
enum Loc {
    /// In VRAM at `addr`; `_page` keeps the device page (and its VRAM) from being reused.
    Vram { addr: u64, _page: PageRef },
    /// In system memory: page `usize` of the step.
    Sys(usize),
}

/// Locates the pages of a range fault: VRAM pages of this device stay where they are, other
/// pages become system pages of the step. `sys` and `out` have room for all of them.
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
                GFP_NOWAIT,
            )?;
        } else {
            out.push(Loc::Sys(sys.len()), GFP_NOWAIT)?;
            sys.push(page, GFP_NOWAIT)?;
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
    let gpu = dmem.gpu();
    let mut pfns = KVec::<usize>::from_elem(0, COPY_BATCH, GFP_KERNEL)?;
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
        let mut maps = DmaMaps::new(gpu, 2 * n)?;
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
        let nsrc = sys.len();

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

        let r = run_copy(gpu, &mut maps, &mut mem, op, &sys, nsrc, &src_loc, &dst_loc);
        // The GPU is done with the pages (or was stopped): unmap them before the lock goes.
        maps.clear();
        drop(f);
        // The copy engine wrote the system pages behind the page tables' back: mark them
        // dirty, or reclaim and writeback would take a page mapped writable but clean for
        // unchanged. Also after an error: a part of the copy may have run. Outside the
        // mirror lock (dropped with `f`): dirtying takes the folio lock, which ranks above
        // it.
        for d in dst_loc.iter() {
            if let Loc::Sys(i) = d {
                sys.get(*i).ok_or(EINVAL)?.mark_dirty();
            }
        }
        r?;
        *done += pages(n);
    }
    Ok(())
}

/// Runs one step of a device copy on the copy engine: `op` from `src` (for copies) to `dst`,
/// a page each. System pages `sys[..nsrc]` are read, the others written.
#[allow(clippy::too_many_arguments)]
fn run_copy(
    gpu: &Gpu,
    maps: &mut DmaMaps<'_>,
    mem: &mut PushMem,
    op: CopyOp,
    sys: &[PageRef],
    nsrc: usize,
    src: &[Loc],
    dst: &[Loc],
) -> Result {
    // The bus addresses of the system pages, in `sys` order.
    let mut bus = [PhysAddr::sysmem(0); 2 * COPY_BATCH];
    for (i, (p, b)) in sys.iter().zip(bus.iter_mut()).enumerate() {
        let dir = if i < nsrc {
            DataDirection::ToDevice
        } else {
            DataDirection::FromDevice
        };
        *b = maps.map(p, PAGE_SIZE, dir)?;
    }
    maps.publish()?;
    let at = |l: &Loc| -> Result<PhysAddr> {
        match l {
            Loc::Vram { addr, .. } => Ok(PhysAddr::vram(*addr)),
            Loc::Sys(s) => bus.get(*s).copied().ok_or(EINVAL),
        }
    };
    let mut job = Job::new(gpu, mem);
    for (k, d) in dst.iter().enumerate() {
        let to = at(d)?;
        match (op, src.get(k)) {
            (CopyOp::Fill(pattern), _) => job.fill(to, PAGE_SIZE, pattern)?,
            // Two mappings of one file page: the page copied onto itself stays as it is, and
            // the copy engine refuses overlapping copies.
            (CopyOp::From(_), Some(s)) if same_page(s, d, sys) => {}
            (CopyOp::From(_), Some(s)) => job.copy(at(s)?, to, PAGE_SIZE)?,
            (CopyOp::From(_), None) => return Err(EINVAL),
        }
    }
    job.run()
}

/// Whether two located pages are the same memory (ranges that differ in the address space can
/// reach one page through two mappings of a file).
fn same_page(a: &Loc, b: &Loc, sys: &[PageRef]) -> bool {
    match (a, b) {
        (Loc::Vram { addr: x, .. }, Loc::Vram { addr: y, .. }) => x == y,
        (Loc::Sys(i), Loc::Sys(j)) => match (sys.get(*i), sys.get(*j)) {
            (Some(p), Some(q)) => p.pfn() == q.pfn(),
            _ => false,
        },
        _ => false,
    }
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
