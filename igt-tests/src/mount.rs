// SPDX-License-Identifier: MIT

//! Unmounting a file system and mounting it again, to prove that what a
//! test wrote reached the disk: a fresh mount has an empty page cache, so
//! every read after it comes from the disk.
//!
//! [`MountEntry::of`] finds the mount that holds a path in
//! `/proc/self/mountinfo` (source, file system type, flags and options);
//! [`MountEntry::remount`] unmounts it and mounts the same source at the
//! same place with the same type, flags and options. Between the two an
//! [`Unmounted`] guard mounts it back if anything fails, so that the tests
//! after a failed one find the file system where it was.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::check::{describe, fail, skip};
use crate::igt::TestResult;

/// One line of `/proc/self/mountinfo`, the parts needed to mount it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// Where it is mounted.
    pub target: PathBuf,
    /// The directory of the file system that is the mount's root (`/` for
    /// a whole file system, something else for a bind mount).
    pub root: String,
    /// The file system type (`ext4`).
    pub fstype: String,
    /// The source (`/dev/vda`).
    pub source: String,
    /// The per-mount options (`rw,relatime`).
    pub mount_options: String,
    /// The superblock options (`rw,errors=remount-ro`).
    pub super_options: String,
}

/// Undoes mountinfo's octal escapes (`\040` for a space, `\011`, `\012`,
/// `\134`).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b.get(i + 1..i + 4).filter(|d| {
            b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)) && d[0] <= b'3'
        });
        if let Some(d) = octal {
            out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses one line of `/proc/self/mountinfo`:
/// `id parent maj:min root target options [optional...] - fstype source super_options`.
pub fn parse_mountinfo_line(line: &str) -> Option<MountEntry> {
    let mut f = line.split(' ');
    let _id = f.next()?;
    let _parent = f.next()?;
    let _dev = f.next()?;
    let root = unescape(f.next()?);
    let target = PathBuf::from(unescape(f.next()?));
    let mount_options = f.next()?.to_string();
    // Optional fields up to the separator.
    f.by_ref().find(|x| *x == "-")?;
    let fstype = unescape(f.next()?);
    let source = unescape(f.next()?);
    let super_options = f.next().unwrap_or("").to_string();
    Some(MountEntry {
        target,
        root,
        fstype,
        source,
        mount_options,
        super_options,
    })
}

/// The mount of `mountinfo` that holds the absolute, canonical `path`: the
/// one with the longest target that is `path` or a directory above it,
/// and the last of those (the top of a stack of mounts on one place).
pub fn mount_of(mountinfo: &str, path: &Path) -> Option<MountEntry> {
    let mut best: Option<MountEntry> = None;
    for e in mountinfo.lines().filter_map(parse_mountinfo_line) {
        if !path.starts_with(&e.target) {
            continue;
        }
        let longer = best
            .as_ref()
            .is_none_or(|b| e.target.as_os_str().len() >= b.target.as_os_str().len());
        if longer {
            best = Some(e);
        }
    }
    best
}

/// `mount(2)`'s flags and data string for an entry's options.
pub fn mount_args(e: &MountEntry) -> (libc::c_ulong, String) {
    let mut flags: libc::c_ulong = 0;
    let mut data = Vec::new();
    for o in e.mount_options.split(',') {
        flags |= match o {
            "ro" => libc::MS_RDONLY,
            "nosuid" => libc::MS_NOSUID,
            "nodev" => libc::MS_NODEV,
            "noexec" => libc::MS_NOEXEC,
            "noatime" => libc::MS_NOATIME,
            "nodiratime" => libc::MS_NODIRATIME,
            "relatime" => libc::MS_RELATIME,
            "strictatime" => libc::MS_STRICTATIME,
            _ => 0,
        };
    }
    for o in e.super_options.split(',').filter(|o| !o.is_empty()) {
        match o {
            "rw" => {}
            "ro" => flags |= libc::MS_RDONLY,
            "sync" => flags |= libc::MS_SYNCHRONOUS,
            "dirsync" => flags |= libc::MS_DIRSYNC,
            "lazytime" => flags |= libc::MS_LAZYTIME,
            "mand" => flags |= libc::MS_MANDLOCK,
            // A security module's label, not a file system option.
            "seclabel" => {}
            o => data.push(o),
        }
    }
    (flags, data.join(","))
}

fn c_string(s: impl AsRef<[u8]>) -> io::Result<CString> {
    CString::new(s.as_ref()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

impl MountEntry {
    /// The mount that holds `path`; skips when there is none that this
    /// process could mount again (a bind mount, a source that is no
    /// block device path).
    pub fn of(path: &Path) -> TestResult<Self> {
        let canon = path.canonicalize().map_err(|e| {
            skip(format!(
                "{}: cannot resolve the path: {}",
                path.display(),
                describe(&e)
            ))
        })?;
        let info = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| {
            skip(format!(
                "cannot read /proc/self/mountinfo: {}",
                describe(&e)
            ))
        })?;
        let e = mount_of(&info, &canon).ok_or_else(|| {
            skip(format!(
                "{}: no mount holds it in /proc/self/mountinfo",
                canon.display()
            ))
        })?;
        if e.root != "/" {
            return Err(skip(format!(
                "{} is a bind mount of {} on {}: not remounted",
                e.target.display(),
                e.root,
                e.source
            )));
        }
        if !e.source.starts_with('/') {
            return Err(skip(format!(
                "{} is mounted from {}, not from a device: not remounted",
                e.target.display(),
                e.source
            )));
        }
        Ok(e)
    }

    /// `source on target type fstype (options)`.
    pub fn describe(&self) -> String {
        let (flags, data) = mount_args(self);
        format!(
            "{} on {} type {} (flags {flags:#x}, data \"{data}\")",
            self.source,
            self.target.display(),
            self.fstype
        )
    }

    /// Unmounts it (not lazily: the file system must not be busy).
    pub fn unmount(&self) -> TestResult<Unmounted<'_>> {
        crate::check::require_root("umount")?;
        let t = c_string(self.target.as_os_str().as_bytes())
            .map_err(|e| fail(format!("umount path: {}", describe(&e))))?;
        // SAFETY: `t` is a NUL-terminated path.
        if unsafe { libc::umount2(t.as_ptr(), 0) } != 0 {
            let e = io::Error::last_os_error();
            return Err(fail(format!(
                "umount {}: {}",
                self.target.display(),
                describe(&e)
            )));
        }
        Ok(Unmounted {
            entry: self,
            mounted: false,
        })
    }

    fn mount(&self) -> io::Result<()> {
        let (flags, data) = mount_args(self);
        let src = c_string(&self.source)?;
        let target = c_string(self.target.as_os_str().as_bytes())?;
        let fstype = c_string(&self.fstype)?;
        let data = c_string(data)?;
        // SAFETY: All strings are NUL-terminated; the data argument is a
        // string of options, which is what ext4 and other block file
        // systems read there.
        let r = unsafe {
            libc::mount(
                src.as_ptr(),
                target.as_ptr(),
                fstype.as_ptr(),
                flags,
                data.as_ptr().cast(),
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Unmounts it and mounts it again; see [`MountEntry::unmount`] and
    /// [`Unmounted::mount`].
    pub fn remount(&self) -> TestResult {
        self.unmount()?.mount()
    }
}

/// A file system that [`MountEntry::unmount`] unmounted; mounted again by
/// [`Unmounted::mount`], or on drop if that did not happen.
#[derive(Debug)]
pub struct Unmounted<'a> {
    entry: &'a MountEntry,
    mounted: bool,
}

impl Unmounted<'_> {
    /// Mounts the file system again.
    pub fn mount(mut self) -> TestResult {
        self.entry.mount().map_err(|e| {
            fail(format!(
                "mount {} again: {}",
                self.entry.describe(),
                describe(&e)
            ))
        })?;
        self.mounted = true;
        Ok(())
    }
}

impl Drop for Unmounted<'_> {
    fn drop(&mut self) {
        if !self.mounted {
            if let Err(e) = self.entry.mount() {
                eprintln!(
                    "cannot mount {} again after a failure: {}",
                    self.entry.describe(),
                    describe(&e)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "\
22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw
1 0 0:2 / / rw - rootfs rootfs rw
25 1 0:23 / /tmp rw,relatime - tmpfs tmpfs rw
30 1 254:0 / /mnt/ext4 rw,relatime shared:9 master:3 - ext4 /dev/vda rw,errors=remount-ro,seclabel
31 1 254:16 /sub /mnt/bind\\040dir rw,noatime - ext4 /dev/vdb ro,data=ordered
";

    #[test]
    fn lines_parse() {
        let e = parse_mountinfo_line(INFO.lines().nth(3).unwrap()).unwrap();
        assert_eq!(e.target, PathBuf::from("/mnt/ext4"));
        assert_eq!(e.root, "/");
        assert_eq!(e.fstype, "ext4");
        assert_eq!(e.source, "/dev/vda");
        assert_eq!(e.mount_options, "rw,relatime");
        assert_eq!(e.super_options, "rw,errors=remount-ro,seclabel");
        let e = parse_mountinfo_line(INFO.lines().nth(4).unwrap()).unwrap();
        assert_eq!(e.target, PathBuf::from("/mnt/bind dir"));
        assert_eq!(e.root, "/sub");
        assert!(parse_mountinfo_line("1 2 3").is_none());
    }

    #[test]
    fn the_mount_of_a_path() {
        let m = |p: &str| mount_of(INFO, Path::new(p)).map(|e| e.target);
        assert_eq!(m("/mnt/ext4"), Some(PathBuf::from("/mnt/ext4")));
        assert_eq!(m("/mnt/ext4/a/b"), Some(PathBuf::from("/mnt/ext4")));
        // A prefix of a name is not a directory above it.
        assert_eq!(m("/mnt/ext4x"), Some(PathBuf::from("/")));
        assert_eq!(m("/tmp/f"), Some(PathBuf::from("/tmp")));
        // The later of two mounts on one place is the visible one.
        let stacked = format!("{INFO}40 30 0:40 / /mnt/ext4 rw - tmpfs tmpfs rw\n");
        let e = mount_of(&stacked, Path::new("/mnt/ext4/f")).unwrap();
        assert_eq!(e.fstype, "tmpfs");
    }

    #[test]
    fn options_become_flags_and_data() {
        let e = parse_mountinfo_line(INFO.lines().nth(3).unwrap()).unwrap();
        assert_eq!(
            mount_args(&e),
            (libc::MS_RELATIME, "errors=remount-ro".to_string())
        );
        let e = parse_mountinfo_line(INFO.lines().nth(4).unwrap()).unwrap();
        assert_eq!(
            mount_args(&e),
            (
                libc::MS_NOATIME | libc::MS_RDONLY,
                "data=ordered".to_string()
            )
        );
        let e = parse_mountinfo_line(INFO.lines().next().unwrap()).unwrap();
        assert_eq!(
            mount_args(&e).0,
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC | libc::MS_RELATIME
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape("a\\040b\\134c\\011"), "a b\\c\t");
        assert_eq!(unescape("\\9\\04"), "\\9\\04");
    }
}
