// SPDX-License-Identifier: MIT

//! `nova_svm_fuzz`: a seeded fuzzer of every nova-svm ioctl, with memory
//! changing under it (issue 16, item 1).
//!
//! The main thread makes [`DEFAULT_CALLS`] calls (`NOVA_SVM_FUZZ_CALLS`
//! changes the count), drawn from a [`SplitMix64`] seeded with
//! `NOVA_SVM_FUZZ_SEED` (decimal or `0x` hex; the time when unset). Each
//! call is one of:
//! - SVM_BIND with a well-formed header over part of a mapping of the zoo,
//!   to VRAM or to system memory;
//! - SVM_BIND and DEVICE_COPY built from boundary values (zero, one, a page
//!   minus one, the end of the user address space, the unmanaged window,
//!   `u64::MAX`, random bits in every field). The fuzzer predicts which of
//!   them the uapi header says must fail with `EINVAL`, and checks that
//!   they do;
//! - DEVICE_COPY and FILL between the oracle mappings (exact), and into or
//!   out of the chaos mappings (any documented outcome);
//! - CPU writes, reads, `pwrite` and `pread` of the oracle;
//! - GETPARAM and SVM_INIT with random arguments, raw ioctls with numbers
//!   and sizes the driver does not have;
//! - a fork whose child uses the inherited file: every SVM call from the
//!   child's address space must fail with `EPERM`.
//!
//! Meanwhile a chaos thread changes the chaos mappings: it maps them
//! again, unmaps, moves (`mremap`, also with `MREMAP_DONTUNMAP`) and
//! protects parts, `madvise`s them (DONTNEED, PAGEOUT, COLD), truncates,
//! punches holes in, zeroes and allocates ranges of their files, writes
//! them, forks children that write them, and migrates them itself.
//!
//! The zoo: the oracle (a private anonymous mapping and a `MAP_SHARED`
//! tmpfs file, which only the main thread writes, with a [`Vec`] model of
//! each), and chaos mappings: private 4 KiB and THP anonymous memory,
//! shared anonymous memory, `MAP_PRIVATE` and `MAP_SHARED` file mappings
//! (on ext4 when the VM has it, else tmpfs), PROT_NONE, read-only and
//! mlocked memory.
//!
//! The oracle is checked against its model after every read, and in full
//! at the end, through the mapping and with `pread` after an `fsync`. An
//! unexpected errno or a mismatch fails the run with the seed and the
//! last calls of both threads. Splats are the harness's to catch: every
//! kernel warning on the console fails the suite.

use std::collections::VecDeque;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use nova_svm_uapi::abi::{
    self, DeviceCopy, GetParam, SvmBind, SvmInit, NOVA_SVM_BIND_TARGET_GPU_VRAM,
    NOVA_SVM_BIND_TARGET_SYSTEM, NOVA_SVM_BIND_VALID_MASK, NOVA_SVM_DEVICE_COPY_FILL,
    NOVA_SVM_DEVICE_COPY_FLAGS,
};
use nova_svm_uapi::{BindTarget, Device};

use crate::check::{fail, OrFail};
use crate::env::{open_device, Env};
use crate::igt::{Stop, TestResult};
use crate::mem::{page_size, user_space_end, Mapping};
use crate::suites::file::{FsDir, TestFile};
use crate::suites::file_random::SplitMix64;

/// Calls unless `NOVA_SVM_FUZZ_CALLS` says otherwise: the slice that every
/// `cargo xtask test` runs.
pub const DEFAULT_CALLS: u64 = 20_000;
/// The environment variable with the call count.
pub const CALLS_ENV: &str = "NOVA_SVM_FUZZ_CALLS";
/// The environment variable with the seed.
pub const SEED_ENV: &str = "NOVA_SVM_FUZZ_SEED";
/// The environment variable that narrows the chaos zoo to some kinds.
pub const KINDS_ENV: &str = "NOVA_SVM_FUZZ_KINDS";

/// Pages of each oracle mapping.
const ORACLE_PAGES: u64 = 64;
/// Calls of each thread kept for a failure report.
const HISTORY: usize = 40;
/// Bytes of the unmanaged window.
const WINDOW: u64 = 2 << 20;

/// What a chaos mapping is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Anon,
    Thp,
    SharedAnon,
    FilePrivate,
    FileShared,
    ProtNone,
    ReadOnly,
    Locked,
}

/// A chaos mapping: where it is and how to map it again.
struct Slot {
    kind: Kind,
    addr: u64,
    len: u64,
    /// The file it maps, for the file kinds.
    fd: i32,
}

impl Slot {
    fn prot(&self) -> i32 {
        match self.kind {
            Kind::ProtNone => libc::PROT_NONE,
            Kind::ReadOnly => libc::PROT_READ,
            _ => libc::PROT_READ | libc::PROT_WRITE,
        }
    }

    fn flags(&self) -> i32 {
        let fixed = libc::MAP_FIXED;
        match self.kind {
            Kind::SharedAnon => libc::MAP_SHARED | libc::MAP_ANONYMOUS | fixed,
            Kind::FilePrivate => libc::MAP_PRIVATE | fixed,
            Kind::FileShared => libc::MAP_SHARED | fixed,
            _ => libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | fixed,
        }
    }

    /// Maps the whole slot again, replacing what is there, and prepares it
    /// as its kind wants. The slot's range belongs to the fuzzer, so
    /// `MAP_FIXED` replaces nothing else.
    fn remap(&self) {
        let fd = if self.fd >= 0 { self.fd } else { -1 };
        // CAST: addresses and lengths of this process fit usize.
        // SAFETY: `MAP_FIXED` over the slot's own range, which only the
        // chaos thread and the kernel (through the ioctls) touch; no Rust
        // reference points into it.
        let p = unsafe {
            libc::mmap(
                self.addr as usize as *mut libc::c_void,
                self.len as usize,
                self.prot(),
                self.flags(),
                fd,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return;
        }
        // SAFETY: advice and locking on the slot's own range change no
        // memory that Rust code reads through a reference.
        unsafe {
            let a = p;
            let n = self.len as usize;
            match self.kind {
                Kind::Thp => {
                    libc::madvise(a, n, libc::MADV_HUGEPAGE);
                }
                Kind::Anon => {
                    libc::madvise(a, n, libc::MADV_NOHUGEPAGE);
                }
                Kind::Locked => {
                    libc::mlock(a, n);
                }
                _ => {}
            }
        }
    }
}

/// A ring of the last calls, for a failure report.
#[derive(Default)]
struct History(VecDeque<String>);

impl History {
    fn push(&mut self, s: String) {
        if self.0.len() == HISTORY {
            self.0.pop_front();
        }
        self.0.push_back(s);
    }

    fn dump(&self) -> String {
        self.0.iter().map(|s| format!("\n    {s}")).collect()
    }
}

/// The errno of an `io::Result`, 0 for success.
fn errno<T>(r: &std::io::Result<T>) -> i32 {
    match r {
        Ok(_) => 0,
        Err(e) => e.raw_os_error().unwrap_or(-1),
    }
}

/// The name of an errno the fuzzer sees.
fn errname(e: i32) -> String {
    match e {
        0 => "ok".into(),
        libc::EINVAL => "EINVAL".into(),
        libc::EFAULT => "EFAULT".into(),
        libc::ENOMEM => "ENOMEM".into(),
        libc::EINTR => "EINTR".into(),
        libc::EPERM => "EPERM".into(),
        libc::ENOENT => "ENOENT".into(),
        libc::EBUSY => "EBUSY".into(),
        libc::EIO => "EIO".into(),
        libc::ENOTTY => "ENOTTY".into(),
        e => format!("errno {e}"),
    }
}

/// What the uapi header says of an SVM_BIND: `true` when it must fail with
/// `EINVAL`.
fn bind_invalid(b: &SvmBind, page: u64, end: u64, window: (u64, u64)) -> bool {
    if b.stride != 0 || b.reserved0 != 0 || b.reserved1 != 0 {
        return true;
    }
    if b.header & !NOVA_SVM_BIND_VALID_MASK != 0 || b.header & 0xff != 0 {
        return true;
    }
    let target = (b.header >> 16) & 0xffff_ffff;
    if target != NOVA_SVM_BIND_TARGET_SYSTEM && target != NOVA_SVM_BIND_TARGET_GPU_VRAM {
        return true;
    }
    let start = b.va_start & !(page - 1);
    let Some(stop) = b.va_end.checked_add(page - 1).map(|v| v & !(page - 1)) else {
        return true;
    };
    stop <= start || stop > end || (start < window.0 + window.1 && window.0 < stop)
}

/// What the uapi header says of a DEVICE_COPY: `true` when it must fail
/// with `EINVAL`.
fn copy_invalid(c: &DeviceCopy, page: u64, end: u64, window: (u64, u64)) -> bool {
    let fill = c.flags & NOVA_SVM_DEVICE_COPY_FILL != 0;
    if c.reserved0 != 0 || c.reserved1 != 0 || c.flags & !NOVA_SVM_DEVICE_COPY_FLAGS != 0 {
        return true;
    }
    if (fill && c.src != 0) || (!fill && c.pattern != 0) {
        return true;
    }
    if c.size == 0 || !c.size.is_multiple_of(page) {
        return true;
    }
    let bad = |a: u64| {
        !a.is_multiple_of(page)
            || match a.checked_add(c.size) {
                None => true,
                Some(e) => e > end || (a < window.0 + window.1 && window.0 < e),
            }
    };
    if bad(c.dst) || (!fill && bad(c.src)) {
        return true;
    }
    !fill && c.src < c.dst + c.size && c.dst < c.src + c.size
}

/// The fuzzer's state on the main thread.
struct Fuzz {
    env: Env,
    rng: SplitMix64,
    page: u64,
    end: u64,
    window: (u64, u64),
    /// The oracle: a private anonymous mapping, and a shared tmpfs file.
    anon: Mapping,
    file: TestFile,
    fmap: Mapping,
    /// What the oracle holds.
    anon_model: Vec<u8>,
    file_model: Vec<u8>,
    /// The chaos mappings (the thread changes what is in them, never where
    /// they are).
    slots: Arc<Vec<Slot>>,
    history: History,
    chaos_history: Arc<Mutex<History>>,
    /// Calls by outcome, for the summary.
    einval: u64,
    ok: u64,
    other: u64,
}

/// Reads `len` bytes at `addr` (a mapping of the oracle) into a vector.
fn read_oracle(m: &Mapping, off: u64, len: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len as usize);
    let mut at = off;
    while at < off + len {
        out.extend_from_slice(&m.read_u64(at).to_le_bytes());
        at += 8;
    }
    out
}

/// Writes `data` at `off` of an oracle mapping.
fn write_oracle(m: &Mapping, off: u64, data: &[u8]) {
    for (i, w) in data.chunks_exact(8).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        m.write_u64(off + 8 * i as u64, u64::from_le_bytes(b));
    }
}

impl Fuzz {
    fn fail(&self, what: String) -> Stop {
        let chaos = self
            .chaos_history
            .lock()
            .map(|h| h.dump())
            .unwrap_or_default();
        fail(format!(
            "{what}\n  last calls of the main thread:{}\n  last calls of the chaos thread:{chaos}",
            self.history.dump()
        ))
    }

    /// Checks `got` against the errnos `allowed` (0 is success).
    fn expect(&mut self, call: String, got: i32, allowed: &[i32]) -> TestResult {
        self.history.push(format!("{call} -> {}", errname(got)));
        match got {
            0 => self.ok += 1,
            libc::EINVAL => self.einval += 1,
            _ => self.other += 1,
        }
        if allowed.contains(&got) {
            Ok(())
        } else {
            let want: Vec<String> = allowed.iter().map(|e| errname(*e)).collect();
            Err(self.fail(format!(
                "{call}: got {}, want one of {}",
                errname(got),
                want.join(", ")
            )))
        }
    }

    /// An address from the boundary set, or one of the zoo's.
    fn boundary(&mut self) -> u64 {
        let p = self.page;
        let pick = self.rng.below(14);
        match pick {
            0 => 0,
            1 => 1,
            2 => p - 1,
            3 => p,
            4 => self.end - p,
            5 => self.end,
            6 => self.end + p,
            7 => u64::MAX - p + 1,
            8 => u64::MAX,
            9 => self.window.0 + self.rng.below(self.window.1 / p) * p,
            10 => self.rng.next_u64(),
            11 => self.rng.next_u64() & !(p - 1) & ((1 << 47) - 1),
            _ => {
                let (addr, len) = self.random_slot();
                addr + self.rng.below(len / p) * p
            }
        }
    }

    /// A chaos slot, drawn at random: its address and length.
    fn random_slot(&mut self) -> (u64, u64) {
        let s = &self.slots[self.rng.below(self.slots.len() as u64) as usize];
        (s.addr, s.len)
    }

    /// The first address of a random run of `n` pages (at most the
    /// mapping's) in the mapping at `addr` of `len` bytes.
    fn run_in(&mut self, addr: u64, len: u64, n: u64) -> u64 {
        addr + self.rng.below(len / self.page - n + 1) * self.page
    }

    /// A length from the boundary set.
    fn boundary_len(&mut self) -> u64 {
        let p = self.page;
        match self.rng.below(9) {
            0 => 0,
            1 => 1,
            2 => p - 1,
            3 => p,
            4 => p + 1,
            5 => u64::MAX - p + 1,
            6 => self.rng.next_u64(),
            _ => self.rng.range(1, 16) * p,
        }
    }

    /// Part of a chaos slot or of the oracle, in whole pages.
    fn some_range(&mut self) -> (u64, u64) {
        let p = self.page;
        let (addr, len) = match self.rng.below(4) {
            0 => (self.anon.addr(), self.anon.len()),
            1 => (self.fmap.addr(), self.fmap.len()),
            _ => self.random_slot(),
        };
        let pages = len / p;
        let first = self.rng.below(pages);
        let n = self.rng.range(1, (pages - first).min(64));
        (addr + first * p, n * p)
    }

    fn bind(&mut self, b: &mut SvmBind) -> i32 {
        errno(&self.env.dev.ioctl(b))
    }

    fn bind_valid(&mut self) -> TestResult {
        let (addr, len) = self.some_range();
        let target = if self.rng.chance(1, 2) {
            BindTarget::GpuVram
        } else {
            BindTarget::System
        };
        let mut b = SvmBind::migrate(addr..addr + len, target, self.rng.below(256) as u8);
        let got = self.bind(&mut b);
        let call = format!("SVM_BIND {target:?} {addr:#x}+{len:#x} moved {}", b.result);
        self.expect(call, got, &[0, libc::ENOMEM, libc::EINTR])?;
        if got == 0 && b.result > len / self.page {
            return Err(self.fail(format!(
                "SVM_BIND {addr:#x}+{len:#x} says it moved {} pages, more than the range has",
                b.result
            )));
        }
        Ok(())
    }

    fn bind_garbage(&mut self) -> TestResult {
        let r = &mut self.rng;
        let mut header = match r.below(4) {
            0 => r.next_u64(),
            1 => (r.next_u64() & 0xff) | (NOVA_SVM_BIND_TARGET_GPU_VRAM << 16),
            _ => abi::svm_bind_header(
                0,
                r.below(256),
                if r.chance(1, 2) {
                    NOVA_SVM_BIND_TARGET_GPU_VRAM
                } else {
                    NOVA_SVM_BIND_TARGET_SYSTEM
                },
            ),
        };
        if r.chance(1, 8) {
            header |= 1 << r.range(16, 63);
        }
        let va_start = self.boundary();
        let va_end = if self.rng.chance(1, 2) {
            va_start.wrapping_add(self.boundary_len())
        } else {
            self.boundary()
        };
        let field = |rng: &mut SplitMix64| {
            if rng.chance(1, 6) {
                rng.next_u64() | 1
            } else {
                0
            }
        };
        let mut b = SvmBind {
            header,
            va_start,
            va_end,
            npages: self.rng.next_u64(),
            stride: field(&mut self.rng),
            result: self.rng.next_u64(),
            reserved0: field(&mut self.rng),
            reserved1: field(&mut self.rng),
        };
        let invalid = bind_invalid(&b, self.page, self.end, self.window);
        let call = format!("SVM_BIND(raw) {b:x?}");
        let got = self.bind(&mut b);
        if invalid {
            self.expect(call, got, &[libc::EINVAL])
        } else {
            self.expect(call, got, &[0, libc::ENOMEM, libc::EINTR])
        }
    }

    /// A DEVICE_COPY or FILL that may write only where `dst` says: a chaos
    /// slot, an address no mapping of the fuzzer's holds, or one the kernel
    /// refuses.
    fn copy_garbage(&mut self) -> TestResult {
        let fill = self.rng.chance(1, 3);
        let dst = self.boundary();
        let src = if fill && self.rng.chance(7, 8) {
            0
        } else {
            self.boundary()
        };
        let size = self.boundary_len();
        let mut flags = if fill { NOVA_SVM_DEVICE_COPY_FILL } else { 0 };
        if self.rng.chance(1, 10) {
            flags |= 1 << self.rng.below(32);
        }
        let pattern = if fill || self.rng.chance(1, 10) {
            self.rng.next_u64() as u32
        } else {
            0
        };
        let r0 = if self.rng.chance(1, 10) { 1 } else { 0 };
        let mut c = DeviceCopy {
            dst,
            src,
            size,
            flags,
            pattern,
            result: self.rng.next_u64(),
            reserved0: r0,
            reserved1: 0,
        };
        let invalid = copy_invalid(&c, self.page, self.end, self.window);
        if !invalid && !self.writable_by_garbage(c.dst, c.size) {
            // A valid copy that could write memory of the fuzzer's own (the
            // oracle, a model, the heap): not this one.
            return Ok(());
        }
        let call = format!("DEVICE_COPY(raw) {c:x?}");
        // SAFETY: the kernel refuses the arguments, or the destination lies
        // in one chaos slot, which no Rust reference covers, or below
        // `mmap_min_addr`, where nothing is mapped (checked above).
        let got = errno(&unsafe { self.env.dev.ioctl_unchecked(&mut c) });
        if invalid {
            self.expect(call, got, &[libc::EINVAL])
        } else {
            self.expect(call, got, &[0, libc::EFAULT, libc::ENOMEM, libc::EINTR])?;
            if got == 0 && c.result != c.size {
                return Err(self.fail(format!("{c:x?}: success with result != size")));
            }
            Ok(())
        }
    }

    /// Whether a copy may write `[addr, addr + len)`: it lies within one
    /// chaos slot, or below the lowest address a process can map (64 KiB,
    /// the largest `mmap_min_addr` default), where it must fail.
    fn writable_by_garbage(&self, addr: u64, len: u64) -> bool {
        let Some(end) = addr.checked_add(len) else {
            return false;
        };
        end <= 0x1_0000
            || self
                .slots
                .iter()
                .any(|s| s.addr <= addr && end <= s.addr + s.len)
    }

    /// The model and mapping of oracle `which` (0: anon, 1: file).
    fn oracle(&mut self, which: u64) -> (&Mapping, &mut Vec<u8>) {
        if which == 0 {
            (&self.anon, &mut self.anon_model)
        } else {
            (&self.fmap, &mut self.file_model)
        }
    }

    /// A page-granular copy or fill inside the oracle, checked exactly.
    fn copy_oracle(&mut self) -> TestResult {
        let p = self.page;
        let max = ORACLE_PAGES;
        let n = self.rng.range(1, 16);
        let (dw, sw) = (self.rng.below(2), self.rng.below(2));
        let doff = self.rng.below(max - n + 1) * p;
        let soff = self.rng.below(max - n + 1) * p;
        let fill = self.rng.chance(1, 3);
        let pattern = self.rng.next_u64() as u32;
        let dst = self.oracle(dw).0.addr() + doff;
        let src = self.oracle(sw).0.addr() + soff;
        let size = n * p;
        if !fill && dw == sw && soff < doff + size && doff < soff + size {
            return Ok(());
        }
        let mut c = if fill {
            DeviceCopy::fill(dst, size, pattern)
        } else {
            DeviceCopy::copy(dst, src, size)
        };
        let call = format!("DEVICE_COPY {c:x?}");
        // SAFETY: the destination is oracle memory, which is reached only
        // through `Region`'s atomics, never through a Rust reference.
        let got = errno(&unsafe { self.env.dev.ioctl_unchecked(&mut c) });
        self.expect(call, got, &[0, libc::EINTR])?;
        let done = if got == 0 { size } else { c.result };
        let data: Vec<u8> = if fill {
            pattern
                .to_ne_bytes()
                .iter()
                .copied()
                .cycle()
                .take(done as usize)
                .collect()
        } else {
            let (_, sm) = self.oracle(sw);
            sm[soff as usize..(soff + done) as usize].to_vec()
        };
        let (_, dm) = self.oracle(dw);
        dm[doff as usize..(doff + done) as usize].copy_from_slice(&data);
        Ok(())
    }

    /// A copy into the oracle from a chaos slot: whatever arrives becomes
    /// the model of that range, read back by the CPU.
    fn copy_into_oracle(&mut self) -> TestResult {
        let p = self.page;
        let (addr, len) = self.random_slot();
        let n = self.rng.range(1, 8).min(len / p);
        let src = self.run_in(addr, len, n);
        let dw = self.rng.below(2);
        let doff = self.rng.below(ORACLE_PAGES - n + 1) * p;
        let dst = self.oracle(dw).0.addr() + doff;
        let mut c = DeviceCopy::copy(dst, src, n * p);
        let call = format!("DEVICE_COPY(chaos->oracle) {c:x?}");
        // SAFETY: as in `copy_oracle`.
        let got = errno(&unsafe { self.env.dev.ioctl_unchecked(&mut c) });
        self.expect(call, got, &[0, libc::EFAULT, libc::ENOMEM, libc::EINTR])?;
        let (m, model) = self.oracle(dw);
        let now = read_oracle(m, doff, n * p);
        model[doff as usize..(doff + n * p) as usize].copy_from_slice(&now);
        Ok(())
    }

    /// A copy between chaos slots, or out of the oracle into one.
    fn copy_chaos(&mut self) -> TestResult {
        let p = self.page;
        let (addr, len) = self.random_slot();
        let n = self.rng.range(1, 16).min(len / p);
        let dst = self.run_in(addr, len, n);
        let from_oracle = self.rng.chance(1, 2);
        let src = if from_oracle {
            let w = self.rng.below(2);
            self.oracle(w).0.addr() + self.rng.below(ORACLE_PAGES - n + 1) * p
        } else {
            let (addr, len) = self.random_slot();
            let k = n.min(len / p);
            self.run_in(addr, len, k)
        };
        let fill = self.rng.chance(1, 4);
        let mut c = if fill {
            DeviceCopy::fill(dst, n * p, self.rng.next_u64() as u32)
        } else {
            DeviceCopy::copy(dst, src, n * p)
        };
        let invalid = copy_invalid(&c, p, self.end, self.window);
        let call = format!("DEVICE_COPY(chaos) {c:x?}");
        // SAFETY: the destination is a chaos slot, which no Rust reference
        // covers.
        let got = errno(&unsafe { self.env.dev.ioctl_unchecked(&mut c) });
        if invalid {
            self.expect(call, got, &[libc::EINVAL])
        } else {
            self.expect(call, got, &[0, libc::EFAULT, libc::ENOMEM, libc::EINTR])
        }
    }

    fn cpu_write(&mut self) -> TestResult {
        let p = self.page;
        let w = self.rng.below(2);
        let off = self.rng.below(ORACLE_PAGES * p / 8) * 8;
        let words = self.rng.range(1, 512).min((ORACLE_PAGES * p - off) / 8);
        let seed = self.rng.next_u64();
        let data: Vec<u8> = (0..words)
            .flat_map(|i| crate::suites::file_random::mix64(seed ^ i).to_le_bytes())
            .collect();
        let use_pwrite = w == 1 && self.rng.chance(1, 2);
        if use_pwrite {
            self.file
                .file
                .write_all_at(&data, off)
                .or_fail("pwrite of the oracle file")?;
        } else {
            let (m, _) = self.oracle(w);
            write_oracle(m, off, &data);
        }
        let (_, model) = self.oracle(w);
        model[off as usize..off as usize + data.len()].copy_from_slice(&data);
        self.history.push(format!(
            "{} oracle {w} at {off:#x}, {} bytes",
            if use_pwrite { "pwrite" } else { "CPU write" },
            data.len()
        ));
        Ok(())
    }

    fn verify(&mut self, w: u64, off: u64, len: u64, how: &str) -> TestResult {
        let got = if how == "pread" {
            let mut buf = vec![0u8; len as usize];
            self.file
                .file
                .read_exact_at(&mut buf, off)
                .or_fail("pread of the oracle file")?;
            buf
        } else {
            read_oracle(self.oracle(w).0, off, len)
        };
        self.history
            .push(format!("{how} oracle {w} at {off:#x}, {len} bytes"));
        let (_, model) = self.oracle(w);
        let want = &model[off as usize..(off + len) as usize];
        if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
            let at = off + i as u64;
            let (g, wv) = (got[i], want[i]);
            return Err(self.fail(format!(
                "data mismatch: oracle {w} byte {at:#x} ({how}) is {g:#04x}, the model says {wv:#04x}"
            )));
        }
        Ok(())
    }

    fn cpu_read(&mut self) -> TestResult {
        let p = self.page;
        let w = self.rng.below(2);
        let first = self.rng.below(ORACLE_PAGES);
        let n = self.rng.range(1, ORACLE_PAGES - first).min(8);
        let how = if w == 1 && self.rng.chance(1, 2) {
            "pread"
        } else {
            "CPU read"
        };
        self.verify(w, first * p, n * p, how)
    }

    fn getparam(&mut self) -> TestResult {
        let param = if self.rng.chance(1, 2) {
            self.rng.range(1, 4) as u32
        } else {
            self.rng.next_u64() as u32
        };
        let pad = if self.rng.chance(1, 4) { 1 } else { 0 };
        let mut g = GetParam {
            param,
            pad,
            value: self.rng.next_u64(),
        };
        let got = errno(&self.env.dev.ioctl(&mut g));
        let known = (1..=4).contains(&param) && pad == 0;
        let call = format!("GETPARAM {param:#x} pad {pad}");
        self.expect(call, got, if known { &[0] } else { &[libc::EINVAL] })
    }

    fn init_again(&mut self) -> TestResult {
        let mut i = SvmInit {
            unmanaged_addr: self.boundary(),
            unmanaged_size: self.boundary_len(),
        };
        let call = format!("SVM_INIT {i:x?}");
        let got = errno(&self.env.dev.ioctl(&mut i));
        self.expect(call, got, &[libc::EBUSY, libc::EINVAL])
    }

    /// An ioctl number of the driver's range that it does not have, or a
    /// known one with a size it does not take, on a random buffer.
    fn raw_ioctl(&mut self) -> TestResult {
        let nr = if self.rng.chance(1, 2) {
            abi::DRM_COMMAND_BASE + self.rng.range(4, 0x3f) as u8
        } else {
            // GETPARAM, SVM_INIT or SVM_BIND: never DEVICE_COPY, whose
            // random addresses could write anywhere.
            abi::DRM_COMMAND_BASE + self.rng.below(3) as u8
        };
        let size = self.rng.below(128) as usize;
        let dir = self.rng.below(4) as u32;
        let request = abi::ioc::ioc(dir, abi::DRM_IOCTL_BASE, nr, size);
        let mut buf = [0u64; 16];
        for w in buf.iter_mut() {
            *w = if self.rng.chance(1, 2) {
                0
            } else {
                self.rng.next_u64()
            };
        }
        // SAFETY: the buffer has 128 bytes, as many as any size the request
        // encodes; the numbers are of ioctls that write only their argument.
        let r = unsafe {
            nova_svm_uapi::raw::ioctl(self.env.dev.as_raw_fd(), request, buf.as_mut_ptr().cast())
        };
        let got = errno(&r);
        let call = format!("ioctl {request:#x} (nr {nr:#x}, size {size}, dir {dir})");
        // Any errno is fine for a malformed request: the kernel must only
        // stay healthy, which the console check sees.
        self.history.push(format!("{call} -> {}", errname(got)));
        Ok(())
    }

    /// A child process uses the inherited file: the SVM context is the
    /// parent's, so every SVM call must fail with `EPERM`.
    fn fork_child(&mut self) -> TestResult {
        let fd = self.env.dev.as_raw_fd();
        let (addr, len) = (self.anon.addr(), self.page);
        // SAFETY: the child only issues ioctls on stack values and exits
        // with `_exit`, which is safe after fork in a threaded process.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(self.fail("fork failed".into()));
        }
        if pid == 0 {
            let mut b = SvmBind::migrate(addr..addr + len, BindTarget::GpuVram, 0);
            let mut c = DeviceCopy::fill(addr, len, 0x5a5a_5a5a);
            let dev = std::mem::ManuallyDrop::new(Device::from_fd(
                // SAFETY: the fd is open (inherited); ManuallyDrop keeps
                // the child from closing it twice.
                unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) },
            ));
            let rb = errno(&dev.ioctl(&mut b));
            // SAFETY: the child's copy of the oracle page is its own; the
            // kernel must refuse the call anyway.
            let rc = errno(&unsafe { dev.ioctl_unchecked(&mut c) });
            let code = if rb == libc::EPERM && rc == libc::EPERM {
                0
            } else {
                1
            };
            // SAFETY: `_exit` ends the child without running the parent's
            // destructors.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waits for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
        self.history.push(format!(
            "fork: child's SVM_BIND and DEVICE_COPY -> {}",
            if ok { "EPERM, EPERM" } else { "not EPERM" }
        ));
        if !ok {
            return Err(self.fail(format!(
                "a child using its parent's file got something other than EPERM (status {status:#x})"
            )));
        }
        Ok(())
    }

    fn step(&mut self) -> TestResult {
        match self.rng.below(100) {
            0..=19 => self.bind_valid(),
            20..=29 => self.bind_garbage(),
            30..=39 => self.copy_garbage(),
            40..=54 => self.copy_oracle(),
            55..=59 => self.copy_into_oracle(),
            60..=69 => self.copy_chaos(),
            70..=79 => self.cpu_write(),
            80..=91 => self.cpu_read(),
            92..=94 => self.getparam(),
            95 => self.init_again(),
            96..=98 => self.raw_ioctl(),
            _ => self.fork_child(),
        }
    }

    /// The whole oracle against its model, through the mappings and with
    /// pread after an fsync.
    fn verify_all(&mut self) -> TestResult {
        let len = ORACLE_PAGES * self.page;
        self.verify(0, 0, len, "final CPU read")?;
        self.verify(1, 0, len, "final CPU read")?;
        self.file.fsync()?;
        self.verify(1, 0, len, "pread")
    }
}

/// The chaos thread: changes the chaos slots until `stop`.
fn chaos(
    slots: Arc<Vec<Slot>>,
    seed: u64,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<History>>,
    fd: i32,
) -> u64 {
    let mut rng = SplitMix64::new(seed);
    let page = page_size();
    let dev = std::mem::ManuallyDrop::new(Device::from_fd(
        // SAFETY: the main thread keeps the file open until it has joined
        // this thread; ManuallyDrop keeps this thread from closing it.
        unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) },
    ));
    let mut ops = 0;
    while !stop.load(Ordering::Relaxed) {
        let s = &slots[rng.below(slots.len() as u64) as usize];
        let pages = s.len / page;
        let first = rng.below(pages);
        let n = rng.range(1, pages - first);
        let (a, l) = (s.addr + first * page, n * page);
        // CAST: addresses of this process fit usize.
        let p = a as usize as *mut libc::c_void;
        let op = rng.below(12);
        // SAFETY: every call works on the slot's own range, which no Rust
        // reference covers; a slot is mapped again before it is written.
        let what = unsafe {
            match op {
                0 => {
                    s.remap();
                    "remap".to_string()
                }
                1 => {
                    libc::munmap(p, l as usize);
                    "munmap".into()
                }
                2 => {
                    let advice = [libc::MADV_DONTNEED, libc::MADV_PAGEOUT, libc::MADV_COLD]
                        [rng.below(3) as usize];
                    libc::madvise(p, l as usize, advice);
                    format!("madvise {advice}")
                }
                3 => {
                    let prot = [
                        libc::PROT_NONE,
                        libc::PROT_READ,
                        libc::PROT_READ | libc::PROT_WRITE,
                    ][rng.below(3) as usize];
                    libc::mprotect(p, l as usize, prot);
                    format!("mprotect {prot}")
                }
                4 if s.fd >= 0 => {
                    // CAST: file offsets of a small file fit i64.
                    libc::fallocate(
                        s.fd,
                        libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                        (first * page) as i64,
                        l as i64,
                    );
                    "punch hole".into()
                }
                5 if s.fd >= 0 => {
                    libc::ftruncate(s.fd, (first * page) as i64);
                    libc::ftruncate(s.fd, s.len as i64);
                    "truncate down and up".into()
                }
                10 => {
                    // Moves part of the slot to another place in it; the
                    // kernel refuses overlapping ranges, and DONTUNMAP
                    // leaves the old range mapped and empty.
                    let to = s.addr + rng.below(pages - n + 1) * page;
                    let mut flags = libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED;
                    if rng.chance(1, 4) {
                        flags |= libc::MREMAP_DONTUNMAP;
                    }
                    let r = libc::mremap(p, l as usize, l as usize, flags, to as usize);
                    let how = if r == libc::MAP_FAILED {
                        "failed"
                    } else {
                        "ok"
                    };
                    format!("mremap {flags:#x} to {to:#x}: {how}")
                }
                11 if s.fd >= 0 => {
                    let mode = [0, libc::FALLOC_FL_ZERO_RANGE | libc::FALLOC_FL_KEEP_SIZE]
                        [rng.below(2) as usize];
                    // CAST: file offsets of a small file fit i64.
                    libc::fallocate(s.fd, mode, (first * page) as i64, l as i64);
                    format!("fallocate {mode:#x}")
                }
                6 | 7 => {
                    // Writes need the whole slot mapped writable: map it
                    // again first (and the file at its full size).
                    if s.fd >= 0 {
                        libc::ftruncate(s.fd, s.len as i64);
                    }
                    if matches!(s.kind, Kind::ProtNone | Kind::ReadOnly) {
                        "skip write".into()
                    } else {
                        s.remap();
                        let v = rng.next_u64();
                        let mut at = a;
                        while at < a + l {
                            std::ptr::write_volatile(at as usize as *mut u64, v ^ at);
                            at += page;
                        }
                        if op == 7 {
                            let pid = libc::fork();
                            if pid == 0 {
                                std::ptr::write_volatile(a as usize as *mut u64, !v);
                                libc::_exit(0);
                            }
                            if pid > 0 {
                                libc::waitpid(pid, std::ptr::null_mut(), 0);
                            }
                            "write, fork and write in the child".into()
                        } else {
                            "write".into()
                        }
                    }
                }
                _ => {
                    let target = if rng.chance(1, 2) {
                        BindTarget::GpuVram
                    } else {
                        BindTarget::System
                    };
                    let mut b = SvmBind::migrate(a..a + l, target, 0);
                    let r = errno(&dev.ioctl(&mut b));
                    format!("SVM_BIND {target:?} -> {}", errname(r))
                }
            }
        };
        ops += 1;
        if let Ok(mut h) = log.lock() {
            h.push(format!("{:?} {a:#x}+{l:#x}: {what}", s.kind));
        }
    }
    for s in slots.iter() {
        if s.fd >= 0 {
            // SAFETY: the slot's own file.
            unsafe { libc::ftruncate(s.fd, s.len as i64) };
        }
        s.remap();
    }
    ops
}

/// Parses a decimal or `0x` hex number.
fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Runs the fuzzer; the body of `nova_svm_fuzz`.
pub fn run() -> TestResult {
    let calls = match std::env::var(CALLS_ENV) {
        Ok(v) => parse_u64(&v).ok_or_else(|| fail(format!("{CALLS_ENV}={v} is not a number")))?,
        Err(_) => DEFAULT_CALLS,
    };
    let seed = match std::env::var(SEED_ENV) {
        Ok(v) => parse_u64(&v).ok_or_else(|| fail(format!("{SEED_ENV}={v} is not a number")))?,
        Err(_) => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    };
    println!("nova_svm_fuzz: seed {seed:#x}, {calls} calls ({SEED_ENV}={seed:#x} repeats the run)");

    // Without an SVM context every SVM call fails with ENOENT.
    let bare = open_device()?;
    let mut b = SvmBind::migrate(0x10000..0x20000, BindTarget::GpuVram, 0);
    let got = errno(&bare.ioctl(&mut b));
    if got != libc::ENOENT {
        return Err(fail(format!(
            "SVM_BIND without SVM_INIT: got {}, want ENOENT",
            errname(got)
        )));
    }
    drop(bare);

    let env = Env::open()?;
    let page = env.page;
    let window = Mapping::reserve(WINDOW).or_fail("reserve the unmanaged window")?;
    env.dev
        .svm_init(window.addr(), window.len())
        .or_fail("SVM_INIT with an unmanaged window")?;

    let len = ORACLE_PAGES * page;
    let anon = Mapping::anon(len).or_fail("mmap the anonymous oracle")?;
    let tmp = FsDir::tmpfs()?;
    let file = TestFile::new(&tmp, "fuzz-oracle", len)?;
    let fmap = file.map_shared(len)?;
    let mut rng = SplitMix64::new(seed);
    let mut anon_model = vec![0u8; len as usize];
    let mut file_model = vec![0u8; len as usize];
    for (m, model) in [(&anon, &mut anon_model), (&fmap, &mut file_model)] {
        for (i, w) in model.chunks_exact_mut(8).enumerate() {
            let v = rng.next_u64();
            w.copy_from_slice(&v.to_le_bytes());
            m.write_u64(8 * i as u64, v);
        }
    }

    // The chaos zoo: mappings made here, whose ranges the chaos thread
    // maps again in place.
    let disk = match FsDir::ext4() {
        Ok(d) => d,
        Err(_) => FsDir::tmpfs()?,
    };
    let cf_private = TestFile::new(&tmp, "fuzz-chaos-private", 32 * page)?;
    let cf_shared = TestFile::new(&disk, "fuzz-chaos-shared", 32 * page)?;
    let thp = Mapping::aligned_anon(4 << 20, 2 << 20).or_fail("mmap THP chaos")?;
    let mut keep = vec![thp];
    let mut slots = Vec::new();
    let mut add = |kind: Kind, m: Mapping, fd: i32, keep: &mut Vec<Mapping>| {
        slots.push(Slot {
            kind,
            addr: m.addr(),
            len: m.len(),
            fd,
        });
        keep.push(m);
    };
    let thp_slot = Slot {
        kind: Kind::Thp,
        addr: keep[0].addr(),
        len: keep[0].len(),
        fd: -1,
    };
    add(
        Kind::Anon,
        Mapping::anon(64 * page).or_fail("mmap chaos")?,
        -1,
        &mut keep,
    );
    add(
        Kind::SharedAnon,
        Mapping::shared_anon(32 * page).or_fail("mmap chaos")?,
        -1,
        &mut keep,
    );
    add(
        Kind::FilePrivate,
        cf_private.map_private(32 * page)?,
        cf_private.file.as_raw_fd(),
        &mut keep,
    );
    add(
        Kind::FileShared,
        cf_shared.map_shared(32 * page)?,
        cf_shared.file.as_raw_fd(),
        &mut keep,
    );
    add(
        Kind::ProtNone,
        Mapping::reserve(16 * page).or_fail("mmap chaos")?,
        -1,
        &mut keep,
    );
    add(
        Kind::ReadOnly,
        Mapping::anon(16 * page).or_fail("mmap chaos")?,
        -1,
        &mut keep,
    );
    add(
        Kind::Locked,
        Mapping::anon(16 * page).or_fail("mmap chaos")?,
        -1,
        &mut keep,
    );
    slots.push(thp_slot);
    // NOVA_SVM_FUZZ_KINDS=thp,fileshared aims the calls at those kinds of
    // chaos mapping only, to chase a failure that involves them.
    if let Ok(kinds) = std::env::var(KINDS_ENV) {
        let want: Vec<String> = kinds.split(',').map(|k| k.trim().to_lowercase()).collect();
        slots.retain(|s| want.contains(&format!("{:?}", s.kind).to_lowercase()));
        if slots.is_empty() {
            return Err(fail(format!(
                "{KINDS_ENV}={kinds} names no chaos mapping (anon, thp, sharedanon, fileprivate, fileshared, protnone, readonly, locked)"
            )));
        }
    }
    for s in &slots {
        s.remap();
    }
    let slots = Arc::new(slots);

    let stop = Arc::new(AtomicBool::new(false));
    let chaos_history = Arc::new(Mutex::new(History::default()));
    let fd = env.dev.as_raw_fd();
    let chaos_thread = {
        let (slots, stop, log) = (slots.clone(), stop.clone(), chaos_history.clone());
        std::thread::spawn(move || chaos(slots, seed ^ 0xc4a0_5c4a_05c4_a05c, stop, log, fd))
    };

    let mut f = Fuzz {
        env,
        rng,
        page,
        end: user_space_end(),
        window: (window.addr(), window.len()),
        anon,
        file,
        fmap,
        anon_model,
        file_model,
        slots,
        history: History::default(),
        chaos_history,
        einval: 0,
        ok: 0,
        other: 0,
    };
    let start = Instant::now();
    let mut r = Ok(());
    for i in 0..calls {
        r = f.step();
        if r.is_err() {
            println!("nova_svm_fuzz: failed at call {i} of seed {seed:#x}");
            break;
        }
        if (i + 1) % 5000 == 0 {
            println!(
                "nova_svm_fuzz: {} calls in {:.1} s",
                i + 1,
                start.elapsed().as_secs_f64()
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    let chaos_ops = chaos_thread.join().unwrap_or(0);
    r?;
    f.verify_all()?;
    println!(
        "nova_svm_fuzz: seed {seed:#x}: {calls} calls ({} ok, {} EINVAL, {} other errors), {chaos_ops} chaos operations, {:.1} s, oracle intact",
        f.ok,
        f.einval,
        f.other,
        start.elapsed().as_secs_f64()
    );
    drop(keep);
    drop(window);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = 4096;
    const END: u64 = (1 << 47) - P;
    const WIN: (u64, u64) = (0x1000_0000, 0x20_0000);

    #[test]
    fn bind_prediction_follows_the_header() {
        let ok = SvmBind::migrate(0x40_0000..0x40_2000, BindTarget::GpuVram, 3);
        assert!(!bind_invalid(&ok, P, END, WIN));
        let mut b = ok;
        b.reserved1 = 1;
        assert!(bind_invalid(&b, P, END, WIN));
        let mut b = ok;
        b.header |= 1 << 50;
        assert!(bind_invalid(&b, P, END, WIN));
        let mut b = ok;
        b.header |= 1;
        assert!(bind_invalid(&b, P, END, WIN), "unknown command");
        let mut b = ok;
        b.va_end = u64::MAX;
        assert!(bind_invalid(&b, P, END, WIN), "rounding overflows");
        let mut b = ok;
        (b.va_start, b.va_end) = (0x40_1000, 0x40_0001);
        assert!(bind_invalid(&b, P, END, WIN), "empty after rounding");
        let mut b = ok;
        (b.va_start, b.va_end) = (0x40_0fff, 0x40_1001);
        assert!(!bind_invalid(&b, P, END, WIN), "rounds out to two pages");
        let mut b = ok;
        (b.va_start, b.va_end) = (WIN.0 - P, WIN.0 + 1);
        assert!(bind_invalid(&b, P, END, WIN), "overlaps the window");
        let mut b = ok;
        (b.va_start, b.va_end) = (END - P, END);
        assert!(!bind_invalid(&b, P, END, WIN), "the last page");
        b.va_end = END + 1;
        assert!(
            bind_invalid(&b, P, END, WIN),
            "beyond the user address space"
        );
    }

    #[test]
    fn copy_prediction_follows_the_header() {
        let ok = DeviceCopy::copy(0x40_0000, 0x50_0000, 2 * P);
        assert!(!copy_invalid(&ok, P, END, WIN));
        let mut c = ok;
        c.src = 0x40_1000;
        assert!(copy_invalid(&c, P, END, WIN), "overlap");
        let mut c = ok;
        c.pattern = 1;
        assert!(copy_invalid(&c, P, END, WIN), "pattern without FILL");
        let fill = DeviceCopy::fill(0x40_0000, P, 7);
        assert!(!copy_invalid(&fill, P, END, WIN));
        let mut c = fill;
        c.src = 0x50_0000;
        assert!(copy_invalid(&c, P, END, WIN), "FILL with a source");
        let mut c = ok;
        c.flags = 2;
        assert!(copy_invalid(&c, P, END, WIN), "unknown flag");
        let mut c = ok;
        c.size = P + 1;
        assert!(copy_invalid(&c, P, END, WIN), "size not in pages");
        let mut c = ok;
        c.dst = END;
        assert!(
            copy_invalid(&c, P, END, WIN),
            "beyond the user address space"
        );
        let mut c = ok;
        c.dst = u64::MAX - P + 1;
        assert!(copy_invalid(&c, P, END, WIN), "overflow");
        let mut c = ok;
        c.src = WIN.0;
        assert!(copy_invalid(&c, P, END, WIN), "source in the window");
    }

    #[test]
    fn history_keeps_the_last_calls() {
        let mut h = History::default();
        for i in 0..100 {
            h.push(format!("call {i}"));
        }
        assert_eq!(h.0.len(), HISTORY);
        assert!(h.dump().ends_with("call 99"));
        assert!(!h.dump().contains("call 59\n"));
    }
}
