// SPDX-License-Identifier: GPL-2.0

//! The device's debugfs files: statistics, the GPU timeout, and channel tests.
//!
//! `/sys/kernel/debug/nova_svm/<device>/` holds:
//!
//! - `stats`: the kernel channel's submissions, fence waits, resets and last error, the DMA
//!   mappings live and made, the instance memory in use.
//! - `timeout_ms`: how long the driver waits for the GPU before it declares a channel hung
//!   and resets it (read and write).
//! - `channel_test`: write a test name to run it on a test channel, an unprivileged channel
//!   with its own address space; read it for the outcome of the last test. The tests make
//!   the GPU do what userspace cannot make it do through the uapi (a bad push buffer, an
//!   access to an unmapped or read-only address, to a bus address that is not or no longer
//!   mapped, a semaphore acquire that never completes), and each one ends by checking that
//!   the channel it broke runs again. `kernel-bad-push` breaks the kernel channel that
//!   migrations use.
//!
//! debugfs is only reachable by root.

use kernel::{
    debugfs::{Dir, Scope, ScopedDir},
    dma::DataDirection,
    fmt,
    mm::hmm::PageRef,
    new_mutex,
    page::Page,
    prelude::*,
    str::CString,
    sync::{Arc, Mutex},
    uaccess::UserSliceReader,
};

use crate::{
    ce::{header, push::PushBuffer, Aperture, PhysAddr},
    chan::{self, Channel, Layout, CE_SUBCHANNEL},
    gpu::Gpu,
    host::mthd,
    instmem::{InstBlock, INST_PAGE},
    mmu::{PageSize, Pte},
};

/// GPU virtual address of the test channel's own objects.
const TEST_CHAN_VA: u64 = 0x1000_0000;
/// GPU virtual address of the test pages: `A` (read-write), `B` (read-write), `RO`
/// (read-only), `PRIV` (privileged), one page each, and nothing after them.
const TEST_VA: u64 = 0x4000_0000;
/// The test page `A`.
const VA_A: u64 = TEST_VA;
/// The test page `B`.
const VA_B: u64 = TEST_VA + 0x1000;
/// The read-only test page.
const VA_RO: u64 = TEST_VA + 0x2000;
/// The privileged test page.
const VA_PRIV: u64 = TEST_VA + 0x3000;
/// An address nothing is mapped at.
const VA_UNMAPPED: u64 = TEST_VA + 0x10_0000;
/// A bus address of system memory that is never mapped for the GPU: the first MiB of
/// physical memory is the firmware's.
const BUS_UNMAPPED: u64 = 0x8_0000;
/// How long the tests wait for the test channel.
const TEST_TIMEOUT_MS: u32 = 500;

/// The test channel and its pages.
struct TestChannel {
    chan: Channel,
    a: InstBlock,
    b: InstBlock,
    _ro: InstBlock,
    _privileged: InstBlock,
}

/// What the debugfs files reach.
#[pin_data]
pub(crate) struct Diag {
    gpu: Arc<Gpu>,
    /// The test channel (created by the first test) and the outcome of the last test.
    #[pin]
    state: Mutex<(Option<TestChannel>, Option<CString>)>,
}

/// The debugfs directory of a device: dropped, it removes the files.
pub(crate) struct DiagFiles {
    _scope: Pin<KBox<Scope<Diag>>>,
    _root: Dir,
}

impl DiagFiles {
    /// Creates `nova_svm/<name>/` for `gpu`.
    pub(crate) fn new(gpu: Arc<Gpu>, name: &CStr) -> Result<Self> {
        let root = Dir::new(c"nova_svm");
        let data = try_pin_init!(Diag {
            gpu,
            state <- new_mutex!((None, None), "nova_svm::Diag::state"),
        }? Error);
        let scope = KBox::pin_init(root.scope(data, name, populate), GFP_KERNEL)?;
        Ok(Self {
            _scope: scope,
            _root: root,
        })
    }
}

/// Creates the files of `d` in `dir`.
fn populate<'data, 'dir>(d: &'data Diag, dir: &'dir ScopedDir<'data, 'dir>) {
    dir.read_callback_file(c"stats", d, &stats);
    dir.read_write_callback_file(c"timeout_ms", d, &timeout_read, &timeout_write);
    dir.read_write_callback_file(c"channel_test", d, &test_read, &test_write);
}

/// `stats`.
fn stats(d: &Diag, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let chan = d.gpu.channel();
    let (submits, waits, wait_ns) = chan.counters();
    let (dma_live, dma_total) = d.gpu.dma_counters();
    let chip = d.gpu.backend().chip();
    writeln!(
        f,
        "chip {:?} ce {:#06x} gpfifo {:#06x} usermode {:#06x} fault_buffer {:#06x} mmu {:?}",
        chip.family,
        chip.ce.id,
        chip.channel_class,
        chip.usermode_class,
        chip.fault_buffer_class,
        chip.mmu
    )?;
    writeln!(f, "kernel_channel_submits {submits}")?;
    writeln!(f, "kernel_channel_waits {waits}")?;
    writeln!(f, "kernel_channel_wait_ns {wait_ns}")?;
    writeln!(f, "kernel_channel_resets {}", chan.resets())?;
    writeln!(f, "kernel_channel_last_error {:?}", chan.last_error())?;
    writeln!(f, "dma_mappings_live {dma_live}")?;
    writeln!(f, "dma_mappings_total {dma_total}")?;
    writeln!(f, "instmem_pages_used {}", d.gpu.instmem().used())?;
    let hw = d.gpu.backend().counters();
    writeln!(f, "gpu_busy_ns {}", hw.busy_ns)?;
    writeln!(f, "gpu_faults {}", hw.faults)?;
    writeln!(f, "gpu_copy_bytes {}", hw.copy_bytes)?;
    writeln!(f, "gpu_copy_ns {}", hw.copy_ns)?;
    for (name, ns) in crate::gpu::Phase::NAMES.iter().zip(d.gpu.phase_ns()) {
        writeln!(f, "migrate_{name}_ns {ns}")?;
    }
    Ok(())
}

/// `timeout_ms`, read.
fn timeout_read(d: &Diag, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "{}", d.gpu.timeout_ms())
}

/// Reads a short line from `r`, without its trailing newline.
fn read_line(r: &mut UserSliceReader) -> Result<KVec<u8>> {
    let mut buf = [0u8; 64];
    let n = r.len().min(buf.len());
    let line = buf.get_mut(..n).ok_or(EINVAL)?;
    r.read_slice(line)?;
    let text = line.strip_suffix(b"\n").unwrap_or(line);
    let mut v = KVec::with_capacity(text.len(), GFP_KERNEL)?;
    v.extend_from_slice(text, GFP_KERNEL)?;
    Ok(v)
}

/// `timeout_ms`, written: a number of milliseconds, 1 or more.
fn timeout_write(d: &Diag, r: &mut UserSliceReader) -> Result {
    let line = read_line(r)?;
    let text = core::str::from_utf8(&line).map_err(|_| EINVAL)?;
    let ms: u32 = text.trim().parse().map_err(|_| EINVAL)?;
    if ms == 0 {
        return Err(EINVAL);
    }
    d.gpu.set_timeout_ms(ms);
    Ok(())
}

/// `channel_test`, read: the outcome of the last test.
fn test_read(d: &Diag, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match &d.state.lock().1 {
        Some(s) => writeln!(f, "{}", s.to_str().unwrap_or("?")),
        None => writeln!(f, "none"),
    }
}

/// `channel_test`, written: runs the named test and records its outcome.
fn test_write(d: &Diag, r: &mut UserSliceReader) -> Result {
    let line = read_line(r)?;
    let name = core::str::from_utf8(&line).map_err(|_| EINVAL)?.trim();
    let mut st = d.state.lock();
    if st.0.is_none() {
        st.0 = Some(TestChannel::new(&d.gpu)?);
    }
    let outcome = match &st.0 {
        Some(tc) => run_test(&d.gpu, tc, name)?,
        None => return Err(ENODEV),
    };
    pr_info!(
        "nova-svm: channel_test {}: {}\n",
        name,
        outcome.to_str().unwrap_or("?")
    );
    st.1 = Some(outcome);
    Ok(())
}

impl TestChannel {
    /// Creates the test channel and maps its pages.
    fn new(gpu: &Gpu) -> Result<Self> {
        let im = gpu.instmem();
        let chan = Channel::new(
            im,
            Layout {
                va: TEST_CHAN_VA,
                entries: 64,
                push_pages: 4,
                privileged: false,
            },
        )?;
        let (a, b, ro, privileged) = (im.alloc(1)?, im.alloc(1)?, im.alloc(1)?, im.alloc(1)?);
        {
            let mut vmm = chan.vmm();
            for (va, block, read_only, privileged) in [
                (VA_A, &a, false, false),
                (VA_B, &b, false, false),
                (VA_RO, &ro, true, false),
                (VA_PRIV, &privileged, false, true),
            ] {
                let pte = Pte {
                    aperture: Aperture::Vram,
                    addr: block.addr(),
                    read_only,
                    privileged,
                };
                vmm.map(va, &pte, PageSize::Small)?;
            }
        }
        chan.invalidate_tlb(TEST_TIMEOUT_MS)?;
        Ok(Self {
            chan,
            a,
            b,
            _ro: ro,
            _privileged: privileged,
        })
    }

    /// Submits `push` and waits for it.
    fn run(&self, push: &[u32]) -> Result {
        self.chan
            .submit(push, TEST_TIMEOUT_MS)?
            .wait(TEST_TIMEOUT_MS)
    }

    /// A push buffer that copies `len` bytes from `src` to `dst` (virtual addresses).
    fn copy_push(&self, src: u64, dst: u64, len: u32) -> Result<KVec<u32>> {
        let mut buf = KVec::from_elem(0u32, 32, GFP_KERNEL)?;
        let mut pb =
            PushBuffer::new(self.chan.ce(), CE_SUBCHANNEL, &mut buf).map_err(|_| EINVAL)?;
        pb.copy_virtual(src, dst, len).map_err(|_| EINVAL)?;
        let n = pb.len();
        buf.truncate(n);
        Ok(buf)
    }

    /// Copies page `A` to page `B` with the copy engine and checks `B` through the BAR.
    fn good_copy(&self, seed: u32) -> Result<bool> {
        let words: KVec<u32> = {
            let mut v = KVec::with_capacity(INST_PAGE / 4, GFP_KERNEL)?;
            for i in 0..INST_PAGE / 4 {
                // CAST: an index below 1024.
                v.push(seed.wrapping_mul(0x9e37_79b9) ^ i as u32, GFP_KERNEL)?;
            }
            v
        };
        self.a.write_u32s(0, &words)?;
        self.b.write_u32s(0, &[0; 16])?;
        // CAST: a page fits u32.
        self.run(&self.copy_push(VA_A, VA_B, INST_PAGE as u32)?)?;
        let mut back = KVec::from_elem(0u8, INST_PAGE, GFP_KERNEL)?;
        self.b.read(0, &mut back)?;
        Ok(back
            .chunks_exact(4)
            .zip(words.iter())
            .all(|(b, w)| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) == *w))
    }
}

/// Formats `args` as the outcome of a test.
fn outcome(args: fmt::Arguments<'_>) -> Result<CString> {
    CString::try_from_fmt(args)
}

/// Describes what running `push` on the test channel led to, then checks that the channel
/// copies again.
fn expect_error(tc: &TestChannel, what: &str, push: &[u32]) -> Result<CString> {
    tc.chan.clear_last_error();
    let r = tc.run(push);
    let err = tc.chan.last_error();
    let recovered = if tc.good_copy(7).unwrap_or(false) {
        "yes"
    } else {
        "no"
    };
    let got = match r {
        Ok(()) => "no error",
        Err(e) if e == EIO => "EIO",
        Err(e) if e == ETIMEDOUT => "ETIMEDOUT",
        Err(_) => "other error",
    };
    outcome(fmt!("{what}: {got} {err:?}; recovered: {recovered}"))
}

/// A push buffer that copies one page from system memory at bus address `bus` to page `B`,
/// physically addressed.
fn phys_copy_push(tc: &TestChannel, bus: u64) -> Result<KVec<u32>> {
    let mut buf = KVec::from_elem(0u32, 32, GFP_KERNEL)?;
    let mut pb = PushBuffer::new(tc.chan.ce(), CE_SUBCHANNEL, &mut buf).map_err(|_| EINVAL)?;
    // CAST: a page fits u32.
    pb.copy(
        PhysAddr::sysmem(bus),
        PhysAddr::vram(tc.b.addr()),
        INST_PAGE as u32,
        1,
        0,
        0,
    )
    .map_err(|_| EINVAL)?;
    let n = pb.len();
    buf.truncate(n);
    Ok(buf)
}

/// Runs the test `name`.
fn run_test(gpu: &Gpu, tc: &TestChannel, name: &str) -> Result<CString> {
    // CAST: a page fits u32.
    let page = INST_PAGE as u32;
    match name {
        "copy" => {
            let ok = tc.good_copy(1)?;
            let ok = if ok { "ok" } else { "mismatch" };
            outcome(fmt!("copy: {ok}"))
        }
        "fault-unmapped" => expect_error(tc, name, &tc.copy_push(VA_UNMAPPED, VA_B, page)?),
        "fault-readonly" => expect_error(tc, name, &tc.copy_push(VA_A, VA_RO, page)?),
        "fault-privileged" => expect_error(tc, name, &tc.copy_push(VA_PRIV, VA_B, page)?),
        "bad-header" => {
            // `SEC_OP` 6 (`RESERVED6`) is no header.
            let word = header::DMA_SEC_OP.val(header::sec_op::RESERVED6);
            expect_error(tc, name, &[word])
        }
        "bad-method" => {
            // A method the copy-engine class does not have.
            let hdr = header::inc_method(CE_SUBCHANNEL, 0x3ff0, 1).ok_or(EINVAL)?;
            expect_error(tc, name, &[hdr, 0])
        }
        "hang" => {
            // An acquire of a value page `A` never holds.
            tc.a.write_u32s(0, &[0, 0])?;
            let mut push = KVec::new();
            let exec = mthd::SEM_EXECUTE_OPERATION.val(mthd::sem_op::ACQUIRE);
            // CAST: bits 31:0 and 39:32 of the address.
            chan::host_methods(
                &mut push,
                mthd::SEM_ADDR_LO,
                &[VA_A as u32, (VA_A >> 32) as u32, 0xdead_beef, 0, exec],
            )?;
            expect_error(tc, name, &push)
        }
        "dma-unmapped" => expect_error(tc, name, &phys_copy_push(tc, BUS_UNMAPPED)?),
        "dma-stale" => {
            // Map a page, note its bus address, unmap it: the address must not work any
            // more.
            let p = Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?;
            let bus = {
                let mut maps = crate::gpu::DmaMaps::new(gpu, 1)?;
                let a = maps.map(&PageRef::from_page(&p), INST_PAGE, DataDirection::ToDevice)?;
                maps.publish()?;
                // The address works while mapped.
                tc.run(&phys_copy_push(tc, a.addr)?)?;
                a.addr
            };
            expect_error(tc, name, &phys_copy_push(tc, bus)?)
        }
        "kernel-bad-push" => {
            let k = gpu.channel();
            k.clear_last_error();
            let word = header::DMA_SEC_OP.val(header::sec_op::RESERVED6);
            let r = k.submit(&[word], gpu.timeout_ms())?.wait(gpu.timeout_ms());
            let err = k.last_error();
            // The kernel channel must run again: an empty submission waits for it.
            let again = k.submit(&[], gpu.timeout_ms())?.wait(gpu.timeout_ms());
            let what = if r == Err(EIO) { "EIO" } else { "unexpected" };
            let recovered = if again.is_ok() { "yes" } else { "no" };
            outcome(fmt!(
                "kernel-bad-push: {what} {err:?}; recovered: {recovered}"
            ))
        }
        _ => Err(EINVAL),
    }
}
