//! nova-svm developer tasks. `cargo xtask help` lists them.

mod bisect;
mod cpio;
mod hmmbench;
mod igt;
mod kconfig;
mod kernel;
mod setup;
mod splat;
mod stressng;
mod tap;
mod util;
mod vm;

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use kernel::Flavor;
use tap::Counts;
use util::{fmt_dur, repo_root, step, Result};

const HELP: &str = "\
cargo xtask <command>

  setup                   install packages, kernel and rust-src sources, bindgen
  kernel [--debug] [--reset]
                          unpack v7.3.4, apply mm-patches/, overlay drivers/ and
                          uapi/, configure and build (incremental)
  patches export          write the work tree's commits back to mm-patches/
  bisect-check [--from N] [SUITE...]
                          build and boot every patch of the series in turn
                          (own worktree and build; KUnit in each boot, and
                          the suites named); names the first that fails
  vm [--debug] [--timeout SECS] [SUITE...]
                          boot the VM and run suites (default: all but the
                          `bench` and `demo` suites, which run when named)
  igt                     build the IGT test binaries (igt-tests/) statically,
                          as `vm` does for the igt suite, and list them
  test [--no-debug]       host tests, then every VM suite on the normal and
                          the debug kernel; ends with the total line
  run [--timeout SECS]    the demo: boot the VM, load nova_svm on a simulated
                          GPU and run an SVM workload step by step (CPU fill,
                          SVM_BIND to VRAM, device writes, CPU faults back;
                          then an ext4 file: to VRAM, device writes, fsync,
                          unmount and mount, read back from the disk)
  bench [--timeout SECS]  one boot of the normal kernel: migration throughput
                          to the device and back of nova-svm, test_hmm and
                          memcpy, for 4 KiB pages and 2 MiB folios, as a table
  fuzz [--calls N] [--seed S] [--timeout SECS]
                          one boot of the debug kernel: the seeded ioctl
                          fuzzer, N calls (20,000 by default) from seed S
                          (random by default; the run prints it)

The cache (sources, work tree, builds, logs) is $NOVA_SVM_CACHE, by default
~/.cache/nova-svm.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Opts {
    debug: bool,
    reset: bool,
    no_debug: bool,
    timeout: Option<Duration>,
    from: Option<usize>,
    calls: Option<u64>,
    seed: Option<String>,
    rest: Vec<String>,
}

fn opts(args: &[String]) -> Result<Opts> {
    let mut o = Opts {
        debug: false,
        reset: false,
        no_debug: false,
        timeout: None,
        from: None,
        calls: None,
        seed: None,
        rest: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--debug" => o.debug = true,
            "--reset" => o.reset = true,
            "--no-debug" => o.no_debug = true,
            "--timeout" => {
                let v = it
                    .next()
                    .ok_or_else(|| util::Error("--timeout needs seconds".into()))?;
                let s: u64 = v.parse().map_err(|_| {
                    util::Error(format!("--timeout: `{v}` is not a number of seconds"))
                })?;
                o.timeout = Some(Duration::from_secs(s));
            }
            "--from" => {
                let v = it
                    .next()
                    .ok_or_else(|| util::Error("--from needs a patch number".into()))?;
                let n: usize = v
                    .parse()
                    .map_err(|_| util::Error(format!("--from: `{v}` is not a patch number")))?;
                o.from = Some(n);
            }
            "--calls" => {
                let v = it
                    .next()
                    .ok_or_else(|| util::Error("--calls needs a number".into()))?;
                let n: u64 = v
                    .parse()
                    .map_err(|_| util::Error(format!("--calls: `{v}` is not a number")))?;
                o.calls = Some(n);
            }
            "--seed" => {
                let v = it
                    .next()
                    .ok_or_else(|| util::Error("--seed needs a number".into()))?;
                let ok = match v.strip_prefix("0x") {
                    Some(h) => u64::from_str_radix(h, 16).is_ok(),
                    None => v.parse::<u64>().is_ok(),
                };
                if !ok {
                    bail!("--seed: `{v}` is not a decimal or 0x hex number");
                }
                o.seed = Some(v.clone());
            }
            f if f.starts_with("--") => bail!("unknown option {f}\n\n{HELP}"),
            _ => o.rest.push(a.clone()),
        }
    }
    Ok(o)
}

fn flavor(o: &Opts) -> Flavor {
    if o.debug {
        Flavor::Debug
    } else {
        Flavor::Normal
    }
}

fn dispatch(args: &[String]) -> Result<bool> {
    let Some(cmd) = args.first() else {
        println!("{HELP}");
        return Ok(true);
    };
    let o = opts(&args[1..])?;
    match cmd.as_str() {
        "setup" => {
            setup::setup()?;
            Ok(true)
        }
        "kernel" => {
            let p = kernel::build(flavor(&o), o.reset)?;
            step(&format!("kernel ready: {}", p.bzimage().display()));
            Ok(true)
        }
        "patches" => match o.rest.first().map(String::as_str) {
            Some("export") => {
                kernel::export()?;
                Ok(true)
            }
            _ => bail!("usage: cargo xtask patches export"),
        },
        "bisect-check" => bisect::bisect_check(o.from.unwrap_or(1), &o.rest),
        "vm" => {
            let run = vm::vm(flavor(&o), &o.rest, o.timeout)?;
            Ok(run.ok())
        }
        "igt" => {
            igt::show()?;
            Ok(true)
        }
        "test" => test(o.no_debug),
        "run" => demo(o.timeout),
        "bench" => bench(o.timeout),
        "fuzz" => fuzz(o.calls, o.seed.as_deref(), o.timeout),
        "help" | "-h" | "--help" => {
            println!("{HELP}");
            Ok(true)
        }
        other => bail!("unknown command `{other}`\n\n{HELP}"),
    }
}

/// Reads cargo's `test result:` lines.
fn cargo_counts(text: &str) -> Counts {
    let mut c = Counts::default();
    for l in text.lines() {
        let Some(rest) = l.trim().strip_prefix("test result: ") else {
            continue;
        };
        for part in rest.split([';', '.']) {
            let mut w = part.split_whitespace();
            let (Some(n), Some(what)) = (w.next(), w.next()) else {
                continue;
            };
            let Ok(n) = n.parse::<usize>() else { continue };
            match what {
                "passed" => c.passed += n,
                "failed" => c.failed += n,
                "ignored" => c.skipped += n,
                _ => {}
            }
        }
    }
    c
}

fn host_tests() -> Result<(Counts, bool)> {
    step("host tests: cargo test --workspace");
    let out = Command::new("cargo")
        .current_dir(repo_root())
        .args(["test", "--workspace", "--quiet"])
        .output()
        .map_err(|e| util::Error(format!("cannot run cargo test: {e}")))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let c = cargo_counts(&text);
    if !out.status.success() {
        println!("{}", util::tail(&text, 60));
    }
    let ok = out.status.success() && c.failed == 0;
    Ok((c, ok))
}

/// `cargo xtask test`: host tests, kernels, every VM suite.
fn test(no_debug: bool) -> Result<bool> {
    let start = Instant::now();
    let mut total = Counts::default();
    let mut lines = Vec::new();
    let mut ok = true;
    let (host, host_ok) = host_tests()?;
    lines.push(format!(
        "HOST cargo test: {} passed, {} failed, {} skipped",
        host.passed, host.failed, host.skipped
    ));
    total.add(host);
    ok &= host_ok;
    let suites = vm::all_suites()?;
    let mut flavors = vec![Flavor::Normal];
    if !no_debug {
        flavors.push(Flavor::Debug);
    }
    for f in flavors {
        let run = match vm::vm(f, &suites, None) {
            Ok(r) => r,
            Err(e) => {
                println!("ERROR ({}): {e}", f.name());
                lines.push(format!("ERROR ({}): {e}", f.name()));
                total.failed += 1;
                ok = false;
                continue;
            }
        };
        for s in &run.suites {
            lines.push(s.line(f));
        }
        for e in &run.errors {
            lines.push(format!(
                "ERROR ({}): {}",
                f.name(),
                e.lines().next().unwrap_or("")
            ));
            total.failed += 1;
        }
        total.add(run.counts());
        ok &= run.ok();
    }
    step(&format!("summary ({})", fmt_dur(start.elapsed())));
    for l in &lines {
        println!("{l}");
    }
    println!(
        "{} passed, {} failed, {} skipped",
        total.passed, total.failed, total.skipped
    );
    Ok(ok && total.failed == 0)
}

/// What suite `name` printed in the VM's test output, line by line,
/// without line ends and TAP framing (version and plan lines).
fn suite_output(tests_log: &str, name: &str) -> Vec<String> {
    let Some(body) = vm::suite_body(tests_log, name) else {
        return Vec::new();
    };
    body.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| *l != "TAP version 13" && !is_plan(l))
        .map(str::to_string)
        .collect()
}

/// Whether a line is a TAP plan such as `1..5`.
fn is_plan(l: &str) -> bool {
    l.strip_prefix("1..")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Boots the normal kernel with one on-request suite and prints its output.
/// Prints what `suite` printed in `run`, under `title`.
fn show_output(run: &vm::Run, text: &str, suite: &str, title: &str) {
    step(title);
    let lines = suite_output(text, suite);
    if lines.is_empty() {
        println!("    (nothing: see {})", run.tests_log.display());
    }
    for l in lines {
        println!("    {l}");
    }
}

/// Says where the logs of a failed run are.
fn report_run(run: &vm::Run) -> bool {
    if !run.ok() {
        println!(
            "    the run failed; logs: console {}, test output {}",
            run.console.display(),
            run.tests_log.display()
        );
    }
    run.ok()
}

fn tests_text(run: &vm::Run) -> String {
    String::from_utf8_lossy(&std::fs::read(&run.tests_log).unwrap_or_default()).into_owned()
}

/// Boots the VM with `suite` alone and prints its output under `title`.
fn show_suite(suite: &str, timeout: Option<Duration>, title: &str) -> Result<bool> {
    let run = vm::vm(Flavor::Normal, &[suite.to_string()], timeout)?;
    show_output(&run, &tests_text(&run), suite, title);
    Ok(report_run(&run))
}

/// `cargo xtask run`: boots the VM and runs the SVM demo on nova-svm.
fn demo(timeout: Option<Duration>) -> Result<bool> {
    show_suite(
        vm::DEMO,
        timeout,
        "nova_svm_demo on nova_svm with a simulated GPU, as the VM printed it:",
    )
}

/// `cargo xtask fuzz`: one boot of the debug kernel running the fuzz suite
/// with the call count and seed given (through the forwarded environment).
fn fuzz(calls: Option<u64>, seed: Option<&str>, timeout: Option<Duration>) -> Result<bool> {
    // The child environment of this process is what `vm::vm` forwards.
    if let Some(n) = calls {
        // SAFETY: xtask is single-threaded here; nothing reads the
        // environment concurrently.
        unsafe { std::env::set_var("NOVA_SVM_FUZZ_CALLS", n.to_string()) };
    }
    // The suite pins a seed of its own, so that every `cargo xtask test`
    // repeats the same slice; a fuzzing run draws a new one unless told.
    let seed = match seed {
        Some(s) => s.to_string(),
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1);
            format!("{:#x}", nanos ^ (u64::from(std::process::id()) << 32))
        }
    };
    println!("==> fuzz seed {seed} (--seed {seed} repeats the run)");
    // SAFETY: as above.
    unsafe { std::env::set_var("NOVA_SVM_FUZZ_SEED", &seed) };
    // About 10 ms a call on the debug kernel under TCG, plus the boot.
    let timeout = timeout.or_else(|| calls.map(|n| Duration::from_secs(600 + n / 50)));
    let run = vm::vm(Flavor::Debug, &[vm::FUZZ.to_string()], timeout)?;
    Ok(report_run(&run))
}

/// `cargo xtask bench`: one boot, the migration benchmark and the C/Rust
/// dmirror benchmark, their tables.
fn bench(timeout: Option<Duration>) -> Result<bool> {
    let suites = [vm::BENCH.to_string(), vm::HMM_BENCH.to_string()];
    let run = vm::vm(Flavor::Normal, &suites, timeout)?;
    let text = tests_text(&run);
    show_output(
        &run,
        &text,
        vm::BENCH,
        "nova_svm_bench (nova-svm vs test_hmm vs memcpy), as the VM printed it:",
    );
    let (c, rust) = hmmbench::parse_rounds(&suite_output(&text, vm::HMM_BENCH));
    step(&format!(
        "hmm-tests benchmark_thp_migration, median of {} C and {} Rust rounds, alternating:",
        c.len(),
        rust.len()
    ));
    let (c, rust) = (hmmbench::median_rows(&c), hmmbench::median_rows(&rust));
    if c.is_empty() || rust.is_empty() {
        println!("    (no complete rounds: see {})", run.tests_log.display());
    } else {
        for l in hmmbench::compare(&c, &rust).lines() {
            println!("    {l}");
        }
    }
    Ok(report_run(&run))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_result_lines_are_summed() {
        let t = "running 3 tests\n...\n\
                 test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\
                 test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out\n";
        assert_eq!(
            cargo_counts(t),
            Counts {
                passed: 4,
                failed: 2,
                skipped: 1
            }
        );
    }

    #[test]
    fn suite_output_drops_tap_framing() {
        let log = "NOVA-SUITE-BEGIN igt\r\nok 1 x\r\nNOVA-SUITE-END igt rc=0\r\n\
                   NOVA-SUITE-BEGIN bench\r\nTAP version 13\r\n1..5\r\nok 1 bench.modprobe\r\n\
                   | size | direction |\r\n1..x\r\nnot ok 2 bench.nova_svm_bench # exit status 1\r\n\
                   NOVA-SUITE-END bench rc=1\r\nNOVA-DONE\r\n";
        assert_eq!(
            suite_output(log, vm::BENCH),
            [
                "ok 1 bench.modprobe",
                "| size | direction |",
                "1..x",
                "not ok 2 bench.nova_svm_bench # exit status 1"
            ]
        );
        assert!(suite_output(log, "hmm").is_empty());
        assert!(is_plan("1..12") && !is_plan("1..") && !is_plan("1..2a"));
    }

    #[test]
    fn commands_are_documented() {
        for c in ["run", "bench", "fuzz", "test", "vm"] {
            assert!(
                HELP.lines().any(|l| l.trim_start().starts_with(c)),
                "{c} is not in the help"
            );
        }
        let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
        let top: String = readme.lines().take(8).collect::<Vec<_>>().join("\n");
        for c in ["cargo xtask run", "cargo xtask test", "cargo xtask bench"] {
            assert!(top.contains(c), "the top of README.md does not name `{c}`");
        }
    }

    #[test]
    fn options_parse() {
        let o = opts(&[
            "--debug".into(),
            "--timeout".into(),
            "30".into(),
            "hmm".into(),
        ])
        .unwrap();
        assert!(o.debug);
        assert_eq!(o.timeout, Some(Duration::from_secs(30)));
        assert_eq!(o.rest, vec!["hmm".to_string()]);
        assert!(opts(&["--timeout".into(), "x".into()]).is_err());
        assert!(opts(&["--bogus".into()]).is_err());
    }
}
