// SPDX-License-Identifier: MIT

//! File-backed SVM memory: tmpfs, ext4 and xfs files whose page cache
//! folios move to VRAM (device-private folios in the page cache,
//! mm-patches 0007-0016). Registered in `nova_svm_basic`'s table
//! ([`crate::suites::basic::SUBTESTS`]); `file-unload` is in
//! `nova_svm_module`.
//!
//! What the kernel promises, and what these subtests check:
//!
//! - SVM_BIND to GPU_VRAM moves the page cache folios of `MAP_SHARED`
//!   tmpfs, ext4 and xfs files, and of `MAP_PRIVATE` file mappings before
//!   copy-on-write (read-only). Pages that the mapping has not touched are
//!   read in first (mm-patches 0022), holes of sparse files as zeroes
//!   (`file-untouched`), so the counts are exact.
//! - Every other way to reach the file brings the pages home through the
//!   driver's copy engine with what the device wrote: CPU faults, read(2),
//!   write(2), fsync and writeback, O_DIRECT, another process's mapping.
//!   Truncation frees them without a copy. SVM_BIND to SYSTEM brings them
//!   home too.
//! - What the device wrote reaches the disk: with fsync, and with the
//!   unmount's sync when the pages are still in VRAM at the unmount
//!   (`file-device-write-remount` unmounts ext4 and xfs and mounts them
//!   again, then reads the file from the disk; [`crate::mount`]).
//!
//! ext4 and xfs cache what one write(2) of many pages writes in large
//! folios. A PTE-mapped large page cache folio moves once split, and it
//! splits only when clean (ext4 and iomap keep private data on dirty
//! ones), so the migration writes dirty ones back and splits them first
//! (mm-patches 0023; `file-written-large-folios`, which checks through
//! `/proc/kpageflags` that the file is in large folios). Device-private
//! large folios are PMD-sized only, so such a file moves as order-0 pages.
//!
//! tmpfs is `/tmp` when that is a tmpfs (as in the test VM), or a tmpfs
//! that the subtest mounts itself. ext4 and xfs are the file systems named
//! by `HMM_EXT4_DIR` and `HMM_XFS_DIR` (the VM mounts them at `/mnt/ext4`
//! and `/mnt/xfs`); subtests that need a disk run on those there are and
//! skip without any, those that also run on tmpfs run on what there is and
//! say what is missing.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nova_svm_uapi::{BindTarget, DeviceCopy};

use crate::check::{check_eq, describe, fail, skip, within, OrFail, OrSkip};
use crate::env::Env;
use crate::igt::TestResult;
use crate::mem::{Mapping, Region};
use crate::mount::MountEntry;
use crate::process;

/// Pages of the files most subtests use.
const PAGES: u64 = 32;

/// DEVICE_COPY fill values.
const FILL_A: u32 = 0xa5a5_f001;
const FILL_B: u32 = 0x5a5a_f002;

/// `statfs` magic numbers.
const TMPFS_MAGIC: i64 = 0x0102_1994;
const EXT4_SUPER_MAGIC: i64 = 0xef53;
const XFS_SUPER_MAGIC: i64 = 0x5846_5342;

/// The environment variable that names a directory on ext4.
pub const EXT4_ENV: &str = "HMM_EXT4_DIR";
/// The environment variable that names a directory on xfs.
pub const XFS_ENV: &str = "HMM_XFS_DIR";

/// A file system kind the subtests put files on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fs {
    /// tmpfs (shmem).
    Tmpfs,
    /// ext4, buffered I/O in ordered data mode.
    Ext4,
    /// xfs, whose page cache uses large folios.
    Xfs,
}

impl Fs {
    /// The file systems on a disk of the test VM, which write back.
    pub const DISKS: [Fs; 2] = [Fs::Ext4, Fs::Xfs];

    /// Its name, as `mount -t` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Fs::Tmpfs => "tmpfs",
            Fs::Ext4 => "ext4",
            Fs::Xfs => "xfs",
        }
    }

    /// For a disk file system: the variable that names a directory on it,
    /// its `statfs` magic, and where the test VM mounts it.
    fn disk(self) -> Option<(&'static str, i64, &'static str)> {
        match self {
            Fs::Tmpfs => None,
            Fs::Ext4 => Some((EXT4_ENV, EXT4_SUPER_MAGIC, "/mnt/ext4")),
            Fs::Xfs => Some((XFS_ENV, XFS_SUPER_MAGIC, "/mnt/xfs")),
        }
    }
}

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// The `f_type` of the file system that holds `path`.
fn fs_magic(path: &Path) -> io::Result<i64> {
    let c = c_path(path)?;
    // SAFETY: statfs is a plain C structure of integers; all zeroes is a
    // valid value.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path; `st` is a valid place for the
    // result.
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // CAST: f_type is a signed machine word; the magic numbers fit.
    Ok(st.f_type as i64)
}

/// A tmpfs that a subtest mounted itself, unmounted and removed on drop.
#[derive(Debug)]
struct OwnMount {
    path: PathBuf,
}

impl Drop for OwnMount {
    fn drop(&mut self) {
        if let Ok(c) = c_path(&self.path) {
            // SAFETY: `c` is a NUL-terminated path of a mount this process
            // made.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// A directory on a file system of kind [`Fs`].
#[derive(Debug)]
pub struct FsDir {
    /// The kind.
    pub fs: Fs,
    /// The directory.
    pub path: PathBuf,
    _mount: Option<OwnMount>,
}

impl FsDir {
    /// The system's temporary directory if it is a tmpfs, or a tmpfs
    /// mounted for the subtest (which needs root; skips otherwise).
    pub fn tmpfs() -> TestResult<Self> {
        let tmp = std::env::temp_dir();
        if fs_magic(&tmp).is_ok_and(|m| m == TMPFS_MAGIC) {
            return Ok(Self {
                fs: Fs::Tmpfs,
                path: tmp,
                _mount: None,
            });
        }
        let path = tmp.join(format!("nova-svm-igt-tmpfs-{}", std::process::id()));
        std::fs::create_dir(&path).or_fail_with(|| format!("mkdir {}", path.display()))?;
        let target = c_path(&path).or_fail("mount point path")?;
        let src = c"tmpfs";
        // SAFETY: All strings are NUL-terminated; no data argument.
        let r = unsafe {
            libc::mount(
                src.as_ptr(),
                target.as_ptr(),
                src.as_ptr(),
                0,
                std::ptr::null(),
            )
        };
        if r != 0 {
            let e = io::Error::last_os_error();
            let _ = std::fs::remove_dir(&path);
            return Err(skip(format!(
                "{} is not a tmpfs, and mounting one at {} failed: {}",
                tmp.display(),
                path.display(),
                describe(&e)
            )));
        }
        Ok(Self {
            fs: Fs::Tmpfs,
            path: path.clone(),
            _mount: Some(OwnMount { path }),
        })
    }

    /// The directory on the disk file system `fs` that its variable names
    /// ([`EXT4_ENV`], [`XFS_ENV`]); skips when it is unset or not on `fs`.
    pub fn disk(fs: Fs) -> TestResult<Self> {
        let name = fs.name();
        let Some((env, magic, vm_mount)) = fs.disk() else {
            return Err(fail(format!("{name} is not a disk file system")));
        };
        let Some(dir) = std::env::var_os(env).filter(|d| !d.is_empty()) else {
            return Err(skip(format!(
                "{env} is not set: no {name} file system for file-backed tests \
                 (the test VM mounts one at {vm_mount})"
            )));
        };
        let path = PathBuf::from(dir);
        match fs_magic(&path) {
            Ok(m) if m == magic => Ok(Self {
                fs,
                path,
                _mount: None,
            }),
            Ok(m) => Err(skip(format!(
                "{env}={} is not on {name} (statfs f_type {m:#x})",
                path.display()
            ))),
            Err(e) => Err(skip(format!(
                "{env}={}: statfs failed: {}",
                path.display(),
                describe(&e)
            ))),
        }
    }

    /// The ext4 directory of [`EXT4_ENV`].
    pub fn ext4() -> TestResult<Self> {
        Self::disk(Fs::Ext4)
    }

    /// The xfs directory of [`XFS_ENV`].
    pub fn xfs() -> TestResult<Self> {
        Self::disk(Fs::Xfs)
    }

    /// The disk file systems there are (said on stdout for those that are
    /// not); skips when there is none.
    pub fn disks() -> TestResult<Vec<Self>> {
        let mut v = Vec::new();
        let mut why = Vec::new();
        for fs in Fs::DISKS {
            match Self::disk(fs) {
                Ok(d) => v.push(d),
                Err(e) => {
                    println!("{} part not run: {e:?}", fs.name());
                    why.push(format!("{e:?}"));
                }
            }
        }
        if v.is_empty() {
            return Err(skip(format!("no disk file system: {}", why.join("; "))));
        }
        Ok(v)
    }

    /// tmpfs, and the disk file systems there are (said on stdout for
    /// those that are not).
    pub fn all() -> TestResult<Vec<Self>> {
        let mut v = vec![Self::tmpfs()?];
        for fs in Fs::DISKS {
            match Self::disk(fs) {
                Ok(d) => v.push(d),
                Err(e) => println!("{} part not run: {e:?}", fs.name()),
            }
        }
        Ok(v)
    }

    fn label(&self) -> String {
        format!("{:?} ({})", self.fs, self.path.display())
    }
}

/// A file of a test, removed on drop.
#[derive(Debug)]
pub struct TestFile {
    /// Its path.
    pub path: PathBuf,
    /// The open file, read-write.
    pub file: File,
}

impl TestFile {
    /// Creates an empty file of `len` bytes (a hole) in `dir`.
    pub fn new(dir: &FsDir, tag: &str, len: u64) -> TestResult<Self> {
        let path = dir
            .path
            .join(format!("nova-svm-igt-{tag}-{}", std::process::id()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .or_fail_with(|| format!("create {}", path.display()))?;
        let t = Self { path, file };
        t.file
            .set_len(len)
            .or_fail_with(|| format!("ftruncate {} to {len:#x}", t.path.display()))?;
        Ok(t)
    }

    fn fd(&self) -> i32 {
        self.file.as_raw_fd()
    }

    /// A `MAP_SHARED` read-write mapping of `len` bytes at offset 0.
    pub fn map_shared(&self, len: u64) -> TestResult<Mapping> {
        Mapping::with_fd(
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            self.fd(),
            0,
        )
        .or_fail_with(|| format!("mmap(MAP_SHARED) of {}", self.path.display()))
    }

    /// A `MAP_SHARED` read-write mapping of `len` bytes at offset 0 whose
    /// first `below` bytes lie under a 2 MiB boundary.
    pub fn map_shared_across_pmd(&self, len: u64, below: u64) -> TestResult<Mapping> {
        Mapping::with_fd_across_pmd(
            len,
            below,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            self.fd(),
            0,
        )
        .or_fail_with(|| {
            format!(
                "mmap(MAP_SHARED) of {} across a 2 MiB boundary",
                self.path.display()
            )
        })
    }

    /// A `MAP_PRIVATE` read-write mapping of `len` bytes at offset 0.
    pub fn map_private(&self, len: u64) -> TestResult<Mapping> {
        Mapping::with_fd(
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE,
            self.fd(),
            0,
        )
        .or_fail_with(|| format!("mmap(MAP_PRIVATE) of {}", self.path.display()))
    }

    /// `ftruncate`.
    pub fn truncate(&self, len: u64) -> TestResult {
        self.file
            .set_len(len)
            .or_fail_with(|| format!("ftruncate {} to {len:#x}", self.path.display()))
    }

    /// `fsync`.
    pub fn fsync(&self) -> TestResult {
        self.file
            .sync_all()
            .or_fail_with(|| format!("fsync {}", self.path.display()))
    }

    /// pread(2) of `len` bytes at `file_off` into `buf` at `off`.
    pub fn read_into(&self, buf: &Region, off: u64, len: u64, file_off: u64) -> TestResult {
        rw_all(self.fd(), buf, off, len, file_off, false)
            .or_fail_with(|| format!("pread of {len:#x} bytes at {file_off:#x}"))
    }

    /// pwrite(2) of `len` bytes of `buf` at `off` to `file_off`.
    pub fn write_from(&self, buf: &Region, off: u64, len: u64, file_off: u64) -> TestResult {
        rw_all(self.fd(), buf, off, len, file_off, true)
            .or_fail_with(|| format!("pwrite of {len:#x} bytes at {file_off:#x}"))
    }

    /// The whole of `[0, len)` of the file, read with pread(2) into a new
    /// buffer.
    pub fn read_all(&self, len: u64) -> TestResult<Mapping> {
        let buf = Mapping::anon(len).or_fail("mmap of the read buffer")?;
        self.read_into(&buf, 0, len, 0)?;
        Ok(buf)
    }

    /// `[0, len)` read with O_DIRECT (through a new descriptor) into a new,
    /// page-aligned buffer.
    pub fn read_direct(&self, len: u64) -> TestResult<Mapping> {
        let f = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECT)
            .open(&self.path)
            .or_fail_with(|| format!("open {} with O_DIRECT", self.path.display()))?;
        let buf = Mapping::anon(len).or_fail("mmap of the O_DIRECT buffer")?;
        rw_all(f.as_raw_fd(), &buf, 0, len, 0, false)
            .or_fail_with(|| format!("O_DIRECT pread of {len:#x} bytes"))?;
        Ok(buf)
    }

    /// Writes `len` bytes of `buf` at `off` to `file_off` with O_DIRECT.
    pub fn write_direct(&self, buf: &Region, off: u64, len: u64, file_off: u64) -> TestResult {
        let f = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_DIRECT)
            .open(&self.path)
            .or_fail_with(|| format!("open {} with O_DIRECT", self.path.display()))?;
        rw_all(f.as_raw_fd(), buf, off, len, file_off, true)
            .or_fail_with(|| format!("O_DIRECT pwrite of {len:#x} bytes at {file_off:#x}"))
    }

    /// `posix_fadvise(POSIX_FADV_DONTNEED)` of the whole file.
    pub fn drop_cache(&self) -> TestResult {
        // SAFETY: fadvise on an open descriptor has no memory effects.
        let r = unsafe { libc::posix_fadvise(self.fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        if r != 0 {
            return Err(fail(format!(
                "posix_fadvise(DONTNEED): {}",
                describe(&io::Error::from_raw_os_error(r))
            )));
        }
        Ok(())
    }

    /// Pages of `[0, len)` in the page cache, by mincore(2) of a new
    /// mapping that touches nothing.
    pub fn cached_pages(&self, len: u64) -> TestResult<u64> {
        let m = Mapping::with_fd(len, libc::PROT_READ, libc::MAP_SHARED, self.fd(), 0)
            .or_fail("mmap for mincore")?;
        let page = crate::mem::page_size();
        // CAST: a page count of a test file fits usize.
        let mut vec = vec![0u8; m.len().div_ceil(page) as usize];
        // SAFETY: `vec` has a byte for each page of the mapping, which
        // this function owns; mincore only reads page table state.
        let r = unsafe {
            libc::mincore(
                m.addr() as usize as *mut libc::c_void,
                m.len() as usize,
                vec.as_mut_ptr(),
            )
        };
        if r != 0 {
            return Err(fail(format!(
                "mincore: {}",
                describe(&io::Error::last_os_error())
            )));
        }
        Ok(vec.iter().filter(|&&b| b & 1 != 0).count() as u64)
    }
}

impl Drop for TestFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl TestFile {
    /// Closes the file, keeping it on disk until the [`ClosedFile`] drops.
    pub fn close(mut self) -> ClosedFile {
        ClosedFile {
            path: std::mem::take(&mut self.path),
        }
    }
}

/// A [`TestFile`] that is closed: its path, removed on drop.
#[derive(Debug)]
pub struct ClosedFile {
    /// Its path.
    pub path: PathBuf,
}

impl ClosedFile {
    /// Opens it again, read-write.
    pub fn reopen(mut self) -> TestResult<TestFile> {
        let path = std::mem::take(&mut self.path);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .or_fail_with(|| format!("open {}", path.display()));
        match file {
            Ok(file) => Ok(TestFile { path, file }),
            Err(e) => {
                self.path = path;
                Err(e)
            }
        }
    }
}

impl Drop for ClosedFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// pread or pwrite of exactly `len` bytes between `buf` at `off` and
/// `fd` at `file_off`; a short transfer is an error.
fn rw_all(fd: i32, buf: &Region, off: u64, len: u64, file_off: u64, write: bool) -> io::Result<()> {
    let r = buf.sub(off, len);
    if rw(fd, r.start, len, file_off, write)? < len {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
    }
    Ok(())
}

/// pread or pwrite of `len` bytes at `addr` from or to `fd` at `off`,
/// until done or the end of the file. Returns the bytes moved.
pub(crate) fn rw(fd: i32, addr: u64, len: u64, off: u64, write: bool) -> io::Result<u64> {
    let mut done = 0;
    while done < len {
        // CAST: addresses, lengths and offsets of test files fit.
        let (p, n, o) = (
            (addr + done) as usize as *mut libc::c_void,
            (len - done) as usize,
            (off + done) as libc::off_t,
        );
        // SAFETY: `[p, p + n)` is memory of this process that the caller
        // owns: a Vec's buffer, or a mapping (a `Region`, a bounce buffer)
        // reached only through atomics (never through references), as the
        // device reaches it.
        let got = unsafe {
            if write {
                libc::pwrite(fd, p, n, o)
            } else {
                libc::pread(fd, p, n, o)
            }
        };
        match got {
            n if n < 0 => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            0 => break,
            // CAST: positive and at most `len - done`.
            n => done += n as u64,
        }
    }
    Ok(done)
}

/// Opens the device, then runs `f` on each file system that `dirs` finds
/// ([`FsDir::all`], [`FsDir::disks`]), with its label prefixed to
/// failures.
fn on_each(
    dirs: fn() -> TestResult<Vec<FsDir>>,
    f: impl Fn(&Env, &FsDir) -> TestResult,
) -> TestResult {
    let env = Env::init()?;
    for d in &dirs()? {
        println!("on {}", d.label());
        within(&format!("{:?}", d.fs), f(&env, d))?;
    }
    Ok(())
}

/// MAP_SHARED file on `dir`: the CPU writes it, every page moves, the
/// device reads and writes it in VRAM, the CPU reads it back (faulting it
/// home), pread sees the device's data.
fn shared_round_trip(env: &Env, dir: &FsDir) -> TestResult {
    let page = env.page;
    let len = PAGES * page;
    let half = len / 2;
    let f = TestFile::new(dir, "shared", len)?;
    let m = f.map_shared(len)?;
    let shadow = Mapping::anon(len).or_fail("mmap of the shadow buffer")?;

    m.fill(1);
    env.to_vram("first migration", m.range(), PAGES)?;
    env.to_vram("second migration", m.range(), 0)?;
    env.copy("device read of VRAM", &shadow, 0, m.addr(), len)?;
    shadow.verify("device copy of the file's VRAM pages", 1)?;
    env.fill("device write to VRAM", &m, 0, half, FILL_A)?;
    env.to_vram("migration after the device write", m.range(), 0)?;
    // The CPU faults every page home.
    m.verify_u32("CPU read of the device's fill", 0, half, FILL_A)?;
    m.verify_range("CPU read of the rest", half, half, 1)?;
    env.to_system("migration back after the CPU read", m.range(), 0)?;
    let r = f.read_all(len)?;
    r.verify_u32("pread of the device's fill", 0, half, FILL_A)?;
    r.verify_range("pread of the rest", half, half, 1)?;

    // pread of pages in VRAM brings them home with the data.
    m.fill(2);
    env.to_vram("migration of rewritten pages", m.range(), PAGES)?;
    env.fill("device write of the upper half", &m, half, half, FILL_B)?;
    let r = f.read_all(len)?;
    r.verify_range("pread of VRAM pages (CPU-written)", 0, half, 2)?;
    r.verify_u32("pread of VRAM pages (device-written)", half, half, FILL_B)?;
    env.to_system("migration back after pread of every page", m.range(), 0)?;
    m.verify_range("CPU read after pread", 0, half, 2)?;
    m.verify_u32("CPU read after pread", half, half, FILL_B)?;

    // And SVM_BIND to SYSTEM brings them home.
    m.fill(3);
    env.to_vram("third migration", m.range(), PAGES)?;
    env.to_system("explicit migration back", m.range(), PAGES)?;
    env.to_system("second migration back", m.range(), 0)?;
    m.verify("CPU read after the explicit migration back", 3)?;
    f.read_all(len)?.verify("pread at the end", 3)
}

/// `mmap-file-tmpfs`.
pub fn mmap_file_tmpfs() -> TestResult {
    let env = Env::init()?;
    let dir = FsDir::tmpfs()?;
    shared_round_trip(&env, &dir)
}

/// `mmap-file-ext4`.
pub fn mmap_file_ext4() -> TestResult {
    let env = Env::init()?;
    let dir = FsDir::ext4()?;
    shared_round_trip(&env, &dir)
}

/// `mmap-file-xfs`.
pub fn mmap_file_xfs() -> TestResult {
    let env = Env::init()?;
    let dir = FsDir::xfs()?;
    shared_round_trip(&env, &dir)
}

/// MAP_PRIVATE of a file with pattern 1 on `dir`: the read pages move
/// read-only, the device reads them; a CPU write and a device write copy
/// on write; the rest comes home with SVM_BIND; the file never changes.
/// Then every page is written (private copies) and makes the round trip of
/// anonymous memory.
fn private_mapping(env: &Env, dir: &FsDir) -> TestResult {
    let page = env.page;
    let len = PAGES * page;
    let f = TestFile::new(dir, "private", 0)?;
    let content = Mapping::anon(len).or_fail("mmap of the content buffer")?;
    content.fill(1);
    // One write(2) a page, so that ext4 caches order-0 folios, and the
    // private mapping's folios are not split (file-written-large-folios
    // covers large ones).
    for p in 0..PAGES {
        f.write_from(&content, p * page, page, p * page)?;
    }
    let m = f.map_private(len)?;
    let shadow = Mapping::anon(len).or_fail("mmap of the shadow buffer")?;

    // Read every page: each is the file's page cache folio, mapped
    // read-only.
    m.verify("the file through the mapping", 1)?;
    env.to_vram("migration of read-only file pages", m.range(), PAGES)?;
    env.to_vram("second migration", m.range(), 0)?;
    env.copy("device read of VRAM", &shadow, 0, m.addr(), len)?;
    shadow.verify("device copy of the file's pages", 1)?;
    // A CPU write to page 0 and a device write to page 1 copy on write:
    // those pages become private copies in system memory.
    m.fill_range(0, page, 2);
    env.fill("device write to page 1", &m, page, page, FILL_A)?;
    env.to_system("migration back", m.range(), PAGES - 2)?;
    m.verify_range("CPU write to page 0", 0, page, 2)?;
    m.verify_u32("device write to page 1", page, page, FILL_A)?;
    m.verify_range("the other pages", 2 * page, len - 2 * page, 1)?;
    f.read_all(len)?
        .verify("pread after writes through the private mapping", 1)?;

    // Written pages are private anonymous copies: the full round trip.
    crate::suites::basic::round_trip(env, &m, 3)?;
    f.read_all(len)?
        .verify("pread after the round trip of private copies", 1)
}

/// `mmap-file-private`.
pub fn mmap_file_private() -> TestResult {
    on_each(FsDir::all, private_mapping)
}

/// `file-device-write-fsync`: device writes to an ext4 or xfs file's VRAM pages
/// reach the disk with fsync.
///
/// The proof: after fsync the file is unmapped and its cache dropped
/// (POSIX_FADV_DONTNEED, which drops only clean folios: mincore must then
/// report none cached, so fsync cleaned them all), then the file is read
/// with O_DIRECT, from the disk.
pub fn file_device_write_fsync() -> TestResult {
    on_each(FsDir::disks, device_write_fsync)
}

fn device_write_fsync(env: &Env, dir: &FsDir) -> TestResult {
    let page = env.page;
    let len = PAGES * page;
    let half = len / 2;
    let f = TestFile::new(dir, "fsync", len)?;
    {
        let m = f.map_shared(len)?;
        m.fill(1);
        f.fsync()?;
        // fsync write-protected the pages; writing them again makes them
        // writable, so that they move to VRAM writable.
        m.fill(2);
        env.to_vram("migration", m.range(), PAGES)?;
        env.fill("device write to VRAM", &m, 0, half, FILL_A)?;
        env.fill(
            "device write to VRAM",
            &m,
            half + 4 * page,
            4 * page,
            FILL_B,
        )?;
        // The device wrote in VRAM: nothing came home.
        env.to_vram("migration after the device writes", m.range(), 0)?;
        f.fsync()?;
    }
    f.drop_cache()?;
    let cached = f.cached_pages(len)?;
    check_eq(
        "pages still cached after fsync, munmap and POSIX_FADV_DONTNEED",
        cached,
        0,
    )?;
    let want = |r: &Region, what: &str| -> TestResult {
        r.verify_u32(what, 0, half, FILL_A)?;
        r.verify_range(what, half, 4 * page, 2)?;
        r.verify_u32(what, half + 4 * page, 4 * page, FILL_B)?;
        r.verify_range(what, half + 8 * page, half - 8 * page, 2)
    };
    want(&*f.read_direct(len)?, "O_DIRECT read from the disk")?;
    want(&*f.read_all(len)?, "buffered read from the disk")
}

/// read(2) and write(2) of `dir`'s file while its pages are in VRAM.
fn syscalls(env: &Env, dir: &FsDir) -> TestResult {
    let page = env.page;
    let len = PAGES * page;
    let f = TestFile::new(dir, "syscalls", len)?;
    let m = f.map_shared(len)?;
    let shadow = Mapping::anon(len).or_fail("mmap of the shadow buffer")?;
    let buf = Mapping::anon(len).or_fail("mmap of the write buffer")?;
    m.fill(1);
    env.to_vram("migration", m.range(), PAGES)?;
    env.fill("device write to pages 0..4", &m, 0, 4 * page, FILL_A)?;
    env.to_vram("migration after the device write", m.range(), 0)?;

    // pread of pages 0..8 in VRAM sees the device's data and the CPU's.
    let r = Mapping::anon(8 * page).or_fail("mmap of the read buffer")?;
    f.read_into(&r, 0, 8 * page, 0)?;
    r.verify_u32("pread of pages 0..4", 0, 4 * page, FILL_A)?;
    r.verify_range("pread of pages 4..8", 4 * page, 4 * page, 1)?;

    // pwrite to pages 12..16 in VRAM; the device reads the new data.
    buf.fill(2);
    f.write_from(&buf, 12 * page, 4 * page, 12 * page)?;
    env.copy("device read", &shadow, 0, m.addr(), len)?;
    shadow.verify_u32("device read of pages 0..4", 0, 4 * page, FILL_A)?;
    shadow.verify_range("device read of pages 4..12", 4 * page, 8 * page, 1)?;
    shadow.verify_range("device read of pwritten pages", 12 * page, 4 * page, 2)?;
    shadow.verify_range("device read of pages 16..", 16 * page, len - 16 * page, 1)?;

    // The pages read and written came home; the others stayed in VRAM.
    env.to_system("pages 0..8 after pread", m.sub(0, 8 * page), 0)?;
    env.to_system("pages 12..16 after pwrite", m.sub(12 * page, 4 * page), 0)?;
    env.to_system("pages 8..12", m.sub(8 * page, 4 * page), 4)?;
    env.to_system("pages 16..", m.sub(16 * page, len - 16 * page), PAGES - 16)?;

    // pwrite over device-written VRAM pages, then the device and the CPU
    // read them.
    m.fill(3);
    env.to_vram("second migration", m.range(), PAGES)?;
    env.fill("device write of everything", &m, 0, len, FILL_B)?;
    buf.fill(4);
    f.write_from(&buf, 0, len / 2, 0)?;
    env.copy("device read after pwrite", &shadow, 0, m.addr(), len)?;
    shadow.verify_range("device read of the pwritten half", 0, len / 2, 4)?;
    shadow.verify_u32("device read of the other half", len / 2, len / 2, FILL_B)?;
    m.verify_range("CPU read of the pwritten half", 0, len / 2, 4)?;
    m.verify_u32("CPU read of the other half", len / 2, len / 2, FILL_B)?;
    let r = f.read_all(len)?;
    r.verify_range("pread of the pwritten half", 0, len / 2, 4)?;
    r.verify_u32("pread of the other half", len / 2, len / 2, FILL_B)
}

/// `file-read-write-syscalls`.
pub fn file_read_write_syscalls() -> TestResult {
    on_each(FsDir::all, syscalls)
}

/// ftruncate of `dir`'s file while its pages are in VRAM.
fn truncation(env: &Env, dir: &FsDir) -> TestResult {
    let page = env.page;
    let len = PAGES * page;
    let half = len / 2;
    let f = TestFile::new(dir, "truncate", len)?;
    let m = f.map_shared(len)?;

    // Partial truncation: the upper half, device-written, is freed.
    m.fill(1);
    env.to_vram("migration", m.range(), PAGES)?;
    env.fill("device write to the upper half", &m, half, half, FILL_A)?;
    env.fill("device write to page 0", &m, 0, page, FILL_B)?;
    f.truncate(half)?;
    f.truncate(len)?;
    // The lower half is still in VRAM, whole.
    env.to_system(
        "migration back of the lower half",
        m.sub(0, half),
        PAGES / 2,
    )?;
    env.to_system("migration back of the upper half", m.sub(half, half), 0)?;
    m.verify_u32("page 0 after the partial truncation", 0, page, FILL_B)?;
    m.verify_range("pages 1.. of the lower half", page, half - page, 1)?;
    m.verify_zero("the truncated upper half", half, half)?;
    let r = f.read_all(len)?;
    r.verify_u32("pread of page 0", 0, page, FILL_B)?;
    r.verify_range("pread of the lower half", page, half - page, 1)?;
    r.verify_zero("pread of the truncated upper half", half, half)?;

    // Truncation inside a page: the rest of that page reads zero, the
    // pages before it keep their data.
    let cut = half + 13 * 8;
    m.fill(2);
    env.to_vram("second migration", m.range(), PAGES)?;
    f.truncate(cut)?;
    f.truncate(len)?;
    env.to_system(
        "migration back of the pages before the cut",
        m.sub(0, half),
        PAGES / 2,
    )?;
    m.verify_range("pages before the cut", 0, half, 2)?;
    m.verify_range("the cut page up to the cut", half, cut - half, 2)?;
    m.verify_zero("the rest of the file", cut, len - cut)?;
    let r = f.read_all(len)?;
    r.verify_range("pread up to the cut", 0, cut, 2)?;
    r.verify_zero("pread after the cut", cut, len - cut)?;

    // Truncation to zero and back: all zero, nothing left in VRAM.
    m.fill(3);
    env.to_vram("third migration", m.range(), PAGES)?;
    env.fill("device write of everything", &m, 0, len, FILL_A)?;
    f.truncate(0)?;
    f.truncate(len)?;
    env.to_system("migration back after truncation to 0", m.range(), 0)?;
    m.verify_zero("CPU read after truncation to 0", 0, len)?;
    f.read_all(len)?
        .verify_zero("pread after truncation to 0", 0, len)?;
    // The file works as before.
    m.fill(4);
    env.to_vram("migration after truncation", m.range(), PAGES)?;
    m.verify("CPU read after truncation", 4)
}

/// `file-truncate`.
pub fn file_truncate() -> TestResult {
    on_each(FsDir::all, truncation)
}

/// Another process maps `dir`'s file by its path while the pages are in
/// VRAM.
fn two_processes(env: &Env, dir: &FsDir) -> TestResult {
    let page = env.page;
    let len = PAGES * page;
    let f = TestFile::new(dir, "two", len)?;
    let m = f.map_shared(len)?;
    let path = f.path.clone();
    let open_map = move || -> TestResult<(File, Mapping)> {
        let g = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .or_fail_with(|| format!("open {}", path.display()))?;
        let gm = Mapping::with_fd(
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            g.as_raw_fd(),
            0,
        )
        .or_fail("mmap(MAP_SHARED) of the file in the child")?;
        Ok((g, gm))
    };

    // The child reads pages that are in the parent's VRAM, and writes some.
    m.fill(1);
    env.to_vram("parent's migration", m.range(), PAGES)?;
    env.fill(
        "parent's device write to pages 0..4",
        &m,
        0,
        4 * page,
        FILL_A,
    )?;
    process::fork("child reading", || {
        let (_g, gm) = open_map()?;
        gm.verify_u32("child reads the device's fill", 0, 4 * page, FILL_A)?;
        gm.verify_range("child reads pages 4..", 4 * page, len - 4 * page, 1)?;
        gm.fill_range(8 * page, 4 * page, 2);
        Ok(())
    })?
    .wait()?;
    // The child's reads brought every page home.
    env.to_system("parent's migration back", m.range(), 0)?;
    m.verify_u32("parent reads the device's fill", 0, 4 * page, FILL_A)?;
    m.verify_range("parent reads pages 4..8", 4 * page, 4 * page, 1)?;
    m.verify_range("parent reads the child's writes", 8 * page, 4 * page, 2)?;
    m.verify_range("parent reads pages 12..", 12 * page, len - 12 * page, 1)?;

    // The child writes pages in the parent's VRAM without reading them.
    m.fill(3);
    env.to_vram("parent's second migration", m.range(), PAGES)?;
    process::fork("child writing", || {
        let (_g, gm) = open_map()?;
        gm.fill_range(0, len / 2, 4);
        Ok(())
    })?
    .wait()?;
    env.to_system(
        "parent's migration back of the upper half",
        m.sub(len / 2, len / 2),
        PAGES / 2,
    )?;
    m.verify_range("parent reads the child's writes", 0, len / 2, 4)?;
    m.verify_range("parent reads its own upper half", len / 2, len / 2, 3)?;

    // The child moves the pages to VRAM itself, the device writes some,
    // and it exits; the pages stay in the page cache.
    process::fork("child migrating", || {
        let own = Env::init()?;
        let (_g, gm) = open_map()?;
        gm.fill(5);
        own.to_vram("child's migration", gm.range(), PAGES)?;
        own.fill("child's device write", &gm, 0, 4 * page, FILL_B)?;
        own.to_vram("child's migration after the device write", gm.range(), 0)?;
        Ok(())
    })?
    .wait()?;
    m.verify_u32("parent reads the child's device write", 0, 4 * page, FILL_B)?;
    m.verify_range(
        "parent reads the child's CPU write",
        4 * page,
        len - 4 * page,
        5,
    )?;
    let r = f.read_all(len)?;
    r.verify_u32("pread of the child's device write", 0, 4 * page, FILL_B)?;
    r.verify_range(
        "pread of the child's CPU write",
        4 * page,
        len - 4 * page,
        5,
    )
}

/// `file-two-processes`.
pub fn file_two_processes() -> TestResult {
    on_each(FsDir::all, two_processes)
}

/// `file-odirect-read`: O_DIRECT reads of an ext4 or xfs file whose pages the
/// device wrote in VRAM return the device's data.
pub fn file_odirect_read() -> TestResult {
    on_each(FsDir::disks, odirect_read)
}

fn odirect_read(env: &Env, dir: &FsDir) -> TestResult {
    let page = env.page;
    let len = PAGES * page;
    let half = len / 2;
    let f = TestFile::new(dir, "odirect-read", len)?;
    let m = f.map_shared(len)?;
    m.fill(1);
    env.to_vram("migration", m.range(), PAGES)?;
    env.fill("device write to the lower half", &m, 0, half, FILL_A)?;
    env.to_vram("migration after the device write", m.range(), 0)?;
    let r = f.read_direct(len)?;
    r.verify_u32("O_DIRECT read of the device's fill", 0, half, FILL_A)?;
    r.verify_range("O_DIRECT read of the CPU's data", half, half, 1)?;
    m.verify_u32("CPU read of the device's fill", 0, half, FILL_A)?;
    m.verify_range("CPU read of the CPU's data", half, half, 1)
}

/// `file-odirect-write`: an O_DIRECT write over an ext4 or xfs file's VRAM pages
/// replaces them; the pages around it keep what the device wrote.
pub fn file_odirect_write() -> TestResult {
    on_each(FsDir::disks, odirect_write)
}

fn odirect_write(env: &Env, dir: &FsDir) -> TestResult {
    let page = env.page;
    let len = PAGES * page;
    let f = TestFile::new(dir, "odirect-write", len)?;
    let m = f.map_shared(len)?;
    let shadow = Mapping::anon(len).or_fail("mmap of the shadow buffer")?;
    let buf = Mapping::anon(len).or_fail("mmap of the write buffer")?;
    m.fill(1);
    env.to_vram("migration", m.range(), PAGES)?;
    env.fill("device write of everything", &m, 0, len, FILL_A)?;
    env.to_vram("migration after the device write", m.range(), 0)?;
    buf.fill(2);
    f.write_direct(&buf, 8 * page, 8 * page, 8 * page)?;
    env.copy("device read", &shadow, 0, m.addr(), len)?;
    shadow.verify_u32("device read of pages 0..8", 0, 8 * page, FILL_A)?;
    shadow.verify_range("device read of the O_DIRECT write", 8 * page, 8 * page, 2)?;
    shadow.verify_u32(
        "device read of pages 16..",
        16 * page,
        len - 16 * page,
        FILL_A,
    )?;
    m.verify_u32("CPU read of pages 0..8", 0, 8 * page, FILL_A)?;
    m.verify_range("CPU read of the O_DIRECT write", 8 * page, 8 * page, 2)?;
    m.verify_u32("CPU read of pages 16..", 16 * page, len - 16 * page, FILL_A)?;
    let r = f.read_direct(len)?;
    r.verify_u32("O_DIRECT read of pages 0..8", 0, 8 * page, FILL_A)?;
    r.verify_range("O_DIRECT read of the O_DIRECT write", 8 * page, 8 * page, 2)?;
    r.verify_u32(
        "O_DIRECT read of pages 16..",
        16 * page,
        len - 16 * page,
        FILL_A,
    )
}

/// `file-evict`: a tmpfs file larger than VRAM, CPU- and device-written.
/// A migration that finds VRAM full leaves the rest in system memory (or
/// moves earlier pages back to make room): residency never exceeds VRAM,
/// and every page keeps its data, wherever the device wrote it.
pub fn file_evict() -> TestResult {
    let env = Env::init()?;
    let dir = FsDir::tmpfs()?;
    let page = env.page;
    let vram = env.vram_pages();
    let n = env.pages_beyond_vram();
    let len = n * page;
    let half = n / 2 * page;
    let f = TestFile::new(&dir, "evict", len)?;
    let m = f.map_shared(len)?;
    m.fill(1);
    let first = env.migrate(
        "migration of more than VRAM",
        m.range(),
        BindTarget::GpuVram,
    )?;
    crate::check!(
        first > 0 && first <= n,
        "pages moved: expected 1..={n}, got {first}"
    );
    // The device writes the upper half: pages in VRAM and, past what
    // fitted, in system memory.
    env.fill(
        "device write to the upper half",
        &m,
        half,
        len - half,
        FILL_A,
    )?;
    // Room for the upper half: the lower half goes home, then the upper
    // half moves (its system pages device-written).
    let back = env.migrate(
        "migration back of the lower half",
        m.sub(0, half),
        BindTarget::System,
    )?;
    let second = env.migrate(
        "migration of the upper half",
        m.sub(half, len - half),
        BindTarget::GpuVram,
    )?;
    let resident = env.migrate("migration back", m.range(), BindTarget::System)?;
    println!(
        "{n} pages, VRAM {vram} pages: {first} moved; {back} of the lower half came back, \
         then {second} of the upper half moved; {resident} were resident"
    );
    crate::check!(
        resident > 0 && resident <= vram,
        "pages in VRAM at the end: expected 1..={vram} (VRAM holds {vram}), got {resident}"
    );
    let r = f.read_all(len)?;
    r.verify_range("pread of the lower half", 0, half, 1)?;
    r.verify_u32(
        "pread of the device-written upper half",
        half,
        len - half,
        FILL_A,
    )?;
    m.verify_range("CPU read of the lower half", 0, half, 1)?;
    m.verify_u32(
        "CPU read of the device-written upper half",
        half,
        len - half,
        FILL_A,
    )
}

/// When the device's data is to reach the disk in
/// [`device_write_remount`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Persist {
    /// fsync before munmap.
    Fsync,
    /// Nothing before the unmount: the pages are still in VRAM, dirty,
    /// when the file system is unmounted, and its sync must bring them
    /// home and write them.
    Unmount,
}

/// A file on a disk is CPU-written, moved to VRAM and device-written, then
/// (after fsync, or not) unmapped and closed; the file system is
/// unmounted and mounted again, and the file read back, with an empty
/// page cache, by buffered reads and O_DIRECT.
fn device_write_remount(env: &Env, dir: &FsDir, persist: Persist) -> TestResult {
    let mnt = MountEntry::of(&dir.path)?;
    println!("the file system to mount again: {}", mnt.describe());
    let page = env.page;
    let len = PAGES * page;
    let half = len / 2;
    let f = TestFile::new(dir, &format!("remount-{persist:?}"), len)?;
    {
        let m = f.map_shared(len)?;
        // CPU writes through a mapping of a hole: order-0 folios.
        m.fill(1);
        env.to_vram("migration", m.range(), PAGES)?;
        env.fill("device write to the lower half", &m, 0, half, FILL_A)?;
        env.fill(
            "device write to 4 pages of the upper half",
            &m,
            half + 4 * page,
            4 * page,
            FILL_B,
        )?;
        // The device wrote in VRAM: every page is still there.
        env.to_vram("migration after the device writes", m.range(), 0)?;
        if persist == Persist::Fsync {
            f.fsync()?;
        }
    }
    // Unmapped and closed: with Persist::Unmount the pages stay in the
    // page cache, in VRAM, dirty, until the unmount's sync.
    let closed = f.close();
    let (name, want) = (dir.fs.name(), dir.fs.disk().map(|d| d.1));
    let u = mnt.unmount()?;
    let magic = fs_magic(&dir.path);
    crate::check!(
        magic.as_ref().ok().copied() != want && !closed.path.exists(),
        "after umount, {} is still on {name} ({magic:?}) or {} still exists",
        dir.path.display(),
        closed.path.display()
    );
    u.mount()?;
    let magic = fs_magic(&dir.path);
    crate::check!(
        magic.as_ref().ok().copied() == want,
        "after mounting again, {} is not on {name}: {magic:?}",
        dir.path.display()
    );
    let f = closed.reopen()?;
    // A new superblock: nothing of the file is cached, reads go to disk.
    check_eq(
        "pages of the file cached right after the mount",
        f.cached_pages(len)?,
        0,
    )?;
    let want = |r: &Region, what: &str| -> TestResult {
        r.verify_u32(what, 0, half, FILL_A)?;
        r.verify_range(what, half, 4 * page, 1)?;
        r.verify_u32(what, half + 4 * page, 4 * page, FILL_B)?;
        r.verify_range(what, half + 8 * page, half - 8 * page, 1)
    };
    want(&*f.read_direct(len)?, "O_DIRECT read after the mount")?;
    want(&*f.read_all(len)?, "buffered read after the mount")?;
    // The file works as before: through a mapping, to VRAM and back.
    let m = f.map_shared(len)?;
    want(&m, "CPU read through a new mapping")?;
    m.fill(2);
    env.to_vram("migration after the mount", m.range(), PAGES)?;
    env.to_system("migration back after the mount", m.range(), PAGES)?;
    m.verify("CPU read after the round trip", 2)
}

/// `file-device-write-remount`: device writes to the VRAM pages of an
/// ext4 and of an xfs file are on the disk after fsync, unmount and mount;
/// and without fsync, when the pages are still in VRAM at the unmount.
pub fn file_device_write_remount() -> TestResult {
    on_each(FsDir::disks, |env, dir| {
        for p in [Persist::Fsync, Persist::Unmount] {
            println!("persisted by {p:?}");
            within(&format!("{p:?}"), device_write_remount(env, dir, p))?;
        }
        Ok(())
    })
}

/// Writes `pages` pages of pattern `seed` to a new file on `dir`, one
/// write(2) a page, then fsyncs it and drops it from the page cache.
fn written_file(dir: &FsDir, tag: &str, pages: u64, seed: u64) -> TestResult<TestFile> {
    let page = crate::mem::page_size();
    let f = TestFile::new(dir, tag, 0)?;
    let content = Mapping::anon(pages * page).or_fail("mmap of the content buffer")?;
    content.fill(seed);
    for p in 0..pages {
        f.write_from(&content, p * page, page, p * page)?;
    }
    f.fsync()?;
    f.drop_cache()?;
    Ok(f)
}

/// A mapping that nothing touched: SVM_BIND to VRAM reads the file's pages
/// in (or finds them in the page cache) and moves all of them, shared and
/// private; a hole of a sparse file moves as zeroes, and what the device
/// writes there reaches the file.
fn untouched(env: &Env, dir: &FsDir) -> TestResult {
    let page = env.page;
    let len = PAGES * page;
    let half = len / 2;
    let shadow = Mapping::anon(len).or_fail("mmap of the shadow buffer")?;

    // Data on the disk (or in tmpfs), none of it mapped yet.
    let f = written_file(dir, "untouched", PAGES, 4)?;
    {
        let m = f.map_shared(len)?;
        env.to_vram(
            "migration of an untouched MAP_SHARED range",
            m.range(),
            PAGES,
        )?;
        env.copy("device read of the file", &shadow, 0, m.addr(), len)?;
        shadow.verify("device read of the untouched file", 4)?;
        m.verify("CPU read after the migration", 4)?;
    }
    {
        let m = f.map_private(len)?;
        env.to_vram(
            "migration of an untouched MAP_PRIVATE range",
            m.range(),
            PAGES,
        )?;
        env.fill("device write to a private page", &m, 0, page, FILL_A)?;
        m.verify_u32("the device's private copy", 0, page, FILL_A)?;
        m.verify_range("CPU read of the rest", page, len - page, 4)?;
    }
    f.read_all(len)?
        .verify("pread after the private mapping's writes", 4)?;

    // A sparse file: every page is a hole.
    let s = TestFile::new(dir, "untouched-sparse", len)?;
    {
        let m = s.map_shared(len)?;
        env.to_vram("migration of an untouched hole", m.range(), PAGES)?;
        shadow.fill(9);
        env.copy("device read of the hole", &shadow, 0, m.addr(), len)?;
        shadow.verify_zero("device read of the hole", 0, len)?;
        env.fill("device write to the hole", &m, 0, half, FILL_B)?;
        s.fsync()?;
    }
    s.drop_cache()?;
    let r = s.read_all(len)?;
    r.verify_u32("pread of the device's write to the hole", 0, half, FILL_B)?;
    r.verify_zero("pread of the rest of the hole", half, half)
}

/// `file-untouched`.
pub fn file_untouched() -> TestResult {
    on_each(FsDir::all, untouched)
}

/// One SVM_BIND over two mappings of the same file page, on either side of
/// a 2 MiB boundary: the first one mapped, the second not yet. The driver
/// migrates one PMD at a time and collects the next batch while the copies
/// of the last one run, with its folios locked; collecting the second
/// mapping faults it in, and the fault waits for the lock of the very
/// folio that the batch in flight holds. The call must return, with the
/// file's data intact.
fn mapped_twice(env: &Env, dir: &FsDir) -> TestResult {
    let page = env.page;
    let f = written_file(dir, "mapped-twice", 2, 6)?;
    let fd = f.file.as_raw_fd();
    let prot = libc::PROT_READ | libc::PROT_WRITE;
    let m = Mapping::with_fd_across_pmd(2 * page, page, prot, libc::MAP_SHARED, fd, 0)
        .or_fail("mmap of the file across a 2 MiB boundary")?;
    // CAST: addresses of this process fit usize.
    let second = (m.addr() + page) as usize as *mut libc::c_void;
    // SAFETY: MAP_FIXED over the second page of `m`, which this test owns
    // and which no Rust reference covers.
    let p = unsafe {
        libc::mmap(
            second,
            page as usize,
            prot,
            libc::MAP_SHARED | libc::MAP_FIXED,
            fd,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(fail(format!(
            "mmap of the file's first page over the second: {}",
            io::Error::last_os_error()
        )));
    }
    // Map the first page only.
    check_eq(
        "CPU read of the first mapping",
        m.read_u64(0),
        crate::mem::pattern(6, 0),
    )?;
    let moved = env.migrate(
        "SVM_BIND of two mappings of one file page",
        m.range(),
        BindTarget::GpuVram,
    )?;
    if !(1..=2).contains(&moved) {
        return Err(fail(format!(
            "SVM_BIND of two mappings of one file page moved {moved} pages, want 1 or 2"
        )));
    }
    for off in [0, page] {
        m.verify_with("CPU read of either mapping", off, page, |o| {
            crate::mem::pattern(6, (o - off) / 8)
        })?;
    }
    f.read_all(2 * page)?.verify("pread after the migration", 6)
}

/// `file-mapped-twice`.
pub fn file_mapped_twice() -> TestResult {
    on_each(FsDir::all, mapped_twice)
}

/// DEVICE_COPY from one mapping of a file to another mapping of the same
/// pages: the ranges differ, the memory is the same. The copy succeeds and
/// leaves the data as it was (the copy engine itself refuses overlapping
/// copies; the fuzzer reached this with mremap(MREMAP_DONTUNMAP), which got
/// EINVAL). Pages in VRAM are not covered: on ext4 the copy waits for the
/// destination's fault, which must bring home the folio that the source
/// holds, and fails with EBUSY after the fault timeout.
fn copy_between_aliases(env: &Env, dir: &FsDir) -> TestResult {
    let pages = 4;
    let len = pages * env.page;
    let f = written_file(dir, "copy-alias", pages, 16)?;
    let a = f.map_shared(len)?;
    let b = f.map_shared(len)?;
    a.verify("CPU read of the first mapping", 16)?;
    b.verify("CPU read of the second mapping", 16)?;
    env.copy("copy between the two mappings", &a, 0, b.addr(), len)?;
    a.verify("first mapping after the copy", 16)?;
    b.verify("second mapping after the copy", 16)?;
    f.read_all(len)?.verify("pread after the copy", 16)
}

/// `file-copy-between-aliases`.
pub fn file_copy_between_aliases() -> TestResult {
    on_each(FsDir::all, copy_between_aliases)
}

/// Pages of each buffer in [`reused_device_folios`].
const REUSE_PAGES: u64 = 64;

/// `REUSE_PAGES` anonymous pages, mlocked and filled from `seed`.
fn locked_buffer(env: &Env, seed: u64) -> TestResult<Mapping> {
    let locked = Mapping::anon(REUSE_PAGES * env.page).or_fail("mmap of the mlocked buffer")?;
    locked
        .lock()
        .or_skip("mlock of 64 pages (RLIMIT_MEMLOCK?)")?;
    locked.fill(seed);
    Ok(locked)
}

/// Moves `REUSE_PAGES` mlocked anonymous pages to VRAM and unmaps them
/// there, so that their device folios are freed after migration gave them
/// the PG_unevictable of the mlocked pages.
fn freed_locked_in_vram(env: &Env, seed: u64) -> TestResult {
    let locked = locked_buffer(env, seed)?;
    let moved = env.migrate("mlocked pages to VRAM", locked.range(), BindTarget::GpuVram)?;
    println!("{moved} of {REUSE_PAGES} mlocked pages moved to VRAM, then unmapped there");
    Ok(())
}

/// A file on `dir` read twice with read(2), which puts its page cache on the
/// active LRU list; returns it and a MAP_SHARED mapping of it, faulted in.
fn active_file(env: &Env, dir: &FsDir, tag: &str, seed: u64) -> TestResult<(TestFile, Mapping)> {
    let len = REUSE_PAGES * env.page;
    let f = written_file(dir, tag, REUSE_PAGES, seed)?;
    f.read_all(len)?.verify("first read(2) of the file", seed)?;
    f.read_all(len)?
        .verify("second read(2) of the file", seed)?;
    let m = f.map_shared(len)?;
    m.verify("CPU read of the mapping", seed)?;
    match crate::mem::pages_with_flags(m.range(), crate::mem::KPF_ACTIVE) {
        Ok(Some(n)) => println!("{n} of {REUSE_PAGES} page cache pages on the active list"),
        _ => println!("active page cache pages: unknown (no kpageflags)"),
    }
    Ok((f, m))
}

/// VRAM folios are reused without the page allocator, which would have
/// cleared the LRU state that migration copied into them: folios freed in
/// VRAM with PG_unevictable (from mlocked pages) or PG_active (from active
/// page cache) take the next pages that move there, and coming home they
/// must carry only the flags of those pages. Both orders run; a stale flag
/// mixed with the new page's trips VM_BUG_ON_FOLIO(folio_test_unevictable)
/// in folio_migrate_flags() on the way home (a debug kernel's splat, found
/// by the fuzzer). The data must survive both.
fn reused_device_folios(env: &Env, dir: &FsDir) -> TestResult {
    // Unevictable device folios freed, then active page cache moves in.
    freed_locked_in_vram(env, 11)?;
    let (f, m) = active_file(env, dir, "reuse-active", 12)?;
    env.migrate("active page cache to VRAM", m.range(), BindTarget::GpuVram)?;
    env.migrate("the page cache home", m.range(), BindTarget::System)?;
    m.verify("CPU read after the round trip", 12)?;
    f.read_all(REUSE_PAGES * env.page)?
        .verify("pread after the round trip", 12)?;

    // Active device folios freed (the file truncated in VRAM), then
    // mlocked pages move in.
    let (f, m) = active_file(env, dir, "reuse-truncated", 13)?;
    env.migrate("active page cache to VRAM", m.range(), BindTarget::GpuVram)?;
    drop(m);
    f.truncate(0)?;
    // Pages that were never activated take those folios and come home
    // as inactive as they left.
    let g = written_file(dir, "reuse-inactive", REUSE_PAGES, 15)?;
    let m = g.map_shared(REUSE_PAGES * env.page)?;
    m.verify("CPU read of the inactive file", 15)?;
    let active = || {
        crate::mem::pages_with_flags(m.range(), crate::mem::KPF_ACTIVE)
            .or_fail("pagemap/kpageflags of the mapping")
    };
    let before = active()?;
    env.migrate(
        "inactive page cache to VRAM",
        m.range(),
        BindTarget::GpuVram,
    )?;
    env.migrate("the page cache home", m.range(), BindTarget::System)?;
    m.verify("CPU read after the round trip", 15)?;
    let after = active()?;
    println!("active pages of {REUSE_PAGES}: {before:?} before the round trip, {after:?} after");
    if let (Some(before), Some(after)) = (before, after) {
        crate::check!(
            after <= before,
            "a round trip through VRAM activated pages: {before} active before, {after} after"
        );
    }
    drop(m);
    let locked = locked_buffer(env, 14)?;
    env.migrate("mlocked pages to VRAM", locked.range(), BindTarget::GpuVram)?;
    env.migrate("mlocked pages home", locked.range(), BindTarget::System)?;
    locked.verify("CPU read of the mlocked pages", 14)
}

/// `file-vram-folio-reuse`.
pub fn file_vram_folio_reuse() -> TestResult {
    on_each(FsDir::all, reused_device_folios)
}

/// Pages of the file in [`large_device_write`].
const LARGE_PAGES: u64 = 1024;

/// A 1024-page file written through its mapping (faults over a hole: ext4
/// and xfs read ahead in large folios) moves to VRAM, all of it in the runs
/// seen (a folio under writeback would stay), and the device then writes
/// all of it: the write succeeds, the CPU and pread see it, and it reaches
/// the disk.
fn large_device_write(env: &Env, dir: &FsDir) -> TestResult {
    let page = env.page;
    let len = LARGE_PAGES * page;
    let f = TestFile::new(dir, "large-write", len)?;
    {
        let m = f.map_shared(len)?;
        m.fill(6);
        let moved = env.migrate(
            "migration of a 1024-page file",
            m.range(),
            BindTarget::GpuVram,
        )?;
        println!("{moved} of {LARGE_PAGES} pages moved");
        crate::check!(moved > 0, "pages moved: expected some, got 0");
        env.fill("device write to the whole file", &m, 0, len, FILL_A)?;
        m.verify_u32("CPU read of the device's write", 0, len, FILL_A)?;
        f.fsync()?;
    }
    f.drop_cache()?;
    f.read_all(len)?
        .verify_u32("pread of the device's write", 0, len, FILL_A)
}

/// `file-device-write-large`.
pub fn file_device_write_large() -> TestResult {
    on_each(FsDir::all, large_device_write)
}

/// A file written by one write(2): ext4 and xfs cache it in large folios,
/// which move once split, and which cannot split while they are dirty.
/// SVM_BIND moves every page, dirty or clean, read through the mapping or
/// untouched, and the device's write to them reaches the disk; also where
/// the mapping begins a page or two under a 2 MiB boundary, so that a
/// fault maps only the first pages of a folio.
fn written_large(env: &Env, dir: &FsDir) -> TestResult {
    let page = env.page;
    let len = PAGES * page;
    let content = Mapping::anon(len).or_fail("mmap of the content buffer")?;
    // Dirty folios read through the mapping, dirty ones untouched, and
    // clean ones (after fsync) read through the mapping; the pages of the
    // mapping under a 2 MiB boundary, where it crosses one.
    let cases = [
        (true, false, None),
        (false, false, None),
        (true, true, None),
        (false, false, Some(1)),
        (false, false, Some(2)),
        (true, false, Some(1)),
    ];
    for (touch, sync, below) in cases {
        println!(
            "read through the mapping: {touch}, fsync first: {sync}, pages under a 2 MiB boundary: {}",
            below.map_or("any".to_string(), |b: u64| b.to_string())
        );
        let f = TestFile::new(dir, "written-large", 0)?;
        content.fill(7);
        f.write_from(&content, 0, len, 0)?;
        if sync {
            f.fsync()?;
        }
        let m = match below {
            Some(b) => f.map_shared_across_pmd(len, b * page)?,
            None => f.map_shared(len)?,
        };
        if touch {
            m.verify("the file through the mapping", 7)?;
            match crate::mem::large_folio_pages(m.range()) {
                Ok(Some(n)) => {
                    println!("{n} of {PAGES} pages are in large folios before the migration");
                    if dir.fs != Fs::Tmpfs {
                        crate::check!(
                            n > 0,
                            "pages of large folios after one write(2): expected some on {}, got 0",
                            dir.fs.name()
                        );
                    }
                }
                Ok(None) => println!("page frame numbers are hidden: folio sizes not checked"),
                Err(e) => return Err(fail(format!("pagemap/kpageflags: {}", describe(&e)))),
            }
        }
        let what = if touch { "read" } else { "untouched" };
        env.to_vram(
            &format!("migration of a just-written file ({what})"),
            m.range(),
            PAGES,
        )?;
        env.fill("device write to the file", &m, 0, len / 2, FILL_B)?;
        f.fsync()?;
        drop(m);
        f.drop_cache()?;
        let r = f.read_all(len)?;
        r.verify_u32("pread of the device's write", 0, len / 2, FILL_B)?;
        r.verify_range("pread of the rest", len / 2, len / 2, 7)?;
    }
    Ok(())
}

/// `file-written-large-folios`.
pub fn file_written_large_folios() -> TestResult {
    on_each(FsDir::all, written_large)
}

/// The errno of a failed libc call that returned `r`.
fn errno_of(r: libc::c_long) -> io::Result<libc::c_long> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Moves the first `pages` file pages of `m` to VRAM and has the device
/// write page `p` of them with `0x1000 + p`, so that a shift of the file's
/// pages shows; checks that all of them are in VRAM then.
fn device_numbered(env: &Env, m: &Mapping, pages: u64) -> TestResult {
    let page = env.page;
    env.migrate(
        "migration before the device writes",
        m.sub(0, pages * page),
        BindTarget::GpuVram,
    )?;
    for p in 0..pages {
        // CAST: p < 2^20.
        env.fill(
            "device write of a numbered page",
            m,
            p * page,
            page,
            0x1000 + p as u32,
        )?;
    }
    // A device write to a page that moved read-only (a hole that ext4 or
    // xfs has not allocated yet) brought it home through the CPU write
    // fault: move those back; then nothing is left to move, and every
    // page is in VRAM with the device's data.
    env.migrate(
        "migration of the pages that the device writes brought home",
        m.sub(0, pages * page),
        BindTarget::GpuVram,
    )?;
    env.to_vram(
        "migration after the device writes",
        m.sub(0, pages * page),
        0,
    )
}

/// Checks that page `p` of `r` (read back from the file) holds the number
/// `want(p)`, or zeroes where `want` is `None`.
fn check_numbered(
    r: &Region,
    pages: u64,
    what: &str,
    want: impl Fn(u64) -> Option<u64>,
) -> TestResult {
    let page = crate::mem::page_size();
    for p in 0..pages {
        match want(p) {
            // CAST: the numbers fit u32.
            Some(n) => r.verify_u32(
                &format!("{what}, page {p}"),
                p * page,
                page,
                0x1000 + n as u32,
            )?,
            None => r.verify_zero(&format!("{what}, page {p}"), p * page, page)?,
        }
    }
    Ok(())
}

/// fallocate(2) on a file whose pages are in VRAM with the device's data:
/// hole punch, zero range, collapse range and insert range free, zero or
/// shift exactly the pages they name, and keep the device's data in the
/// others.
fn fallocate_ops(env: &Env, dir: &FsDir) -> TestResult {
    let page = env.page;
    let n = PAGES;
    let len = n * page;
    let f = TestFile::new(dir, "fallocate", len)?;
    let m = f.map_shared(len)?;
    m.fill(1);
    let fd = f.fd();
    // CAST: offsets of a test file fit off_t.
    let falloc = |mode: i32, first: u64, count: u64| {
        // SAFETY: fallocate on an open descriptor has no memory effects.
        errno_of(
            unsafe {
                libc::fallocate(
                    fd,
                    mode,
                    (first * page) as libc::off_t,
                    (count * page) as libc::off_t,
                )
            }
            .into(),
        )
    };

    device_numbered(env, &m, n)?;
    falloc(libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE, 4, 4)
        .or_fail("fallocate(PUNCH_HOLE) of pages 4..8")?;
    let r = f.read_all(len)?;
    check_numbered(&r, n, "pread after the hole punch", |p| {
        (!(4..8).contains(&p)).then_some(p)
    })?;
    m.verify_zero("CPU read of the punched hole", 4 * page, 4 * page)?;

    if dir.fs == Fs::Tmpfs {
        println!("tmpfs has no ZERO_RANGE, COLLAPSE_RANGE or INSERT_RANGE: punch only");
        return Ok(());
    }
    device_numbered(env, &m, n)?;
    falloc(
        libc::FALLOC_FL_ZERO_RANGE | libc::FALLOC_FL_KEEP_SIZE,
        10,
        4,
    )
    .or_fail("fallocate(ZERO_RANGE) of pages 10..14")?;
    let r = f.read_all(len)?;
    check_numbered(&r, n, "pread after the zero range", |p| {
        (!(10..14).contains(&p)).then_some(p)
    })?;

    device_numbered(env, &m, n)?;
    falloc(libc::FALLOC_FL_COLLAPSE_RANGE, 16, 4)
        .or_fail("fallocate(COLLAPSE_RANGE) of pages 16..20")?;
    let r = f.read_all((n - 4) * page)?;
    check_numbered(&r, n - 4, "pread after the collapse", |p| {
        Some(if p < 16 { p } else { p + 4 })
    })?;
    drop(m);

    // The file has n - 4 pages now: map them again, shift pages 8.. by 4.
    let m = f.map_shared((n - 4) * page)?;
    device_numbered(env, &m, n - 4)?;
    falloc(libc::FALLOC_FL_INSERT_RANGE, 8, 4).or_fail("fallocate(INSERT_RANGE) at page 8")?;
    let r = f.read_all(len)?;
    check_numbered(&r, n, "pread after the insert", |p| match p {
        0..8 => Some(p),
        8..12 => None,
        _ => Some(p - 4),
    })
}

/// `file-fallocate`.
pub fn file_fallocate() -> TestResult {
    on_each(FsDir::all, fallocate_ops)
}

/// sendfile(2), splice(2) and copy_file_range(2) from a file whose pages
/// are in VRAM carry what the device wrote.
fn splice_ops(env: &Env, dir: &FsDir) -> TestResult {
    let page = env.page;
    let n = PAGES;
    let len = n * page;
    let f = TestFile::new(dir, "splice", len)?;
    let m = f.map_shared(len)?;
    m.fill(1);

    // sendfile to another file.
    device_numbered(env, &m, n)?;
    let out = TestFile::new(dir, "splice-out", 0)?;
    let mut off: libc::off_t = 0;
    let mut done = 0;
    while done < len {
        // SAFETY: Both descriptors are open; `off` is a valid offset.
        let r =
            errno_of(
                unsafe { libc::sendfile(out.fd(), f.fd(), &mut off, (len - done) as usize) }
                    as libc::c_long,
            )
            .or_fail("sendfile")?;
        crate::check!(r > 0, "sendfile copied 0 bytes at {done:#x} of {len:#x}");
        // CAST: r > 0.
        done += r as u64;
    }
    check_numbered(
        &*out.read_all(len)?,
        n,
        "the file that sendfile wrote",
        Some,
    )?;

    // splice into a pipe, 4 pages.
    device_numbered(env, &m, n)?;
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    errno_of(unsafe { libc::pipe(fds.as_mut_ptr()) }.into()).or_fail("pipe")?;
    // SAFETY: The descriptors were just made and are closed once, here.
    let pipe = unsafe { [File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])] };
    let mut off: libc::loff_t = 0;
    // SAFETY: The descriptors are open; `off` is a valid offset.
    let r = errno_of(unsafe {
        libc::splice(
            f.fd(),
            &mut off,
            pipe[1].as_raw_fd(),
            std::ptr::null_mut(),
            (4 * page) as usize,
            0,
        )
    } as libc::c_long)
    .or_fail("splice of 4 pages to a pipe")?;
    crate::check!(
        r as u64 == 4 * page,
        "splice moved {r:#x} bytes, expected {:#x}",
        4 * page
    );
    let out = TestFile::new(dir, "splice-pipe-out", 0)?;
    let mut out_off: libc::loff_t = 0;
    // SAFETY: As above.
    let r = errno_of(unsafe {
        libc::splice(
            pipe[0].as_raw_fd(),
            std::ptr::null_mut(),
            out.fd(),
            &mut out_off,
            (4 * page) as usize,
            0,
        )
    } as libc::c_long)
    .or_fail("splice of the pipe to a file")?;
    crate::check!(
        r as u64 == 4 * page,
        "splice out of the pipe moved {r:#x} bytes, expected {:#x}",
        4 * page
    );
    check_numbered(
        &*out.read_all(4 * page)?,
        4,
        "what splice put through the pipe",
        Some,
    )?;

    // copy_file_range to another file.
    device_numbered(env, &m, n)?;
    let out = TestFile::new(dir, "copy-out", 0)?;
    let (mut src_off, mut dst_off): (libc::loff_t, libc::loff_t) = (0, 0);
    let mut done = 0;
    while done < len {
        // SAFETY: Both descriptors are open; the offsets are valid.
        let r = errno_of(unsafe {
            libc::copy_file_range(
                f.fd(),
                &mut src_off,
                out.fd(),
                &mut dst_off,
                (len - done) as usize,
                0,
            )
        } as libc::c_long)
        .or_fail("copy_file_range")?;
        crate::check!(
            r > 0,
            "copy_file_range copied 0 bytes at {done:#x} of {len:#x}"
        );
        done += r as u64;
    }
    check_numbered(
        &*out.read_all(len)?,
        n,
        "the file that copy_file_range wrote",
        Some,
    )
}

/// `file-splice`.
pub fn file_splice() -> TestResult {
    on_each(FsDir::all, splice_ops)
}

/// `FIFREEZE` and `FITHAW` (linux/fs.h: `_IOWR('X', 119, int)`, `_IOWR('X', 120, int)`).
const FIFREEZE: libc::c_ulong = 0xc004_5877;
const FITHAW: libc::c_ulong = 0xc004_5878;

/// A frozen file system, thawed on drop, so that a failed check never
/// leaves the test VM's disk frozen.
struct Frozen(File);

impl Frozen {
    fn new(dir: &Path) -> TestResult<Self> {
        crate::check::require_root("FIFREEZE")?;
        let d = File::open(dir).or_fail_with(|| format!("open {}", dir.display()))?;
        // SAFETY: FIFREEZE takes an int argument that it ignores.
        errno_of(unsafe { libc::ioctl(d.as_raw_fd(), FIFREEZE, 0) }.into())
            .or_fail_with(|| format!("FIFREEZE of {}", dir.display()))?;
        Ok(Self(d))
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        // SAFETY: As for FIFREEZE.
        unsafe { libc::ioctl(self.0.as_raw_fd(), FITHAW, 0) };
    }
}

/// fsfreeze of a disk file system while the device has written pages of a
/// file in VRAM: the freeze writes them (home first), reads and device
/// reads work while frozen, and the device writes again after the thaw.
fn freeze(env: &Env, dir: &FsDir) -> TestResult {
    let page = env.page;
    let n = PAGES;
    let len = n * page;
    let f = TestFile::new(dir, "freeze", len)?;
    let m = f.map_shared(len)?;
    m.fill(1);
    device_numbered(env, &m, n)?;
    {
        let _frozen = Frozen::new(&dir.path)?;
        // Frozen: the data the device wrote is on the disk.
        check_numbered(&*f.read_direct(len)?, n, "O_DIRECT read while frozen", Some)?;
        check_numbered(&*f.read_all(len)?, n, "pread while frozen", Some)?;
        let shadow = Mapping::anon(len).or_fail("mmap of the shadow buffer")?;
        env.copy("device read while frozen", &shadow, 0, m.addr(), len)?;
        check_numbered(&shadow, n, "device read while frozen", Some)?;
    }
    env.to_vram("migration after the thaw", m.range(), n)?;
    env.fill("device write after the thaw", &m, 0, len, FILL_B)?;
    f.fsync()?;
    f.read_direct(len)?
        .verify_u32("O_DIRECT read after the thaw", 0, len, FILL_B)
}

/// `file-fsfreeze`.
pub fn file_fsfreeze() -> TestResult {
    on_each(FsDir::disks, freeze)
}

/// A bind mount of `dir` at a new directory, remounted read-only;
/// unmounted and removed on drop.
struct ReadOnlyBind(PathBuf);

impl ReadOnlyBind {
    fn new(dir: &Path) -> TestResult<Self> {
        crate::check::require_root("a bind mount")?;
        let at = std::env::temp_dir().join(format!("nova-svm-igt-robind-{}", std::process::id()));
        std::fs::create_dir(&at).or_fail_with(|| format!("mkdir {}", at.display()))?;
        let b = Self(at);
        let src = c_path(dir).or_fail("bind source path")?;
        let dst = c_path(&b.0).or_fail("bind target path")?;
        // SAFETY: NUL-terminated paths, no file system type or data.
        let r = unsafe {
            libc::mount(
                src.as_ptr(),
                dst.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            )
        };
        if r != 0 {
            return Err(skip(format!(
                "bind mount of {}: {}",
                dir.display(),
                describe(&io::Error::last_os_error())
            )));
        }
        let flags = libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY;
        // SAFETY: As above.
        let r = unsafe {
            libc::mount(
                std::ptr::null(),
                dst.as_ptr(),
                std::ptr::null(),
                flags,
                std::ptr::null(),
            )
        };
        errno_of(r.into()).or_fail("remount of the bind mount read-only")?;
        Ok(b)
    }
}

impl Drop for ReadOnlyBind {
    fn drop(&mut self) {
        if let Ok(c) = c_path(&self.0) {
            // SAFETY: A NUL-terminated path of a mount this process made.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// A file opened through a read-only bind mount and mapped read-only moves
/// to VRAM read-only: the device reads it, a device write fails with
/// EFAULT and changes nothing.
fn readonly_bind(env: &Env, dir: &FsDir) -> TestResult {
    let page = env.page;
    let len = PAGES * page;
    let f = written_file(dir, "robind", PAGES, 8)?;
    let ro = ReadOnlyBind::new(&dir.path)?;
    let Some(name) = f.path.file_name() else {
        return Err(fail(format!("{} has no file name", f.path.display())));
    };
    let path = ro.0.join(name);
    let rf = File::open(&path).or_fail_with(|| format!("open {}", path.display()))?;
    let m = Mapping::with_fd(len, libc::PROT_READ, libc::MAP_SHARED, rf.as_raw_fd(), 0)
        .or_fail("mmap(PROT_READ, MAP_SHARED) through the read-only bind mount")?;
    env.to_vram("migration of a read-only mapping", m.range(), PAGES)?;
    let shadow = Mapping::anon(len).or_fail("mmap of the shadow buffer")?;
    env.copy("device read", &shadow, 0, m.addr(), len)?;
    shadow.verify("device read through the read-only mount", 8)?;
    let mut arg = DeviceCopy::fill(m.addr(), page, FILL_A);
    // SAFETY: The destination is read-only: the kernel must not write it.
    let r = unsafe { env.dev.ioctl_unchecked(&mut arg) };
    crate::check::expect_errno("DEVICE_COPY FILL of a read-only mapping", r, libc::EFAULT)?;
    m.verify("CPU read after the refused device write", 8)?;
    f.read_all(len)?
        .verify("pread after the refused device write", 8)
}

/// `file-readonly-bind-mount`.
pub fn file_readonly_bind_mount() -> TestResult {
    on_each(FsDir::disks, readonly_bind)
}

/// Rounds of [`migrate_vs_writeback`].
const WRITEBACK_ROUNDS: u64 = 100;

/// Migrations and device writes of a file while another thread writes it
/// back all the time (sync_file_range, fdatasync): every round's CPU and
/// device data reads back, and the last round's reaches the disk.
fn migrate_vs_writeback(env: &Env, dir: &FsDir) -> TestResult {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let page = env.page;
    let len = PAGES * page;
    let half = len / 2;
    let f = TestFile::new(dir, "vs-writeback", len)?;
    let m = f.map_shared(len)?;
    let fd = f.fd();
    let stop = AtomicBool::new(false);
    let syncs = AtomicU64::new(0);
    // CAST: r <= WRITEBACK_ROUNDS.
    let value = |r: u64| 0xf000_0000 | r as u32;
    let mut moved = 0;
    let r = std::thread::scope(|s| {
        let writer = s.spawn(|| -> io::Result<()> {
            while !stop.load(Ordering::Relaxed) {
                let n = syncs.fetch_add(1, Ordering::Relaxed);
                // SAFETY: Syncing an open descriptor has no memory effects.
                let r = unsafe {
                    if n % 8 == 7 {
                        libc::fdatasync(fd)
                    } else {
                        libc::sync_file_range(fd, 0, 0, libc::SYNC_FILE_RANGE_WRITE)
                    }
                };
                errno_of(r.into())?;
            }
            Ok(())
        });
        let rounds = (|| -> TestResult {
            for r in 1..=WRITEBACK_ROUNDS {
                m.fill(r);
                moved += env.migrate("migration", m.range(), BindTarget::GpuVram)?;
                env.fill("device write", &m, 0, half, value(r))?;
                m.verify_u32("CPU read of the device's write", 0, half, value(r))?;
                m.verify_range("CPU read of its own write", half, half, r)?;
            }
            Ok(())
        })();
        stop.store(true, Ordering::Relaxed);
        let w = writer.join();
        rounds?;
        match w {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(fail(format!("the writeback thread: {}", describe(&e)))),
            Err(_) => Err(fail("the writeback thread panicked".to_string())),
        }
    });
    r?;
    println!(
        "{WRITEBACK_ROUNDS} rounds, {moved} pages moved, {} syncs",
        syncs.load(Ordering::Relaxed)
    );
    crate::check!(
        moved > 0,
        "pages moved over all rounds: expected some, got 0"
    );
    f.fsync()?;
    let d = f.read_direct(len)?;
    d.verify_u32(
        "O_DIRECT read of the last device write",
        0,
        half,
        value(WRITEBACK_ROUNDS),
    )?;
    d.verify_range(
        "O_DIRECT read of the last CPU write",
        half,
        half,
        WRITEBACK_ROUNDS,
    )
}

/// `file-migrate-vs-writeback`.
pub fn file_migrate_vs_writeback() -> TestResult {
    on_each(FsDir::disks, migrate_vs_writeback)
}
