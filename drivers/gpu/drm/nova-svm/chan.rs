// SPDX-License-Identifier: GPL-2.0

//! GPU channels as the core drives them: a GPFIFO ring, a push-buffer ring, USERD, a doorbell,
//! and fences.
//!
//! A [`Channel`] owns its address space ([`Vmm`]) and, in instance memory, its GPFIFO ring,
//! its push-buffer ring, its USERD page and its fence semaphore, all mapped into the address
//! space but USERD (which the host reaches physically). [`Channel::submit`] copies a push
//! buffer into the ring, appends a host semaphore release of the next sequence number and a
//! `NON_STALL_INTERRUPT`, writes a GP entry, advances `GPPut` and rings the doorbell. It
//! returns a [`Fence`] for that sequence number: [`Fence::wait`] sleeps until the semaphore
//! reaches it, the channel reports an error, or the timeout expires.
//!
//! An error stops the channel. The fences of work it did not finish fail with `EIO`, and the
//! channel is reset before it takes new work, so that one bad submission does not take the
//! channel down for everyone. A timeout does the same, with `ETIMEDOUT`.

use core::sync::atomic::{AtomicU64, Ordering};

use kernel::{
    new_condvar, new_mutex,
    prelude::*,
    sync::{Arc, CondVar, Mutex, MutexGuard},
    time::{msecs_to_jiffies, Instant, Monotonic},
};

use crate::{
    ce::{class::CeClass, header, Aperture},
    host::{self, mthd, Segment},
    hw::{Backend, ChannelDesc, ChannelError, ChannelEvents, HwChannel},
    instmem::{InstBlock, Instmem, INST_PAGE},
    mmu::{PageSize, Pte},
    vmm::{Retired, Vmm},
};

/// The subchannel the copy engine is bound to.
pub(crate) const CE_SUBCHANNEL: u8 = 4;
/// The subchannel host methods are sent on.
const HOST_SUBCHANNEL: u8 = 0;

/// Dwords a submission adds after the caller's push buffer: the semaphore release and the
/// non-stall interrupt.
const FENCE_DWORDS: usize = 8;
/// Dwords a submission adds before it after a reset: `SET_OBJECT`.
const BIND_DWORDS: usize = 2;

/// How a channel is laid out.
#[derive(Clone, Copy)]
pub(crate) struct Layout {
    /// GPU virtual address of the GPFIFO ring; the push-buffer ring and the semaphore follow
    /// it. Below 2^40, as GP entries and semaphores require.
    pub(crate) va: u64,
    /// GP entries of the ring, a power of two.
    pub(crate) entries: u32,
    /// Pages of the push-buffer ring.
    pub(crate) push_pages: usize,
    /// Whether the channel is the kernel's.
    pub(crate) privileged: bool,
}

/// The fence semaphore's place in its page: the first 8 bytes.
const SEM_OFFSET: usize = 0;

/// How long dropping a channel waits for the work in flight.
const DROP_TIMEOUT_MS: u32 = 1000;

/// Resets remembered, to tell fences of older epochs whether they completed.
const RESET_LOG: usize = 16;

/// A submission still in flight.
#[derive(Clone, Copy, Default)]
struct Inflight {
    /// Its sequence number.
    seq: u64,
    /// Its first push-buffer dword.
    start: u32,
}

/// The channel's state, under its lock.
struct State {
    /// The backend's channel; taken out when the channel is dropped.
    hw: Option<KBox<dyn HwChannel>>,
    /// The error that stopped the channel, until it is reset.
    error: Option<ChannelError>,
    /// The last error, kept across resets for the driver's logs and tests.
    last_error: Option<ChannelError>,
    /// Bumped at each reset.
    epoch: u64,
    /// `(epoch, last sequence number completed in it)` of the last resets.
    resets: [(u64, u64); RESET_LOG],
    /// Resets so far.
    nresets: u64,
    /// The next GP entry to write.
    gp_put: u32,
    /// The next push-buffer dword to write.
    push_put: u32,
    /// The sequence number of the next submission.
    next_seq: u64,
    /// Submissions in flight, oldest first: `inflight[head..head + len]` modulo its length.
    inflight: KVec<Inflight>,
    head: usize,
    len: usize,
    /// `SET_OBJECT` must go first in the next submission.
    need_bind: bool,
}

/// What a channel shares with its fences and with the backend's event delivery.
#[pin_data]
pub(crate) struct Shared {
    backend: Arc<dyn Backend>,
    /// Submissions so far.
    submits: AtomicU64,
    /// Fence waits that slept, and the nanoseconds they slept.
    waits: AtomicU64,
    wait_ns: AtomicU64,
    /// VRAM address of the fence semaphore.
    sem: u64,
    #[pin]
    state: Mutex<State>,
    #[pin]
    cond: CondVar,
}

/// A channel.
pub(crate) struct Channel {
    shared: Arc<Shared>,
    vmm: Pin<KBox<Mutex<Vmm>>>,
    ce: &'static CeClass,
    layout: Layout,
    gpfifo: InstBlock,
    push: InstBlock,
    _userd: InstBlock,
    _sem: InstBlock,
}

/// The completion of a submission.
pub(crate) struct Fence {
    shared: Arc<Shared>,
    seq: u64,
    epoch: u64,
}

/// What became of a fence.
enum Status {
    Done,
    Failed,
    Pending,
}

impl ChannelEvents for Shared {
    fn nonstall(&self) {
        let _guard = self.state.lock();
        self.cond.notify_all();
    }

    fn error(&self, err: ChannelError) {
        let mut st = self.state.lock();
        st.error = Some(err);
        st.last_error = Some(err);
        self.cond.notify_all();
    }
}

impl Shared {
    /// The last sequence number the GPU released.
    fn completed(&self) -> u64 {
        let mut b = [0u8; 8];
        // CAST: an offset in a page fits u64.
        match self.backend.bar_read(self.sem + SEM_OFFSET as u64, &mut b) {
            Ok(()) => u64::from_le_bytes(b),
            Err(_) => 0,
        }
    }

    /// Drops the submissions that completed from the in-flight list.
    fn retire(&self, st: &mut State) {
        let done = self.completed();
        while st.len > 0 {
            let Some(f) = st.inflight.get(st.head).copied() else {
                break;
            };
            if f.seq > done {
                break;
            }
            st.head = (st.head + 1) % st.inflight.len();
            st.len -= 1;
        }
    }

    /// Resets the channel after an error or a timeout: what it did not finish is lost, and
    /// its fences fail.
    fn reset(&self, st: &mut State) -> Result {
        let done = self.completed();
        // CAST: the modulus is below `RESET_LOG`.
        let slot = (st.nresets % RESET_LOG as u64) as usize;
        if let Some(r) = st.resets.get_mut(slot) {
            *r = (st.epoch, done);
        }
        st.nresets += 1;
        st.epoch += 1;
        let r = st.hw.as_ref().map_or(Err(ENODEV), |hw| hw.reset());
        st.head = 0;
        st.len = 0;
        st.error = None;
        st.need_bind = true;
        r
    }

    /// The status of the fence of `seq` in `epoch`.
    fn status(&self, st: &State, seq: u64, epoch: u64) -> Status {
        if epoch == st.epoch {
            return if self.completed() >= seq {
                Status::Done
            } else {
                Status::Pending
            };
        }
        let found = st
            .resets
            .iter()
            .take(st.nresets.min(RESET_LOG as u64) as usize);
        for &(e, done) in found {
            if e == epoch {
                return if seq <= done {
                    Status::Done
                } else {
                    Status::Failed
                };
            }
        }
        // Too old to be remembered: it may have completed, but say so only when sure.
        Status::Failed
    }
}

impl Fence {
    /// Waits until the submission completed, for at most `timeout_ms`.
    ///
    /// `EIO` when the channel stopped on an error before the submission completed (the
    /// channel is reset), `ETIMEDOUT` when the time ran out (the channel is stopped and
    /// reset: a hung channel must not run on behind the caller's back).
    pub(crate) fn wait(&self, timeout_ms: u32) -> Result {
        let start = Instant::<Monotonic>::now();
        let sh = &*self.shared;
        let r = self.wait_locked(timeout_ms, &start);
        // CAST: nanoseconds of a wait fit u64.
        let ns = start.elapsed().as_nanos() as u64;
        sh.waits.fetch_add(1, Ordering::Relaxed);
        sh.wait_ns.fetch_add(ns, Ordering::Relaxed);
        r
    }

    fn wait_locked(&self, timeout_ms: u32, start: &Instant<Monotonic>) -> Result {
        let sh = &*self.shared;
        let mut st = sh.state.lock();
        loop {
            match sh.status(&st, self.seq, self.epoch) {
                Status::Done => return Ok(()),
                Status::Failed => return Err(EIO),
                Status::Pending => {}
            }
            if let Some(err) = st.error {
                pr_debug!("nova-svm: fence {} failed: {:?}\n", self.seq, err);
                let _ = sh.reset(&mut st);
                return Err(EIO);
            }
            let elapsed = start.elapsed().as_millis();
            let left = i64::from(timeout_ms) - elapsed;
            if left <= 0 {
                pr_warn!(
                    "nova-svm: channel timed out after {} ms waiting for fence {}\n",
                    timeout_ms,
                    self.seq
                );
                st.last_error = Some(ChannelError::Timeout);
                let _ = sh.reset(&mut st);
                return Err(ETIMEDOUT);
            }
            // CAST: `left` is positive and at most `timeout_ms`.
            let _ = sh.cond.wait_timeout(&mut st, msecs_to_jiffies(left as u32));
        }
    }

    /// The channel epoch the fence belongs to: the number of resets before its submission.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }
}

/// Appends an incrementing header for `data.len()` host methods from `method`, and the
/// data, to `out`.
pub(crate) fn host_methods(out: &mut KVec<u32>, method: u32, data: &[u32]) -> Result {
    push_methods(out, HOST_SUBCHANNEL, method, data)
}

/// Appends an incrementing header for `data.len()` methods from `method` on `subchannel`,
/// and the data, to `out`.
fn push_methods(out: &mut KVec<u32>, subchannel: u8, method: u32, data: &[u32]) -> Result {
    let count = u32::try_from(data.len()).map_err(|_| EINVAL)?;
    let hdr = header::inc_method(subchannel, method, count).ok_or(EINVAL)?;
    out.push(hdr, GFP_KERNEL)?;
    for d in data {
        out.push(*d, GFP_KERNEL)?;
    }
    Ok(())
}

/// Writes the dwords of an incrementing header and its data into `out`; returns the number
/// written.
fn methods_into(out: &mut [u32], subchannel: u8, method: u32, data: &[u32]) -> Result<usize> {
    let count = u32::try_from(data.len()).map_err(|_| EINVAL)?;
    let hdr = header::inc_method(subchannel, method, count).ok_or(EINVAL)?;
    let slots = out.get_mut(..data.len() + 1).ok_or(EINVAL)?;
    slots[0] = hdr;
    slots[1..].copy_from_slice(data);
    Ok(data.len() + 1)
}

impl Channel {
    /// Creates a channel of `backend` laid out as `layout`, with its objects in `im`.
    pub(crate) fn new(im: &Arc<Instmem>, layout: Layout) -> Result<Self> {
        let backend = im.backend_arc();
        let chip = backend.chip();
        if layout.entries == 0
            || !layout.entries.is_power_of_two()
            || layout.va >> host::gp::ADDRESS_BITS != 0
        {
            return Err(EINVAL);
        }
        let mut vmm = Vmm::new(im.clone(), chip.mmu)?;
        let gp_bytes = usize::try_from(layout.entries).map_err(|_| EINVAL)? * host::gp::ENTRY_SIZE;
        let gpfifo = im.alloc(gp_bytes.div_ceil(INST_PAGE))?;
        let push = im.alloc(layout.push_pages)?;
        let userd = im.alloc(1)?;
        let sem = im.alloc(1)?;

        // The GPFIFO ring, then the push-buffer ring, then the semaphore page.
        let mut va = layout.va;
        for block in [&gpfifo, &push, &sem] {
            let mut off = 0;
            while off < block.size() {
                let pte = Pte {
                    aperture: Aperture::Vram,
                    // CAST: an offset in a block fits u64.
                    addr: block.addr() + off as u64,
                    read_only: false,
                    privileged: layout.privileged,
                };
                // CAST: as above.
                vmm.map(va + off as u64, &pte, PageSize::Small)?;
                off += INST_PAGE;
            }
            // CAST: as above.
            va += block.size() as u64;
        }

        let entries = usize::try_from(layout.entries).map_err(|_| EINVAL)?;
        let inflight = KVec::from_elem(Inflight::default(), entries, GFP_KERNEL)?;
        let sem_addr = sem.addr();
        let shared_backend = backend.clone();
        let shared = Arc::pin_init(
            try_pin_init!(Shared {
                backend: shared_backend,
                submits: AtomicU64::new(0),
                waits: AtomicU64::new(0),
                wait_ns: AtomicU64::new(0),
                sem: sem_addr,
                state <- new_mutex!(State {
                    hw: None,
                    error: None,
                    last_error: None,
                    epoch: 0,
                    resets: [(0, 0); RESET_LOG],
                    nresets: 0,
                    gp_put: 0,
                    push_put: 0,
                    next_seq: 1,
                    inflight,
                    head: 0,
                    len: 0,
                    need_bind: true,
                }, "nova_svm::Channel::state"),
                cond <- new_condvar!("nova_svm::Channel::cond"),
            }),
            GFP_KERNEL,
        )?;
        let desc = ChannelDesc {
            pdb: vmm.pdb(),
            gpfifo_va: layout.va,
            gpfifo_entries: layout.entries,
            userd: userd.addr(),
            privileged: layout.privileged,
        };
        let hw = backend.channel_new(&desc, shared.clone())?;
        shared.state.lock().hw = Some(hw);
        Ok(Self {
            shared,
            vmm: KBox::pin_init(new_mutex!(vmm, "nova_svm::Channel::vmm"), GFP_KERNEL)?,
            ce: chip.ce,
            layout,
            gpfifo,
            push,
            _userd: userd,
            _sem: sem,
        })
    }

    /// The copy-engine class the channel runs.
    pub(crate) fn ce(&self) -> &'static CeClass {
        self.ce
    }

    /// GPU virtual address of the fence semaphore.
    fn sem_va(&self) -> u64 {
        // CAST: block sizes fit u64.
        self.layout.va + (self.gpfifo.size() + self.push.size()) as u64
    }

    /// The channel's address space.
    pub(crate) fn vmm(&self) -> MutexGuard<'_, Vmm> {
        self.vmm.lock()
    }

    /// The error the channel last stopped on, if any, even if it was reset since.
    pub(crate) fn last_error(&self) -> Option<ChannelError> {
        self.shared.state.lock().last_error
    }

    /// Forgets the last error.
    pub(crate) fn clear_last_error(&self) {
        self.shared.state.lock().last_error = None;
    }

    /// The number of resets so far.
    pub(crate) fn resets(&self) -> u64 {
        self.shared.state.lock().nresets
    }

    /// Submissions so far, fence waits, and the nanoseconds those waited.
    pub(crate) fn counters(&self) -> (u64, u64, u64) {
        let sh = &*self.shared;
        (
            sh.submits.load(Ordering::Relaxed),
            sh.waits.load(Ordering::Relaxed),
            sh.wait_ns.load(Ordering::Relaxed),
        )
    }

    /// The most dwords one submission may hold.
    pub(crate) fn max_push(&self) -> usize {
        // Half the ring, so that one submission can be written while another runs.
        self.push.size() / 4 / 2 - FENCE_DWORDS - BIND_DWORDS
    }

    /// Submits `push` (a push buffer for the channel) and returns its fence.
    ///
    /// Waits, for at most `timeout_ms`, for room in the rings. Allocates nothing: it may run
    /// under locks that memory reclaim takes.
    pub(crate) fn submit(&self, push: &[u32], timeout_ms: u32) -> Result<Fence> {
        let sh = &*self.shared;
        if push.len() > self.max_push() {
            return Err(EINVAL);
        }
        let ring = u32::try_from(self.push.size() / 4).map_err(|_| EINVAL)?;
        let entries = self.layout.entries;
        let start = Instant::<Monotonic>::now();
        let mut st = sh.state.lock();
        if st.error.is_some() {
            sh.reset(&mut st)?;
        }
        // CAST: `max_push` keeps these far below u32::MAX.
        let need = (push.len() + FENCE_DWORDS + BIND_DWORDS) as u32;
        let at = loop {
            sh.retire(&mut st);
            let room = self.room(&st, ring, need);
            let gp_room = u32::try_from(st.len).map_err(|_| EINVAL)? + 1 < entries;
            if let (Some(at), true) = (room, gp_room) {
                break at;
            }
            if let Some(err) = st.error {
                pr_debug!(
                    "nova-svm: channel stopped while waiting for room: {:?}\n",
                    err
                );
                sh.reset(&mut st)?;
                continue;
            }
            let left = i64::from(timeout_ms) - start.elapsed().as_millis();
            if left <= 0 {
                st.last_error = Some(ChannelError::Timeout);
                let _ = sh.reset(&mut st);
                return Err(ETIMEDOUT);
            }
            // CAST: `left` is positive and at most `timeout_ms`.
            let _ = sh.cond.wait_timeout(&mut st, msecs_to_jiffies(left as u32));
        };

        // The tail: bind the copy engine after a reset, release the semaphore, interrupt.
        let seq = st.next_seq;
        let mut head = [0u32; BIND_DWORDS];
        let mut nhead = 0;
        if st.need_bind {
            let data = header::SET_OBJECT_NVCLASS.val(self.ce.id);
            nhead = methods_into(&mut head, CE_SUBCHANNEL, header::SET_OBJECT, &[data])?;
        }
        let mut tail = [0u32; FENCE_DWORDS];
        let va = self.sem_va();
        let exec = mthd::SEM_EXECUTE_OPERATION.val(mthd::sem_op::RELEASE)
            | mthd::SEM_EXECUTE_RELEASE_WFI.val(mthd::RELEASE_WFI_EN)
            | mthd::SEM_EXECUTE_PAYLOAD_SIZE.val(mthd::PAYLOAD_SIZE_64BIT);
        // CAST: bits 31:0 and 63:32 of the address and the payload.
        let sem = [
            va as u32,
            (va >> 32) as u32,
            seq as u32,
            (seq >> 32) as u32,
            exec,
        ];
        let n = methods_into(&mut tail, HOST_SUBCHANNEL, mthd::SEM_ADDR_LO, &sem)?;
        let m = methods_into(
            tail.get_mut(n..).ok_or(EINVAL)?,
            HOST_SUBCHANNEL,
            mthd::NON_STALL_INTERRUPT,
            &[0],
        )?;
        let ntail = n + m;

        // Write the segment, then the GP entry, then `GPPut`, then ring.
        // CAST: dword offsets in the ring fit usize.
        let mut off = at as usize * 4;
        self.push
            .write_u32s(off, head.get(..nhead).ok_or(EINVAL)?)?;
        off += nhead * 4;
        self.push.write_u32s(off, push)?;
        off += push.len() * 4;
        self.push
            .write_u32s(off, tail.get(..ntail).ok_or(EINVAL)?)?;
        // CAST: the segment is at most half the ring.
        let dwords = (nhead + push.len() + ntail) as u32;
        // CAST: the GPFIFO block's size fits u64.
        let seg_va = self.layout.va + self.gpfifo.size() as u64 + u64::from(at) * 4;
        let entry = Segment {
            va: seg_va,
            dwords,
            sync: false,
        }
        .encode(self.layout.privileged)
        .ok_or(EINVAL)?;
        let gp = st.gp_put;
        // CAST: an index below `entries` times 8.
        self.gpfifo
            .write_u32s(gp as usize * host::gp::ENTRY_SIZE, &entry)?;
        st.gp_put = (gp + 1) % entries;
        st.push_put = at + dwords;
        st.next_seq += 1;
        st.need_bind = false;
        let slot = (st.head + st.len) % st.inflight.len();
        if let Some(f) = st.inflight.get_mut(slot) {
            *f = Inflight { seq, start: at };
        }
        st.len += 1;
        let userd = self._userd.addr();
        let gp_put = st.gp_put.to_le_bytes();
        // CAST: a USERD offset fits u64.
        sh.backend
            .bar_write(userd + host::userd::GP_PUT as u64, &gp_put)?;
        let token = st.hw.as_ref().map_or(u32::MAX, |hw| hw.token());
        sh.backend
            .usermode_write(host::usermode::NOTIFY_CHANNEL_PENDING, token);
        sh.submits.fetch_add(1, Ordering::Relaxed);
        Ok(Fence {
            shared: self.shared.clone(),
            seq,
            epoch: st.epoch,
        })
    }

    /// The dword where a segment of `need` dwords can start in the push-buffer ring of
    /// `ring` dwords, if there is room. The busy part of the ring runs from the start of the
    /// oldest submission in flight to `push_put`; a segment does not wrap, it starts at 0
    /// when it does not fit before the end.
    fn room(&self, st: &State, ring: u32, need: u32) -> Option<u32> {
        let put = st.push_put;
        if st.len == 0 {
            return Some(if put + need <= ring { put } else { 0 });
        }
        let busy = st.inflight.get(st.head)?.start;
        if put >= busy {
            // Free: `put..ring`, then `0..busy`.
            if put + need <= ring {
                Some(put)
            } else {
                (need < busy).then_some(0)
            }
        } else {
            // Free: `put..busy`; the segment must not reach `busy`, or the ring would look
            // empty.
            (put + need < busy).then_some(put)
        }
    }

    /// Submits a TLB invalidate of the channel's address space and waits for it.
    pub(crate) fn invalidate_tlb(&self, timeout_ms: u32) -> Result {
        let pdb = self.vmm.lock().pdb();
        let c = mthd::MEM_OP_C_PDB.val(mthd::PDB_ONE)
            | mthd::MEM_OP_C_ACK_TYPE.val(mthd::ACK_TYPE_GLOBALLY)
            | mthd::MEM_OP_C_PAGE_TABLE_LEVEL.val(mthd::PAGE_TABLE_LEVEL_ALL)
            | mthd::MEM_OP_C_PDB_APERTURE.val(mthd::PDB_APERTURE_VID_MEM)
            // CAST: bits 31:12 of the address.
            | mthd::MEM_OP_C_PDB_ADDR_LO.val((pdb.addr >> 12) as u32);
        // CAST: bits 58:32 of the address.
        let d = mthd::MEM_OP_D_OPERATION.val(mthd::OPERATION_MMU_TLB_INVALIDATE)
            | mthd::MEM_OP_D_PDB_ADDR_HI.val((pdb.addr >> 32) as u32);
        let mut push = KVec::new();
        push_methods(
            &mut push,
            HOST_SUBCHANNEL,
            mthd::MEM_OP_A,
            &[mthd::MEM_OP_A_SYSMEMBAR.val(1), 0, c, d],
        )?;
        self.submit(&push, timeout_ms)?.wait(timeout_ms)
    }

    /// Unmaps the pages of `size` at `vas`, invalidates the TLB, then frees the tables that
    /// became empty.
    pub(crate) fn unmap(
        &self,
        vas: impl Iterator<Item = u64>,
        size: PageSize,
        timeout_ms: u32,
    ) -> Result {
        let mut retired = Retired::new();
        {
            let mut vmm = self.vmm.lock();
            for va in vas {
                vmm.unmap(va, size, &mut retired)?;
            }
        }
        self.invalidate_tlb(timeout_ms)?;
        // The GPU no longer walks the retired tables: they go back to instance memory.
        drop(retired);
        Ok(())
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        // Wait for what is in flight, then take the backend's channel out of the shared
        // state and drop it outside the lock: its teardown waits for event deliveries,
        // which take the lock.
        let last = {
            let st = self.shared.state.lock();
            (st.len > 0).then(|| Fence {
                shared: self.shared.clone(),
                seq: st.next_seq - 1,
                epoch: st.epoch,
            })
        };
        if let Some(f) = last {
            // Work in flight may still use memory its submitter is about to release; give
            // it a moment, then stop the channel regardless.
            let _ = f.wait(DROP_TIMEOUT_MS);
        }
        let hw = {
            let mut st = self.shared.state.lock();
            st.hw.take()
        };
        drop(hw);
    }
}
