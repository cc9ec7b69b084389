// SPDX-License-Identifier: MIT

//! The IGT test protocol, as `igt_runner` and the VM suite script use it.
//!
//! A test binary holds named subtests:
//!
//! - `--list-subtests` prints their names, one a line, and exits 0.
//! - `--run-subtest NAME` (or `--run-subtest=NAME`) runs one and exits
//!   [`EXIT_SUCCESS`], [`EXIT_FAILURE`] or [`EXIT_SKIP`]. A skip prints its
//!   reason on a line starting with [`SKIP_PREFIX`] (stdout), a failure its
//!   check on a line starting with [`FAIL_PREFIX`] (stderr).
//! - No arguments runs every subtest, each in a process of its own (the
//!   binary runs itself with `--run-subtest`), so that a crash fails one
//!   subtest and not the rest.
//!
//! Each subtest prints `Starting subtest: NAME` and then
//! `Subtest NAME: SUCCESS|FAIL|SKIP (1.234s)`, as IGT does.
//!
//! Everything here that does not run a subtest is pure and unit-tested.

use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

/// Exit status of a subtest that passed.
pub const EXIT_SUCCESS: i32 = 0;
/// Exit status of a subtest that failed.
pub const EXIT_FAILURE: i32 = 1;
/// Exit status of a subtest that skipped (IGT's and automake's 77).
pub const EXIT_SKIP: i32 = 77;
/// Exit status for bad arguments or an unknown subtest (IGT's 79).
pub const EXIT_INVALID: i32 = 79;

/// The line prefix that carries a skip's reason.
pub const SKIP_PREFIX: &str = "Test requirement not met: ";
/// The line prefix that carries a failure's message.
pub const FAIL_PREFIX: &str = "Test assertion failure: ";

/// Why a subtest stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// A check failed: what was checked, expected and got.
    Fail(String),
    /// A requirement is not met: why the subtest cannot run here.
    Skip(String),
}

/// What a subtest (or one of its steps) returns.
pub type TestResult<T = ()> = Result<T, Stop>;

/// A named subtest of a test binary.
#[derive(Clone, Copy)]
pub struct Subtest {
    /// The name, lowercase words joined by `-`.
    pub name: &'static str,
    /// One line saying what it checks (for `--help`).
    pub description: &'static str,
    /// The body.
    pub run: fn() -> TestResult,
}

/// The outcome of one subtest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every check passed.
    Success,
    /// A check failed, with its message.
    Fail(String),
    /// A requirement was not met, with the reason.
    Skip(String),
}

impl Outcome {
    /// The outcome of a subtest body's result.
    pub fn from_result(r: TestResult) -> Self {
        match r {
            Ok(()) => Outcome::Success,
            Err(Stop::Fail(m)) => Outcome::Fail(m),
            Err(Stop::Skip(m)) => Outcome::Skip(m),
        }
    }

    /// The exit status that reports this outcome.
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Success => EXIT_SUCCESS,
            Outcome::Fail(_) => EXIT_FAILURE,
            Outcome::Skip(_) => EXIT_SKIP,
        }
    }

    /// IGT's word for the outcome in `Subtest NAME: WORD (time)`.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Success => "SUCCESS",
            Outcome::Fail(_) => "FAIL",
            Outcome::Skip(_) => "SKIP",
        }
    }

    /// The outcome of a subtest that ran in a child process which exited
    /// with `code`, or was killed by `signal`. Statuses other than the
    /// three of the protocol are failures.
    pub fn from_wait(code: Option<i32>, signal: Option<i32>) -> Self {
        match (code, signal) {
            (Some(EXIT_SUCCESS), _) => Outcome::Success,
            (Some(EXIT_SKIP), _) => Outcome::Skip("the subtest skipped".to_string()),
            (Some(EXIT_FAILURE), _) => Outcome::Fail("the subtest failed".to_string()),
            (Some(c), _) => Outcome::Fail(format!("the subtest exited with status {c}")),
            (None, Some(s)) => Outcome::Fail(format!(
                "the subtest was killed by signal {}",
                signal_name(s)
            )),
            (None, None) => Outcome::Fail("the subtest ended in an unknown way".to_string()),
        }
    }
}

/// A signal's number and name, such as `11 (SIGSEGV)`.
pub fn signal_name(sig: i32) -> String {
    let name = match sig {
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGTRAP => "SIGTRAP",
        _ => return sig.to_string(),
    };
    format!("{sig} ({name})")
}

/// The exit status of a run of several subtests: failure if any failed,
/// skip if all skipped (or there were none), success otherwise.
pub fn aggregate(outcomes: &[Outcome]) -> i32 {
    if outcomes.iter().any(|o| matches!(o, Outcome::Fail(_))) {
        EXIT_FAILURE
    } else if outcomes.iter().all(|o| matches!(o, Outcome::Skip(_))) {
        EXIT_SKIP
    } else {
        EXIT_SUCCESS
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// `--list-subtests`.
    List,
    /// `--run-subtest NAME`.
    Run(String),
    /// No arguments: every subtest.
    RunAll,
    /// `--help`.
    Help,
}

/// Reads the command line (without the program name).
pub fn parse_args(args: &[String]) -> Result<Mode, String> {
    let mut mode = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let m = match a.as_str() {
            "--list-subtests" => Mode::List,
            "--help" | "-h" => Mode::Help,
            "--run-subtest" => {
                let name = it
                    .next()
                    .ok_or_else(|| "--run-subtest needs a subtest name".to_string())?;
                Mode::Run(name.clone())
            }
            other => match other.strip_prefix("--run-subtest=") {
                Some(name) => Mode::Run(name.to_string()),
                None => return Err(format!("unknown argument `{other}`")),
            },
        };
        if let Mode::Run(name) = &m {
            if name.is_empty() {
                return Err("--run-subtest needs a subtest name".to_string());
            }
        }
        if mode.replace(m).is_some() {
            return Err("give one of --list-subtests, --run-subtest NAME, --help".to_string());
        }
    }
    Ok(mode.unwrap_or(Mode::RunAll))
}

/// The usage text of a binary.
pub fn usage(binary: &str, subtests: &[Subtest]) -> String {
    let mut s = format!(
        "usage: {binary} [--list-subtests | --run-subtest NAME | --help]\n\n\
         Without arguments every subtest runs. Exit status: {EXIT_SUCCESS} pass, \
         {EXIT_FAILURE} fail, {EXIT_SKIP} skip, {EXIT_INVALID} bad arguments.\n\nSubtests:\n"
    );
    for t in subtests {
        s.push_str(&format!("  {:<32} {}\n", t.name, t.description));
    }
    s
}

/// `Subtest NAME: WORD (1.234s)`.
pub fn result_line(name: &str, outcome: &Outcome, elapsed: Duration) -> String {
    format!(
        "Subtest {name}: {} ({:.3}s)",
        outcome.word(),
        elapsed.as_secs_f64()
    )
}

/// The text of a panic's payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// Runs `f`, turning a panic into a failure.
pub fn catch(f: impl FnOnce() -> TestResult) -> TestResult {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => Err(Stop::Fail(format!("panic: {}", panic_message(&*p)))),
    }
}

fn flush() {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
}

/// Runs one subtest in this process and reports it.
fn run_one(t: &Subtest) -> Outcome {
    println!("Starting subtest: {}", t.name);
    flush();
    let start = Instant::now();
    let outcome = Outcome::from_result(catch(t.run));
    match &outcome {
        Outcome::Success => {}
        Outcome::Skip(why) => println!("{SKIP_PREFIX}{why}"),
        Outcome::Fail(why) => eprintln!("{FAIL_PREFIX}{why}"),
    }
    println!("{}", result_line(t.name, &outcome, start.elapsed()));
    flush();
    outcome
}

/// Runs one subtest in a child process (this binary with `--run-subtest`).
fn run_isolated(t: &Subtest) -> Outcome {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!(
                "cannot find this binary ({e}); running {} in-process",
                t.name
            );
            return run_one(t);
        }
    };
    flush();
    let start = Instant::now();
    let status = match Command::new(&exe).arg("--run-subtest").arg(t.name).status() {
        Ok(s) => s,
        Err(e) => {
            let o = Outcome::Fail(format!("cannot run {}: {e}", exe.display()));
            eprintln!("{FAIL_PREFIX}{}", fail_text(&o));
            println!("{}", result_line(t.name, &o, start.elapsed()));
            return o;
        }
    };
    use std::os::unix::process::ExitStatusExt;
    let outcome = Outcome::from_wait(status.code(), status.signal());
    // The child reported the three protocol statuses itself; anything else
    // means it could not, so report for it.
    if !matches!(status.code(), Some(EXIT_SUCCESS | EXIT_FAILURE | EXIT_SKIP)) {
        eprintln!("{FAIL_PREFIX}{}", fail_text(&outcome));
        println!("{}", result_line(t.name, &outcome, start.elapsed()));
    }
    flush();
    outcome
}

fn fail_text(o: &Outcome) -> &str {
    match o {
        Outcome::Fail(m) | Outcome::Skip(m) => m,
        Outcome::Success => "",
    }
}

/// Checks a binary's subtest table: names nonempty, lowercase words
/// joined by `-`, unique. Returns the first problem.
pub fn check_names(subtests: &[Subtest]) -> Result<(), String> {
    for (i, t) in subtests.iter().enumerate() {
        let n = t.name;
        let ok_chars = n
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if n.is_empty() || !ok_chars || n.starts_with('-') || n.ends_with('-') || n.contains("--") {
            return Err(format!("bad subtest name `{n}`"));
        }
        if subtests[..i].iter().any(|o| o.name == n) {
            return Err(format!("subtest `{n}` is listed twice"));
        }
    }
    Ok(())
}

/// The variable that runs a subtest as another user: `NOVA_SVM_IGT_UID=N`
/// drops every group and takes uid and gid `N` before the subtest starts,
/// so that a root test runner can check the unprivileged paths of the
/// render node.
pub const UID_ENV: &str = "NOVA_SVM_IGT_UID";

/// Takes the uid and gid of [`UID_ENV`], when it is set.
fn drop_privileges() -> Result<(), String> {
    let Some(v) = std::env::var_os(UID_ENV).filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    let uid: libc::uid_t = v
        .to_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{v:?} is not a user id"))?;
    // SAFETY: setgroups with no groups reads no memory; setgid and setuid
    // take plain ids. This process has one thread here.
    let ok = unsafe {
        libc::setgroups(0, std::ptr::null()) == 0
            && libc::setgid(uid) == 0
            && libc::setuid(uid) == 0
    };
    if !ok {
        return Err(format!(
            "cannot become uid {uid}: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: getuid and geteuid have no preconditions.
    if unsafe { libc::geteuid() != uid || libc::getuid() != uid } {
        return Err(format!("still not uid {uid} after setuid"));
    }
    // setuid left the process undumpable, which gives its /proc files
    // (pagemap, oom_score_adj) to root; a program that a user starts is
    // dumpable.
    // SAFETY: PR_SET_DUMPABLE takes an integer argument only.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1) } != 0 {
        return Err(format!(
            "PR_SET_DUMPABLE: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// The `main` of a test binary.
pub fn main(binary: &str, subtests: &[Subtest]) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match parse_args(&args) {
        Err(e) => {
            eprintln!("{binary}: {e}\n\n{}", usage(binary, subtests));
            EXIT_INVALID
        }
        Ok(Mode::Help) => {
            print!("{}", usage(binary, subtests));
            EXIT_SUCCESS
        }
        Ok(Mode::List) => {
            for t in subtests {
                println!("{}", t.name);
            }
            EXIT_SUCCESS
        }
        Ok(Mode::Run(name)) => match subtests.iter().find(|t| t.name == name) {
            Some(t) => match drop_privileges() {
                Ok(()) => run_one(t).exit_code(),
                Err(e) => {
                    eprintln!("{binary}: {UID_ENV}: {e}");
                    EXIT_FAILURE
                }
            },
            None => {
                eprintln!("{binary}: unknown subtest `{name}`; --list-subtests lists them");
                EXIT_INVALID
            }
        },
        Ok(Mode::RunAll) => {
            let outcomes: Vec<Outcome> = subtests.iter().map(run_isolated).collect();
            aggregate(&outcomes)
        }
    };
    flush();
    // CAST: every status used here is in 0..=255.
    ExitCode::from(code as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn arguments() {
        assert_eq!(parse_args(&[]), Ok(Mode::RunAll));
        assert_eq!(parse_args(&args(&["--list-subtests"])), Ok(Mode::List));
        assert_eq!(parse_args(&args(&["--help"])), Ok(Mode::Help));
        assert_eq!(parse_args(&args(&["-h"])), Ok(Mode::Help));
        assert_eq!(
            parse_args(&args(&["--run-subtest", "malloc"])),
            Ok(Mode::Run("malloc".into()))
        );
        assert_eq!(
            parse_args(&args(&["--run-subtest=evict"])),
            Ok(Mode::Run("evict".into()))
        );
    }

    #[test]
    fn bad_arguments() {
        assert!(parse_args(&args(&["--run-subtest"])).is_err());
        assert!(parse_args(&args(&["--run-subtest="])).is_err());
        assert!(parse_args(&args(&["--run-subtest", ""])).is_err());
        assert!(parse_args(&args(&["--bogus"])).is_err());
        assert!(parse_args(&args(&["malloc"])).is_err());
        assert!(parse_args(&args(&["--list-subtests", "--run-subtest", "a"])).is_err());
    }

    #[test]
    fn outcomes_map_to_exit_codes() {
        assert_eq!(Outcome::from_result(Ok(())).exit_code(), 0);
        let f = Outcome::from_result(Err(Stop::Fail("x".into())));
        assert_eq!((f.exit_code(), f.word()), (1, "FAIL"));
        let s = Outcome::from_result(Err(Stop::Skip("y".into())));
        assert_eq!((s.exit_code(), s.word()), (77, "SKIP"));
        assert_eq!(Outcome::Success.word(), "SUCCESS");
    }

    #[test]
    fn child_statuses() {
        assert_eq!(Outcome::from_wait(Some(0), None), Outcome::Success);
        assert!(matches!(
            Outcome::from_wait(Some(77), None),
            Outcome::Skip(_)
        ));
        assert!(matches!(
            Outcome::from_wait(Some(1), None),
            Outcome::Fail(_)
        ));
        match Outcome::from_wait(Some(101), None) {
            Outcome::Fail(m) => assert!(m.contains("101"), "{m}"),
            o => panic!("{o:?}"),
        }
        match Outcome::from_wait(None, Some(libc::SIGSEGV)) {
            Outcome::Fail(m) => assert!(m.contains("11 (SIGSEGV)"), "{m}"),
            o => panic!("{o:?}"),
        }
        assert_eq!(signal_name(64), "64");
    }

    #[test]
    fn aggregate_status() {
        let (p, f, s) = (
            Outcome::Success,
            Outcome::Fail(String::new()),
            Outcome::Skip(String::new()),
        );
        assert_eq!(aggregate(&[p.clone(), s.clone()]), EXIT_SUCCESS);
        assert_eq!(aggregate(&[p.clone(), f.clone(), s.clone()]), EXIT_FAILURE);
        assert_eq!(aggregate(&[s.clone(), s.clone()]), EXIT_SKIP);
        assert_eq!(aggregate(&[]), EXIT_SKIP);
        assert_eq!(aggregate(&[p]), EXIT_SUCCESS);
    }

    #[test]
    fn result_lines_look_like_igt() {
        assert_eq!(
            result_line("malloc", &Outcome::Success, Duration::from_millis(1500)),
            "Subtest malloc: SUCCESS (1.500s)"
        );
        assert_eq!(
            result_line("x", &Outcome::Skip("r".into()), Duration::ZERO),
            "Subtest x: SKIP (0.000s)"
        );
    }

    #[test]
    fn panics_become_failures() {
        let r = catch(|| panic!("boom {}", 7));
        assert_eq!(r, Err(Stop::Fail("panic: boom 7".into())));
        assert_eq!(catch(|| Ok(())), Ok(()));
        assert_eq!(
            catch(|| Err(Stop::Skip("s".into()))),
            Err(Stop::Skip("s".into()))
        );
    }

    fn nop() -> TestResult {
        Ok(())
    }

    fn t(name: &'static str) -> Subtest {
        Subtest {
            name,
            description: "",
            run: nop,
        }
    }

    #[test]
    fn subtest_names() {
        assert!(check_names(&[t("malloc"), t("bind-va-empty"), t("x2")]).is_ok());
        for bad in ["", "Malloc", "a_b", "-a", "a-", "a--b", "a b"] {
            assert!(check_names(&[t(bad)]).is_err(), "{bad}");
        }
        assert!(check_names(&[t("a"), t("b"), t("a")]).is_err());
    }

    #[test]
    fn usage_lists_subtests() {
        let u = usage("bin", &[t("one"), t("two")]);
        assert!(u.contains("  one "));
        assert!(u.contains("77 skip"));
    }
}
