// SPDX-License-Identifier: GPL-2.0

//! The GPU as the core of nova-svm sees it: VRAM, a kernel channel for the copy engine, and
//! system memory by bus address.
//!
//! [`Gpu`] sits on a [`Backend`]: it keeps instance memory at the start of VRAM, creates the
//! privileged kernel channel that every migration and device copy runs on, and hands the rest
//! of VRAM to [`crate::dmem`]. A [`Job`] builds copy-engine push buffers (copies and fills
//! between physical addresses) and submits them to the channel as they fill up; [`DmaMaps`]
//! holds the DMA mappings of the system pages a job addresses, until the job is done.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use kernel::{
    dma::DataDirection,
    mm::hmm::PageRef,
    page::PAGE_SIZE,
    prelude::*,
    sync::Arc,
    time::{Instant, Monotonic},
};

use crate::{
    ce::{
        push::{CeError, MethodCache, PushBuffer},
        PhysAddr,
    },
    chan::{Channel, Fence, Layout, CE_SUBCHANNEL},
    hw::{Backend, SysPage},
    instmem::Instmem,
};

/// Bytes of VRAM in one chunk of device memory: one PMD, so that a chunk can hold a 2 MiB
/// folio.
pub(crate) const CHUNK_SIZE: usize = 2 << 20;

/// GPU virtual address of the kernel channel's GPFIFO ring and push-buffer ring.
const KERNEL_VA: u64 = 0x1000_0000;

/// GP entries of the kernel channel.
const KERNEL_ENTRIES: u32 = 1024;

/// Pages of the kernel channel's push-buffer ring (512 KiB).
const KERNEL_PUSH_PAGES: usize = 128;

/// Dwords of a [`PushMem`]: what a job submits at once.
const PUSH_DWORDS: usize = 8192;

/// How long the driver waits for the GPU by default, in milliseconds.
pub(crate) const DEFAULT_TIMEOUT_MS: u32 = 10_000;

/// The GPU.
pub(crate) struct Gpu {
    backend: Arc<dyn Backend>,
    im: Arc<Instmem>,
    kchan: Channel,
    /// VRAM that device memory may use.
    data: core::ops::Range<u64>,
    timeout_ms: AtomicU32,
    /// System pages mapped for the GPU now, and since the start.
    dma_live: AtomicU64,
    dma_total: AtomicU64,
    /// Nanoseconds migrations spent in each [`Phase`].
    phase_ns: [AtomicU64; Phase::COUNT],
}

/// The phases of a migration batch, timed for the statistics.
#[derive(Clone, Copy)]
pub(crate) enum Phase {
    /// `migrate_vma_setup`.
    Setup,
    /// Allocating destinations, mapping pages and submitting the copies.
    Start,
    /// Waiting for the copies.
    Wait,
    /// Unmapping the system pages.
    Unmap,
    /// `migrate_vma_pages` and `migrate_vma_finalize`.
    Switch,
}

impl Phase {
    /// The number of phases.
    pub(crate) const COUNT: usize = 5;
    /// Their names, in order.
    pub(crate) const NAMES: [&'static str; Phase::COUNT] =
        ["setup", "start", "wait", "unmap", "switch"];
}

impl Gpu {
    /// Sets up `backend`: instance memory, the kernel channel, and the VRAM left for device
    /// memory.
    pub(crate) fn new(backend: Arc<dyn Backend>) -> Result<Arc<Self>> {
        let vram = backend.vram_size();
        // CAST: the chunk size fits u64.
        let chunk = CHUNK_SIZE as u64;
        // A 32nd of VRAM, at least one chunk, for page tables, rings and semaphores.
        let inst = (vram / 32).div_ceil(chunk).max(1) * chunk;
        if vram < inst + chunk {
            pr_err!(
                "nova-svm: {} bytes of VRAM leave none for device memory\n",
                vram
            );
            return Err(EINVAL);
        }
        let im = Instmem::new(backend.clone(), 0, inst)?;
        let kchan = Channel::new(
            &im,
            Layout {
                va: KERNEL_VA,
                entries: KERNEL_ENTRIES,
                push_pages: KERNEL_PUSH_PAGES,
                privileged: true,
            },
        )?;
        let gpu = Arc::new(
            Gpu {
                backend,
                im,
                kchan,
                data: inst..vram / chunk * chunk,
                timeout_ms: AtomicU32::new(DEFAULT_TIMEOUT_MS),
                dma_live: AtomicU64::new(0),
                dma_total: AtomicU64::new(0),
                phase_ns: [const { AtomicU64::new(0) }; Phase::COUNT],
            },
            GFP_KERNEL,
        )?;
        // A first submission proves that the channel runs: it binds the copy engine.
        gpu.kchan
            .submit(&[], DEFAULT_TIMEOUT_MS)?
            .wait(DEFAULT_TIMEOUT_MS)?;
        Ok(gpu)
    }

    /// The backend.
    pub(crate) fn backend(&self) -> &dyn Backend {
        &*self.backend
    }

    /// The instance memory.
    pub(crate) fn instmem(&self) -> &Arc<Instmem> {
        &self.im
    }

    /// The kernel channel.
    pub(crate) fn channel(&self) -> &Channel {
        &self.kchan
    }

    /// The VRAM that device memory may use, whole chunks.
    pub(crate) fn data_vram(&self) -> core::ops::Range<u64> {
        self.data.clone()
    }

    /// How long to wait for the GPU.
    pub(crate) fn timeout_ms(&self) -> u32 {
        self.timeout_ms.load(Ordering::Relaxed)
    }

    /// System pages mapped for the GPU now, and mapped since the start.
    pub(crate) fn dma_counters(&self) -> (u64, u64) {
        (
            self.dma_live.load(Ordering::Relaxed),
            self.dma_total.load(Ordering::Relaxed),
        )
    }

    /// Runs `f`, adding the time it takes to `phase`.
    pub(crate) fn timed<R>(&self, phase: Phase, f: impl FnOnce() -> R) -> R {
        let start = Instant::<Monotonic>::now();
        let r = f();
        // CAST: nanoseconds of a phase fit u64.
        let ns = start.elapsed().as_nanos() as u64;
        if let Some(c) = self.phase_ns.get(phase as usize) {
            c.fetch_add(ns, Ordering::Relaxed);
        }
        r
    }

    /// Nanoseconds spent in each phase of migrations, in [`Phase::NAMES`] order.
    pub(crate) fn phase_ns(&self) -> [u64; Phase::COUNT] {
        let mut v = [0; Phase::COUNT];
        for (o, c) in v.iter_mut().zip(self.phase_ns.iter()) {
            *o = c.load(Ordering::Relaxed);
        }
        v
    }

    /// Sets how long to wait for the GPU (for tests of hung channels).
    pub(crate) fn set_timeout_ms(&self, ms: u32) {
        self.timeout_ms.store(ms.max(1), Ordering::Relaxed);
    }
}

/// The DMA mappings of the system pages of one job, unmapped when dropped.
///
/// Pages are mapped one by one ([`DmaMaps::map`]), then published to the GPU together
/// ([`DmaMaps::publish`]) before the job that uses them is submitted.
pub(crate) struct DmaMaps<'a> {
    gpu: &'a Gpu,
    pages: KVec<SysPage>,
    /// The first `published` pages are published.
    published: usize,
}

impl<'a> DmaMaps<'a> {
    /// Room for `n` mappings, so that [`DmaMaps::map`] does not allocate.
    pub(crate) fn new(gpu: &'a Gpu, n: usize) -> Result<Self> {
        Ok(Self {
            gpu,
            pages: KVec::with_capacity(n, GFP_KERNEL)?,
            published: 0,
        })
    }

    /// Maps `len` bytes of `page` for the GPU to access in `dir`; returns its address in
    /// coherent system memory, which the GPU may use once [`DmaMaps::publish`] returned.
    pub(crate) fn map(
        &mut self,
        page: &PageRef,
        len: usize,
        dir: DataDirection,
    ) -> Result<PhysAddr> {
        if self.pages.len() == self.pages.capacity() {
            return Err(ENOSPC);
        }
        let sys = self.gpu.backend().dma_map(page, len, dir)?;
        let addr = PhysAddr::sysmem(sys.bus());
        // There is room (checked above): this does not allocate.
        self.pages.push(sys, GFP_NOWAIT)?;
        self.gpu.dma_live.fetch_add(1, Ordering::Relaxed);
        self.gpu.dma_total.fetch_add(1, Ordering::Relaxed);
        Ok(addr)
    }

    /// Publishes the pages mapped since the last call to the GPU.
    pub(crate) fn publish(&mut self) -> Result {
        let new = self.pages.get(self.published..).ok_or(EINVAL)?;
        if !new.is_empty() {
            self.gpu.backend().dma_publish(new)?;
        }
        self.published = self.pages.len();
        Ok(())
    }

    /// Unmaps everything now.
    pub(crate) fn clear(&mut self) {
        let n = self.pages.len();
        if n == 0 {
            return;
        }
        self.gpu
            .backend()
            .dma_unmap(&mut self.pages, self.published);
        self.published = 0;
        // CAST: a count of mappings fits u64.
        self.gpu.dma_live.fetch_sub(n as u64, Ordering::Relaxed);
    }
}

impl Drop for DmaMaps<'_> {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Converts a copy-engine builder error to an errno: the builder refuses only arguments that
/// the driver should never produce.
fn ce_err(e: CeError) -> Error {
    pr_err!("nova-svm: push buffer: {:?}\n", e);
    EINVAL
}

/// The memory of a push buffer.
///
/// Allocated before a [`Job`] is built, so that building and running a job never allocates:
/// device copies run under the mirror lock, which invalidations from reclaim take.
pub(crate) struct PushMem(KVec<u32>);

impl PushMem {
    /// Allocates a push buffer.
    pub(crate) fn new() -> Result<Self> {
        Ok(Self(KVec::from_elem(0u32, PUSH_DWORDS, GFP_KERNEL)?))
    }

    /// Allocates a push buffer for a job of a few copies.
    pub(crate) fn small() -> Result<Self> {
        Ok(Self(KVec::from_elem(0u32, 64, GFP_KERNEL)?))
    }
}

/// A sequence of copies and fills for the copy engine of the kernel channel.
pub(crate) struct Job<'a> {
    gpu: &'a Gpu,
    push: &'a mut [u32],
    len: usize,
    /// The last copy or fill, not written to the push buffer yet: one that continues it (in
    /// both apertures, or with the same value) is merged into it, so that runs of pages take
    /// one copy-engine launch.
    pending: Option<Pending>,
    /// The fence of the last submission.
    last: Option<Fence>,
    /// The channel epoch of the first submission: a reset after it lost that submission.
    epoch: Option<u64>,
    /// A submission of the job was lost to a channel reset.
    lost: bool,
    /// The copy-engine state the current push buffer has set.
    cache: MethodCache,
}

/// One linear copy of a [`Job`].
#[derive(Clone, Copy)]
struct LinearCopy {
    src: PhysAddr,
    dst: PhysAddr,
    len: u64,
}

/// A fill of a [`Job`]: `len` bytes at `dst` with the 32-bit `value`.
#[derive(Clone, Copy)]
struct LinearFill {
    /// Where it writes.
    dst: PhysAddr,
    /// Bytes, a multiple of four.
    len: u64,
    /// The value of each 32-bit word.
    value: u32,
}

/// What a [`Job`] has not written to the push buffer yet.
#[derive(Clone, Copy)]
enum Pending {
    /// A copy.
    Copy(LinearCopy),
    /// A fill.
    Fill(LinearFill),
}

/// The longest copy or fill a [`Job`] merges operations into: one launch's 32-bit line
/// length.
const MAX_COPY: u64 = 1 << 31;

impl LinearFill {
    /// Whether `next` writes the same value from where this fill ends, and the two fit in
    /// one launch.
    fn continued_by(&self, next: &LinearFill) -> bool {
        self.value == next.value
            && self.dst.aperture == next.dst.aperture
            && self.dst.addr.checked_add(self.len) == Some(next.dst.addr)
            && self.len.saturating_add(next.len) <= MAX_COPY
    }
}

impl LinearCopy {
    /// Whether `next` starts where this copy ends, in both apertures, and the two fit in one
    /// launch whose source and destination do not overlap: within one launch the copy engine
    /// does not promise an order, while separate launches run one after the other.
    fn continued_by(&self, next: &LinearCopy) -> bool {
        let follows = |a: PhysAddr, b: PhysAddr| {
            a.aperture == b.aperture && a.addr.checked_add(self.len) == Some(b.addr)
        };
        let len = self.len.saturating_add(next.len);
        let apart = self.src.aperture != self.dst.aperture
            || self.src.addr.saturating_add(len) <= self.dst.addr
            || self.dst.addr.saturating_add(len) <= self.src.addr;
        follows(self.src, next.src) && follows(self.dst, next.dst) && len <= MAX_COPY && apart
    }
}

impl<'a> Job<'a> {
    /// Creates an empty job on `gpu`'s kernel channel, written into `mem`.
    pub(crate) fn new(gpu: &'a Gpu, mem: &'a mut PushMem) -> Self {
        let room = gpu.channel().max_push().min(mem.0.len());
        let push = mem.0.get_mut(..room).unwrap_or(&mut []);
        Self {
            gpu,
            push,
            len: 0,
            pending: None,
            last: None,
            epoch: None,
            lost: false,
            cache: MethodCache::default(),
        }
    }

    /// Appends what `op` writes, submitting the job so far first when the push buffer is
    /// full.
    fn emit(
        &mut self,
        op: impl Fn(&mut PushBuffer<'_>, &mut MethodCache) -> Result<(), CeError>,
    ) -> Result {
        for _ in 0..2 {
            let class = self.gpu.channel().ce();
            let tail = self.push.get_mut(self.len..).ok_or(EINVAL)?;
            let mut pb = PushBuffer::new(class, CE_SUBCHANNEL, tail).map_err(ce_err)?;
            match op(&mut pb, &mut self.cache) {
                Ok(()) => {
                    self.len += pb.len();
                    return Ok(());
                }
                Err(CeError::BufferFull) if self.len > 0 => self.submit()?,
                Err(e) => return Err(ce_err(e)),
            }
        }
        Err(EINVAL)
    }

    /// Copies `len` bytes (a multiple of the page size) from `src` to `dst`.
    pub(crate) fn copy(&mut self, src: PhysAddr, dst: PhysAddr, len: usize) -> Result {
        let next = LinearCopy {
            src,
            dst,
            len: u64::try_from(len).map_err(|_| EINVAL)?,
        };
        if next.len > MAX_COPY {
            return Err(EINVAL);
        }
        match &mut self.pending {
            Some(Pending::Copy(c)) if c.continued_by(&next) => c.len += next.len,
            _ => {
                self.flush()?;
                self.pending = Some(Pending::Copy(next));
            }
        }
        Ok(())
    }

    /// Writes the pending copy or fill, if any, to the push buffer.
    fn flush(&mut self) -> Result {
        match self.pending.take() {
            None => Ok(()),
            Some(Pending::Copy(c)) => {
                // The length was checked against `MAX_COPY`.
                let len = u32::try_from(c.len).map_err(|_| EINVAL)?;
                self.emit(|pb, cache| pb.copy_cached(Some(cache), c.src, c.dst, len, 1, 0, 0))
            }
            Some(Pending::Fill(f)) => {
                self.emit(|pb, cache| pb.clear_cached(Some(cache), f.dst, f.len, f.value))
            }
        }
    }

    /// Fills `len` bytes (a multiple of four) at `dst` with the 32-bit `value`.
    pub(crate) fn fill(&mut self, dst: PhysAddr, len: usize, value: u32) -> Result {
        let next = LinearFill {
            dst,
            len: u64::try_from(len).map_err(|_| EINVAL)?,
            value,
        };
        if next.len > MAX_COPY {
            return Err(EINVAL);
        }
        match &mut self.pending {
            Some(Pending::Fill(f)) if f.continued_by(&next) => f.len += next.len,
            _ => {
                self.flush()?;
                self.pending = Some(Pending::Fill(next));
            }
        }
        Ok(())
    }

    /// Submits what the push buffer holds.
    fn submit(&mut self) -> Result {
        if self.len == 0 {
            return Ok(());
        }
        let push = self.push.get(..self.len).ok_or(EINVAL)?;
        let fence = self.gpu.channel().submit(push, self.gpu.timeout_ms())?;
        self.len = 0;
        // The next push buffer may run after another one that changed the engine's state.
        self.cache.clear();
        match self.epoch {
            None => self.epoch = Some(fence.epoch()),
            Some(e) if e != fence.epoch() => self.lost = true,
            Some(_) => {}
        }
        self.last = Some(fence);
        Ok(())
    }

    /// Submits what is left of the job and returns the fence of its last submission (the
    /// channel runs submissions in order), or `None` for an empty job.
    pub(crate) fn finish(mut self) -> Result<Option<Fence>> {
        self.flush()?;
        self.submit()?;
        if self.lost {
            // The channel was reset between two submissions of the job: the first ones may
            // not have run.
            return Err(EIO);
        }
        Ok(self.last.take())
    }

    /// Submits what is left of the job and waits for it.
    pub(crate) fn run(self) -> Result {
        let timeout = self.gpu.timeout_ms();
        match self.finish()? {
            Some(f) => f.wait(timeout),
            None => Ok(()),
        }
    }
}

/// Bytes of `n` pages.
pub(crate) const fn pages(n: usize) -> usize {
    n * PAGE_SIZE
}
