//! `cargo xtask vm`: builds the initramfs, boots QEMU under TCG and turns
//! the suites' TAP/KTAP output into one line per suite.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::bail;
use crate::cpio::Archive;
use crate::igt;
use crate::kernel::{self, Flavor, Paths};
use crate::splat;
use crate::tap::{self, Counts, Report};
use crate::util::{self, fmt_dur, note, repo_root, step, tail, Context, Result};

/// The suite read from the kernel console rather than run by init.
pub const KUNIT: &str = "kunit";

/// The suite of `cargo xtask bench`.
pub const BENCH: &str = "bench";
/// The suite of `cargo xtask run`.
pub const DEMO: &str = "demo";
/// The suite of the ioctl fuzzer: a slice in every run, `cargo xtask fuzz`
/// for a long one.
pub const FUZZ: &str = "fuzz";
/// The suite of `cargo xtask bench` that runs hmm-tests' migration
/// benchmark on C test_hmm and the Rust dmirror, alternating.
pub const HMM_BENCH: &str = "hmm-bench";
/// Suites that run only when named (`cargo xtask bench`, `cargo xtask run`,
/// `cargo xtask vm bench`): they measure or show rather than test, so
/// `cargo xtask test` and a bare `cargo xtask vm` leave them out.
pub const ON_REQUEST: &[&str] = &[BENCH, HMM_BENCH, DEMO];

/// A file system the VM gets on a virtio disk of its own: an image made
/// fresh for each boot, which init mounts and names to the suites in an
/// environment variable.
#[derive(Debug)]
pub struct DiskFs {
    /// The file system type, as `mount -t` takes it.
    pub name: &'static str,
    /// The device in the VM (the disks' order on QEMU's command line).
    pub dev: &'static str,
    /// Where init mounts it.
    pub mount: &'static str,
    /// The variable that names the mount point to the suites.
    pub env: &'static str,
    /// The size of the image (a sparse file).
    pub mib: u64,
    /// The program that formats the image.
    pub mkfs: &'static str,
    /// The Debian package with `mkfs`, for the error message.
    pub package: &'static str,
    /// `mkfs`'s arguments before the image path.
    pub args: &'static [&'static str],
}

/// The ext4 disk. `-T default` and `-b 4096` keep mke2fs from choosing
/// 1 KiB blocks for a "small" file system (the page cache tests want block
/// size = page size); the inode tables and the journal are zeroed here (or
/// marked as zero when the file is sparse) so that the guest never starts
/// ext4lazyinit; the root directory belongs to root whoever runs xtask.
pub const EXT4: DiskFs = DiskFs {
    name: "ext4",
    dev: "/dev/vda",
    mount: "/mnt/ext4",
    env: "HMM_EXT4_DIR",
    mib: 256,
    mkfs: "mkfs.ext4",
    package: "e2fsprogs",
    args: &[
        "-q",
        "-F",
        "-T",
        "default",
        "-b",
        "4096",
        "-I",
        "256",
        "-m",
        "0",
        "-L",
        "nova-ext4",
        "-E",
        "lazy_itable_init=0,lazy_journal_init=0,root_owner=0:0",
    ],
};

/// The xfs disk: a file system whose page cache uses large folios. 300 MiB
/// is the smallest that mkfs.xfs makes; `-K` skips the discard, which
/// would only punch the holes the sparse file already has.
pub const XFS: DiskFs = DiskFs {
    name: "xfs",
    dev: "/dev/vdb",
    mount: "/mnt/xfs",
    env: "HMM_XFS_DIR",
    mib: 320,
    mkfs: "mkfs.xfs",
    package: "xfsprogs",
    args: &["-q", "-f", "-K", "-b", "size=4096", "-L", "nova-xfs"],
};

/// The VM's disks, in the order QEMU gets them (`/dev/vda`, `/dev/vdb`).
pub const DISKS: &[DiskFs] = &[EXT4, XFS];

/// The start of init's console lines about something that went wrong
/// outside a suite (a disk did not mount or unmount); `cargo xtask vm`
/// repeats them as warnings.
pub const INIT_WARNING: &str = "nova-init: warning: ";

impl DiskFs {
    /// Finds `mkfs`: on `PATH`, or in `/usr/sbin` or `/sbin`, which a
    /// user's `PATH` on Debian leaves out.
    fn find_mkfs(&self) -> Option<PathBuf> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
            .map(|d| d.join(self.mkfs))
            .find(|p| p.is_file())
    }

    /// `mkfs`'s arguments for `image`.
    pub fn mkfs_args(&self, image: &Path) -> Vec<OsString> {
        let mut v: Vec<OsString> = self.args.iter().map(OsString::from).collect();
        v.push(image.into());
        v
    }

    /// The image's file name in the VM directory.
    pub fn image_name(&self) -> String {
        format!("{}.img", self.name)
    }

    /// Makes a fresh, empty image at `image`: a sparse file of
    /// [`DiskFs::mib`] MiB formatted by `mkfs`. Returns how long that took.
    pub fn make_image(&self, image: &Path) -> Result<Duration> {
        let start = Instant::now();
        let (name, mib) = (self.name, self.mib);
        let Some(mkfs) = self.find_mkfs() else {
            bail!(
                "{} not found (on PATH, in /usr/sbin or /sbin); the VM's {name} disk needs it: \
                 run `cargo xtask setup`, which installs {}",
                self.mkfs,
                self.package
            );
        };
        // A new file each time: nothing from an earlier boot survives.
        let _ = fs::remove_file(image);
        let file = fs::File::create(image)
            .context(|| format!("cannot create the VM's {name} image {}", image.display()))?;
        file.set_len(mib << 20).context(|| {
            format!(
                "cannot size the VM's {name} image {} to {mib} MiB",
                image.display()
            )
        })?;
        drop(file);
        let out = Command::new(&mkfs)
            .args(self.mkfs_args(image))
            .stdin(Stdio::null())
            .output()
            .context(|| format!("cannot start {}", mkfs.display()))?;
        if !out.status.success() {
            bail!(
                "{} failed ({}) on the VM's {name} image {}: {}\n\
                 check the space free in {}; reinstall {} with `cargo xtask setup` if {} is broken",
                mkfs.display(),
                out.status,
                image.display(),
                String::from_utf8_lossy(&out.stderr).trim(),
                image.parent().unwrap_or(image).display(),
                self.package,
                self.mkfs
            );
        }
        Ok(start.elapsed())
    }
}

/// A QEMU `-drive` value for a raw virtio-blk disk: commas in the path are
/// doubled, as QEMU's option syntax wants. `cache=unsafe` ignores flushes:
/// the image is remade for every boot, so nothing needs to outlive a crash.
pub fn virtio_drive(image: &Path) -> OsString {
    let path = image.to_string_lossy().replace(',', ",,");
    format!("file={path},if=virtio,format=raw,cache=unsafe").into()
}

/// What QEMU is given: the machine, the two serial logs, the kernel, the
/// initramfs, the command line and the disk images ([`DISKS`]' order).
pub struct QemuConfig<'a> {
    pub bzimage: &'a Path,
    pub initrd: &'a Path,
    pub append: &'a str,
    pub console: &'a Path,
    pub tests_log: &'a Path,
    pub disks: &'a [PathBuf],
}

impl QemuConfig<'_> {
    /// The arguments of `qemu-system-x86_64`.
    pub fn args(&self) -> Vec<OsString> {
        let mut v: Vec<OsString> = [
            "-machine",
            "q35",
            "-accel",
            "tcg",
            "-cpu",
            "max",
            "-smp",
            "2",
            "-m",
            "2G",
            "-display",
            "none",
            "-monitor",
            "none",
            "-no-reboot",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let mut pair = |opt: &str, val: OsString| {
            v.push(opt.into());
            v.push(val);
        };
        pair("-serial", format!("file:{}", self.console.display()).into());
        pair(
            "-serial",
            format!("file:{}", self.tests_log.display()).into(),
        );
        pair("-kernel", self.bzimage.into());
        pair("-initrd", self.initrd.into());
        pair("-append", self.append.into());
        for d in self.disks {
            pair("-drive", virtio_drive(d));
        }
        v
    }
}

/// Environment variables of the tests that `cargo xtask vm` passes on to
/// the VM: `NOVA_SVM_SEED` and `NOVA_SVM_RANDOM_*` (the random file
/// test's seed and knobs), so that a run can be repeated with
/// `NOVA_SVM_SEED=<seed> cargo xtask vm igt`; hmm-tests' `HMM_SEED` and
/// `HMM_OPS` (its random page cache test); `NOVA_HMM_BENCH_ROUNDS` (the
/// rounds of `cargo xtask bench`'s C/Rust dmirror comparison);
/// `NOVA_SVM_FUZZ_CALLS` and `NOVA_SVM_FUZZ_SEED` (the fuzzer's).
pub const FORWARDED_ENV: &[&str] = &[
    "NOVA_SVM_SEED",
    "NOVA_SVM_RANDOM_",
    "NOVA_SVM_IGT_ONLY",
    "NOVA_SVM_IGT_REPEAT",
    "NOVA_SVM_BENCH_ONLY",
    "NOVA_SVM_FUZZ_",
    "HMM_SEED",
    "HMM_OPS",
    "NOVA_HMM_BENCH_ROUNDS",
];

/// The `NAME=value` words for the kernel command line of the variables in
/// [`FORWARDED_ENV`] that `vars` has, sorted. The kernel gives init (and so
/// every suite) the words it does not know as environment variables; a
/// value with a space or quote, which the command line cannot carry, is
/// left out.
pub fn forwarded_env(vars: impl Iterator<Item = (String, String)>) -> Vec<String> {
    let mut v: Vec<String> = vars
        .filter(|(k, val)| {
            FORWARDED_ENV
                .iter()
                .any(|f| k == f || (f.ends_with('_') && k.starts_with(f)))
                && !k.contains('.')
                && !val.is_empty()
                && !val.contains(|c: char| c.is_whitespace() || c == '"')
        })
        .map(|(k, val)| format!("{k}={val}"))
        .collect();
    v.sort();
    v
}

/// The console lines in which init reports a problem outside the suites,
/// without their prefix.
pub fn init_warnings(console: &str) -> Vec<&str> {
    console
        .lines()
        .filter_map(|l| l.trim_end().split_once(INIT_WARNING).map(|(_, w)| w))
        .collect()
}

/// The names of the scripts in `xtask/vm/suites/`, sorted.
fn scripts() -> Result<Vec<String>> {
    let dir = repo_root().join("xtask/vm/suites");
    let mut scripts: Vec<String> = fs::read_dir(&dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_string_lossy()
                .strip_suffix(".sh")
                .map(str::to_string)
        })
        .collect();
    scripts.sort();
    Ok(scripts)
}

/// The default suites, which `cargo xtask test` runs: `kunit` plus one per
/// script in `xtask/vm/suites/`, except those in [`ON_REQUEST`].
pub fn all_suites() -> Result<Vec<String>> {
    let mut v = vec![KUNIT.to_string()];
    v.extend(
        scripts()?
            .into_iter()
            .filter(|s| !ON_REQUEST.contains(&s.as_str())),
    );
    Ok(v)
}

/// Every suite that can be named: the default ones and those in
/// [`ON_REQUEST`].
pub fn known_suites() -> Result<Vec<String>> {
    let mut v = vec![KUNIT.to_string()];
    v.extend(scripts()?);
    Ok(v)
}

/// One suite's outcome.
pub struct SuiteResult {
    pub name: String,
    pub report: Report,
}

impl SuiteResult {
    /// The line `SUITE <name>: <p> passed, <f> failed, <s> skipped`.
    pub fn line(&self, flavor: Flavor) -> String {
        let c = self.report.counts;
        let name = match flavor {
            Flavor::Normal => self.name.clone(),
            Flavor::Debug => format!("{}[debug]", self.name),
        };
        format!(
            "SUITE {name}: {} passed, {} failed, {} skipped",
            c.passed, c.failed, c.skipped
        )
    }
}

/// What one VM boot gave.
pub struct Run {
    pub suites: Vec<SuiteResult>,
    pub console: PathBuf,
    pub tests_log: PathBuf,
    /// Problems outside any suite: timeouts, splats, a missing suite.
    pub errors: Vec<String>,
}

impl Run {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for s in &self.suites {
            c.add(s.report.counts);
        }
        c
    }

    pub fn ok(&self) -> bool {
        self.errors.is_empty() && self.suites.iter().all(|s| s.report.counts.failed == 0)
    }
}

/// The output of suite `name` in the ttyS1 stream, between its markers
/// (the serial line ends lines with `\r\n`).
pub fn suite_body<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let begin = format!("NOVA-SUITE-BEGIN {name}");
    let mut off = 0;
    let start = text.split_inclusive('\n').find_map(|l| {
        off += l.len();
        (l.trim_end() == begin).then_some(off)
    })?;
    let end = format!("NOVA-SUITE-END {name} rc=");
    let stop = text[start..].find(&end).map_or(text.len(), |e| start + e);
    Some(&text[start..stop])
}

/// Splits the ttyS1 stream into suites by the init's markers. A suite that
/// exits non-zero without a failed test, that reports nothing, or that never
/// ends (the VM died) counts as a failure.
pub fn split_suites(text: &str, wanted: &[String]) -> Vec<SuiteResult> {
    let mut out = Vec::new();
    for name in wanted.iter().filter(|n| n.as_str() != KUNIT) {
        let begin = format!("NOVA-SUITE-BEGIN {name}");
        let end = format!("NOVA-SUITE-END {name} rc=");
        let Some(b) = text.lines().position(|l| l.trim_end() == begin) else {
            let mut report = Report::default();
            report.counts.failed = 1;
            report.failures.push(format!("suite {name} never started"));
            out.push(SuiteResult {
                name: name.clone(),
                report,
            });
            continue;
        };
        let lines: Vec<&str> = text.lines().skip(b + 1).collect();
        let e = lines.iter().position(|l| l.starts_with(&end));
        let body = lines[..e.unwrap_or(lines.len())].join("\n");
        let mut report = tap::parse(&body);
        match e.map(|i| lines[i][end.len()..].trim().parse::<i32>()) {
            None => {
                report.counts.failed += 1;
                report.failures.push(format!("suite {name} did not finish"));
            }
            // kselftest: 0 = pass, 4 = all skipped.
            Some(Ok(0 | 4)) => {}
            Some(rc) => {
                if report.counts.failed == 0 {
                    report.counts.failed += 1;
                    report.failures.push(format!(
                        "suite {name} exited with status {}",
                        rc.map_or("?".to_string(), |r| r.to_string())
                    ));
                }
            }
        }
        if report.counts.total() == 0 {
            report.counts.failed += 1;
            report
                .failures
                .push(format!("suite {name} reported no results"));
        }
        out.push(SuiteResult {
            name: name.clone(),
            report,
        });
    }
    out
}

/// Writes the initramfs: busybox, init, the suites, the kernel's test
/// binaries and modules, and `extra` files (archive path, host path).
fn initramfs(p: &Paths, extra: &[(String, PathBuf)], path: &Path) -> Result<()> {
    let mut a = Archive::default();
    for d in ["proc", "sys", "dev", "tmp", "root", "etc", "mnt"] {
        a.dir(d);
    }
    a.chardev("dev/console", 5, 1);
    a.host_file("bin/busybox", Path::new("/bin/busybox"))?;
    a.symlink("bin/sh", "busybox");
    a.host_file("init", &repo_root().join("xtask/vm/init"))?;
    a.host_tree("suites", &repo_root().join("xtask/vm/suites"))?;
    a.host_tree("tests", &p.tests())?;
    let lib = p.modules().join("lib/modules");
    if lib.exists() {
        a.host_tree("lib/modules", &lib)?;
    }
    for (name, host) in extra {
        a.host_file(name, host)?;
    }
    fs::write(path, a.finish())?;
    Ok(())
}

/// Boots the VM for `flavor` and runs `suites`; `extra` files go into the
/// initramfs besides the kernel's.
pub fn boot(
    p: &Paths,
    flavor: Flavor,
    suites: &[String],
    timeout: Duration,
    extra: &[(String, PathBuf)],
) -> Result<Run> {
    let dir = util::cache_dir().join("vm").join(flavor.name());
    boot_in(&dir, p, flavor, suites, timeout, extra)
}

/// [`boot`], with the initramfs, disk images and logs in `dir`.
pub fn boot_in(
    dir: &Path,
    p: &Paths,
    flavor: Flavor,
    suites: &[String],
    timeout: Duration,
    extra: &[(String, PathBuf)],
) -> Result<Run> {
    fs::create_dir_all(dir)?;
    let initrd = dir.join("initramfs.cpio");
    initramfs(p, extra, &initrd)?;
    let console = dir.join("console.log");
    let tests_log = dir.join("tests.log");
    let _ = fs::remove_file(&console);
    let _ = fs::remove_file(&tests_log);
    let script_suites: Vec<&str> = suites
        .iter()
        .map(String::as_str)
        .filter(|s| *s != KUNIT)
        .collect();
    let suite_timeout = timeout.as_secs().saturating_sub(60).max(60);
    let append = format!(
        "console=ttyS0 panic=-1 oops=panic softlockup_panic=0 transparent_hugepage=madvise \
         nova.flavor={} nova.suites={} nova.suite_timeout={suite_timeout}",
        flavor.name(),
        if script_suites.is_empty() {
            "none".to_string()
        } else {
            script_suites.join(",")
        }
    );
    let forwarded = forwarded_env(std::env::vars());
    let append = if forwarded.is_empty() {
        append
    } else {
        note(&format!(
            "passed to the VM's tests: {}",
            forwarded.join(" ")
        ));
        format!("{append} {}", forwarded.join(" "))
    };
    let mut disks = Vec::new();
    for d in DISKS {
        let image = dir.join(d.image_name());
        let took = d.make_image(&image)?;
        note(&format!(
            "{} disk: {} ({} MiB, sparse), made in {} ms; {} at {} in the VM ({})",
            d.name,
            image.display(),
            d.mib,
            took.as_millis(),
            d.dev,
            d.mount,
            d.env
        ));
        disks.push(image);
    }
    step(&format!(
        "booting the {} kernel in QEMU (TCG, 2 CPUs, 2 GiB) for: {}",
        flavor.name(),
        suites.join(" ")
    ));
    let qemu = QemuConfig {
        bzimage: &p.bzimage(),
        initrd: &initrd,
        append: &append,
        console: &console,
        tests_log: &tests_log,
        disks: &disks,
    };
    let start = Instant::now();
    let mut child = Command::new("qemu-system-x86_64")
        .args(qemu.args())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            util::Error(format!(
                "cannot start qemu-system-x86_64 ({e}): run `cargo xtask setup`"
            ))
        })?;
    let mut errors = Vec::new();
    let mut next_report = Duration::from_secs(15);
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break Some(st);
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        if start.elapsed() >= next_report {
            next_report += Duration::from_secs(15);
            let last = fs::read_to_string(&tests_log)
                .ok()
                .and_then(|t| {
                    t.lines()
                        .rev()
                        .find(|l| !l.trim().is_empty())
                        .map(str::to_string)
                })
                .or_else(|| {
                    fs::read_to_string(&console)
                        .ok()
                        .and_then(|t| t.lines().last().map(str::to_string))
                })
                .unwrap_or_default();
            let last: String = last.chars().take(90).collect();
            note(&format!(
                "VM {}: {} elapsed, last: {last}",
                flavor.name(),
                fmt_dur(start.elapsed())
            ));
        }
        thread::sleep(Duration::from_millis(200));
    };
    let console_text =
        String::from_utf8_lossy(&fs::read(&console).unwrap_or_default()).into_owned();
    let tests_text =
        String::from_utf8_lossy(&fs::read(&tests_log).unwrap_or_default()).into_owned();
    match status {
        None => errors.push(format!(
            "the VM timed out after {}; console tail ({}):\n{}",
            fmt_dur(timeout),
            console.display(),
            tail(&console_text, 40)
        )),
        Some(st) if !st.success() => {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            errors.push(format!("qemu exited with {st}: {}", err.trim()));
        }
        Some(_) => {}
    }
    if status.is_some() && !tests_text.contains("NOVA-DONE") {
        errors.push(format!(
            "the VM stopped before init finished (panic?); console tail ({}):\n{}",
            console.display(),
            tail(&console_text, 40)
        ));
    }
    for w in init_warnings(&console_text) {
        println!("warning ({}): {w}", flavor.name());
    }
    let splats = splat::find(&console_text);
    if !splats.is_empty() {
        let first = &splats[0];
        errors.push(format!(
            "kernel splat on the console ({} line(s); first at {}:{}):\n{}",
            splats.len(),
            console.display(),
            first.line,
            splat::excerpt(&console_text, first, 30)
        ));
    }
    let mut results = Vec::new();
    if suites.iter().any(|s| s == KUNIT) {
        let mut report = tap::parse(&console_text);
        if report.counts.total() == 0 {
            report.counts.failed += 1;
            report
                .failures
                .push("no KUnit results on the console".to_string());
        }
        results.push(SuiteResult {
            name: KUNIT.to_string(),
            report,
        });
    }
    results.extend(split_suites(&tests_text, suites));
    if let (Some(c), Some(rust)) = (
        suite_body(&tests_text, "hmm"),
        suite_body(&tests_text, "hmm-rust"),
    ) {
        let (c, rust) = (crate::hmmbench::parse(c), crate::hmmbench::parse(rust));
        if !c.is_empty() && !rust.is_empty() {
            print!("{}", crate::hmmbench::compare(&c, &rust));
        }
    }
    note(&format!(
        "VM {}: finished in {}; console: {}; test output: {}",
        flavor.name(),
        fmt_dur(start.elapsed()),
        console.display(),
        tests_log.display()
    ));
    Ok(Run {
        suites: results,
        console,
        tests_log,
        errors,
    })
}

/// Prints a run's suite lines, failures and errors.
pub fn print_run(run: &Run, flavor: Flavor) {
    for s in &run.suites {
        println!("{}", s.line(flavor));
        for f in s.report.failures.iter().take(20) {
            println!("    FAILED: {f}");
        }
        // What the first failures printed, so that a CI log says why.
        for (name, lines) in s.report.diagnostics.iter().take(5) {
            println!("    {name} printed (last lines):");
            for l in lines {
                println!("      | {l}");
            }
        }
    }
    for e in &run.errors {
        println!("ERROR ({}): {e}", flavor.name());
    }
    if !run.ok() {
        println!(
            "    logs: console {}, test output {}",
            run.console.display(),
            run.tests_log.display()
        );
    }
}

/// Checks suite names against the known ones; no names means the default
/// set ([`all_suites`]).
pub fn check_suites(names: &[String]) -> Result<Vec<String>> {
    if names.is_empty() {
        return all_suites();
    }
    let known = known_suites()?;
    for n in names {
        if !known.contains(n) {
            bail!("unknown suite `{n}`; the suites are: {}", known.join(", "));
        }
    }
    Ok(names.to_vec())
}

/// The VM timeout for a flavour (TCG; KASAN and lockdep are slow).
pub fn default_timeout(flavor: Flavor) -> Duration {
    match flavor {
        Flavor::Normal => Duration::from_secs(900),
        Flavor::Debug => Duration::from_secs(2400),
    }
}

/// `cargo xtask vm`: build (incrementally), boot, report.
pub fn vm(flavor: Flavor, suites: &[String], timeout: Option<Duration>) -> Result<Run> {
    let suites = check_suites(suites)?;
    let p = kernel::build(flavor, false)?;
    // The IGT binaries do not depend on the kernel; they are built only
    // for a boot that runs their suite.
    let extra = if suites.iter().any(|s| igt::SUITES.contains(&s.as_str())) {
        let mut v = igt::build()?;
        // stress-ng, for file-random-stress (optional: a note when absent).
        if suites.iter().any(|s| s == igt::SUITE) {
            v.extend(crate::stressng::initramfs_entries()?);
        }
        v
    } else {
        Vec::new()
    };
    let timeout = timeout.unwrap_or_else(|| default_timeout(flavor));
    let mut run = boot(&p, flavor, &suites, timeout, &extra)?;
    let console = fs::read_to_string(&run.console).unwrap_or_default();
    if let Some(why) = crash_before_init(&console) {
        let kept = run.console.with_file_name("console-crash-before-init.log");
        let _ = fs::copy(&run.console, &kept);
        println!(
            "warning ({}): {why} (console: {}); booting once more",
            flavor.name(),
            kept.display()
        );
        run = boot(&p, flavor, &suites, timeout, &extra)?;
    }
    print_run(&run, flavor);
    Ok(run)
}

/// Why a boot died before init ran, for the one crash that is retried: a
/// breakpoint trap (`Oops: int3`) while the kernel patched its own code
/// at boot. It was seen once under TCG, in a kworker at the
/// `sched_clock: Marking stable` static key switch, on a kernel that
/// passed every other boot: a vCPU still ran the patch's temporary int3
/// after the patching finished. No module and no test has run by then. Any
/// other crash, and any crash after init started, is a failure as usual.
pub fn crash_before_init(console: &str) -> Option<&'static str> {
    let oops = console.find("Oops: int3")?;
    match console.find("Run /init as init process") {
        Some(init) if init < oops => None,
        _ => Some("the kernel hit a stray int3 while patching its code at boot, before init ran"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn only_an_int3_oops_before_init_is_retried() {
        let early = "[0.76] sched_clock: Marking stable\n[0.76] Oops: int3: 0000 [#1] SMP\n";
        assert!(crash_before_init(early).is_some());
        let late = "[1.0] Run /init as init process\n[9.0] Oops: int3: 0000 [#1] SMP\n";
        assert_eq!(crash_before_init(late), None);
        let other = "[0.76] BUG: kernel NULL pointer dereference\n[0.76] Oops: 0002 [#1] SMP\n";
        assert_eq!(crash_before_init(other), None);
        assert_eq!(crash_before_init("[1.0] Run /init as init process\n"), None);
    }

    #[test]
    fn suites_are_split_by_markers() {
        let text = "NOVA-SUITE-BEGIN hmm\nTAP version 13\n1..2\nok 1 a\nok 2 b # SKIP x\n\
                    NOVA-SUITE-END hmm rc=0\nNOVA-SUITE-BEGIN other\nTAP version 13\n1..1\n\
                    not ok 1 c\nNOVA-SUITE-END other rc=1\nNOVA-DONE\n";
        let r = split_suites(text, &s(&["kunit", "hmm", "other"]));
        assert_eq!(r.len(), 2);
        assert_eq!(
            r[0].report.counts,
            Counts {
                passed: 1,
                failed: 0,
                skipped: 1
            }
        );
        assert_eq!(r[1].report.counts.failed, 1);
        assert_eq!(
            r[0].line(Flavor::Normal),
            "SUITE hmm: 1 passed, 0 failed, 1 skipped"
        );
        assert_eq!(
            r[1].line(Flavor::Debug),
            "SUITE other[debug]: 0 passed, 1 failed, 0 skipped"
        );
    }

    #[test]
    fn broken_suites_fail() {
        // Exit status without a failed test; unfinished; never started; silent.
        let text = "NOVA-SUITE-BEGIN a\n1..1\nok 1 x\nNOVA-SUITE-END a rc=139\n\
                    NOVA-SUITE-BEGIN b\n1..3\nok 1 y\n\
                    NOVA-SUITE-BEGIN d\nNOVA-SUITE-END d rc=0\n";
        let r = split_suites(text, &s(&["a", "b", "c", "d"]));
        assert_eq!(r[0].report.counts.failed, 1);
        assert!(r[0].report.failures[0].contains("status 139"));
        // b: two planned results missing, and no end marker.
        assert_eq!(r[1].report.counts.failed, 3);
        assert!(r[2].report.failures[0].contains("never started"));
        assert!(r[3].report.failures[0].contains("no results"));
    }

    #[test]
    fn suite_bodies_are_found() {
        let text =
            "NOVA-SUITE-BEGIN hmm\nA\nNOVA-SUITE-END hmm rc=0\nNOVA-SUITE-BEGIN hmm-rust\nB\n";
        assert_eq!(suite_body(text, "hmm"), Some("A\n"));
        assert_eq!(suite_body(text, "hmm-rust"), Some("B\n"));
        assert_eq!(suite_body(text, "kunit"), None);
        let crlf = "NOVA-SUITE-BEGIN hmm\r\nA\r\nNOVA-SUITE-END hmm rc=0\r\n";
        assert_eq!(suite_body(crlf, "hmm"), Some("A\r\n"));
        // A suite whose name extends another's is not mistaken for it.
        assert_eq!(suite_body("NOVA-SUITE-BEGIN hmm-rust\nB\n", "hmm"), None);
    }

    #[test]
    fn c_and_rust_benchmarks_are_compared() {
        // A real boot with both suites (serial output, `\r\n` line ends).
        let text = include_str!("../testdata/tests-hmm-and-hmm-rust.log");
        let c = crate::hmmbench::parse(suite_body(text, "hmm").unwrap());
        let rust = crate::hmmbench::parse(suite_body(text, "hmm-rust").unwrap());
        assert_eq!((c.len(), rust.len()), (7, 7));
        let table = crate::hmmbench::compare(&c, &rust);
        assert_eq!(table.lines().filter(|l| l.contains("| S->D |")).count(), 7);
        assert_eq!(table.lines().filter(|l| l.contains("| D->S |")).count(), 7);
        let r = split_suites(text, &["hmm".to_string(), "hmm-rust".to_string()]);
        assert_eq!(r[0].report.counts, r[1].report.counts);
    }

    #[test]
    fn igt_binaries_are_packed() {
        let tmp = std::env::temp_dir().join(format!("xtask-initramfs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        let p = Paths {
            tree: tmp.join("linux"),
            build: tmp.join("build"),
            stage: tmp.join("stage"),
            logs: tmp.join("logs"),
        };
        fs::create_dir_all(p.tests()).unwrap();
        fs::write(p.tests().join("hmm-tests"), b"hmm").unwrap();
        let bin_dir = tmp.join("release");
        fs::create_dir_all(&bin_dir).unwrap();
        let names = igt::binaries(&repo_root()).unwrap();
        for n in &names {
            fs::write(bin_dir.join(n), n.as_bytes()).unwrap();
        }
        let extra = igt::pack_list(&names, &bin_dir);
        let out = tmp.join("initramfs.cpio");
        let built = initramfs(&p, &extra, &out);
        let data = fs::read(&out);
        fs::remove_dir_all(&tmp).unwrap();
        if built.is_err() && !Path::new("/bin/busybox").exists() {
            return; // No busybox on this host to pack.
        }
        built.unwrap();
        let entries = crate::cpio::tests::entries(&data.unwrap());
        let find = |name: &str| entries.iter().find(|e| e.0 == name).map(|e| e.2.clone());
        for n in &names {
            assert_eq!(
                find(&format!("igt/{n}")).as_deref(),
                Some(n.as_bytes()),
                "{n}"
            );
        }
        assert!(find("suites/igt.sh").is_some());
        assert!(find("tests/hmm-tests").is_some());
        assert!(find("init").is_some());
    }

    #[test]
    fn igt_is_a_suite() {
        let all = all_suites().unwrap();
        assert!(all.contains(&igt::SUITE.to_string()), "{all:?}");
    }

    #[test]
    fn on_request_suites_run_only_when_named() {
        let all = all_suites().unwrap();
        let known = known_suites().unwrap();
        for s in ON_REQUEST {
            assert!(!all.contains(&s.to_string()), "{s} is in the default set");
            assert!(known.contains(&s.to_string()), "no script for {s}");
            assert_eq!(check_suites(&[s.to_string()]).unwrap(), [s.to_string()]);
            // Their binaries come from igt-tests, but for hmm-bench's
            // hmm-tests, which every boot packs.
            assert!(igt::SUITES.contains(s) || *s == HMM_BENCH, "{s}");
        }
        // The default set is what `test` and a bare `vm` run.
        assert_eq!(check_suites(&[]).unwrap(), all);
        assert!(all.iter().all(|s| known.contains(s)));
        assert_eq!(known.len(), all.len() + ON_REQUEST.len());
        assert!(check_suites(&["nonesuch".to_string()]).is_err());
    }

    #[test]
    fn qemu_gets_the_disks_in_order() {
        let q = QemuConfig {
            bzimage: Path::new("/c/stage/bzImage"),
            initrd: Path::new("/c/vm/initramfs.cpio"),
            append: "console=ttyS0 nova.suites=hmm",
            console: Path::new("/c/vm/console.log"),
            tests_log: Path::new("/c/vm/tests.log"),
            disks: &[
                PathBuf::from("/c/vm/ext4.img"),
                PathBuf::from("/c/vm/xfs.img"),
            ],
        };
        let args: Vec<String> = q
            .args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let after = |opt: &str| -> Vec<&str> {
            args.windows(2)
                .filter(|w| w[0] == opt)
                .map(|w| w[1].as_str())
                .collect()
        };
        assert_eq!(
            after("-drive"),
            [
                "file=/c/vm/ext4.img,if=virtio,format=raw,cache=unsafe",
                "file=/c/vm/xfs.img,if=virtio,format=raw,cache=unsafe"
            ]
        );
        assert_eq!(
            after("-serial"),
            ["file:/c/vm/console.log", "file:/c/vm/tests.log"]
        );
        assert_eq!(after("-kernel"), ["/c/stage/bzImage"]);
        assert_eq!(after("-initrd"), ["/c/vm/initramfs.cpio"]);
        assert_eq!(after("-append"), ["console=ttyS0 nova.suites=hmm"]);
        assert_eq!(after("-accel"), ["tcg"]);
        // A comma in the path is doubled, or QEMU would split the option.
        assert_eq!(
            virtio_drive(Path::new("/a,b/ext4.img")),
            "file=/a,,b/ext4.img,if=virtio,format=raw,cache=unsafe"
        );
    }

    /// Makes `d`'s image in a temporary directory over a stale file; the
    /// image's metadata and bytes, or `None` without `mkfs` on this host.
    fn make_test_image(d: &DiskFs) -> Option<(fs::Metadata, Vec<u8>)> {
        d.find_mkfs()?;
        let dir = std::env::temp_dir().join(format!("xtask-{}-{}", d.name, std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let image = dir.join(d.image_name());
        fs::write(&image, b"left over from an earlier boot").unwrap();
        let made = d.make_image(&image);
        let meta = fs::metadata(&image);
        let data = fs::read(&image);
        fs::remove_dir_all(&dir).unwrap();
        made.unwrap();
        let (meta, data) = (meta.unwrap(), data.unwrap());
        assert_eq!(meta.len(), d.mib << 20);
        // Sparse: far fewer blocks on disk than its size.
        use std::os::unix::fs::MetadataExt;
        assert!(
            meta.blocks() * 512 < meta.len() / 4,
            "{}: {} blocks",
            d.name,
            meta.blocks()
        );
        Some((meta, data))
    }

    #[test]
    fn mkfs_makes_a_4k_block_ext4_image() {
        let args = EXT4.mkfs_args(Path::new("/c/ext4.img"));
        let args: Vec<&str> = args.iter().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(args.last(), Some(&"/c/ext4.img"));
        assert!(args.windows(2).any(|w| w == ["-b", "4096"]), "{args:?}");
        assert!(args.contains(&"-F") && args.contains(&"-q"), "{args:?}");

        let Some((_, data)) = make_test_image(&EXT4) else {
            return; // No e2fsprogs on this host.
        };
        // The ext2/3/4 superblock at 1024: magic 0xef53 at 56, and
        // s_log_block_size (block size = 1024 << it) at 24.
        let sb = &data[1024..2048];
        assert_eq!(u16::from_le_bytes([sb[56], sb[57]]), 0xef53);
        assert_eq!(u32::from_le_bytes([sb[24], sb[25], sb[26], sb[27]]), 2);
    }

    #[test]
    fn mkfs_makes_a_4k_block_xfs_image() {
        let args = XFS.mkfs_args(Path::new("/c/xfs.img"));
        let args: Vec<&str> = args.iter().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(args.last(), Some(&"/c/xfs.img"));
        assert!(
            args.windows(2).any(|w| w == ["-b", "size=4096"]),
            "{args:?}"
        );

        let Some((_, data)) = make_test_image(&XFS) else {
            return; // No xfsprogs on this host.
        };
        // The xfs superblock at 0, big-endian: magic "XFSB", then
        // sb_blocksize at 4.
        assert_eq!(&data[0..4], b"XFSB");
        assert_eq!(
            u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
            4096
        );
    }

    #[test]
    fn disks_have_distinct_devices_mounts_and_variables() {
        for (i, a) in DISKS.iter().enumerate() {
            // QEMU names virtio disks vda, vdb, ... in command-line order.
            let letter = char::from(b'a' + u8::try_from(i).unwrap());
            assert_eq!(a.dev, format!("/dev/vd{letter}"));
            for b in &DISKS[i + 1..] {
                assert!(a.mount != b.mount && a.env != b.env && a.name != b.name);
            }
        }
    }

    #[test]
    fn init_mounts_the_disks_and_warns_in_the_known_form() {
        let init = include_str!("../vm/init");
        for d in DISKS {
            let line = format!("mount_disk {} {} {} {}\n", d.name, d.dev, d.mount, d.env);
            assert!(init.contains(&line), "init does not have `{line}`");
        }
        // init's `say "<4>" "warning: ..."` writes INIT_WARNING through
        // /dev/kmsg (or the console).
        assert_eq!(INIT_WARNING, "nova-init: warning: ");
        assert!(init.contains("nova-init: $2\" > /dev/kmsg"));
        assert!(init.contains("say \"<4>\" \"warning: $1 disk not mounted"));
        let console = "[    1.0] virtio_blk virtio0: [vda] 524288 512-byte logical blocks\r\n\
                       [    1.2] nova-init: warning: ext4 disk not mounted: no /dev/vda\r\n\
                       nova-init: suite hmm: start\r\n";
        assert_eq!(
            init_warnings(console),
            ["ext4 disk not mounted: no /dev/vda"]
        );
        assert!(init_warnings("nova-init: ext4 mounted at /mnt/ext4\n").is_empty());
    }

    #[test]
    fn test_knobs_reach_the_vm() {
        let vars = [
            ("NOVA_SVM_SEED", "0x1234"),
            ("NOVA_SVM_RANDOM_OPS", "500"),
            ("NOVA_SVM_CACHE", "/root/c"),
            ("PATH", "/bin"),
            ("NOVA_SVM_RANDOM_SKIP", "a b"),
            ("NOVA_SVM_SEEDLING", "1"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(
            forwarded_env(vars.into_iter()),
            ["NOVA_SVM_RANDOM_OPS=500", "NOVA_SVM_SEED=0x1234"]
        );
    }

    #[test]
    fn all_skipped_exit_status_is_not_a_failure() {
        let text = "NOVA-SUITE-BEGIN a\n1..1\nok 1 x # SKIP no hw\nNOVA-SUITE-END a rc=4\n";
        let r = split_suites(text, &s(&["a"]));
        assert_eq!(r[0].report.counts.failed, 0);
        assert_eq!(r[0].report.counts.skipped, 1);
    }
}
