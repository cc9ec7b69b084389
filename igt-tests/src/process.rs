// SPDX-License-Identifier: MIT

//! Child processes for the fork and multi-process subtests, and running
//! system commands (modprobe).

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::check::{fail, skip, OrFail};
use crate::igt::{self, signal_name, Stop, TestResult};

/// The longest message a child passes back to its parent; a pipe holds
/// more, so the child never blocks writing it.
const MAX_MESSAGE: usize = 4000;

/// A forked child running part of a subtest.
#[derive(Debug)]
pub struct Child {
    pid: libc::pid_t,
    what: String,
    report: File,
}

/// A pipe: (read end, write end), both close-on-exec.
pub fn pipe() -> io::Result<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 returned two new descriptors that nothing else owns.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((File::from(r), File::from(w)))
}

/// Writes to file descriptor 2 without taking `std::io::stderr`'s lock.
fn write_stderr(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is valid for reads of its length.
        let n = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            return;
        }
        // CAST: `n` is positive and at most `bytes.len()`.
        bytes = &bytes[n as usize..];
    }
}

/// Encodes a child's result for its parent: `S` success, `F` failure or
/// `K` skip, then the message.
pub fn encode(r: &TestResult) -> String {
    let (tag, msg) = match r {
        Ok(()) => ('S', ""),
        Err(Stop::Fail(m)) => ('F', m.as_str()),
        Err(Stop::Skip(m)) => ('K', m.as_str()),
    };
    let mut msg = msg.to_string();
    if msg.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !msg.is_char_boundary(cut) {
            cut -= 1;
        }
        msg.truncate(cut);
        msg.push_str(" [...]");
    }
    format!("{tag}{msg}")
}

/// The result of a child that exited with `code` (or was killed by
/// `signal`) after writing `report`.
pub fn decode(what: &str, report: &str, code: Option<i32>, signal: Option<i32>) -> TestResult {
    let (tag, msg) = report.split_at(report.chars().next().map_or(0, char::len_utf8));
    match (code, signal) {
        (Some(0), _) if tag == "S" => Ok(()),
        (Some(1), _) if tag == "F" => Err(fail(format!("{what}: {msg}"))),
        // A child needs what the parent had, so its skip is a failure of
        // the subtest, with the child's reason.
        (Some(77), _) if tag == "K" => Err(fail(format!("{what} skipped: {msg}"))),
        (Some(c), _) => Err(fail(format!(
            "{what}: exited with status {c} without reporting a result"
        ))),
        (None, Some(s)) => Err(fail(format!("{what}: killed by signal {}", signal_name(s)))),
        (None, None) => Err(fail(format!("{what}: ended in an unknown way"))),
    }
}

/// Forks a child that runs `f` and exits with its result (0 pass, 1
/// fail, 77 skip); its message comes back to [`Child::wait`].
///
/// Call it only while this process has a single thread: the child is a
/// copy of the calling thread alone.
pub fn fork(what: &str, f: impl FnOnce() -> TestResult) -> TestResult<Child> {
    let (r, w) = pipe().or_fail("pipe for a child's report")?;
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    // SAFETY: The process is single-threaded (the caller's contract), so
    // the child may run any code, allocation included.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(fail(format!(
            "fork ({what}): {}",
            crate::check::describe(&io::Error::last_os_error())
        )));
    }
    if pid == 0 {
        drop(r);
        let result = igt::catch(f);
        let text = encode(&result);
        let mut w = w;
        let _ = w.write_all(text.as_bytes());
        if let Err(Stop::Fail(m) | Stop::Skip(m)) = &result {
            // Straight to the descriptor: stderr's lock may have been held
            // by another thread at the fork (in unit tests).
            write_stderr(format!("({what}) {m}\n").as_bytes());
        }
        let code = match result {
            Ok(()) => igt::EXIT_SUCCESS,
            Err(Stop::Fail(_)) => igt::EXIT_FAILURE,
            Err(Stop::Skip(_)) => igt::EXIT_SKIP,
        };
        // println! flushes at each newline; nothing else is buffered.
        // SAFETY: _exit ends the child without running the parent's atexit
        // handlers or destructors a second time.
        unsafe { libc::_exit(code) };
    }
    // Only the child holds the write end now, so `r` reads until it exits.
    drop(w);
    Ok(Child {
        pid,
        what: what.to_string(),
        report: r,
    })
}

impl Child {
    /// The child's process id.
    pub fn pid(&self) -> libc::pid_t {
        self.pid
    }

    /// Waits for the child and returns its result.
    pub fn wait(mut self) -> TestResult {
        let mut report = String::new();
        // The write end closes when the child exits, ending the read.
        let _ = self.report.read_to_string(&mut report);
        let mut status = 0;
        loop {
            // SAFETY: `status` is a valid place for waitpid's result.
            let r = unsafe { libc::waitpid(self.pid, &mut status, 0) };
            if r == self.pid {
                break;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(fail(format!(
                    "waitpid ({}): {}",
                    self.what,
                    crate::check::describe(&e)
                )));
            }
        }
        let (code, signal) = if libc::WIFEXITED(status) {
            (Some(libc::WEXITSTATUS(status)), None)
        } else if libc::WIFSIGNALED(status) {
            (None, Some(libc::WTERMSIG(status)))
        } else {
            (None, None)
        };
        decode(&self.what, &report, code, signal)
    }
}

/// Waits for every child; returns the first failure after all have ended.
pub fn wait_all(children: Vec<Child>) -> TestResult {
    let mut first = Ok(());
    for c in children {
        let r = c.wait();
        if first.is_ok() {
            first = r;
        }
    }
    first
}

/// The path of a system program, looked up in `$PATH` and then in the
/// sbin directories (which a non-root `$PATH` may lack).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .filter(|d| !d.is_empty())
        .map(Path::new)
        .chain(["/sbin", "/usr/sbin", "/bin", "/usr/bin"].map(Path::new))
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    found
}

/// Runs `program args...`; returns whether it succeeded and its output
/// (stdout and stderr).
pub fn run_program(program: &Path, args: &[&str]) -> TestResult<(bool, String)> {
    let out = Command::new(program)
        .args(args)
        .output()
        .or_fail(&format!("cannot run {}", program.display()))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text.trim().to_string()))
}

/// [`find_program`], or a skip naming the missing program.
pub fn require_program(name: &str) -> TestResult<PathBuf> {
    find_program(name).ok_or_else(|| skip(format!("`{name}` is not installed")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_round_trip() {
        assert_eq!(decode("c", &encode(&Ok(())), Some(0), None), Ok(()));
        assert_eq!(
            decode("c", &encode(&Err(fail("bad"))), Some(1), None),
            Err(fail("c: bad"))
        );
        assert_eq!(
            decode("c", &encode(&Err(skip("why"))), Some(77), None),
            Err(fail("c skipped: why"))
        );
        // Exit statuses that do not match the report.
        assert!(matches!(decode("c", "", Some(0), None), Err(Stop::Fail(_))));
        assert!(matches!(
            decode("c", "S", Some(3), None),
            Err(Stop::Fail(_))
        ));
        match decode("c", "", None, Some(libc::SIGBUS)) {
            Err(Stop::Fail(m)) => assert!(m.contains("SIGBUS"), "{m}"),
            r => panic!("{r:?}"),
        }
        let long = "x".repeat(10_000);
        assert!(encode(&Err(fail(long))).len() < MAX_MESSAGE + 16);
    }

    #[test]
    fn forked_children_report() {
        // The test harness runs tests on threads, which `fork` must not be
        // used with in general; these children only compute and exit. (A
        // panicking child would block on the backtrace lock if another
        // thread held it at the fork, so panics are tested in `igt`.)
        let ok = fork("ok child", || Ok(())).unwrap();
        let bad = fork("bad child", || Err(fail("check x: expected 1, got 2"))).unwrap();
        let skipping = fork("skipping child", || Err(skip("no device"))).unwrap();
        assert_eq!(ok.wait(), Ok(()));
        assert_eq!(
            bad.wait(),
            Err(fail("bad child: check x: expected 1, got 2"))
        );
        assert_eq!(
            skipping.wait(),
            Err(fail("skipping child skipped: no device"))
        );
    }

    #[test]
    fn programs() {
        let sh = find_program("sh").unwrap();
        assert_eq!(
            run_program(&sh, &["-c", "echo hi; echo err >&2"]).unwrap(),
            (true, "hi\nerr".to_string())
        );
        assert!(!run_program(&sh, &["-c", "exit 3"]).unwrap().0);
        assert!(find_program("no-such-program-nova-svm").is_none());
        assert!(matches!(
            require_program("no-such-program-nova-svm"),
            Err(Stop::Skip(_))
        ));
    }
}
