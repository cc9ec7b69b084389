//! `cargo xtask vm`: builds the initramfs, boots QEMU under TCG and turns
//! the suites' TAP/KTAP output into one line per suite.

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
use crate::util::{self, fmt_dur, note, repo_root, step, tail, Result};

/// The suite read from the kernel console rather than run by init.
pub const KUNIT: &str = "kunit";

/// The suite of `cargo xtask bench`.
pub const BENCH: &str = "bench";
/// The suite of `cargo xtask run`.
pub const DEMO: &str = "demo";
/// Suites that run only when named (`cargo xtask bench`, `cargo xtask run`,
/// `cargo xtask vm bench`): they measure or show rather than test, so
/// `cargo xtask test` and a bare `cargo xtask vm` leave them out.
pub const ON_REQUEST: &[&str] = &[BENCH, DEMO];

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
    fs::create_dir_all(&dir)?;
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
    step(&format!(
        "booting the {} kernel in QEMU (TCG, 2 CPUs, 2 GiB) for: {}",
        flavor.name(),
        suites.join(" ")
    ));
    let start = Instant::now();
    let mut child = Command::new("qemu-system-x86_64")
        .args([
            "-machine", "q35", "-accel", "tcg", "-cpu", "max", "-smp", "2", "-m", "2G",
        ])
        .args(["-display", "none", "-monitor", "none", "-no-reboot"])
        .arg("-serial")
        .arg(format!("file:{}", console.display()))
        .arg("-serial")
        .arg(format!("file:{}", tests_log.display()))
        .arg("-kernel")
        .arg(p.bzimage())
        .arg("-initrd")
        .arg(&initrd)
        .arg("-append")
        .arg(&append)
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
        igt::build()?
    } else {
        Vec::new()
    };
    let run = boot(
        &p,
        flavor,
        &suites,
        timeout.unwrap_or_else(|| default_timeout(flavor)),
        &extra,
    )?;
    print_run(&run, flavor);
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
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
            // Their binaries come from igt-tests.
            assert!(igt::SUITES.contains(s), "{s}");
        }
        // The default set is what `test` and a bare `vm` run.
        assert_eq!(check_suites(&[]).unwrap(), all);
        assert!(all.iter().all(|s| known.contains(s)));
        assert_eq!(known.len(), all.len() + ON_REQUEST.len());
        assert!(check_suites(&["nonesuch".to_string()]).is_err());
    }

    #[test]
    fn all_skipped_exit_status_is_not_a_failure() {
        let text = "NOVA-SUITE-BEGIN a\n1..1\nok 1 x # SKIP no hw\nNOVA-SUITE-END a rc=4\n";
        let r = split_suites(text, &s(&["a"]));
        assert_eq!(r[0].report.counts.failed, 0);
        assert_eq!(r[0].report.counts.skipped, 1);
    }
}
