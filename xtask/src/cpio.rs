//! A writer for the `newc` cpio format that the kernel unpacks as its
//! initramfs (Documentation/driver-api/early-userspace/buffer-format.rst).

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::util::{Context, Result};

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;

/// An archive being built in memory. Parent directories are created
/// implicitly, once each.
#[derive(Default)]
pub struct Archive {
    buf: Vec<u8>,
    ino: u32,
    dirs: BTreeSet<String>,
}

fn pad4(buf: &mut Vec<u8>) {
    while !buf.len().is_multiple_of(4) {
        buf.push(0);
    }
}

impl Archive {
    fn entry(&mut self, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
        self.ino += 1;
        let nlink = if mode & S_IFDIR != 0 { 2 } else { 1 };
        let fields = [
            self.ino,
            mode,
            0,
            0,
            nlink,
            0,
            data.len() as u32,
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() as u32 + 1,
            0,
        ];
        self.buf.extend_from_slice(b"070701");
        for f in fields {
            self.buf.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(0);
        pad4(&mut self.buf);
        self.buf.extend_from_slice(data);
        pad4(&mut self.buf);
    }

    fn parents(&mut self, path: &str) {
        let mut acc = String::new();
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        for p in &parts[..parts.len().saturating_sub(1)] {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(p);
            if self.dirs.insert(acc.clone()) {
                let name = acc.clone();
                self.entry(&name, S_IFDIR | 0o755, (0, 0), &[]);
            }
        }
    }

    fn clean(path: &str) -> String {
        path.trim_start_matches('/').to_string()
    }

    /// Adds a directory.
    pub fn dir(&mut self, path: &str) {
        let p = Self::clean(path);
        self.parents(&p);
        if self.dirs.insert(p.clone()) {
            self.entry(&p, S_IFDIR | 0o755, (0, 0), &[]);
        }
    }

    /// Adds a regular file with permission bits `perm`.
    pub fn file(&mut self, path: &str, perm: u32, data: &[u8]) {
        let p = Self::clean(path);
        self.parents(&p);
        self.entry(&p, S_IFREG | (perm & 0o7777), (0, 0), data);
    }

    /// Adds a symbolic link.
    pub fn symlink(&mut self, path: &str, target: &str) {
        let p = Self::clean(path);
        self.parents(&p);
        self.entry(&p, S_IFLNK | 0o777, (0, 0), target.as_bytes());
    }

    /// Adds a character device node.
    pub fn chardev(&mut self, path: &str, major: u32, minor: u32) {
        let p = Self::clean(path);
        self.parents(&p);
        self.entry(&p, S_IFCHR | 0o600, (major, minor), &[]);
    }

    /// Copies a host file, keeping its permission bits.
    pub fn host_file(&mut self, path: &str, host: &Path) -> Result<()> {
        let data = fs::read(host).context(|| format!("cannot read {}", host.display()))?;
        let perm = fs::metadata(host)?.permissions().mode();
        self.file(path, perm, &data);
        Ok(())
    }

    /// Copies a host directory tree (regular files and directories; links
    /// are skipped) under `path`.
    pub fn host_tree(&mut self, path: &str, host: &Path) -> Result<()> {
        self.dir(path);
        let mut entries: Vec<_> = fs::read_dir(host)
            .context(|| format!("cannot read {}", host.display()))?
            .collect::<std::result::Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = format!(
                "{}/{}",
                path.trim_end_matches('/'),
                e.file_name().to_string_lossy()
            );
            let ty = e.file_type()?;
            if ty.is_dir() {
                self.host_tree(&name, &e.path())?;
            } else if ty.is_file() {
                self.host_file(&name, &e.path())?;
            }
        }
        Ok(())
    }

    /// Closes the archive and returns its bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, (0, 0), &[]);
        self.buf
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn field(hdr: &[u8], i: usize) -> u32 {
        let s = std::str::from_utf8(&hdr[6 + i * 8..6 + (i + 1) * 8]).unwrap();
        u32::from_str_radix(s, 16).unwrap()
    }

    /// Walks the archive and returns (name, mode, data) for each entry.
    pub(crate) fn entries(buf: &[u8]) -> Vec<(String, u32, Vec<u8>)> {
        let mut out = Vec::new();
        let mut off = 0;
        loop {
            let hdr = &buf[off..off + 110];
            assert_eq!(&hdr[..6], b"070701");
            let namesize = field(hdr, 11) as usize;
            let size = field(hdr, 6) as usize;
            let name = std::str::from_utf8(&buf[off + 110..off + 110 + namesize - 1])
                .unwrap()
                .to_string();
            assert_eq!(buf[off + 110 + namesize - 1], 0);
            let mut data_off = off + 110 + namesize;
            data_off = data_off.div_ceil(4) * 4;
            let data = buf[data_off..data_off + size].to_vec();
            off = (data_off + size).div_ceil(4) * 4;
            if name == "TRAILER!!!" {
                assert_eq!(off, buf.len());
                return out;
            }
            out.push((name, field(hdr, 1), data));
        }
    }

    #[test]
    fn layout_and_implicit_parents() {
        let mut a = Archive::default();
        a.file("/bin/init", 0o755, b"#!/bin/sh\n");
        a.symlink("bin/sh", "busybox");
        a.dir("bin");
        a.chardev("dev/console", 5, 1);
        let e = entries(&a.finish());
        let names: Vec<&str> = e.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(names, ["bin", "bin/init", "bin/sh", "dev", "dev/console"]);
        assert_eq!(e[0].1, S_IFDIR | 0o755);
        assert_eq!(e[1].1, S_IFREG | 0o755);
        assert_eq!(e[1].2, b"#!/bin/sh\n");
        assert_eq!(e[2].1, S_IFLNK | 0o777);
        assert_eq!(e[2].2, b"busybox");
        assert_eq!(e[4].1, S_IFCHR | 0o600);
    }

    #[test]
    fn every_entry_is_aligned() {
        let mut a = Archive::default();
        for (i, len) in [0usize, 1, 2, 3, 4, 5, 4097].iter().enumerate() {
            a.file(&format!("f{i}"), 0o644, &vec![7u8; *len]);
        }
        let buf = a.finish();
        assert_eq!(buf.len() % 4, 0);
        assert_eq!(entries(&buf).len(), 7);
    }
}
