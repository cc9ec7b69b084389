// SPDX-License-Identifier: MIT

//! `nova_svm_bench`: migration throughput of nova-svm next to the kernel's
//! `test_hmm` and a plain `memcpy`, for anonymous 4 KiB pages and 2 MiB
//! folios, and for the page cache of tmpfs and ext4 files.
//!
//! For each size class a fresh buffer is filled with a pattern, migrated to
//! the device and back, and checked; each migration is timed on its own.
//! The first round trip of each subject is a warm-up (device memory is
//! reserved then) and is not counted; the table gives the median of the
//! timed ones.
//!
//! - 4K: a buffer with `MADV_NOHUGEPAGE`, so every page is a base page.
//! - 2M: a buffer aligned to 2 MiB with `MADV_HUGEPAGE`; whether the kernel
//!   really gave it transparent huge pages is read from `AnonHugePages` in
//!   `/proc/self/smaps` and printed.
//! - tmpfs, ext4: a `MAP_SHARED` mapping of a file on a tmpfs (`/tmp` in
//!   the VM) and on ext4 (`HMM_EXT4_DIR`), 4 KiB folios in the page cache.
//!   The file is written with one write(2) a page: ext4 caches a
//!   multi-page write in large folios, which migrate only after a split
//!   (and writeback of dirty ones) that the bench would time. Before each round trip the CPU writes the pattern
//!   through the mapping and fsync cleans the pages (untimed), so that
//!   writeback, which brings dirty device pages home, cannot race the
//!   timed migrations.
//!
//! Subjects:
//!
//! - memcpy: the same number of bytes copied by the CPU between two buffers
//!   of the same class ("to device" one way, "to system" back), as a ceiling.
//! - test_hmm: `HMM_DMIRROR_MIGRATE_TO_DEV` (`_PAGECACHE` for files) and
//!   `HMM_DMIRROR_MIGRATE_TO_SYS` on `/dev/hmm_dmirror0`. Its MIGRATE_TO_DEV also copies the migrated
//!   data back to a user buffer (that is the ioctl), as hmm-tests'
//!   `benchmark_thp_migration` measures it too.
//! - nova-svm: SVM_BIND MIGRATE to GPU_VRAM and to SYSTEM on the render
//!   node, on the simulated GPU (its copy engine runs in software).
//!
//! Speed is never a failure. The exit status is 1 when a migration fails,
//! moves fewer pages than asked (nova-svm), or the data differs after a
//! round trip; a subject whose device is missing is reported and left out
//! of the table, not failed.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use nova_svm_uapi::{BindTarget, Device, Param};

use crate::check::{describe, fail, OrFail};
use crate::dmirror::{self, Dmirror};
use crate::igt::{Stop, TestResult};
use crate::mem::{anon_huge_kb, Mapping, Region};
use crate::suites::file::{Fs, FsDir, TestFile};

/// 2 MiB, the size of a PMD folio.
pub const HUGE: u64 = 2 << 20;
/// 1 MiB.
const MIB: u64 = 1 << 20;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Bytes per migration; a multiple of 2 MiB.
    pub size: u64,
    /// Timed round trips per subject and size class (after one warm-up).
    pub iterations: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            size: 64 * MIB,
            iterations: 7,
        }
    }
}

/// The usage text.
pub const USAGE: &str = "\
usage: nova_svm_bench [--size-mib N] [--iterations N]

Migration throughput of nova-svm (SVM_BIND to VRAM and back), test_hmm
(/dev/hmm_dmirror0) and memcpy, for 4 KiB pages and 2 MiB folios. Load
test_hmm and nova_svm (sim_vram_mib=N) first.

  --size-mib N     bytes per migration, in MiB, a multiple of 2 (default 64)
  --iterations N   timed round trips per cell, after one warm-up (default 7)

Exit status: 0 when every migration worked and every round trip kept the
data, 1 otherwise, 2 for bad arguments.";

impl Config {
    /// Reads the command line (without the program name). `Ok(None)` for
    /// `--help`.
    pub fn parse(args: &[String]) -> Result<Option<Self>, String> {
        let mut c = Self::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut number = |name: &str| -> Result<u64, String> {
                let v = it.next().ok_or_else(|| format!("{name} needs a number"))?;
                v.parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{name}: `{v}` is not a positive number"))
            };
            match a.as_str() {
                "--size-mib" => {
                    let mib = number("--size-mib")?;
                    if mib % 2 != 0 || mib > 1024 {
                        return Err(format!(
                            "--size-mib: {mib} is not an even number of MiB up to 1024"
                        ));
                    }
                    c.size = mib * MIB;
                }
                "--iterations" => {
                    let n = number("--iterations")?;
                    c.iterations = usize::try_from(n.min(1000)).unwrap_or(1000);
                }
                "--help" | "-h" => return Ok(None),
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        Ok(Some(c))
    }
}

/// The page size a buffer is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeClass {
    /// Base pages (`MADV_NOHUGEPAGE`).
    Base,
    /// 2 MiB transparent huge pages (`MADV_HUGEPAGE`), when the kernel
    /// gives them.
    Huge,
}

impl SizeClass {
    /// Both, in table order.
    pub const ALL: [SizeClass; 2] = [SizeClass::Base, SizeClass::Huge];

    /// The table's name: `4K` or `2M`.
    pub fn label(self) -> &'static str {
        match self {
            SizeClass::Base => "4K",
            SizeClass::Huge => "2M",
        }
    }

    /// An anonymous buffer of `len` bytes of this class, not yet
    /// populated.
    pub fn alloc(self, len: u64) -> TestResult<Mapping> {
        let (m, advice, what) = match self {
            SizeClass::Base => (
                Mapping::anon(len),
                libc::MADV_NOHUGEPAGE,
                "madvise(MADV_NOHUGEPAGE)",
            ),
            SizeClass::Huge => (
                Mapping::aligned_anon(len, HUGE),
                libc::MADV_HUGEPAGE,
                "madvise(MADV_HUGEPAGE)",
            ),
        };
        let m = m.or_fail_with(|| format!("mmap of {} MiB", len / MIB))?;
        m.advise(0, m.len(), advice).or_fail(what)?;
        Ok(m)
    }
}

/// What a buffer of the benchmark is: anonymous memory of a size class,
/// or a file's page cache (4 KiB folios).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Memory {
    /// Anonymous private memory.
    Anon(SizeClass),
    /// A `MAP_SHARED` mapping of a file.
    File(Fs),
}

impl Memory {
    /// Every kind, in table order.
    pub const ALL: [Memory; 5] = [
        Memory::Anon(SizeClass::Base),
        Memory::Anon(SizeClass::Huge),
        Memory::File(Fs::Tmpfs),
        Memory::File(Fs::Ext4),
        Memory::File(Fs::Xfs),
    ];

    /// The table's name: `4K anon`, `2M anon`, `4K tmpfs`, `4K ext4`,
    /// `4K xfs`.
    pub fn label(self) -> &'static str {
        match self {
            Memory::Anon(SizeClass::Base) => "4K anon",
            Memory::Anon(SizeClass::Huge) => "2M anon",
            Memory::File(Fs::Tmpfs) => "4K tmpfs",
            Memory::File(Fs::Ext4) => "4K ext4",
            Memory::File(Fs::Xfs) => "4K xfs",
        }
    }

    /// The size class of its pages.
    pub fn class(self) -> SizeClass {
        match self {
            Memory::Anon(c) => c,
            Memory::File(_) => SizeClass::Base,
        }
    }
}

/// A buffer to migrate: anonymous memory, or a file's mapping with the
/// file.
struct Buffer {
    map: Mapping,
    /// For a file: the file (fsynced before each round trip) and its
    /// directory (which may be a mount of its own).
    file: Option<(TestFile, FsDir)>,
}

impl Buffer {
    /// A buffer of `len` bytes of `mem`. A file is written with one
    /// write(2) a page, so that the page cache holds 4 KiB folios, and is
    /// mapped; the mapping is not populated.
    fn new(mem: Memory, len: u64) -> TestResult<Self> {
        let fs = match mem {
            Memory::Anon(class) => {
                return Ok(Self {
                    map: class.alloc(len)?,
                    file: None,
                })
            }
            Memory::File(fs) => fs,
        };
        let dir = match fs {
            Fs::Tmpfs => FsDir::tmpfs()?,
            disk => FsDir::disk(disk)?,
        };
        let f = TestFile::new(&dir, "bench", len)?;
        let page = crate::mem::page_size();
        let content = Mapping::anon(len).or_fail("mmap of the file's content")?;
        content.fill(1);
        for p in 0..len / page {
            f.write_from(&content, p * page, page, p * page)?;
        }
        f.fsync()?;
        let map = f.map_shared(len)?;
        Ok(Self {
            map,
            file: Some((f, dir)),
        })
    }

    /// Makes the buffer's pages clean, for a file (fsync); nothing for
    /// anonymous memory.
    fn settle(&self) -> TestResult {
        self.file.as_ref().map_or(Ok(()), |(f, _)| f.fsync())
    }
}

/// One row of the table's direction column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// System memory to the device.
    ToDevice,
    /// The device to system memory.
    ToSystem,
}

impl Direction {
    /// The table's words.
    pub fn label(self) -> &'static str {
        match self {
            Direction::ToDevice => "to device",
            Direction::ToSystem => "to system",
        }
    }
}

/// Throughput in MB/s (10^6 bytes per second).
pub fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    let s = d.as_secs_f64();
    if s > 0.0 {
        // CAST: byte counts of a benchmark are far below 2^53.
        bytes as f64 / s / 1e6
    } else {
        f64::INFINITY
    }
}

/// The median of `v` (the mean of the middle two for an even count);
/// `None` when empty.
pub fn median(v: &[f64]) -> Option<f64> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(f64::total_cmp);
    let n = s.len();
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    })
}

/// The timed throughputs (MB/s) of one subject and size class.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    /// One per timed iteration, to the device.
    pub to_device: Vec<f64>,
    /// One per timed iteration, back to system memory.
    pub to_system: Vec<f64>,
}

impl Samples {
    /// The samples of `dir`.
    pub fn get(&self, dir: Direction) -> &[f64] {
        match dir {
            Direction::ToDevice => &self.to_device,
            Direction::ToSystem => &self.to_system,
        }
    }

    /// `min / median / max` of a direction, for the progress lines.
    pub fn spread(&self, dir: Direction) -> String {
        let v = self.get(dir);
        let (Some(lo), Some(hi), Some(m)) = (
            v.iter().copied().reduce(f64::min),
            v.iter().copied().reduce(f64::max),
            median(v),
        ) else {
            return "no samples".to_string();
        };
        format!(
            "median {m:.1} MB/s (min {lo:.1}, max {hi:.1}, n={})",
            v.len()
        )
    }
}

/// One line of the table: medians in MB/s, `None` where the subject did
/// not run (missing device or file system) or failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The kind of memory.
    pub mem: Memory,
    /// Direction.
    pub dir: Direction,
    /// memcpy.
    pub memcpy: Option<f64>,
    /// test_hmm.
    pub test_hmm: Option<f64>,
    /// nova-svm.
    pub nova: Option<f64>,
}

fn cell(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |x| format!("{x:.1}"))
}

/// `a / b` as `0.71x`, or `-`.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 && a.is_finite() && b.is_finite() => {
            format!("{:.2}x", a / b)
        }
        _ => "-".to_string(),
    }
}

/// The result table, one line per size class and direction.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let header = [
        "memory",
        "direction",
        "memcpy MB/s",
        "test_hmm MB/s",
        "nova-svm MB/s",
        "nova-svm/memcpy",
        "nova-svm/test_hmm",
    ];
    let mut lines: Vec<[String; 7]> = vec![header.map(str::to_string)];
    for r in rows {
        lines.push([
            r.mem.label().to_string(),
            r.dir.label().to_string(),
            cell(r.memcpy),
            cell(r.test_hmm),
            cell(r.nova),
            ratio(r.nova, r.memcpy),
            ratio(r.nova, r.test_hmm),
        ]);
    }
    let mut width = [0usize; 7];
    for l in &lines {
        for (w, c) in width.iter_mut().zip(l) {
            *w = (*w).max(c.len());
        }
    }
    for (i, l) in lines.iter().enumerate() {
        let cols: Vec<String> = l
            .iter()
            .zip(width)
            .enumerate()
            .map(|(j, (c, w))| {
                if j < 2 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "| {} |", cols.join(" | "));
        if i == 0 {
            let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
            let _ = writeln!(out, "|-{}-|", rule.join("-|-"));
        }
    }
    out
}

/// The driver's statistics (debugfs, root only), as name and value pairs.
fn nova_stats() -> Option<Vec<(String, u64)>> {
    let text = std::fs::read_to_string(format!("{}/stats", crate::env::SIM_DEBUGFS)).ok()?;
    Some(
        text.lines()
            .filter_map(|l| {
                let (k, v) = l.split_once(' ')?;
                Some((k.to_string(), v.trim().parse().ok()?))
            })
            .collect(),
    )
}

/// The milliseconds that the timing statistics grew by from `b` to `a`.
fn stats_delta(b: &[(String, u64)], a: &[(String, u64)]) -> String {
    a.iter()
        .filter(|(k, _)| k.ends_with("_ns"))
        .map(|(k, v)| {
            let before = b.iter().find(|(bk, _)| bk == k).map_or(0, |(_, bv)| *bv);
            format!(
                "{} {} ms",
                k.trim_end_matches("_ns"),
                v.saturating_sub(before) / 1_000_000
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `AnonHugePages` of the mapping that holds `m`, as `"N kB of M kB"`.
fn thp_text(m: &Region) -> String {
    match anon_huge_kb(m.addr()) {
        Ok(Some(kb)) => format!("{kb} kB of {} kB", m.len() / 1024),
        Ok(None) => "not found in smaps".to_string(),
        Err(e) => format!("unreadable ({})", describe(&e)),
    }
}

fn thp_kb(m: &Region) -> Option<u64> {
    anon_huge_kb(m.addr()).ok().flatten()
}

/// A subject: something that moves a buffer "to the device" and back.
trait Subject {
    /// Name in the table.
    fn name(&self) -> &'static str;

    /// Moves `buf` to the device (timed).
    fn to_device(&mut self, buf: &Mapping) -> TestResult;

    /// Checks, untimed, what the device got in the last
    /// [`Subject::to_device`]; the default checks nothing.
    fn check_device(&mut self, _buf: &Mapping, _seed: u64) -> TestResult {
        Ok(())
    }

    /// Moves `buf` back to system memory (timed).
    fn to_system(&mut self, buf: &Mapping) -> TestResult;
}

/// The CPU copying to a second buffer and back.
struct Memcpy {
    other: Mapping,
}

impl Memcpy {
    /// The second buffer: same class and size, populated.
    fn new(class: SizeClass, size: u64) -> TestResult<Self> {
        let other = class.alloc(size)?;
        other.fill(1);
        Ok(Self { other })
    }

    fn copy(dst: &Region, src: &Region) {
        assert_eq!(dst.len(), src.len());
        // CAST: addresses and lengths of live mappings fit in usize.
        let (d, s, n) = (
            dst.addr() as usize as *mut u8,
            src.addr() as usize as *const u8,
            dst.len() as usize,
        );
        // SAFETY:
        // - Both ranges are whole, distinct mappings that this process
        //   owns for the call, so they are valid and do not overlap.
        // - No Rust reference points into them, and no other thread
        //   touches them during the benchmark.
        unsafe { std::ptr::copy_nonoverlapping(s, d, n) };
    }
}

impl Subject for Memcpy {
    fn name(&self) -> &'static str {
        "memcpy"
    }

    fn to_device(&mut self, buf: &Mapping) -> TestResult {
        Self::copy(&self.other, buf);
        Ok(())
    }

    fn check_device(&mut self, buf: &Mapping, seed: u64) -> TestResult {
        // The pattern is indexed by offset, so the copy holds it too.
        self.other.verify("memcpy: the copy", seed)?;
        // The copy back must change the buffer, so the round trip check
        // means something.
        buf.fill(seed ^ 0x55);
        Ok(())
    }

    fn to_system(&mut self, buf: &Mapping) -> TestResult {
        Self::copy(buf, &self.other);
        Ok(())
    }
}

/// test_hmm's dmirror device.
struct TestHmm {
    dev: Dmirror,
    /// MIGRATE_TO_DEV_PAGECACHE (file mappings) rather than
    /// MIGRATE_TO_DEV.
    pagecache: bool,
    bounce: Mapping,
    /// `cpages` of the last MIGRATE_TO_DEV.
    cpages: u64,
    noted: bool,
}

impl TestHmm {
    fn new(mem: Memory, size: u64) -> TestResult<Self> {
        let dev = Dmirror::open(dmirror::DEFAULT_NODE)
            .or_fail_with(|| format!("open {}", dmirror::DEFAULT_NODE))?;
        let bounce = Mapping::anon(size).or_fail("mmap of the bounce buffer")?;
        bounce.fill(1);
        Ok(Self {
            dev,
            pagecache: matches!(mem, Memory::File(_)),
            bounce,
            cpages: 0,
            noted: false,
        })
    }
}

impl Subject for TestHmm {
    fn name(&self) -> &'static str {
        "test_hmm"
    }

    fn to_device(&mut self, buf: &Mapping) -> TestResult {
        self.cpages = if self.pagecache {
            self.dev
                .migrate_to_dev_pagecache(buf, &self.bounce)
                .or_fail("test_hmm: HMM_DMIRROR_MIGRATE_TO_DEV_PAGECACHE")?
        } else {
            self.dev
                .migrate_to_dev(buf, &self.bounce)
                .or_fail("test_hmm: HMM_DMIRROR_MIGRATE_TO_DEV")?
        };
        Ok(())
    }

    fn check_device(&mut self, buf: &Mapping, seed: u64) -> TestResult {
        if self.cpages != buf.page_count() && !self.noted {
            println!(
                "  note: test_hmm MIGRATE_TO_DEV reported {} pages for {}",
                self.cpages,
                buf.page_count()
            );
            self.noted = true;
        }
        // The ioctl read the pages back through the device's mirror.
        self.bounce
            .verify("test_hmm: the device's view after MIGRATE_TO_DEV", seed)
    }

    fn to_system(&mut self, buf: &Mapping) -> TestResult {
        self.dev
            .migrate_to_sys(buf)
            .or_fail("test_hmm: HMM_DMIRROR_MIGRATE_TO_SYS")?;
        Ok(())
    }
}

/// nova-svm's SVM_BIND, on a file with an SVM context.
struct Nova {
    dev: Device,
}

impl Nova {
    /// Opens the render node and creates an SVM context, for one size
    /// class: the context (and its notifiers) lives only while nova-svm is
    /// measured.
    fn new() -> TestResult<Self> {
        let dev = Device::open_render_node().or_fail("open the nova-svm render node")?;
        dev.svm_init(0, 0).or_fail("nova-svm: SVM_INIT")?;
        Ok(Self { dev })
    }

    fn bind(&self, buf: &Mapping, target: BindTarget) -> TestResult {
        let r = self
            .dev
            .svm_bind_migrate(buf.range(), target, 0)
            .or_fail_with(|| format!("nova-svm: SVM_BIND MIGRATE to {target:?}"))?;
        if r.pages_moved != buf.page_count() {
            return Err(fail(format!(
                "nova-svm: SVM_BIND MIGRATE to {target:?} moved {} of {} pages",
                r.pages_moved,
                buf.page_count()
            )));
        }
        Ok(())
    }
}

impl Subject for Nova {
    fn name(&self) -> &'static str {
        "nova-svm"
    }

    fn to_device(&mut self, buf: &Mapping) -> TestResult {
        self.bind(buf, BindTarget::GpuVram)
    }

    fn to_system(&mut self, buf: &Mapping) -> TestResult {
        self.bind(buf, BindTarget::System)
    }
}

/// What one subject gave for one size class.
struct Outcome {
    samples: Samples,
    thp_before: Option<u64>,
    thp_after: Option<u64>,
}

/// Round trips of `buf` through `subject`: one warm-up and
/// `cfg.iterations` timed ones, each checked.
fn measure(
    subject: &mut dyn Subject,
    buffer: &Buffer,
    mem: Memory,
    cfg: &Config,
) -> TestResult<Outcome> {
    let buf = &buffer.map;
    let mut out = Outcome {
        samples: Samples::default(),
        thp_before: None,
        thp_after: None,
    };
    for it in 0..=cfg.iterations {
        // CAST: small iteration counts.
        let seed = 0x100 + it as u64;
        buf.fill(seed);
        buffer.settle()?;
        if it == 0 {
            out.thp_before = thp_kb(buf);
        }
        let t = Instant::now();
        subject.to_device(buf)?;
        let to_dev = t.elapsed();
        subject.check_device(buf, seed)?;
        let t = Instant::now();
        subject.to_system(buf)?;
        let to_sys = t.elapsed();
        buf.verify(
            &format!(
                "{} {}: the buffer after round trip {it}",
                mem.label(),
                subject.name()
            ),
            seed,
        )?;
        if it > 0 {
            out.samples.to_device.push(mb_per_s(buf.len(), to_dev));
            out.samples.to_system.push(mb_per_s(buf.len(), to_sys));
        }
    }
    out.thp_after = thp_kb(buf);
    Ok(out)
}

fn kb(v: Option<u64>) -> String {
    v.map_or_else(|| "?".to_string(), |k| format!("{k} kB"))
}

/// Records and prints a failure.
fn problem(problems: &mut Vec<String>, mem: Memory, name: &str, e: Stop) {
    let msg = match e {
        Stop::Fail(m) | Stop::Skip(m) => m,
    };
    let line = format!("{} {name}: FAILED: {msg}", mem.label());
    println!("{line}");
    problems.push(line);
}

/// Runs `subject` (or records why it could not be set up) on a fresh
/// buffer of `mem`; `None` when it failed.
fn run_one(
    cfg: &Config,
    mem: Memory,
    name: &str,
    subject: TestResult<impl Subject>,
    problems: &mut Vec<String>,
) -> Option<Samples> {
    let r = subject.and_then(|mut s| {
        let buf = Buffer::new(mem, cfg.size)?;
        measure(&mut s, &buf, mem, cfg)
    });
    match r {
        Ok(o) => {
            println!(
                "{} {name}: to device {}; to system {}",
                mem.label(),
                o.samples.spread(Direction::ToDevice),
                o.samples.spread(Direction::ToSystem)
            );
            if mem == Memory::Anon(SizeClass::Huge) {
                println!(
                    "{} {name}: AnonHugePages {} after the fill, {} after the last round trip",
                    mem.label(),
                    kb(o.thp_before),
                    kb(o.thp_after)
                );
            }
            Some(o.samples)
        }
        Err(e) => {
            problem(problems, mem, name, e);
            None
        }
    }
}

/// Whether the file system of `mem` is there (always, for anonymous
/// memory); says why not.
fn have_fs(mem: Memory) -> Result<(), String> {
    let r = match mem {
        Memory::Anon(_) => return Ok(()),
        Memory::File(Fs::Tmpfs) => FsDir::tmpfs().map(drop),
        Memory::File(disk) => FsDir::disk(disk).map(drop),
    };
    r.map_err(|e| match e {
        Stop::Skip(m) | Stop::Fail(m) => m,
    })
}

/// Prints whether an anonymous buffer of `class` gets huge pages.
fn probe_thp(class: SizeClass, size: u64) -> TestResult {
    let probe = class.alloc(size)?;
    probe.fill(1);
    match class {
        SizeClass::Base => println!(
            "4K: a MADV_NOHUGEPAGE buffer has AnonHugePages {}",
            thp_text(&probe)
        ),
        SizeClass::Huge => {
            let full = probe.len() / 1024;
            println!(
                "2M: a 2 MiB-aligned MADV_HUGEPAGE buffer has AnonHugePages {}: {}",
                thp_text(&probe),
                match thp_kb(&probe) {
                    Some(k) if k == full => "THP used",
                    Some(0) => "THP NOT used, the 2M rows measure 4 KiB pages",
                    Some(_) => "THP partly used",
                    None => "unknown",
                }
            );
        }
    }
    Ok(())
}

/// Prints what the machine offers (kernel, THP mode, the two devices):
/// whether test_hmm and nova-svm are there.
fn setup(cfg: &Config) -> (bool, bool) {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .unwrap_or_else(|_| "unknown".into());
    println!(
        "nova_svm_bench: {} MiB per migration, {} timed round trips per cell after 1 warm-up, \
         median per cell",
        cfg.size / MIB,
        cfg.iterations
    );
    println!("kernel {}, THP enabled: {}", release.trim(), thp.trim());
    let dmirror = match Dmirror::open(dmirror::DEFAULT_NODE) {
        Ok(_) => {
            println!(
                "test_hmm: {} (its MIGRATE_TO_DEV also copies the data back to a user buffer)",
                dmirror::DEFAULT_NODE
            );
            true
        }
        Err(e) => {
            println!(
                "test_hmm: cannot open {}: {} (modprobe test_hmm); left out",
                dmirror::DEFAULT_NODE,
                describe(&e)
            );
            false
        }
    };
    let dev = match Device::open_render_node() {
        Ok(dev) => dev,
        Err(e) => {
            println!(
                "nova-svm: no render node ({}; modprobe nova_svm sim_vram_mib=N); left out",
                describe(&e)
            );
            return (dmirror, false);
        }
    };
    let p = |q| dev.getparam(q).ok();
    let (vram, chunk, ce, sim) = (
        p(Param::VramSize),
        p(Param::ChunkSize),
        p(Param::CeClass),
        p(Param::IsSimulated),
    );
    println!(
        "nova-svm: VRAM {} MiB, chunk {} KiB, copy engine class {}, {}",
        vram.map_or("?".into(), |v| (v / MIB).to_string()),
        chunk.map_or("?".into(), |v| (v / 1024).to_string()),
        ce.map_or("?".into(), |v| format!("{v:#x}")),
        match sim {
            Some(1) => "simulated GPU",
            Some(0) => "real GPU",
            _ => "unknown GPU",
        }
    );
    if vram.is_some_and(|v| v < cfg.size) {
        println!(
            "nova-svm: VRAM is smaller than the buffer, so migrations evict \
             (load nova_svm with a larger sim_vram_mib)"
        );
    }
    (dmirror, true)
}

/// Runs the benchmark and prints the table; returns the exit status.
pub fn run(cfg: Config) -> i32 {
    let (have_dmirror, have_nova) = setup(&cfg);
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    // NOVA_SVM_BENCH_ONLY=4K-anon,2M-anon measures only those rows.
    let only = std::env::var("NOVA_SVM_BENCH_ONLY").ok();
    for mem in Memory::ALL {
        let wanted = only
            .as_deref()
            .is_none_or(|o| o.split(',').any(|w| w == mem.label().replace(' ', "-")));
        if !wanted {
            continue;
        }
        if let Memory::Anon(class) = mem {
            if let Err(e) = probe_thp(class, cfg.size) {
                problem(&mut problems, mem, "buffer", e);
            }
        }
        let have = match have_fs(mem) {
            Ok(()) => true,
            Err(why) => {
                let line = format!("{}: left out: {why}", mem.label());
                println!("{line}");
                missing.push(line);
                false
            }
        };
        let memcpy = have
            .then(|| {
                run_one(
                    &cfg,
                    mem,
                    "memcpy",
                    Memcpy::new(mem.class(), cfg.size),
                    &mut problems,
                )
            })
            .flatten();
        let test_hmm = (have && have_dmirror)
            .then(|| {
                run_one(
                    &cfg,
                    mem,
                    "test_hmm",
                    TestHmm::new(mem, cfg.size),
                    &mut problems,
                )
            })
            .flatten();
        let before = nova_stats();
        let nova = (have && have_nova)
            .then(|| run_one(&cfg, mem, "nova-svm", Nova::new(), &mut problems))
            .flatten();
        if let (Some(b), Some(a)) = (before, nova_stats()) {
            println!(
                "{} nova-svm: where the time went: {}",
                mem.label(),
                stats_delta(&b, &a)
            );
        }
        for dir in [Direction::ToDevice, Direction::ToSystem] {
            let m = |s: &Option<Samples>| s.as_ref().and_then(|s| median(s.get(dir)));
            rows.push(Row {
                mem,
                dir,
                memcpy: m(&memcpy),
                test_hmm: m(&test_hmm),
                nova: m(&nova),
            });
        }
    }
    println!();
    println!(
        "migration throughput, MB/s (10^6 bytes/s), median of {} round trips of {} MiB:",
        cfg.iterations,
        cfg.size / MIB
    );
    print!("{}", table(&rows));
    if !have_dmirror {
        println!("(test_hmm was not available)");
    }
    if !have_nova {
        println!("(nova-svm was not available)");
    }
    for m in &missing {
        println!("({m})");
    }
    if problems.is_empty() {
        println!("every round trip kept the data");
        0
    } else {
        println!("{} problem(s):", problems.len());
        for p in &problems {
            println!("  {p}");
        }
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn arguments() {
        assert_eq!(Config::parse(&[]), Ok(Some(Config::default())));
        assert_eq!(
            Config::parse(&args(&["--size-mib", "8", "--iterations", "3"])),
            Ok(Some(Config {
                size: 8 << 20,
                iterations: 3
            }))
        );
        assert_eq!(Config::parse(&args(&["--help"])), Ok(None));
        for bad in [
            &["--size-mib", "3"][..],
            &["--size-mib", "0"],
            &["--size-mib"],
            &["--iterations", "x"],
            &["--bogus"],
        ] {
            assert!(Config::parse(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn medians_and_rates() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(mb_per_s(2_000_000, Duration::from_millis(500)), 4.0);
        assert_eq!(ratio(Some(1.0), Some(4.0)), "0.25x");
        assert_eq!(ratio(Some(1.0), None), "-");
        assert_eq!(ratio(Some(1.0), Some(0.0)), "-");
        let s = Samples {
            to_device: vec![1.0, 3.0, 2.0],
            to_system: vec![],
        };
        assert_eq!(
            s.spread(Direction::ToDevice),
            "median 2.0 MB/s (min 1.0, max 3.0, n=3)"
        );
        assert_eq!(s.spread(Direction::ToSystem), "no samples");
    }

    #[test]
    fn the_table() {
        let rows = [
            Row {
                mem: Memory::Anon(SizeClass::Base),
                dir: Direction::ToDevice,
                memcpy: Some(1234.56),
                test_hmm: Some(200.0),
                nova: Some(150.0),
            },
            Row {
                mem: Memory::File(Fs::Ext4),
                dir: Direction::ToSystem,
                memcpy: Some(1000.0),
                test_hmm: None,
                nova: Some(99.94),
            },
        ];
        let t = table(&rows);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4, "{t}");
        assert!(
            lines[0].starts_with("| memory  | direction | memcpy MB/s |"),
            "{t}"
        );
        assert!(lines[1].starts_with("|---------|-----------|"), "{t}");
        assert!(lines[2].contains("| 4K anon | to device |"), "{t}");
        assert!(lines[2].contains("1234.6"), "{t}");
        assert!(lines[2].ends_with("0.12x |             0.75x |"), "{t}");
        assert!(lines[3].contains("| 4K ext4 | to system |"), "{t}");
        assert!(lines[3].ends_with("0.10x |                 - |"), "{t}");
        // Every line has the same width.
        assert!(lines.iter().all(|l| l.len() == lines[0].len()), "{t}");
        // No line could be taken for a TAP result or plan.
        assert!(lines.iter().all(|l| l.starts_with('|')));
    }

    #[test]
    fn memory_kinds() {
        let labels: Vec<&str> = Memory::ALL.iter().map(|m| m.label()).collect();
        assert_eq!(
            labels,
            ["4K anon", "2M anon", "4K tmpfs", "4K ext4", "4K xfs"]
        );
        assert_eq!(Memory::File(Fs::Ext4).class(), SizeClass::Base);
        assert_eq!(Memory::Anon(SizeClass::Huge).class(), SizeClass::Huge);
    }

    #[test]
    fn memcpy_subject_round_trip() {
        let cfg = Config {
            size: 4 * HUGE,
            iterations: 2,
        };
        for class in SizeClass::ALL {
            let other = class.alloc(cfg.size).unwrap();
            let buf = Buffer::new(Memory::Anon(class), cfg.size).unwrap();
            let mut s = Memcpy { other };
            let o = measure(&mut s, &buf, Memory::Anon(class), &cfg).unwrap();
            assert_eq!(o.samples.to_device.len(), 2);
            assert_eq!(o.samples.to_system.len(), 2);
        }
    }
}
