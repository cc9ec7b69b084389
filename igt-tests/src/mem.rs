// SPDX-License-Identifier: MIT

//! Memory that the tests share with the device: mappings, malloc buffers,
//! fill patterns and their verification.
//!
//! The device writes these buffers behind the compiler's back (DEVICE_COPY)
//! and pages move under them (migration), so they are never reached
//! through Rust references: every access is an atomic load or store through
//! a raw address ([`Region`]). That also lets threads of a test touch the
//! same page at once without a data race.

use std::io;
use std::ops::{Deref, Range};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

use crate::check::fail;
use crate::igt::TestResult;

/// The kernel's base page size.
pub fn page_size() -> u64 {
    nova_svm_uapi::page_size()
}

/// `x` rounded down to a multiple of `to` (a power of two).
pub const fn round_down(x: u64, to: u64) -> u64 {
    x & !(to - 1)
}

/// `x` rounded up to a multiple of `to` (a power of two); saturates at the
/// highest multiple.
pub const fn round_up(x: u64, to: u64) -> u64 {
    match x.checked_add(to - 1) {
        Some(v) => v & !(to - 1),
        None => round_down(u64::MAX, to),
    }
}

/// Bits of a pattern word that hold the word's index.
const INDEX_BITS: u32 = 40;

/// The 64-bit word that pattern `seed` puts at word index `word` of a
/// buffer: the seed in the top 24 bits, the index in the low 40. Every word
/// of a buffer differs, so a page copied to the wrong place is caught, and
/// a failure message shows which seed and word were expected. Seeds start
/// at 1, so no pattern word is zero.
pub const fn pattern(seed: u64, word: u64) -> u64 {
    (seed << INDEX_BITS) | (word & ((1 << INDEX_BITS) - 1))
}

/// A span of this process's memory that the tests read and write word by
/// word. Only the owners ([`Mapping`], [`MallocBuf`]) create one, and it
/// lives inside them.
///
/// Invariant: `[addr, addr + len)` stays allocated to its owner for the
/// region's lifetime, `addr` is 8-byte aligned, and the memory is accessed
/// only atomically (never through a Rust reference). Parts that a test
/// unmaps or protects fault when touched, which crashes the subtest (and
/// fails it) rather than reading someone else's memory.
#[derive(Debug)]
pub struct Region {
    addr: u64,
    len: u64,
}

/// How a verification reports a difference.
struct Mismatch {
    count: u64,
    pages: u64,
    first: Option<(u64, u64, u64)>,
}

impl Region {
    /// First address.
    pub fn addr(&self) -> u64 {
        self.addr
    }

    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the region is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// End address (exclusive).
    pub fn end(&self) -> u64 {
        self.addr + self.len
    }

    /// `[addr, end)`.
    pub fn range(&self) -> Range<u64> {
        self.addr..self.end()
    }

    /// The address range of `len` bytes at offset `off`.
    pub fn sub(&self, off: u64, len: u64) -> Range<u64> {
        assert!(
            off.checked_add(len).is_some_and(|e| e <= self.len),
            "range {off:#x}+{len:#x} outside a region of {:#x} bytes",
            self.len
        );
        self.addr + off..self.addr + off + len
    }

    /// The page-rounded address range that holds the region (what SVM_BIND
    /// rounds it out to).
    pub fn page_range(&self) -> Range<u64> {
        let page = page_size();
        round_down(self.addr, page)..round_up(self.end(), page)
    }

    /// The pages of [`Region::page_range`].
    pub fn page_count(&self) -> u64 {
        let r = self.page_range();
        (r.end - r.start) / page_size()
    }

    fn word_ptr<T>(&self, off: u64, width: u64) -> *mut T {
        assert!(
            off.is_multiple_of(width) && off.checked_add(width).is_some_and(|e| e <= self.len),
            "access of {width} bytes at offset {off:#x} outside a region of {:#x} bytes",
            self.len
        );
        // CAST: an address of this process's memory fits in a pointer.
        (self.addr + off) as usize as *mut T
    }

    /// Reads the 64-bit word at byte offset `off` (8-byte aligned).
    pub fn read_u64(&self, off: u64) -> u64 {
        let p = self.word_ptr::<u64>(off, 8);
        // SAFETY:
        // - `p` is 8-byte aligned and inside the region, which is allocated
        //   for the region's lifetime (type invariant).
        // - The region's memory is only accessed atomically, so this load
        //   races with no non-atomic access.
        unsafe { AtomicU64::from_ptr(p) }.load(Ordering::Relaxed)
    }

    /// Writes the 64-bit word at byte offset `off` (8-byte aligned).
    pub fn write_u64(&self, off: u64, v: u64) {
        let p = self.word_ptr::<u64>(off, 8);
        // SAFETY: As in `read_u64`.
        unsafe { AtomicU64::from_ptr(p) }.store(v, Ordering::Relaxed);
    }

    /// Reads the 32-bit word at byte offset `off` (4-byte aligned).
    pub fn read_u32(&self, off: u64) -> u32 {
        let p = self.word_ptr::<u32>(off, 4);
        // SAFETY: As in `read_u64`, with 4-byte alignment.
        unsafe { AtomicU32::from_ptr(p) }.load(Ordering::Relaxed)
    }

    /// Writes `f(offset)` to every 64-bit word of `[off, off + len)`.
    pub fn fill_with(&self, off: u64, len: u64, f: impl Fn(u64) -> u64) {
        let mut o = off;
        while o < off + len {
            self.write_u64(o, f(o));
            o += 8;
        }
    }

    /// Fills the whole region with pattern `seed`.
    pub fn fill(&self, seed: u64) {
        self.fill_range(0, self.len, seed);
    }

    /// Fills `[off, off + len)` with pattern `seed`, indexed from the
    /// region's start (so a range filled alone matches a whole fill).
    pub fn fill_range(&self, off: u64, len: u64, seed: u64) {
        self.fill_with(off, len, |o| pattern(seed, o / 8));
    }

    /// Reads one word of every page of the region, faulting each page into
    /// the CPU's view (and so migrating device pages back).
    pub fn touch(&self) {
        let page = page_size();
        let mut o = 0;
        while o < self.len {
            std::hint::black_box(self.read_u64(o));
            o = round_down(self.addr + o + page, page) - self.addr;
        }
    }

    fn compare(
        &self,
        off: u64,
        len: u64,
        width: u64,
        read: impl Fn(u64) -> u64,
        want: impl Fn(u64) -> u64,
    ) -> Mismatch {
        let page = page_size();
        let mut m = Mismatch {
            count: 0,
            pages: 0,
            first: None,
        };
        let mut last_bad_page = None;
        let mut o = off;
        while o < off + len {
            let (got, exp) = (read(o), want(o));
            if got != exp {
                m.count += 1;
                let pg = (self.addr + o) / page;
                if last_bad_page != Some(pg) {
                    m.pages += 1;
                    last_bad_page = Some(pg);
                }
                m.first.get_or_insert((o, exp, got));
            }
            o += width;
        }
        m
    }

    fn report(&self, what: &str, m: Mismatch, width: usize) -> TestResult {
        let Some((o, exp, got)) = m.first else {
            return Ok(());
        };
        let page = page_size();
        let addr = self.addr + o;
        Err(fail(format!(
            "{what}: {} word(s) in {} page(s) differ; first at offset {o:#x} (address {addr:#x}, \
             byte {:#x} of its page): expected {exp:#0w$x}, got {got:#0w$x}",
            m.count,
            m.pages,
            addr % page,
            w = width * 2 + 2
        )))
    }

    /// Checks every 64-bit word of `[off, off + len)` against `want(offset)`.
    pub fn verify_with(
        &self,
        what: &str,
        off: u64,
        len: u64,
        want: impl Fn(u64) -> u64,
    ) -> TestResult {
        let m = self.compare(off, len, 8, |o| self.read_u64(o), want);
        self.report(what, m, 8)
    }

    /// Checks that the whole region holds pattern `seed`.
    pub fn verify(&self, what: &str, seed: u64) -> TestResult {
        self.verify_range(what, 0, self.len, seed)
    }

    /// Checks that `[off, off + len)` holds pattern `seed` (indexed from the
    /// region's start).
    pub fn verify_range(&self, what: &str, off: u64, len: u64, seed: u64) -> TestResult {
        self.verify_with(what, off, len, |o| pattern(seed, o / 8))
    }

    /// Checks that every 32-bit word of `[off, off + len)` is `value` (what
    /// a DEVICE_COPY fill writes).
    pub fn verify_u32(&self, what: &str, off: u64, len: u64, value: u32) -> TestResult {
        let m = self.compare(
            off,
            len,
            4,
            |o| u64::from(self.read_u32(o)),
            |_| u64::from(value),
        );
        self.report(what, m, 4)
    }

    /// Checks that `[off, off + len)` reads as zero.
    pub fn verify_zero(&self, what: &str, off: u64, len: u64) -> TestResult {
        self.verify_with(what, off, len, |_| 0)
    }
}

/// A private anonymous, shared anonymous or file mapping, unmapped on drop.
///
/// Parts can be unmapped early ([`Mapping::unmap`]); they are remembered
/// and left alone on drop, so memory that another mapping later took there
/// is never unmapped by mistake.
#[derive(Debug)]
pub struct Mapping {
    region: Region,
    /// Offsets of parts already unmapped.
    holes: Mutex<Vec<Range<u64>>>,
}

fn mmap_raw(addr: u64, len: u64, prot: i32, flags: i32, fd: i32, offset: i64) -> io::Result<u64> {
    // CAST: lengths and addresses of this process fit in usize; a u64 that
    // does not simply fails in the kernel.
    // SAFETY: A new mapping with a kernel-chosen address replaces nothing;
    // with MAP_FIXED the callers pass only ranges that they own.
    let p = unsafe {
        libc::mmap(
            addr as usize as *mut libc::c_void,
            len as usize,
            prot,
            flags,
            fd,
            offset,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    // CAST: a pointer's address.
    Ok(p as usize as u64)
}

fn munmap_raw(addr: u64, len: u64) -> io::Result<()> {
    // SAFETY: Callers pass ranges that their `Mapping` owns and that are
    // reached only through `Region`'s atomics, never through references.
    let r = unsafe { libc::munmap(addr as usize as *mut libc::c_void, len as usize) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl Mapping {
    /// `mmap(NULL, len, prot, flags, -1, 0)`; `len` is rounded up to pages.
    pub fn new(len: u64, prot: i32, flags: i32) -> io::Result<Self> {
        Self::with_fd(len, prot, flags, -1, 0)
    }

    /// A mapping of file descriptor `fd` at `offset`.
    pub fn with_fd(len: u64, prot: i32, flags: i32, fd: i32, offset: i64) -> io::Result<Self> {
        let len = round_up(len, page_size());
        let addr = mmap_raw(0, len, prot, flags, fd, offset)?;
        Ok(Self::owning(addr, len))
    }

    /// A mapping like [`Mapping::with_fd`] whose first `below` bytes (a
    /// multiple of the page size, less than `len`) lie under a 2 MiB
    /// boundary, so that two page tables hold its entries.
    pub fn with_fd_across_pmd(
        len: u64,
        below: u64,
        prot: i32,
        flags: i32,
        fd: i32,
        offset: i64,
    ) -> io::Result<Self> {
        const PMD_SIZE: u64 = 2 << 20;
        let len = round_up(len, page_size());
        let span = len + 2 * PMD_SIZE;
        let reserve = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
        let base = mmap_raw(0, span, libc::PROT_NONE, reserve, -1, 0)?;
        let start = round_up(base + below, PMD_SIZE) - below;
        // The new mapping replaces part of the reservation; the rest of
        // it goes, whether the mmap worked or not.
        let got = mmap_raw(start, len, prot, flags | libc::MAP_FIXED, fd, offset);
        let end = if got.is_ok() { start + len } else { start };
        if start > base {
            munmap_raw(base, start - base)?;
        }
        munmap_raw(end, base + span - end)?;
        Ok(Self::owning(got?, len))
    }

    fn owning(addr: u64, len: u64) -> Self {
        Self {
            region: Region { addr, len },
            holes: Mutex::new(Vec::new()),
        }
    }

    /// Private anonymous read-write memory (what malloc uses for large
    /// allocations).
    pub fn anon(len: u64) -> io::Result<Self> {
        Self::new(
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
        )
    }

    /// Shared anonymous read-write memory (shmem).
    pub fn shared_anon(len: u64) -> io::Result<Self> {
        Self::new(
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
        )
    }

    /// An inaccessible reservation of address space (as Mesa reserves the
    /// unmanaged window, and as a landing place for `mremap`).
    pub fn reserve(len: u64) -> io::Result<Self> {
        Self::new(
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
        )
    }

    /// An inaccessible reservation at exactly `addr`
    /// (`MAP_FIXED_NOREPLACE`); fails if anything is mapped there.
    pub fn reserve_at(addr: u64, len: u64) -> io::Result<Self> {
        let len = round_up(len, page_size());
        let flags = libc::MAP_PRIVATE
            | libc::MAP_ANONYMOUS
            | libc::MAP_NORESERVE
            | libc::MAP_FIXED_NOREPLACE;
        let got = mmap_raw(addr, len, libc::PROT_NONE, flags, -1, 0)?;
        let m = Self::owning(got, len);
        if got != addr {
            // A kernel before 4.17 takes the address as a hint only.
            return Err(io::Error::from_raw_os_error(libc::EEXIST));
        }
        Ok(m)
    }

    /// Private anonymous read-write memory whose start is a multiple of
    /// `align` (a power of two, a multiple of the page size).
    pub fn aligned_anon(len: u64, align: u64) -> io::Result<Self> {
        let len = round_up(len, page_size());
        let span = len + align;
        let base = mmap_raw(
            0,
            span,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )?;
        let start = round_up(base, align);
        if start > base {
            munmap_raw(base, start - base)?;
        }
        if base + span > start + len {
            munmap_raw(start + len, base + span - start - len)?;
        }
        Ok(Self::owning(start, len))
    }

    /// Unmaps `len` bytes at offset `off`.
    pub fn unmap(&self, off: u64, len: u64) -> io::Result<()> {
        let r = self.sub(off, len);
        munmap_raw(r.start, len)?;
        self.lock_holes().push(off..off + len);
        Ok(())
    }

    fn lock_holes(&self) -> std::sync::MutexGuard<'_, Vec<Range<u64>>> {
        // A poisoned lock only means another thread panicked while
        // holding it; the list itself is always consistent.
        self.holes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `mprotect` of `len` bytes at offset `off`.
    pub fn protect(&self, off: u64, len: u64, prot: i32) -> io::Result<()> {
        let r = self.sub(off, len);
        // SAFETY: The range belongs to this mapping; changing its
        // protection affects no Rust reference, as none exist.
        let ret =
            unsafe { libc::mprotect(r.start as usize as *mut libc::c_void, len as usize, prot) };
        if ret != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// `madvise` of `len` bytes at offset `off`.
    pub fn advise(&self, off: u64, len: u64, advice: i32) -> io::Result<()> {
        let r = self.sub(off, len);
        // SAFETY: The range belongs to this mapping. The advice values the
        // tests use (MADV_HUGEPAGE) do not change its contents.
        let ret =
            unsafe { libc::madvise(r.start as usize as *mut libc::c_void, len as usize, advice) };
        if ret != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// `mlock` of the whole mapping.
    pub fn lock(&self) -> io::Result<()> {
        // SAFETY: mlock only pins the mapping's pages.
        let ret = unsafe {
            libc::mlock(
                self.addr() as usize as *const libc::c_void,
                self.len() as usize,
            )
        };
        if ret != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Moves the mapping onto `dest` (which it replaces) with
    /// `MREMAP_MAYMOVE | MREMAP_FIXED | extra`, at the length of `dest`.
    ///
    /// With `MREMAP_DONTUNMAP` in `extra`, the old range stays mapped
    /// (empty) and is returned as the second value; otherwise it is gone.
    pub fn move_to(self, dest: Mapping, extra: i32) -> io::Result<(Mapping, Option<Mapping>)> {
        let new_len = dest.len();
        let (old_addr, old_len) = (self.addr(), self.len());
        // SAFETY:
        // - The old range belongs to `self`, the new one to `dest`; both are
        //   given up below, and the new range is wrapped in a new owner.
        // - No Rust reference points into either.
        let p = unsafe {
            libc::mremap(
                old_addr as usize as *mut libc::c_void,
                old_len as usize,
                new_len as usize,
                libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED | extra,
                dest.addr() as usize as *mut libc::c_void,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // The destination's reservation was replaced by the move.
        std::mem::forget(dest);
        // CAST: a pointer's address.
        let new = Self::owning(p as usize as u64, new_len);
        if extra & libc::MREMAP_DONTUNMAP != 0 {
            Ok((new, Some(self)))
        } else {
            std::mem::forget(self);
            Ok((new, None))
        }
    }

    /// Shrinks the mapping in place to `new_len` bytes (page aligned);
    /// the tail is unmapped.
    pub fn shrink(self, new_len: u64) -> io::Result<Mapping> {
        assert!(new_len <= self.len() && new_len.is_multiple_of(page_size()));
        // SAFETY: Shrinking in place unmaps only the mapping's own tail.
        let p = unsafe {
            libc::mremap(
                self.addr() as usize as *mut libc::c_void,
                self.len() as usize,
                new_len as usize,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let new = Self::owning(self.addr(), new_len);
        *new.lock_holes() = self
            .lock_holes()
            .iter()
            .filter(|h| h.start < new_len)
            .map(|h| h.start..h.end.min(new_len))
            .collect();
        std::mem::forget(self);
        Ok(new)
    }
}

/// The parts of `0..len` that are not in `holes`.
pub fn complement(len: u64, holes: &[Range<u64>]) -> Vec<Range<u64>> {
    let mut h: Vec<Range<u64>> = holes.to_vec();
    h.sort_by_key(|r| r.start);
    let mut out = Vec::new();
    let mut at = 0;
    for r in h {
        if r.start > at {
            out.push(at..r.start.min(len));
        }
        at = at.max(r.end);
    }
    if at < len {
        out.push(at..len);
    }
    out.retain(|r| r.start < r.end);
    out
}

impl Deref for Mapping {
    type Target = Region;

    fn deref(&self) -> &Region {
        &self.region
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        let holes = self.lock_holes().clone();
        for part in complement(self.region.len, &holes) {
            let _ = munmap_raw(self.region.addr + part.start, part.end - part.start);
        }
    }
}

/// A `malloc` allocation, freed on drop.
#[derive(Debug)]
pub struct MallocBuf {
    region: Region,
}

impl MallocBuf {
    /// `malloc(len)`; `len` must be a multiple of 8.
    pub fn new(len: u64) -> io::Result<Self> {
        assert!(len.is_multiple_of(8) && len > 0);
        // SAFETY: malloc has no preconditions.
        let p = unsafe { libc::malloc(len as usize) };
        if p.is_null() {
            return Err(io::Error::from_raw_os_error(libc::ENOMEM));
        }
        // malloc returns memory aligned for any fundamental type, so for u64.
        Ok(Self {
            // CAST: a pointer's address.
            region: Region {
                addr: p as usize as u64,
                len,
            },
        })
    }
}

impl Deref for MallocBuf {
    type Target = Region;

    fn deref(&self) -> &Region {
        &self.region
    }
}

impl Drop for MallocBuf {
    fn drop(&mut self) {
        // SAFETY: The pointer came from malloc and is freed once.
        unsafe { libc::free(self.region.addr as usize as *mut libc::c_void) };
    }
}

/// The end of the user address space (the kernel's `TASK_SIZE`) on
/// x86-64: 2^47 minus a page with 4-level page tables, 2^56 minus a page
/// with 5-level ones. Probed by mapping the page just below 2^47, which is
/// user space only with 5-level tables.
pub fn user_space_end() -> u64 {
    let page = page_size();
    let probe = (1u64 << 47) - page;
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE;
    match mmap_raw(probe, page, libc::PROT_NONE, flags, -1, 0) {
        Ok(a) => {
            let _ = munmap_raw(a, page);
            if a == probe {
                (1 << 56) - page
            } else {
                probe
            }
        }
        Err(_) => probe,
    }
}

/// The `AnonHugePages` (kB) of the mapping that holds `addr`, read from
/// `/proc/self/smaps`; `None` if no mapping holds it.
pub fn anon_huge_kb(addr: u64) -> io::Result<Option<u64>> {
    let text = std::fs::read_to_string("/proc/self/smaps")?;
    Ok(smaps_anon_huge_kb(&text, addr))
}

/// [`anon_huge_kb`] on the text of an smaps file.
pub fn smaps_anon_huge_kb(smaps: &str, addr: u64) -> Option<u64> {
    let mut inside = false;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-') {
            if let (Ok(a), Ok(b)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16)) {
                inside = (a..b).contains(&addr);
                continue;
            }
        }
        if inside {
            if let Some(v) = line.strip_prefix("AnonHugePages:") {
                return v.split_whitespace().next()?.parse().ok();
            }
        }
    }
    None
}

/// `/proc/kpageflags` bits of a page of a large folio.
const KPF_COMPOUND_HEAD: u64 = 1 << 15;
const KPF_COMPOUND_TAIL: u64 = 1 << 16;

/// How many of the pages that map `range` (page aligned) of this process
/// belong to large folios, read from `/proc/self/pagemap` and
/// `/proc/kpageflags`; `None` when the kernel hides the page frame numbers
/// (without CAP_SYS_ADMIN) or has no kpageflags.
pub fn large_folio_pages(range: Range<u64>) -> io::Result<Option<u64>> {
    count_pages(range, |f| f & (KPF_COMPOUND_HEAD | KPF_COMPOUND_TAIL) != 0)
}

/// `/proc/kpageflags` bit of a page on an active LRU list.
pub const KPF_ACTIVE: u64 = 1 << 6;

/// How many of the pages that map `range` (page aligned) of this process
/// have all of `bits` set in `/proc/kpageflags`; `None` as for
/// [`large_folio_pages`].
pub fn pages_with_flags(range: Range<u64>, bits: u64) -> io::Result<Option<u64>> {
    count_pages(range, |f| f & bits == bits)
}

/// How many of the present pages that map `range` have kpageflags for
/// which `pred` holds; `None` as for [`large_folio_pages`].
fn count_pages(range: Range<u64>, pred: impl Fn(u64) -> bool) -> io::Result<Option<u64>> {
    use std::os::unix::fs::FileExt;
    let page = page_size();
    let pagemap = std::fs::File::open("/proc/self/pagemap")?;
    let Ok(flags) = std::fs::File::open("/proc/kpageflags") else {
        return Ok(None);
    };
    let mut count = 0;
    let mut seen_pfn = false;
    let mut buf = [0u8; 8];
    for addr in (range.start..range.end).step_by(page as usize) {
        pagemap.read_exact_at(&mut buf, addr / page * 8)?;
        let entry = u64::from_ne_bytes(buf);
        let pfn = entry & ((1 << 55) - 1);
        if entry & (1 << 63) == 0 || pfn == 0 {
            continue;
        }
        seen_pfn = true;
        flags.read_exact_at(&mut buf, pfn * 8)?;
        if pred(u64::from_ne_bytes(buf)) {
            count += 1;
        }
    }
    Ok(seen_pfn.then_some(count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding() {
        assert_eq!(round_down(0x1fff, 0x1000), 0x1000);
        assert_eq!(round_up(0x1001, 0x1000), 0x2000);
        assert_eq!(round_up(0x1000, 0x1000), 0x1000);
        assert_eq!(round_up(u64::MAX, 0x1000), !0xfff);
    }

    #[test]
    fn patterns_are_distinct_and_nonzero() {
        assert_eq!(pattern(1, 0), 1 << 40);
        assert_eq!(pattern(7, 0x1234), 0x0000_0700_0000_1234);
        assert_ne!(pattern(1, 5), pattern(2, 5));
        assert_ne!(pattern(1, 5), pattern(1, 6));
    }

    #[test]
    fn fill_and_verify() {
        let page = page_size();
        let m = Mapping::anon(3 * page).unwrap();
        m.fill(3);
        m.verify("whole", 3).unwrap();
        assert_eq!(m.read_u64(8), pattern(3, 1));
        m.fill_range(page, page, 4);
        m.verify_range("first page", 0, page, 3).unwrap();
        m.verify_range("second page", page, page, 4).unwrap();
        m.write_u64(page + 16, 0);
        m.write_u64(2 * page, 0);
        let Err(crate::igt::Stop::Fail(msg)) = m.verify("after", 3) else {
            panic!("difference not found");
        };
        // Page 1 differs entirely (512 words), page 2 in one word.
        let words = page / 8 + 1;
        assert!(
            msg.contains(&format!("{words} word(s) in 2 page(s)")),
            "{msg}"
        );
        assert!(msg.contains("first at offset 0x1000"), "{msg}");
        assert!(msg.contains("expected 0x0000030000000200"), "{msg}");
        assert!(msg.contains("got 0x0000040000000200"), "{msg}");
    }

    #[test]
    fn u32_and_zero_checks() {
        let page = page_size();
        let m = Mapping::anon(page).unwrap();
        m.verify_zero("fresh", 0, page).unwrap();
        m.fill_with(0, page, |_| 0xdead_beef_dead_beef);
        m.verify_u32("fill", 0, page, 0xdead_beef).unwrap();
        m.write_u64(8, 0xdead_beef);
        let Err(crate::igt::Stop::Fail(msg)) = m.verify_u32("fill", 0, page, 0xdead_beef) else {
            panic!("difference not found");
        };
        assert!(msg.contains("offset 0xc"), "{msg}");
        assert!(msg.contains("got 0x00000000"), "{msg}");
    }

    #[test]
    fn partial_unmap_is_remembered() {
        let page = page_size();
        let m = Mapping::anon(4 * page).unwrap();
        m.unmap(page, page).unwrap();
        m.fill_range(0, page, 1);
        m.fill_range(2 * page, 2 * page, 1);
        assert_eq!(*m.lock_holes(), vec![page..2 * page]);
        drop(m);
    }

    #[test]
    fn complement_of_holes() {
        assert_eq!(complement(10, &[]), vec![0..10]);
        assert_eq!(complement(10, &[2..4, 0..1]), vec![1..2, 4..10]);
        assert!(complement(10, &[2..4, 0..10]).is_empty());
        assert_eq!(complement(10, &[3..5, 4..8]), vec![0..3, 8..10]);
    }

    #[test]
    fn aligned_and_moved_mappings() {
        let page = page_size();
        let two_mib = 2 << 20;
        let m = Mapping::aligned_anon(2 * two_mib, two_mib).unwrap();
        assert_eq!(m.addr() % two_mib, 0);
        m.fill(9);
        let dest = Mapping::reserve(8 * page).unwrap();
        let small = Mapping::anon(4 * page).unwrap();
        small.fill(5);
        let (moved, old) = small.move_to(dest, 0).unwrap();
        assert!(old.is_none());
        moved.verify_range("moved", 0, 4 * page, 5).unwrap();
        moved.verify_zero("grown tail", 4 * page, 4 * page).unwrap();
        let shrunk = moved.shrink(2 * page).unwrap();
        shrunk.verify("shrunk", 5).unwrap();
    }

    #[test]
    fn malloc_region() {
        let b = MallocBuf::new(3 * page_size() + 40).unwrap();
        b.fill(2);
        b.verify("malloc", 2).unwrap();
        let r = b.page_range();
        assert!(r.start <= b.addr() && r.end >= b.end());
        assert_eq!(b.page_count(), (r.end - r.start) / page_size());
    }

    #[test]
    fn user_space_end_is_known() {
        let page = page_size();
        let end = user_space_end();
        assert!(
            end == (1 << 47) - page || end == (1 << 56) - page,
            "{end:#x}"
        );
        // The last page below the end can be mapped; the end cannot.
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE;
        let a = mmap_raw(end - page, page, libc::PROT_NONE, flags, -1, 0);
        if let Ok(a) = a {
            munmap_raw(a, page).unwrap();
        }
        assert!(mmap_raw(end, page, libc::PROT_NONE, flags, -1, 0).is_err());
        // reserve_at takes the exact address, and refuses an occupied one.
        let r = Mapping::reserve(4 * page).unwrap();
        let at = r.addr() + page;
        drop(r);
        let m = Mapping::reserve_at(at, page).unwrap();
        assert_eq!(m.addr(), at);
        assert!(Mapping::reserve_at(at, page).is_err());
    }

    #[test]
    fn smaps_parsing() {
        let s = "00400000-00600000 r-xp 00000000 00:00 0 /bin/x\n\
                 AnonHugePages:         0 kB\n\
                 7f0000000000-7f0000400000 rw-p 00000000 00:00 0 \n\
                 Size:               4096 kB\n\
                 AnonHugePages:      2048 kB\n";
        assert_eq!(smaps_anon_huge_kb(s, 0x7f00_0020_0000), Some(2048));
        assert_eq!(smaps_anon_huge_kb(s, 0x0040_1000), Some(0));
        assert_eq!(smaps_anon_huge_kb(s, 0x10), None);
        // The live file parses too.
        let m = Mapping::anon(page_size()).unwrap();
        assert!(anon_huge_kb(m.addr()).unwrap().is_some());
    }
}
