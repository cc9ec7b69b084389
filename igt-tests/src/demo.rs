// SPDX-License-Identifier: MIT

//! `nova_svm_demo`: one shared-virtual-memory workload on nova-svm, step by
//! step, saying what happened at each step and how fast (`cargo xtask run`).
//!
//! The CPU fills a buffer, SVM_BIND moves it to VRAM, the device's copy
//! engine overwrites it there (DEVICE_COPY: a copy into one half, a fill of
//! the other), and the CPU reads it back: each CPU fault on a page in VRAM
//! brings the page home. Then the same with a file on ext4 (the directory
//! of `HMM_EXT4_DIR`): its page cache moves to VRAM, the device writes it,
//! fsync writes it to the disk, the file system is unmounted and mounted
//! again, and the file read from the disk holds what the device wrote.
//! Every step is checked; the exit status is 0 when all held and 1
//! otherwise.

use std::time::{Duration, Instant};

use nova_svm_uapi::{BindTarget, Device, DeviceCopy, Param};

use crate::check::{describe, fail, OrFail};
use crate::igt::{Stop, TestResult};
use crate::mem::{pattern, Mapping, Region};
use crate::mount::MountEntry;
use crate::suites::file::{FsDir, TestFile};

const MIB: u64 = 1 << 20;
/// The buffer the workload runs on.
pub const DEFAULT_SIZE: u64 = 32 * MIB;
/// The value the device's fill stores in every 32-bit word.
pub const FILL: u32 = 0xc0ff_ee00;
/// The value the device's fill stores in the file.
pub const FILE_FILL: u32 = 0xf11e_da7a;

/// `what took 1.234 ms (5678.9 MB/s)` for `bytes` moved in `d`.
pub fn timing(bytes: u64, d: Duration) -> String {
    let s = d.as_secs_f64();
    let rate = if s > 0.0 {
        // CAST: byte counts of the demo are far below 2^53.
        format!("{:.1} MB/s", bytes as f64 / s / 1e6)
    } else {
        "too fast to time".to_string()
    };
    format!("{:.3} ms, {rate}", s * 1e3)
}

/// Minor page faults of this process so far.
fn minor_faults() -> u64 {
    // SAFETY: `getrusage` writes only the structure it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is valid for writes of a `rusage`.
    let r = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    // CAST: a fault count is not negative.
    if r == 0 {
        ru.ru_minflt as u64
    } else {
        0
    }
}

/// Runs `f` and returns its value with the time it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed())
}

struct Demo {
    dev: Device,
    step: u32,
}

impl Demo {
    fn step(&mut self, what: &str) {
        self.step += 1;
        println!("[{}] {what}", self.step);
    }

    fn bind(&self, buf: &Region, target: BindTarget) -> TestResult<(u64, Duration)> {
        let (r, d) = timed(|| self.dev.svm_bind_migrate(buf.range(), target, 0));
        let r = r.or_fail_with(|| format!("SVM_BIND MIGRATE to {target:?}"))?;
        Ok((r.pages_moved, d))
    }

    fn expect_moved(&self, what: &str, got: u64, want: u64) -> TestResult {
        if got == want {
            Ok(())
        } else {
            Err(fail(format!("{what}: {got} pages moved, expected {want}")))
        }
    }

    fn run(&mut self, size: u64) -> TestResult {
        let page = nova_svm_uapi::page_size();
        let npages = size / page;

        self.step("the device");
        let v = self.dev.version().or_fail("DRM_IOCTL_VERSION")?;
        let p = |q| self.dev.getparam(q).or_fail("GETPARAM");
        let (vram, chunk, ce, sim) = (
            p(Param::VramSize)?,
            p(Param::ChunkSize)?,
            p(Param::CeClass)?,
            p(Param::IsSimulated)?,
        );
        println!(
            "    driver {} {}.{}.{} ({}); {}, VRAM {} MiB in chunks of {} KiB, copy engine class {ce:#x}",
            v.name,
            v.major,
            v.minor,
            v.patchlevel,
            v.desc,
            if sim == 1 { "simulated GPU" } else { "GPU" },
            vram / MIB,
            chunk / 1024
        );
        if vram < size {
            return Err(fail(format!(
                "the demo's {} MiB buffer does not fit in {} MiB of VRAM",
                size / MIB,
                vram / MIB
            )));
        }

        self.step("SVM_INIT: the device now shares this process's address space");
        self.dev.svm_init(0, 0).or_fail("SVM_INIT")?;
        println!("    every address of the process is an SVM address (no unmanaged window)");

        self.step(&format!(
            "the CPU allocates {} MiB (mmap, 4 KiB pages) and fills it",
            size / MIB
        ));
        let buf = Mapping::anon(size).or_fail("mmap of the buffer")?;
        buf.advise(0, size, libc::MADV_NOHUGEPAGE)
            .or_fail("madvise(MADV_NOHUGEPAGE)")?;
        let ((), d) = timed(|| buf.fill(1));
        println!(
            "    {npages} pages at {:#x}, filled with a pattern in {}",
            buf.addr(),
            timing(size, d)
        );

        self.step("SVM_BIND MIGRATE to GPU_VRAM");
        let (moved, d) = self.bind(&buf, BindTarget::GpuVram)?;
        println!(
            "    {moved} pages moved to VRAM in {} (the copy engine copied them)",
            timing(moved * page, d)
        );
        self.expect_moved("SVM_BIND to VRAM", moved, npages)?;
        println!(
            "    (this first migration also brought the VRAM chunks it needed online, \
             {} KiB each; the last step times migrations without that)",
            chunk / 1024
        );
        let (again, _) = self.bind(&buf, BindTarget::GpuVram)?;
        println!("    SVM_BIND to VRAM again: {again} pages moved, they are all there");
        self.expect_moved("the second SVM_BIND to VRAM", again, 0)?;

        self.step("the device reads VRAM: DEVICE_COPY of the buffer to a buffer in system memory");
        let shadow = Mapping::anon(size).or_fail("mmap of the second buffer")?;
        shadow.fill(9);
        let mut arg = DeviceCopy::copy(shadow.addr(), buf.addr(), size);
        // SAFETY: The destination is `shadow`, a mapping this function owns
        // that is reached only through `Region`'s raw accesses, never
        // through references; the source is only read.
        let (r, d) = timed(|| unsafe { self.dev.ioctl_unchecked(&mut arg) });
        r.or_fail("DEVICE_COPY from VRAM")?;
        println!("    {} bytes copied in {}", arg.result, timing(size, d));
        shadow.verify("the device's copy of the VRAM pages", 1)?;
        println!("    the CPU checked the copy: the device read what the CPU wrote");

        self.step(&format!(
            "the device writes VRAM: DEVICE_COPY of new data into the first half, \
             FILL of the second half with {FILL:#010x}"
        ));
        let half = size / 2;
        shadow.fill(2);
        let mut arg = DeviceCopy::copy(buf.addr(), shadow.addr(), half);
        // SAFETY: The destination is the first half of `buf`, a mapping
        // this function owns that is reached only through `Region`'s raw
        // accesses, never through references.
        let (r, d_copy) = timed(|| unsafe { self.dev.ioctl_unchecked(&mut arg) });
        r.or_fail("DEVICE_COPY into VRAM")?;
        let mut arg = DeviceCopy::fill(buf.addr() + half, half, FILL);
        // SAFETY: As above, for the second half of `buf`.
        let (r, d_fill) = timed(|| unsafe { self.dev.ioctl_unchecked(&mut arg) });
        r.or_fail("DEVICE_COPY FILL of VRAM")?;
        println!(
            "    copy: {}; fill: {}",
            timing(half, d_copy),
            timing(half, d_fill)
        );
        let (again, _) = self.bind(&buf, BindTarget::GpuVram)?;
        println!("    SVM_BIND to VRAM: {again} pages moved, the device wrote them in place");
        self.expect_moved("SVM_BIND to VRAM after the device's writes", again, 0)?;

        self.step("the CPU reads the buffer: each page in VRAM faults and comes home");
        let faults = minor_faults();
        let (r, d) = timed(|| {
            buf.verify_with("the CPU's view of the device's writes", 0, half, |o| {
                pattern(2, o / 8)
            })?;
            buf.verify_u32("the CPU's view of the device's fill", half, half, FILL)
        });
        let faults = minor_faults() - faults;
        r?;
        println!(
            "    read and checked in {}, with {faults} CPU page faults",
            timing(size, d)
        );
        println!("    the data is what the device wrote: the copy in the first half, the fill in the second");
        let (back, _) = self.bind(&buf, BindTarget::System)?;
        println!(
            "    SVM_BIND to SYSTEM: {back} pages moved, the CPU faults brought every page home"
        );
        self.expect_moved("SVM_BIND to SYSTEM after the CPU read", back, 0)?;

        self.step("a round trip on request: SVM_BIND to GPU_VRAM, then to SYSTEM");
        buf.fill(3);
        let (to_vram, d_to) = self.bind(&buf, BindTarget::GpuVram)?;
        self.expect_moved("SVM_BIND to VRAM", to_vram, npages)?;
        let (to_sys, d_back) = self.bind(&buf, BindTarget::System)?;
        self.expect_moved("SVM_BIND to SYSTEM", to_sys, npages)?;
        let faults = minor_faults();
        buf.verify("the buffer after the round trip", 3)?;
        let faults = minor_faults() - faults;
        println!("    to VRAM: {to_vram} pages in {}", timing(size, d_to));
        println!("    to system: {to_sys} pages in {}", timing(size, d_back));
        println!("    the CPU read it back with {faults} page faults: the data survived the trip");
        drop(buf);
        drop(shadow);
        self.run_file(size / 2)
    }

    /// The file-backed part: an ext4 file's page cache moves to VRAM, the
    /// device writes it there, fsync writes it to the disk, and after the
    /// file system is unmounted and mounted again the disk holds what the
    /// device wrote.
    fn run_file(&mut self, size: u64) -> TestResult {
        let page = nova_svm_uapi::page_size();
        let npages = size / page;
        let dir = match FsDir::ext4() {
            Ok(d) => d,
            Err(Stop::Skip(why) | Stop::Fail(why)) => {
                self.step("file-backed memory on ext4: not run");
                println!("    {why}");
                return Ok(());
            }
        };
        let mnt = MountEntry::of(&dir.path).map_err(|e| match e {
            Stop::Skip(m) | Stop::Fail(m) => fail(m),
        })?;

        self.step(&format!(
            "a file on ext4: {} MiB, written by the CPU with write(2), one page at a time, \
             and mapped MAP_SHARED",
            size / MIB
        ));
        let f = TestFile::new(&dir, "demo", size)?;
        let content = Mapping::anon(size).or_fail("mmap of the content buffer")?;
        content.fill(4);
        // One write(2) a page: ext4 caches each page in a 4 KiB folio.
        // Large folios (of a multi-page write) would move too, but only
        // after the migration splits them and writes dirty ones back,
        // which the demo would then time as migration.
        let (r, d) = timed(|| {
            (0..npages).try_for_each(|p| f.write_from(&content, p * page, page, p * page))
        });
        r?;
        let m = f.map_shared(size)?;
        // SVM_BIND moves what the CPU page table maps: the CPU writes
        // every page through the mapping (the same data).
        let ((), d_map) = timed(|| m.fill(4));
        println!(
            "    file {}; file system {}",
            f.path.display(),
            mnt.describe()
        );
        println!(
            "    {npages} pages written in {}, then written again through the mapping at \
             {:#x} in {}",
            timing(size, d),
            m.addr(),
            timing(size, d_map)
        );

        self.step("SVM_BIND MIGRATE to GPU_VRAM: the file's page cache moves to VRAM");
        let (moved, d) = self.bind(&m, BindTarget::GpuVram)?;
        println!(
            "    {moved} pages moved to VRAM in {}; device-private folios took their place \
             in the page cache",
            timing(moved * page, d)
        );
        self.expect_moved("SVM_BIND of the file to VRAM", moved, npages)?;

        self.step(&format!(
            "the device writes the file in VRAM: FILL of the first half with {FILE_FILL:#010x}, \
             DEVICE_COPY of new data into the second half"
        ));
        let half = size / 2;
        let src = Mapping::anon(half).or_fail("mmap of the source buffer")?;
        src.fill(5);
        let mut arg = DeviceCopy::fill(m.addr(), half, FILE_FILL);
        // SAFETY: The destination is the first half of `m`, a mapping this
        // function owns that is reached only through `Region`'s raw
        // accesses, never through references.
        let (r, d_fill) = timed(|| unsafe { self.dev.ioctl_unchecked(&mut arg) });
        r.or_fail("DEVICE_COPY FILL of the file's VRAM pages")?;
        let mut arg = DeviceCopy::copy(m.addr() + half, src.addr(), half);
        // SAFETY: As above, for the second half of `m`; the source is
        // only read.
        let (r, d_copy) = timed(|| unsafe { self.dev.ioctl_unchecked(&mut arg) });
        r.or_fail("DEVICE_COPY into the file's VRAM pages")?;
        println!(
            "    fill: {}; copy: {}",
            timing(half, d_fill),
            timing(half, d_copy)
        );
        let (again, _) = self.bind(&m, BindTarget::GpuVram)?;
        println!("    SVM_BIND to VRAM: {again} pages moved, the device wrote them in place");
        self.expect_moved("SVM_BIND of the file after the device's writes", again, 0)?;

        self.step("fsync: writeback brings the device's pages home and writes them to the disk");
        let (r, d) = timed(|| f.fsync());
        r?;
        println!("    fsync took {}", timing(size, d));
        let (back, _) = self.bind(&m, BindTarget::System)?;
        println!("    SVM_BIND to SYSTEM: {back} pages moved, fsync brought every dirty page home");
        self.expect_moved("SVM_BIND of the file to SYSTEM after fsync", back, 0)?;

        self.step(&format!(
            "munmap, close, unmount {} and mount it again",
            mnt.target.display()
        ));
        drop(m);
        let closed = f.close();
        let (r, d) = timed(|| mnt.remount());
        r?;
        println!(
            "    unmounted and mounted again in {:.3} ms: a new superblock, nothing of the \
             file in memory",
            d.as_secs_f64() * 1e3
        );
        let f = closed.reopen()?;
        let cached = f.cached_pages(size)?;
        println!("    pages of the file in the page cache: {cached}");
        if cached != 0 {
            return Err(fail(format!(
                "{cached} pages of the file are cached right after the mount"
            )));
        }

        self.step("read the file back from the disk and check it");
        let want = |r: &Region, what: &str| -> TestResult {
            r.verify_u32(what, 0, half, FILE_FILL)?;
            r.verify_with(what, half, half, |o| pattern(5, (o - half) / 8))
        };
        let (r, d) = timed(|| f.read_direct(size));
        want(&*r?, "O_DIRECT read after the mount")?;
        println!(
            "    O_DIRECT read (from the disk) in {}: the device's data",
            timing(size, d)
        );
        let (r, d) = timed(|| f.read_all(size));
        want(&*r?, "buffered read after the mount")?;
        println!(
            "    buffered read in {}: the device's data",
            timing(size, d)
        );
        println!(
            "    the fill in the first half, the copy in the second: what the device wrote in \
             VRAM is on the disk"
        );
        Ok(())
    }
}

/// Runs the demo on the first nova-svm render node; returns the exit
/// status.
pub fn run(size: u64) -> i32 {
    println!("nova_svm_demo: shared virtual memory between this process and a nova-svm device");
    let dev = match Device::open_render_node() {
        Ok(d) => d,
        Err(e) => {
            println!(
                "demo: FAILED: no nova-svm render node ({}); load nova_svm with sim_vram_mib=N",
                describe(&e)
            );
            return 1;
        }
    };
    let mut demo = Demo { dev, step: 0 };
    match demo.run(size) {
        Ok(()) => {
            println!("demo: every step did what it said");
            0
        }
        Err(Stop::Fail(m) | Stop::Skip(m)) => {
            println!("demo: FAILED at step {}: {m}", demo.step);
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timings_read_well() {
        assert_eq!(
            timing(2_000_000, Duration::from_millis(4)),
            "4.000 ms, 500.0 MB/s"
        );
        assert_eq!(timing(1, Duration::ZERO), "0.000 ms, too fast to time");
    }

    #[test]
    fn faults_are_counted() {
        let before = minor_faults();
        let m = Mapping::anon(16 * nova_svm_uapi::page_size()).unwrap();
        m.fill(1);
        assert!(minor_faults() > before);
    }
}
