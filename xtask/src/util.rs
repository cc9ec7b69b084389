//! Small helpers shared by the xtask commands: errors, paths, running
//! programs with logs and progress, and a stable content hash.

use std::fmt;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// An error message meant for the person at the terminal.
#[derive(Debug)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Returns early with a formatted [`Error`].
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::util::Error(format!($($arg)*)))
    };
}

/// Adds what was being done to an error.
pub trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error(format!("{}: {e}", what())))
    }
}

/// The repository root (the parent of `xtask/`).
pub fn repo_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// The cache that holds downloads, the kernel work tree and build outputs.
///
/// `NOVA_SVM_CACHE` overrides the default `$XDG_CACHE_HOME/nova-svm`
/// (or `~/.cache/nova-svm`).
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("NOVA_SVM_CACHE") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("nova-svm");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cache").join("nova-svm")
}

/// Prints a step header.
pub fn step(msg: &str) {
    println!("==> {msg}");
}

/// Prints a detail line under a step.
pub fn note(msg: &str) {
    println!("    {msg}");
}

/// Formats a duration as `1m05s` or `4.2s`.
pub fn fmt_dur(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs a command with inherited output; fails if it exits non-zero.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .context(|| format!("cannot start `{}`", describe(cmd)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", describe(cmd));
    }
    Ok(())
}

/// Runs a command and returns its standard output; standard error is
/// included in the error message on failure.
pub fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .context(|| format!("cannot start `{}`", describe(cmd)))?;
    if !out.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            describe(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The last `n` lines of a text.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs a long command with all its output in `log`, printing a progress
/// line every `every` with the elapsed time, the number of log lines and the
/// last one. On failure the error carries the last 40 lines and the log path.
pub fn run_logged(cmd: &mut Command, log: &Path, label: &str, every: Duration) -> Result<()> {
    if let Some(dir) = log.parent() {
        fs::create_dir_all(dir)?;
    }
    let file = fs::File::create(log).context(|| format!("cannot create {}", log.display()))?;
    let err = file.try_clone()?;
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .context(|| format!("cannot start `{}`", describe(cmd)))?;
    let done = Arc::new(AtomicBool::new(false));
    let ticker = {
        let done = done.clone();
        let log = log.to_path_buf();
        let label = label.to_string();
        thread::spawn(move || progress_ticker(&log, &label, start, every, &done))
    };
    let status = child.wait()?;
    done.store(true, Ordering::Relaxed);
    let _ = ticker.join();
    if !status.success() {
        let text = fs::read_to_string(log).unwrap_or_default();
        bail!(
            "{label} failed ({status}) after {}; last 40 lines of {}:\n{}\n(full log: {})",
            fmt_dur(start.elapsed()),
            log.display(),
            tail(&text, 40),
            log.display()
        );
    }
    note(&format!("{label}: done in {}", fmt_dur(start.elapsed())));
    Ok(())
}

fn progress_ticker(log: &Path, label: &str, start: Instant, every: Duration, done: &AtomicBool) {
    let mut offset = 0u64;
    let mut lines = 0usize;
    let mut last = String::new();
    let mut next = every;
    while !done.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(250));
        if start.elapsed() < next {
            continue;
        }
        next += every;
        if let Ok(mut f) = fs::File::open(log) {
            if f.seek(SeekFrom::Start(offset)).is_ok() {
                let mut buf = Vec::new();
                if f.read_to_end(&mut buf).is_ok() {
                    offset += buf.len() as u64;
                    let text = String::from_utf8_lossy(&buf);
                    lines += text.matches('\n').count();
                    if let Some(l) = text.lines().rev().find(|l| !l.trim().is_empty()) {
                        last = l.trim().chars().take(90).collect();
                    }
                }
            }
        }
        note(&format!(
            "{label}: {} elapsed, {lines} log lines, last: {last}",
            fmt_dur(start.elapsed())
        ));
    }
}

/// A stable 64-bit FNV-1a hash, used for build fingerprints.
#[derive(Clone, Copy)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub fn update(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// Hashes a length-prefixed chunk so that concatenations cannot collide.
    pub fn chunk(&mut self, bytes: &[u8]) {
        self.update(&(bytes.len() as u64).to_le_bytes());
        self.update(bytes);
    }

    pub fn hex(self) -> String {
        format!("{:016x}", self.0)
    }
}

/// Hashes every regular file below `dir` (paths and contents), sorted.
pub fn hash_tree(h: &mut Fnv, dir: &Path) -> Result<()> {
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    for f in files {
        let rel = f.strip_prefix(dir).unwrap_or(&f);
        h.chunk(rel.to_string_lossy().as_bytes());
        h.chunk(&fs::read(&f)?);
    }
    Ok(())
}

/// Lists every regular file below `dir` (none if it does not exist).
pub fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    for e in fs::read_dir(dir).context(|| format!("cannot read {}", dir.display()))? {
        let e = e?;
        let ty = e.file_type()?;
        if ty.is_dir() {
            walk(&e.path(), out)?;
        } else if ty.is_file() {
            out.push(e.path());
        }
    }
    Ok(())
}

/// Reads a small state file, or `None` if it does not exist.
pub fn read_stamp(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

/// Writes a small state file.
pub fn write_stamp(path: &Path, value: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(path, format!("{value}\n")).context(|| format!("cannot write {}", path.display()))
}

/// The number of CPUs to give `make -j`.
pub fn jobs() -> usize {
    thread::available_parallelism().map_or(2, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_is_stable_and_chunked() {
        let mut a = Fnv::default();
        a.update(b"");
        assert_eq!(a.hex(), "cbf29ce484222325");
        let mut b = Fnv::default();
        b.update(b"a");
        assert_eq!(b.hex(), "af63dc4c8601ec8c");
        let (mut c, mut d) = (Fnv::default(), Fnv::default());
        c.chunk(b"ab");
        c.chunk(b"c");
        d.chunk(b"a");
        d.chunk(b"bc");
        assert_ne!(c.hex(), d.hex());
    }

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }

    #[test]
    fn durations_are_readable() {
        assert_eq!(fmt_dur(Duration::from_millis(4200)), "4.2s");
        assert_eq!(fmt_dur(Duration::from_secs(65)), "1m05s");
    }
}
