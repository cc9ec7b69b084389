// SPDX-License-Identifier: MIT

//! Checks that stop a subtest with a message saying what was checked, what
//! was expected and what came instead.

use std::fmt::Debug;
use std::io;

use crate::igt::{Stop, TestResult};

/// A failure with `msg`.
pub fn fail(msg: impl Into<String>) -> Stop {
    Stop::Fail(msg.into())
}

/// A skip with `reason`.
pub fn skip(reason: impl Into<String>) -> Stop {
    Stop::Skip(reason.into())
}

/// Skips the subtest unless it runs as root: `what` needs it (the
/// unprivileged pass of the igt suite runs every subtest as a user).
pub fn require_root(what: &str) -> TestResult {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(skip(format!("{what} needs root")));
    }
    Ok(())
}

/// Fails the subtest with a formatted message unless the condition holds.
#[macro_export]
macro_rules! check {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err($crate::igt::Stop::Fail(format!($($arg)+)));
        }
    };
}

/// Checks `got == want`.
pub fn check_eq<T: PartialEq + Debug>(what: &str, got: T, want: T) -> TestResult {
    if got == want {
        Ok(())
    } else {
        Err(fail(format!("{what}: expected {want:?}, got {got:?}")))
    }
}

/// Checks `got == want`, building the label only on failure (so that a
/// passing check allocates nothing: some subtests must not touch the heap
/// between two migrations).
pub fn check_eq_with<T: PartialEq + Debug>(
    got: T,
    want: T,
    what: impl FnOnce() -> String,
) -> TestResult {
    if got == want {
        Ok(())
    } else {
        Err(fail(format!("{}: expected {want:?}, got {got:?}", what())))
    }
}

/// Prefixes a failure or skip message with `what`.
pub fn within<T>(what: &str, r: TestResult<T>) -> TestResult<T> {
    r.map_err(|e| match e {
        Stop::Fail(m) => Stop::Fail(format!("{what}: {m}")),
        Stop::Skip(m) => Stop::Skip(format!("{what}: {m}")),
    })
}

/// The symbolic name of an errno value, such as `EINVAL`.
pub fn errno_name(e: i32) -> String {
    let n = match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::ERANGE => "ERANGE",
        libc::ENOTTY => "ENOTTY",
        libc::ENOSYS => "ENOSYS",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EOVERFLOW => "EOVERFLOW",
        _ => return format!("errno {e}"),
    };
    n.to_string()
}

/// An I/O error as `EINVAL (Invalid argument)`.
pub fn describe(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => {
            let text = e.to_string();
            // io::Error's text is "Invalid argument (os error 22)".
            let text = text.split(" (os error").next().unwrap_or(&text);
            format!("{} ({text})", errno_name(n))
        }
        None => e.to_string(),
    }
}

/// Checks that a call failed with exactly `want`.
pub fn expect_errno<T: Debug>(what: &str, r: io::Result<T>, want: i32) -> TestResult {
    match r {
        Ok(v) => Err(fail(format!(
            "{what}: expected {}, got success ({v:?})",
            errno_name(want)
        ))),
        Err(e) if e.raw_os_error() == Some(want) => Ok(()),
        Err(e) => Err(fail(format!(
            "{what}: expected {}, got {}",
            errno_name(want),
            describe(&e)
        ))),
    }
}

/// Turns an unexpected I/O error into a failure that names the call.
pub trait OrFail<T> {
    /// Fails with `what: failed with <errno>` on error.
    fn or_fail(self, what: &str) -> TestResult<T>;

    /// [`OrFail::or_fail`] with the label built only on error.
    fn or_fail_with(self, what: impl FnOnce() -> String) -> TestResult<T>;
}

impl<T> OrFail<T> for io::Result<T> {
    fn or_fail(self, what: &str) -> TestResult<T> {
        self.or_fail_with(|| what.to_string())
    }

    fn or_fail_with(self, what: impl FnOnce() -> String) -> TestResult<T> {
        self.map_err(|e| fail(format!("{}: failed with {}", what(), describe(&e))))
    }
}

/// Turns an I/O error into a skip that names the missing requirement.
pub trait OrSkip<T> {
    /// Skips with `what: <errno>` on error.
    fn or_skip(self, what: &str) -> TestResult<T>;
}

impl<T> OrSkip<T> for io::Result<T> {
    fn or_skip(self, what: &str) -> TestResult<T> {
        self.map_err(|e| skip(format!("{what}: {}", describe(&e))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(n: i32) -> io::Result<u32> {
        Err(io::Error::from_raw_os_error(n))
    }

    #[test]
    fn errno_names() {
        assert_eq!(errno_name(libc::EINVAL), "EINVAL");
        assert_eq!(errno_name(libc::EPERM), "EPERM");
        assert_eq!(errno_name(4095), "errno 4095");
        assert_eq!(
            describe(&io::Error::from_raw_os_error(libc::EFAULT)),
            "EFAULT (Bad address)"
        );
    }

    #[test]
    fn errno_expectations() {
        assert_eq!(expect_errno("a", err(libc::EINVAL), libc::EINVAL), Ok(()));
        assert_eq!(
            expect_errno("bind", Ok(3u32), libc::EINVAL),
            Err(Stop::Fail("bind: expected EINVAL, got success (3)".into()))
        );
        assert_eq!(
            expect_errno("bind", err(libc::EPERM), libc::ENOENT),
            Err(Stop::Fail(
                "bind: expected ENOENT, got EPERM (Operation not permitted)".into()
            ))
        );
    }

    #[test]
    fn equality_and_context() {
        assert_eq!(check_eq("n", 1, 1), Ok(()));
        assert_eq!(
            check_eq("pages moved", 3u64, 4),
            Err(Stop::Fail("pages moved: expected 4, got 3".into()))
        );
        assert_eq!(
            err(libc::ENOMEM).or_fail("mmap"),
            Err(Stop::Fail(
                "mmap: failed with ENOMEM (Cannot allocate memory)".into()
            ))
        );
        assert_eq!(check_eq_with(2, 2, || unreachable!()), Ok(()));
        assert_eq!(
            check_eq_with(2, 3, || "n".into()),
            Err(Stop::Fail("n: expected 3, got 2".into()))
        );
        assert_eq!(
            within("malloc", Err::<(), _>(fail("x"))),
            Err(Stop::Fail("malloc: x".into()))
        );
        assert_eq!(
            within("huge", Err::<(), _>(skip("y"))),
            Err(Stop::Skip("huge: y".into()))
        );
        assert_eq!(
            err(libc::ENOSYS).or_skip("madvise"),
            Err(Stop::Skip(
                "madvise: ENOSYS (Function not implemented)".into()
            ))
        );
    }

    fn uses_check(v: u32) -> TestResult {
        check!(v < 3, "v: expected below 3, got {v}");
        Ok(())
    }

    #[test]
    fn check_macro() {
        assert_eq!(uses_check(1), Ok(()));
        assert_eq!(
            uses_check(5),
            Err(Stop::Fail("v: expected below 3, got 5".into()))
        );
    }
}
