// SPDX-License-Identifier: GPL-2.0

//! The simulated GPU: a [`Backend`] whose hardware is software.
//!
//! [`SimGpu`] is shaped like the GPUs it stands for:
//!
//! - **VRAM** is host memory, allocated a chunk at a time when the driver brings VRAM online.
//!   The CPU reaches it through [`Backend::bar_write`] and [`Backend::bar_read`], as through
//!   a BAR.
//! - **Channels** are created from a page directory base, a GPFIFO ring and a USERD page in
//!   VRAM. A write of a channel's token to the usermode doorbell queues its work item on the
//!   GPU's workqueue; the work item runs the channel's host ([`pbdma`]) from `GPGet` to
//!   `GPPut`, asynchronously from the submitter, and raises the non-stall interrupt and
//!   errors through the channel's [`ChannelEvents`].
//! - **The MMU** ([`mmu`]) translates every virtual access of the host and the copy engine
//!   through the channel's page tables, which live in VRAM, with a TLB that only a
//!   `MEM_OP` TLB invalidate empties.
//! - **The copy engine** ([`ce_interp`]) executes the copy-engine methods of the push buffers.
//! - **System memory** is reached only at the bus addresses that the DMA API returned for the
//!   GPU's (faux) device, and only while they are mapped: [`iommu`] keeps the table of live
//!   mappings. Anything else faults.
//!
//! A fault or a bad push buffer stops the channel and records what happened; the driver
//! resets it. Nothing here imports from the driver's core: this module knows only the
//! backend interface and the hardware formats.

// Shared with the host tests, which use more of it than the driver.
#[allow(dead_code)]
pub(crate) mod ce_interp;
#[allow(dead_code)]
pub(crate) mod iommu;
#[allow(dead_code)]
pub(crate) mod mmu;
#[allow(dead_code)]
pub(crate) mod pbdma;

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use kernel::{
    device::{self, Bound},
    dma::{DataDirection, DmaMask},
    faux,
    mm::hmm::PageRef,
    new_mutex, new_spinlock, new_work,
    prelude::*,
    sync::{Arc, Mutex, SpinLock},
    time::{Instant, Monotonic},
    workqueue::{impl_has_work, OwnedQueue, QueueFlags, Work, WorkItem},
};

use self::{
    ce_interp::{CeInterp, Fault, Memory, Target},
    iommu::{Iommu, MapSlot, Slot},
    mmu::{Mmu, TableMem, WalkFault},
    pbdma::{Pbdma, PbdmaError, Refused, Stop},
};
use super::{
    Access, Backend, ChannelDesc, ChannelError, ChannelEvents, Chip, Client, Counters, FaultKind,
    HwChannel, MmuFault, SysPage,
};
use crate::{ce::Aperture, host};

/// Bytes of VRAM backed by one allocation.
const VRAM_CHUNK: usize = 2 << 20;

/// The most channels the GPU has at once; a channel's token is its index.
const MAX_CHANNELS: usize = 256;

/// The most DMA mappings live at once, and the most 4 KiB frames they cover (256 MiB).
const MAX_MAPS: usize = 16384;
/// Slots of the frame table: a power of two, a third above the frames.
const FRAME_SLOTS: usize = 1 << 17;

/// Push-buffer dwords a channel executes before it lets others have the lock.
const BUDGET: usize = 8192;

/// The table of live DMA mappings.
type Table = Iommu<PageRef, KVec<MapSlot<PageRef>>, KVVec<Slot>>;

/// One chunk of VRAM: its bytes once it is online.
type VramChunk = Pin<KBox<Mutex<Option<KVVec<u8>>>>>;

/// VRAM: one allocation per chunk that is online, each under its own lock, so that the CPU
/// writing push buffers and page tables (in instance memory) does not wait for copies into
/// other chunks.
struct Vram {
    chunks: KVec<VramChunk>,
}

impl Vram {
    /// Calls `f` with the bytes at `addr`, up to `len` of them but no further than the end
    /// of the chunk. `None` when the chunk is not online.
    fn with<R>(&self, addr: u64, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> Option<R> {
        let a = usize::try_from(addr).ok()?;
        let mut guard = self.chunks.get(a / VRAM_CHUNK)?.lock();
        let chunk = Option::as_mut(&mut *guard)?;
        let off = a % VRAM_CHUNK;
        let n = len.min(VRAM_CHUNK - off);
        Some(f(chunk.get_mut(off..off + n)?))
    }

    /// Calls `f` with exactly the `len` bytes at `addr`, which must lie in one chunk.
    fn with_exact<R>(&self, addr: u64, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> Option<R> {
        self.with(addr, len, |s| (s.len() == len).then(|| f(s)))
            .flatten()
    }

    /// Calls `f(bytes, offset into the range)` on each chunk's part of `addr..addr + len`.
    fn each(
        &self,
        addr: u64,
        len: usize,
        mut f: impl FnMut(&mut [u8], usize) -> Result<(), ()>,
    ) -> Result<(), ()> {
        let mut done = 0;
        while done < len {
            let at = addr.checked_add(done as u64).ok_or(())?;
            let n = self.with(at, len - done, |span| {
                f(span, done)?;
                Ok::<usize, ()>(span.len())
            });
            done += n.ok_or(())??;
        }
        Ok(())
    }
}

/// What every channel of the GPU shares.
#[pin_data]
struct SimCore {
    chip: &'static Chip,
    vram_size: u64,
    vram: Vram,
    #[pin]
    iommu: SpinLock<Table>,
    /// Channels by token. A slot is emptied when its channel is destroyed.
    #[pin]
    channels: SpinLock<KVec<Option<Arc<SimChannel>>>>,
    /// Runs the channels; destroyed (drained) when the GPU is dropped.
    wq: OwnedQueue,
    /// Accesses refused, for the driver's statistics.
    faults: AtomicU64,
    /// Nanoseconds spent running channels.
    busy_ns: AtomicU64,
    /// Bytes moved.
    copy_bytes: AtomicU64,
    /// Nanoseconds spent moving them.
    copy_ns: AtomicU64,
}

/// The simulated GPU.
pub(crate) struct SimGpu {
    core: Arc<SimCore>,
    /// The device the GPU does DMA as. Declared last: dropped after the channels' users.
    faux: KBox<faux::Registration>,
}

impl SimGpu {
    /// Creates a GPU of `chip` with `vram_size` bytes of VRAM (a multiple of 2 MiB), on a
    /// faux device named `name`.
    pub(crate) fn new(name: &CStr, vram_size: u64, chip: &'static Chip) -> Result<Arc<Self>> {
        let chunks = usize::try_from(vram_size).map_err(|_| EINVAL)?;
        if chunks == 0 || chunks % VRAM_CHUNK != 0 {
            return Err(EINVAL);
        }
        let mut vram = KVec::with_capacity(chunks / VRAM_CHUNK, GFP_KERNEL)?;
        for _ in 0..chunks / VRAM_CHUNK {
            vram.push(
                KBox::pin_init(new_mutex!(None, "nova_svm::SimCore::vram"), GFP_KERNEL)?,
                GFP_KERNEL,
            )?;
        }
        let mut maps = KVec::with_capacity(MAX_MAPS, GFP_KERNEL)?;
        for _ in 0..MAX_MAPS {
            maps.push(MapSlot::Free(None), GFP_KERNEL)?;
        }
        let slots = KVVec::from_elem(Slot::FREE, FRAME_SLOTS, GFP_KERNEL)?;
        let table = Iommu::new(maps, slots).ok_or(EINVAL)?;
        let mut channels = KVec::with_capacity(MAX_CHANNELS, GFP_KERNEL)?;
        for _ in 0..MAX_CHANNELS {
            channels.push(None, GFP_KERNEL)?;
        }

        let mut reg = faux::Registration::new(name, None)?;
        // The GPU's copy engine addresses 64 bits of system memory.
        reg.dma_coerce_mask(DmaMask::new::<64>())?;
        let faux = KBox::new(reg, GFP_KERNEL)?;

        let wq = OwnedQueue::new(
            c"nova_svm_sim",
            QueueFlags::UNBOUND | QueueFlags::MEM_RECLAIM,
            0,
        )?;
        let core = Arc::pin_init(
            try_pin_init!(SimCore {
                chip,
                vram_size,
                vram: Vram { chunks: vram },
                iommu <- new_spinlock!(table, "nova_svm::SimCore::iommu"),
                channels <- new_spinlock!(channels, "nova_svm::SimCore::channels"),
                wq,
                faults: AtomicU64::new(0),
                busy_ns: AtomicU64::new(0),
                copy_bytes: AtomicU64::new(0),
                copy_ns: AtomicU64::new(0),
            }),
            GFP_KERNEL,
        )?;
        Ok(Arc::new(SimGpu { core, faux }, GFP_KERNEL)?)
    }

    /// The faux device the GPU is.
    pub(crate) fn device(&self) -> &faux::Device<Bound> {
        (*self.faux).as_ref()
    }
}

impl Backend for SimGpu {
    fn counters(&self) -> Counters {
        Counters {
            busy_ns: self.core.busy_ns.load(Ordering::Relaxed),
            faults: self.core.faults.load(Ordering::Relaxed),
            copy_bytes: self.core.copy_bytes.load(Ordering::Relaxed),
            copy_ns: self.core.copy_ns.load(Ordering::Relaxed),
        }
    }

    fn chip(&self) -> &'static Chip {
        self.core.chip
    }

    fn vram_size(&self) -> u64 {
        self.core.vram_size
    }

    fn vram_online(&self, start: u64, len: u64) -> Result {
        let end = start.checked_add(len).ok_or(EINVAL)?;
        if end > self.core.vram_size {
            return Err(EINVAL);
        }
        // CAST: the chunk size fits u64.
        let chunk = VRAM_CHUNK as u64;
        let mut at = start / chunk * chunk;
        while at < end {
            let i = usize::try_from(at / chunk).map_err(|_| EINVAL)?;
            let slot = self.core.vram.chunks.get(i).ok_or(EINVAL)?;
            if slot.lock().is_none() {
                // Allocate outside the lock: vmalloc of a chunk may sleep for a while. VRAM
                // starts zeroed, so that no host memory leaks through it.
                let backing = KVVec::from_elem(0u8, VRAM_CHUNK, GFP_KERNEL)?;
                let mut guard = slot.lock();
                if guard.is_none() {
                    *guard = Some(backing);
                }
            }
            at += chunk;
        }
        Ok(())
    }

    fn bar_write(&self, addr: u64, data: &[u8]) -> Result {
        self.core
            .vram
            .each(addr, data.len(), |dst, off| {
                dst.copy_from_slice(data.get(off..off + dst.len()).ok_or(())?);
                Ok(())
            })
            .map_err(|()| EINVAL)
    }

    fn bar_write_u32s(&self, addr: u64, words: &[u32]) -> Result {
        if addr % 4 != 0 {
            return Err(EINVAL);
        }
        self.core
            .vram
            .each(addr, words.len() * 4, |dst, off| {
                let from = words.get(off / 4..).ok_or(())?;
                for (b, w) in dst.chunks_exact_mut(4).zip(from) {
                    b.copy_from_slice(&w.to_le_bytes());
                }
                Ok(())
            })
            .map_err(|()| EINVAL)
    }

    fn bar_read(&self, addr: u64, out: &mut [u8]) -> Result {
        self.core
            .vram
            .each(addr, out.len(), |src, off| {
                let n = src.len();
                out.get_mut(off..off + n).ok_or(())?.copy_from_slice(src);
                Ok(())
            })
            .map_err(|()| EINVAL)
    }

    fn channel_new(
        &self,
        desc: &ChannelDesc,
        events: Arc<dyn ChannelEvents>,
    ) -> Result<KBox<dyn HwChannel>> {
        let events = &events;
        if desc.gpfifo_entries == 0 || !desc.gpfifo_entries.is_power_of_two() {
            return Err(EINVAL);
        }
        loop {
            let token = self
                .core
                .channels
                .lock()
                .iter()
                .position(|c| c.is_none())
                .ok_or(EBUSY)?;
            let token = u32::try_from(token).map_err(|_| EBUSY)?;
            let chan = Arc::pin_init(
                try_pin_init!(SimChannel {
                    core: self.core.clone(),
                    token,
                    desc: *desc,
                    events: events.clone(),
                    blocked: AtomicBool::new(false),
                    work <- new_work!("nova_svm::SimChannel::work"),
                    state <- new_mutex!(ChanState {
                        pbdma: Pbdma::new(desc.gpfifo_va, desc.gpfifo_entries),
                        ce: CeInterp::new(self.core.chip.ce),
                        mmu: Mmu::new(self.core.chip.mmu, desc.pdb),
                        error: None,
                        dead: false,
                        bounce: KVec::from_elem(0u8, BOUNCE, GFP_KERNEL)?,
                    }, "nova_svm::SimChannel::state"),
                }),
                GFP_KERNEL,
            )?;
            let mut handle = KBox::new(ChannelHandle(None), GFP_KERNEL)?;
            let mut table = self.core.channels.lock();
            // CAST: a token is an index of the table.
            if let Some(slot @ None) = table.get_mut(token as usize) {
                *slot = Some(chan.clone());
                drop(table);
                handle.0 = Some(chan);
                return Ok(handle);
            }
            // A concurrent creation took the slot: look again. The handle holds no channel,
            // so dropping it does nothing.
        }
    }

    fn usermode_write(&self, offset: u32, value: u32) {
        if offset != host::usermode::NOTIFY_CHANNEL_PENDING {
            pr_warn!(
                "nova-svm: sim: write to unimplemented usermode register {:#x}\n",
                offset
            );
            return;
        }
        let chan = usize::try_from(value)
            .ok()
            .and_then(|t| self.core.channels.lock().get(t).cloned().flatten());
        match chan {
            Some(c) => c.kick(),
            None => pr_warn!("nova-svm: sim: doorbell for unknown channel {}\n", value),
        }
    }

    fn dma_map(&self, page: &PageRef, len: usize, dir: DataDirection) -> Result<SysPage> {
        let dev: &device::Device<Bound> = self.device().as_ref();
        Ok(SysPage {
            map: page.dma_map(dev, len, dir)?,
        })
    }

    fn dma_publish(&self, pages: &[SysPage]) -> Result {
        let mut table = self.core.iommu.lock();
        for (i, p) in pages.iter().enumerate() {
            let bus = p.bus();
            if let Err((e, _handle)) = table.insert(bus, frames_of(p), p.map.page().clone()) {
                // Take back what this call published: the caller unmaps all of it.
                for q in pages.iter().take(i) {
                    drop(table.remove(q.bus(), frames_of(q)));
                }
                drop(table);
                pr_warn!(
                    "nova-svm: sim: cannot record DMA mapping {:#x}: {:?}\n",
                    bus,
                    e
                );
                return Err(match e {
                    iommu::IommuError::Full => ENOMEM,
                    _ => EINVAL,
                });
            }
        }
        Ok(())
    }

    fn dma_unmap(&self, pages: &mut KVec<SysPage>, published: usize) {
        // Take the pages out of the table first, all under one lock: from here on the GPU
        // faults on their addresses.
        let mut missing = 0;
        {
            let mut table = self.core.iommu.lock();
            for p in pages.iter().take(published) {
                match table.remove(p.bus(), frames_of(p)) {
                    // The table's reference: a folio_put, which may free the page, also in
                    // atomic context.
                    Some(handle) => drop(handle),
                    None => missing += 1,
                }
            }
        }
        if missing > 0 {
            pr_warn!(
                "nova-svm: sim: {} unmapped page(s) were not in the table\n",
                missing
            );
        }
        // The DMA mappings go here, outside the lock.
        pages.clear();
    }
}

/// The bytes of whole frames that `p` covers in the table.
fn frames_of(p: &SysPage) -> u64 {
    // CAST: a length fits u64.
    (p.map.size() as u64).div_ceil(iommu::FRAME) * iommu::FRAME
}

/// Bytes of a channel's bounce buffer, for copies within system memory.
const BOUNCE: usize = 4096;

/// The mutable state of a channel.
struct ChanState {
    pbdma: Pbdma,
    ce: CeInterp,
    mmu: Mmu,
    /// What stopped the channel.
    error: Option<ChannelError>,
    /// The channel is being destroyed: it runs no more.
    dead: bool,
    bounce: KVec<u8>,
}

/// A channel.
#[pin_data]
struct SimChannel {
    core: Arc<SimCore>,
    token: u32,
    desc: ChannelDesc,
    events: Arc<dyn ChannelEvents>,
    /// The channel stopped at a semaphore acquire that was not satisfied.
    blocked: AtomicBool,
    #[pin]
    work: Work<SimChannel>,
    #[pin]
    state: Mutex<ChanState>,
}

impl_has_work! {
    impl HasWork<Self> for SimChannel { self.work }
}

impl SimChannel {
    /// Queues the channel's work item, unless it is queued already.
    fn kick(self: &Arc<Self>) {
        // A work item that is queued already sees the new `GPPut` when it runs.
        let _ = self.core.wq.enqueue(self.clone());
    }

    /// Reads the channel's `GPPut` from USERD.
    fn gp_put(&self) -> Option<u32> {
        let mut w = [0u8; 4];
        // CAST: a USERD offset fits u64.
        let at = self.desc.userd + host::userd::GP_PUT as u64;
        self.core
            .vram
            .each(at, 4, |src, off| {
                w.get_mut(off..off + src.len())
                    .ok_or(())?
                    .copy_from_slice(src);
                Ok(())
            })
            .ok()?;
        Some(u32::from_le_bytes(w))
    }

    /// Runs the channel until it is idle, blocked or stopped. Returns the events it raised.
    fn run_once(&self, st: &mut ChanState, ev: &mut Raised) -> bool {
        let Some(gp_put) = self.gp_put() else {
            st.error = Some(ChannelError::Bus {
                aperture: Aperture::Vram,
                addr: self.desc.userd,
                access: Access::Read,
            });
            ev.error = st.error;
            return true;
        };
        let ChanState {
            pbdma,
            ce,
            mmu,
            bounce,
            ..
        } = st;
        let mut env = Env {
            bus: Bus {
                core: &self.core,
                mmu,
                privileged: self.desc.privileged,
                fault: None,
                client: Client::Host,
                bounce,
            },
            ce,
            userd: self.desc.userd,
            ev,
        };
        let stop = pbdma.run(&mut env, gp_put, BUDGET);
        let fault = env.bus.fault;
        self.blocked.store(stop == Stop::Blocked, Ordering::Relaxed);
        match stop {
            Stop::Idle | Stop::Blocked => true,
            Stop::Budget => false,
            Stop::Error(e) => {
                let err = channel_error(e, fault);
                pr_info!(
                    "nova-svm: sim: channel {} stopped: {:?} ({:?})\n",
                    self.token,
                    err,
                    e
                );
                self.core.faults.fetch_add(1, Ordering::Relaxed);
                st.error = Some(err);
                ev.error = Some(err);
                true
            }
        }
    }
}

/// Events a run of a channel raised, delivered after its lock is dropped.
#[derive(Default)]
struct Raised {
    nonstall: bool,
    released: bool,
    error: Option<ChannelError>,
}

impl WorkItem for SimChannel {
    type Pointer = Arc<SimChannel>;

    fn run(this: Arc<SimChannel>) {
        let start = Instant::<Monotonic>::now();
        loop {
            let mut ev = Raised::default();
            let done = {
                let mut st = this.state.lock();
                if st.dead || st.error.is_some() {
                    true
                } else {
                    this.run_once(&mut st, &mut ev)
                }
            };
            if ev.nonstall {
                this.events.nonstall();
            }
            if let Some(e) = ev.error {
                this.events.error(e);
            }
            if ev.released {
                this.core.kick_blocked(this.token);
            }
            if done {
                break;
            }
        }
        // CAST: nanoseconds of one run fit u64.
        let ns = start.elapsed().as_nanos() as u64;
        this.core.busy_ns.fetch_add(ns, Ordering::Relaxed);
    }
}

impl SimCore {
    /// Queues every channel other than `except` that waits at a semaphore acquire: a
    /// semaphore was released, which may satisfy it.
    fn kick_blocked(&self, except: u32) {
        let table = self.channels.lock();
        for c in table.iter().flatten() {
            if c.token != except && c.blocked.load(Ordering::Relaxed) {
                let _ = self.wq.enqueue(c.clone());
            }
        }
    }
}

/// The core's handle of a channel.
struct ChannelHandle(Option<Arc<SimChannel>>);

impl HwChannel for ChannelHandle {
    fn token(&self) -> u32 {
        self.0.as_ref().map_or(u32::MAX, |c| c.token)
    }

    fn reset(&self) -> Result {
        let chan = self.0.as_ref().ok_or(ENODEV)?;
        // The lock waits for a run in progress; the run after it finds the new state.
        let mut st = chan.state.lock();
        let gp_put = chan.gp_put().ok_or(EIO)?;
        st.pbdma.reset(gp_put);
        st.ce.reset();
        st.mmu.invalidate();
        st.error = None;
        chan.blocked.store(false, Ordering::Relaxed);
        // Tell software where the host is now.
        let mut env_gp = [0u8; 4];
        env_gp.copy_from_slice(&st.pbdma.gp_get().to_le_bytes());
        // CAST: a USERD offset fits u64.
        let at = chan.desc.userd + host::userd::GP_GET as u64;
        chan.core
            .vram
            .each(at, 4, |dst, off| {
                dst.copy_from_slice(env_gp.get(off..off + dst.len()).ok_or(())?);
                Ok(())
            })
            .map_err(|()| EIO)
    }
}

impl Drop for ChannelHandle {
    fn drop(&mut self) {
        let Some(chan) = self.0.take() else {
            return;
        };
        chan.state.lock().dead = true;
        // CAST: a token is an index of the table.
        if let Some(slot) = chan.core.channels.lock().get_mut(chan.token as usize) {
            *slot = None;
        }
        // Wait for a run in progress or queued: after this no work item runs the channel.
        chan.core.wq.flush();
    }
}

/// Converts a host error, with the fault the bus recorded, to a channel error.
fn channel_error(e: PbdmaError, fault: Option<ChannelError>) -> ChannelError {
    match e {
        PbdmaError::GpEntry { index, .. } => ChannelError::GpEntry { index },
        PbdmaError::Fetch { va } | PbdmaError::Engine { va } | PbdmaError::Semaphore { va, .. } => {
            fault.unwrap_or(ChannelError::Method { va })
        }
        PbdmaError::Header { va, .. } | PbdmaError::HostMethod { va, .. } => {
            ChannelError::Method { va }
        }
    }
}

/// Where a piece of an access lands.
enum Loc {
    /// VRAM at this address.
    Vram(u64),
    /// A mapped system page: the mapping's memory, at this offset.
    Sys(PageRef, u64),
}

/// What a channel's host and copy engine access memory through.
struct Bus<'a> {
    core: &'a SimCore,
    mmu: &'a mut Mmu,
    privileged: bool,
    /// The first access refused since the run started.
    fault: Option<ChannelError>,
    /// Who accesses memory now.
    client: Client,
    bounce: &'a mut KVec<u8>,
}

impl Bus<'_> {
    /// Records `err` unless an earlier fault is recorded.
    fn refuse(&mut self, err: ChannelError) -> Fault {
        if self.fault.is_none() {
            self.fault = Some(err);
        }
        Fault
    }

    /// Resolves physical `addr` in `aperture`: where it is, and the bytes from there that
    /// are contiguous (at most `len`).
    fn phys(
        &mut self,
        aperture: Aperture,
        addr: u64,
        len: u64,
        access: Access,
    ) -> Result<(Loc, u64), Fault> {
        let refused = ChannelError::Bus {
            aperture,
            addr,
            access,
        };
        match aperture {
            Aperture::Vram => {
                if addr >= self.core.vram_size {
                    return Err(self.refuse(refused));
                }
                // CAST: the chunk size fits u64.
                let chunk = VRAM_CHUNK as u64;
                let n = len.min(chunk - addr % chunk);
                Ok((Loc::Vram(addr), n))
            }
            Aperture::SysmemCoherent | Aperture::SysmemNoncoherent => {
                let found = self
                    .core
                    .iommu
                    .lock()
                    .lookup(addr)
                    .map(|(m, off)| (m.handle.clone(), off, m.len - off));
                match found {
                    Some((page, off, left)) => Ok((Loc::Sys(page, off), len.min(left))),
                    None => Err(self.refuse(refused)),
                }
            }
        }
    }

    /// Resolves `addr` in `target`, translating virtual addresses: where it is, and the
    /// contiguous bytes from there (at most `len`).
    fn resolve(
        &mut self,
        target: Target,
        addr: u64,
        len: u64,
        access: Access,
    ) -> Result<(Loc, u64), Fault> {
        match target {
            Target::Phys(aperture) => self.phys(aperture, addr, len, access),
            Target::Virtual => {
                let write = access == Access::Write;
                match self
                    .mmu
                    .translate(addr, write, self.privileged, &mut TableView(self.core))
                {
                    Ok(leaf) => {
                        let (pa, left) = leaf.locate(addr);
                        self.phys(leaf.pte.aperture, pa, len.min(left), access)
                    }
                    Err(w) => {
                        let kind = match w {
                            WalkFault::VaRange => FaultKind::VaRange,
                            WalkFault::Pde => FaultKind::Pde,
                            WalkFault::Pte => FaultKind::Pte,
                            WalkFault::ReadOnly => FaultKind::ReadOnly,
                            WalkFault::Privilege => FaultKind::Privilege,
                            WalkFault::TableRead => FaultKind::Unbound,
                        };
                        let client = self.client;
                        Err(self.refuse(ChannelError::Mmu(MmuFault {
                            va: addr,
                            access,
                            client,
                            kind,
                        })))
                    }
                }
            }
        }
    }

    /// Copies `n` bytes from `src` to `dst`, each contiguous.
    fn copy_piece(&mut self, src: &Loc, dst: &Loc, n: usize) -> Result<(), Fault> {
        let vram = &self.core.vram;
        match (src, dst) {
            (Loc::Sys(sp, so), Loc::Vram(d)) => vram
                // CAST: an offset within a folio fits usize.
                .with_exact(*d, n, |out| sp.read_at(*so as usize, out))
                .ok_or(Fault)?
                .map_err(|_| Fault),
            (Loc::Vram(s), Loc::Sys(dp, doff)) => vram
                // CAST: as above.
                .with_exact(*s, n, |from| dp.write_at(*doff as usize, from))
                .ok_or(Fault)?
                .map_err(|_| Fault),
            (Loc::Vram(s), Loc::Vram(d)) => {
                let (s, d) = (*s, *d);
                // CAST: VRAM addresses fit usize (they index the chunk table).
                let (sc, dc) = (s as usize / VRAM_CHUNK, d as usize / VRAM_CHUNK);
                if sc == dc {
                    let chunk = vram.chunks.get(sc).ok_or(Fault)?;
                    let mut guard = chunk.lock();
                    let bytes = Option::as_mut(&mut *guard).ok_or(Fault)?;
                    // CAST: as above.
                    let (so, dof) = (s as usize % VRAM_CHUNK, d as usize % VRAM_CHUNK);
                    if so + n > VRAM_CHUNK || dof + n > VRAM_CHUNK {
                        return Err(Fault);
                    }
                    bytes.copy_within(so..so + n, dof);
                    return Ok(());
                }
                // Two chunks: through the bounce buffer, one lock at a time.
                let bounce = &mut *self.bounce;
                let mut done = 0;
                while done < n {
                    let k = (n - done).min(bounce.len());
                    let b = bounce.get_mut(..k).ok_or(Fault)?;
                    // CAST: a byte count fits u64.
                    vram.with_exact(s + done as u64, k, |x| b.copy_from_slice(x))
                        .ok_or(Fault)?;
                    // CAST: as above.
                    vram.with_exact(d + done as u64, k, |x| x.copy_from_slice(b))
                        .ok_or(Fault)?;
                    done += k;
                }
                Ok(())
            }
            (Loc::Sys(sp, so), Loc::Sys(dp, doff)) => {
                let bounce = &mut *self.bounce;
                let mut done = 0;
                while done < n {
                    let k = (n - done).min(bounce.len());
                    let b = bounce.get_mut(..k).ok_or(Fault)?;
                    // CAST: offsets within a folio fit usize.
                    sp.read_at(*so as usize + done, b).map_err(|_| Fault)?;
                    // CAST: as above.
                    dp.write_at(*doff as usize + done, b).map_err(|_| Fault)?;
                    done += k;
                }
                Ok(())
            }
        }
    }
}

/// Moves of this many bytes or more are timed for [`tlb_hint`].
const HINT_MIN: u64 = 1 << 20;
/// A timed move slower than this many bytes per nanosecond, in tenths, is slow.
const SLOW_TENTHS_PER_NS: u64 = 25;

/// Lets an emulator's software TLB grow after a slow move of `n` bytes that took `ns`.
///
/// Under QEMU's TCG, a vCPU's soft TLB is resized only when it is flushed, from the use it
/// saw since the last flush. A kernel thread that only copies flushes nothing, so it keeps
/// the small TLB that the last process left it and misses on every page of a 2 MiB move:
/// 1.7 ms where the same copy takes under 0.5 ms with a grown TLB, and a third of memcpy's
/// speed in `cargo xtask bench`. Invalidating an address of the linear map (`probe`, which
/// the kernel maps with large pages) makes QEMU flush the TLB, and so grow it. On hardware
/// it drops one TLB entry, and a move is never this slow there.
#[cfg(target_arch = "x86_64")]
fn tlb_hint(probe: &[u8], n: u64, ns: u64) {
    if n >= HINT_MIN && ns.saturating_mul(SLOW_TENTHS_PER_NS) > n.saturating_mul(10) {
        // SAFETY: `invlpg` drops the TLB entry of an address, if there is one. It reads no
        // memory, changes no mapping and cannot fault.
        unsafe {
            core::arch::asm!(
                "invlpg [{0}]",
                in(reg) probe.as_ptr(),
                options(nostack, preserves_flags)
            );
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn tlb_hint(_probe: &[u8], _n: u64, _ns: u64) {}

/// Fills `out` with `pattern` repeated, starting `phase` bytes into it.
fn fill_bytes(out: &mut [u8], pattern: &[u8], phase: usize) {
    let n = out.len();
    let seed = n.min(pattern.len() * 16);
    for (k, b) in out.iter_mut().take(seed).enumerate() {
        *b = pattern[(phase + k) % pattern.len()];
    }
    // Doubling copies: the seed is a whole number of patterns, so the phase carries on.
    let mut have = seed;
    while have < n {
        let k = have.min(n - have);
        out.copy_within(0..k, have);
        have += k;
    }
}

/// Page tables, as the MMU reads them.
struct TableView<'a>(&'a SimCore);

impl TableMem for TableView<'_> {
    fn read_words(&mut self, aperture: Aperture, addr: u64, out: &mut [u64]) -> Result<(), ()> {
        let mut bytes = [0u8; 16];
        let n = out.len() * 8;
        let buf = bytes.get_mut(..n).ok_or(())?;
        match aperture {
            Aperture::Vram => {
                self.0
                    .vram
                    .with_exact(addr, n, |src| buf.copy_from_slice(src))
                    .ok_or(())?;
            }
            _ => {
                let (page, off) = self
                    .0
                    .iommu
                    .lock()
                    .lookup(addr)
                    .map(|(m, off)| (m.handle.clone(), off))
                    .ok_or(())?;
                // CAST: an offset within a folio fits usize.
                page.read_at(off as usize, buf).map_err(|_| ())?;
            }
        }
        for (w, b) in out.iter_mut().zip(buf.chunks_exact(8)) {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            *w = u64::from_le_bytes(a);
        }
        Ok(())
    }
}

impl Memory for Bus<'_> {
    fn read(&mut self, target: Target, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        let mut done = 0;
        while done < buf.len() {
            // CAST: byte counts fit u64.
            let (loc, n) = self.resolve(
                target,
                addr + done as u64,
                (buf.len() - done) as u64,
                Access::Read,
            )?;
            // CAST: `n` is at most the bytes left.
            let n = n as usize;
            let out = buf.get_mut(done..done + n).ok_or(Fault)?;
            match loc {
                Loc::Vram(a) => {
                    self.core
                        .vram
                        .with_exact(a, n, |s| out.copy_from_slice(s))
                        .ok_or(Fault)?;
                }
                // CAST: an offset within a folio fits usize.
                Loc::Sys(p, off) => p.read_at(off as usize, out).map_err(|_| Fault)?,
            }
            done += n;
        }
        Ok(())
    }

    fn write(&mut self, target: Target, addr: u64, data: &[u8]) -> Result<(), Fault> {
        let mut done = 0;
        while done < data.len() {
            // CAST: byte counts fit u64.
            let (loc, n) = self.resolve(
                target,
                addr + done as u64,
                (data.len() - done) as u64,
                Access::Write,
            )?;
            // CAST: `n` is at most the bytes left.
            let n = n as usize;
            let src = data.get(done..done + n).ok_or(Fault)?;
            match loc {
                Loc::Vram(a) => {
                    self.core
                        .vram
                        .with_exact(a, n, |d| d.copy_from_slice(src))
                        .ok_or(Fault)?;
                }
                // CAST: an offset within a folio fits usize.
                Loc::Sys(p, off) => p.write_at(off as usize, src).map_err(|_| Fault)?,
            }
            done += n;
        }
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
        self.client = Client::Ce;
        let mut done = 0u64;
        while done < len {
            let left = len - done;
            let (s, sn) = self.resolve(src, src_addr + done, left, Access::Read)?;
            let (d, dn) = self.resolve(dst, dst_addr + done, sn, Access::Write)?;
            let n = sn.min(dn);
            let moving = Instant::<Monotonic>::now();
            // CAST: a piece is at most 2 MiB.
            self.copy_piece(&s, &d, n as usize)?;
            // CAST: nanoseconds of one piece fit u64.
            let ns = moving.elapsed().as_nanos() as u64;
            self.core.copy_ns.fetch_add(ns, Ordering::Relaxed);
            tlb_hint(self.bounce, n, ns);
            self.core.copy_bytes.fetch_add(n, Ordering::Relaxed);
            done += n;
        }
        Ok(())
    }

    fn fill(&mut self, target: Target, addr: u64, len: u64, pattern: &[u8]) -> Result<(), Fault> {
        self.client = Client::Ce;
        if pattern.is_empty() {
            return Err(Fault);
        }
        let mut done = 0u64;
        while done < len {
            let (loc, n) = self.resolve(target, addr + done, len - done, Access::Write)?;
            // CAST: a piece is at most 2 MiB; the phase is below the pattern's length.
            let (k, phase) = (n as usize, (done % pattern.len() as u64) as usize);
            match loc {
                Loc::Vram(a) => {
                    self.core
                        .vram
                        .with_exact(a, k, |out| fill_bytes(out, pattern, phase))
                        .ok_or(Fault)?;
                }
                Loc::Sys(p, off) => {
                    let mut rotated = [0u8; 16];
                    let pl = pattern.len().min(16);
                    for (i, b) in rotated.iter_mut().take(pl).enumerate() {
                        *b = pattern[(phase + i) % pattern.len()];
                    }
                    // CAST: an offset within a folio fits usize.
                    p.fill_at(off as usize, k, rotated.get(..pl).ok_or(Fault)?)
                        .map_err(|_| Fault)?
                }
            }
            done += n;
        }
        Ok(())
    }
}

/// The environment of a channel's host.
struct Env<'a, 'b> {
    bus: Bus<'a>,
    ce: &'a mut CeInterp,
    userd: u64,
    ev: &'b mut Raised,
}

impl pbdma::Host for Env<'_, '_> {
    fn fetch(&mut self, va: u64, out: &mut [u32]) -> Result<(), Refused> {
        self.bus.client = Client::Host;
        let mut bytes = [0u8; 512];
        for (chunk_i, chunk) in out.chunks_mut(128).enumerate() {
            let n = chunk.len() * 4;
            let buf = bytes.get_mut(..n).ok_or(Refused)?;
            // CAST: offsets of a window fit u64.
            self.bus
                .read(Target::Virtual, va + (chunk_i * 512) as u64, buf)
                .map_err(|Fault| Refused)?;
            for (w, b) in chunk.iter_mut().zip(buf.chunks_exact(4)) {
                *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        Ok(())
    }

    fn sem_read(&mut self, va: u64, out: &mut [u8]) -> Result<(), Refused> {
        self.bus.client = Client::Host;
        self.bus
            .read(Target::Virtual, va, out)
            .map_err(|Fault| Refused)
    }

    fn sem_write(&mut self, va: u64, data: &[u8]) -> Result<(), Refused> {
        self.bus.client = Client::Host;
        self.ev.released = true;
        self.bus
            .write(Target::Virtual, va, data)
            .map_err(|Fault| Refused)
    }

    fn set_object(&mut self, subchannel: u8, data: u32) -> Result<(), Refused> {
        self.ce.set_object(subchannel, data).map_err(|e| {
            pr_info!("nova-svm: sim: SET_OBJECT {:#x}: {:?}\n", data, e);
            Refused
        })
    }

    fn engine_method(&mut self, subchannel: u8, method: u32, data: u32) -> Result<(), Refused> {
        let releases = self.ce.class().mthd.launch_dma == method;
        let r = self
            .ce
            .engine_method(&mut self.bus, subchannel, method, data);
        self.bus.client = Client::Host;
        if releases {
            // A launch may have released a semaphore.
            self.ev.released = true;
        }
        r.map_err(|e| {
            pr_info!(
                "nova-svm: sim: method {:#x} = {:#x}: {:?}\n",
                method,
                data,
                e
            );
            Refused
        })
    }

    fn tlb_invalidate(&mut self, all: bool, pdb: (Aperture, u64)) {
        let mine = self.bus.mmu.pdb();
        if all || (mine.aperture, mine.addr) == pdb {
            self.bus.mmu.invalidate();
        }
    }

    fn nonstall(&mut self) {
        self.ev.nonstall = true;
    }

    fn gp_get(&mut self, gp_get: u32) {
        let bytes = gp_get.to_le_bytes();
        // CAST: a USERD offset fits u64.
        let at = self.userd + host::userd::GP_GET as u64;
        let _ = self.bus.core.vram.each(at, 4, |dst, off| {
            dst.copy_from_slice(bytes.get(off..off + dst.len()).ok_or(())?);
            Ok(())
        });
    }

    fn reference(&mut self, value: u32) {
        let bytes = value.to_le_bytes();
        // CAST: a USERD offset fits u64.
        let at = self.userd + host::userd::REFERENCE as u64;
        let _ = self.bus.core.vram.each(at, 4, |dst, off| {
            dst.copy_from_slice(bytes.get(off..off + dst.len()).ok_or(())?);
            Ok(())
        });
    }
}
