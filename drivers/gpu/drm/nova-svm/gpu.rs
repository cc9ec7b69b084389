// SPDX-License-Identifier: GPL-2.0

//! The GPU as the core of nova-svm sees it: VRAM and a copy engine, behind one trait.
//!
//! Every backend ([`crate::hw::sim`] for the simulated GPU, [`crate::hw::nv`] for real
//! hardware through nova-core) implements [`Gpu`]. The core builds copy-engine push buffers
//! with a [`Job`] and hands them to [`Gpu::run`]; it never touches VRAM itself.

use kernel::{page::PAGE_SIZE, prelude::*};

use crate::ce::{
    class::CeClass,
    push::{CeError, PushBuffer},
    PhysAddr,
};

/// The subchannel the copy-engine object is bound to.
pub(crate) const CE_SUBCHANNEL: u8 = 4;

/// GPU virtual address of the fence semaphore that ends each job.
pub(crate) const FENCE_VA: u64 = 0x10_0000;

/// Dwords of one push buffer; a job longer than this is submitted in parts.
const PUSH_DWORDS: usize = 4096;

/// The system pages of one copy-engine job.
///
/// A job addresses system memory by page: page `i` of the job is at
/// [`Gpu::sys_addr`]`(i)` in the system-memory aperture. The implementations wrap what the
/// migration code holds: the source or destination pages of a `MigrateVma`, a folio being
/// filled, or pages found by a range fault.
pub(crate) trait SysPages {
    /// Copies page `i` into `out`, which is one page long.
    fn read(&self, i: usize, out: &mut [u8]) -> Result;

    /// Copies `data`, which is one page long, into page `i`.
    fn write(&self, i: usize, data: &[u8]) -> Result;
}

/// A GPU that nova-svm can migrate memory with.
pub(crate) trait Gpu: Send + Sync {
    /// Bytes of VRAM that SVM pages can occupy.
    fn vram_size(&self) -> u64;

    /// The copy-engine class the backend executes.
    fn ce_class(&self) -> &'static CeClass;

    /// Whether this is the simulated GPU.
    fn is_simulated(&self) -> bool;

    /// Makes VRAM chunk `index` (of [`crate::dmem::CHUNK_SIZE`] bytes) usable before the
    /// first page of it is handed out.
    fn chunk_online(&self, index: usize) -> Result;

    /// Address of page `i` of a job's system pages in the system-memory aperture.
    fn sys_addr(&self, i: usize) -> u64;

    /// Returns the next fence sequence number of the channel.
    fn next_seqno(&self) -> u32;

    /// Executes `push`, whose system-memory accesses go to `sys`, and waits until the copy
    /// engine has released the fence semaphore at [`FENCE_VA`] with `seqno`.
    ///
    /// Fails with `EIO` when the copy engine reports an error.
    fn run(&self, push: &[u32], sys: &dyn SysPages, seqno: u32) -> Result;
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
        Ok(Self(KVec::zeroed(PUSH_DWORDS, GFP_KERNEL)?))
    }
}

/// A sequence of copies and fills for the copy engine, over one set of system pages.
pub(crate) struct Job<'a> {
    gpu: &'a dyn Gpu,
    sys: &'a dyn SysPages,
    push: &'a mut [u32],
    len: usize,
    /// The last copy, not written to the push buffer yet: a copy that continues it in both
    /// apertures is merged into it, so that runs of pages take one copy-engine launch.
    pending: Option<LinearCopy>,
}

/// One linear copy of a [`Job`].
#[derive(Clone, Copy)]
struct LinearCopy {
    src: PhysAddr,
    dst: PhysAddr,
    len: u64,
}

/// The longest copy a [`Job`] merges copies into: one launch's 32-bit line length.
const MAX_COPY: u64 = 1 << 31;

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
    /// Creates an empty job for `gpu` whose system pages are `sys`, written into `mem`.
    pub(crate) fn new(gpu: &'a dyn Gpu, sys: &'a dyn SysPages, mem: &'a mut PushMem) -> Self {
        Self {
            gpu,
            sys,
            push: &mut mem.0,
            len: 0,
            pending: None,
        }
    }

    /// Address of system page `i` of the job.
    pub(crate) fn sys(&self, i: usize) -> PhysAddr {
        PhysAddr::sysmem(self.gpu.sys_addr(i))
    }

    /// Appends what `op` writes, submitting the job so far first when the push buffer is
    /// full. The last dwords stay free for the fence.
    fn emit(&mut self, op: impl Fn(&mut PushBuffer<'_>) -> Result<(), CeError>) -> Result {
        for _ in 0..2 {
            let class = self.gpu.ce_class();
            let room = self.push.len().saturating_sub(self.len + 16);
            let tail = self.push.get_mut(self.len..self.len + room).ok_or(EINVAL)?;
            let mut pb = PushBuffer::new(class, CE_SUBCHANNEL, tail).map_err(ce_err)?;
            match op(&mut pb) {
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

    /// Binds the copy-engine class to [`CE_SUBCHANNEL`] (`SET_OBJECT`), once per channel.
    pub(crate) fn bind_object(&mut self) -> Result {
        self.flush()?;
        self.emit(|pb| pb.set_object())
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
            Some(c) if c.continued_by(&next) => c.len += next.len,
            _ => {
                self.flush()?;
                self.pending = Some(next);
            }
        }
        Ok(())
    }

    /// Writes the pending copy, if any, to the push buffer.
    fn flush(&mut self) -> Result {
        let Some(c) = self.pending.take() else {
            return Ok(());
        };
        // The length was checked against `MAX_COPY`.
        let len = u32::try_from(c.len).map_err(|_| EINVAL)?;
        self.emit(|pb| pb.copy(c.src, c.dst, len, 1, 0, 0))
    }

    /// Fills `len` bytes at `dst` with the 32-bit `value`.
    pub(crate) fn fill(&mut self, dst: PhysAddr, len: usize, value: u32) -> Result {
        let len = u64::try_from(len).map_err(|_| EINVAL)?;
        self.flush()?;
        self.emit(|pb| pb.clear(dst, len, value))
    }

    /// Ends the push buffer with the fence and runs it.
    fn submit(&mut self) -> Result {
        if self.len == 0 {
            return Ok(());
        }
        let seqno = self.gpu.next_seqno();
        let class = self.gpu.ce_class();
        let tail = self.push.get_mut(self.len..).ok_or(EINVAL)?;
        let mut pb = PushBuffer::new(class, CE_SUBCHANNEL, tail).map_err(ce_err)?;
        pb.semaphore_release(FENCE_VA, seqno).map_err(ce_err)?;
        let end = self.len + pb.len();
        self.len = 0;
        let push = self.push.get(..end).ok_or(EINVAL)?;
        self.gpu.run(push, self.sys, seqno)
    }

    /// Runs what is left of the job and waits for it.
    pub(crate) fn finish(mut self) -> Result {
        self.flush()?;
        self.submit()
    }
}

/// Bytes of `n` pages.
pub(crate) const fn pages(n: usize) -> usize {
    n * PAGE_SIZE
}
