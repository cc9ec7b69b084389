// SPDX-License-Identifier: MIT

//! The migration ioctls of the kernel's `test_hmm` module
//! (`/dev/hmm_dmirror0`, `modprobe test_hmm`), the reference the benchmark
//! compares nova-svm with.
//!
//! The structure and the request numbers follow `lib/test_hmm_uapi.h` of
//! the 7.3 kernel: `struct hmm_dmirror_cmd` is five `__u64` fields, and the
//! requests are `_IOWR('H', nr, struct hmm_dmirror_cmd)` with
//! `MIGRATE_TO_DEV` = 0x02, `MIGRATE_TO_SYS` = 0x03 and, from the page
//! cache series (mm-patches 0013), `MIGRATE_TO_DEV_PAGECACHE` = 0x0a.

use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use crate::mem::{page_size, Region};

/// The first dmirror device node (private device memory).
pub const DEFAULT_NODE: &str = "/dev/hmm_dmirror0";

/// `struct hmm_dmirror_cmd`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DmirrorCmd {
    /// In: first user address of the range (page aligned).
    pub addr: u64,
    /// In: a user buffer that data is copied to or from.
    pub ptr: u64,
    /// In: pages in the range.
    pub npages: u64,
    /// Out: pages copied or migrated.
    pub cpages: u64,
    /// Out: device faults seen.
    pub faults: u64,
}

/// `_IOWR(ty, nr, size)` of `<asm-generic/ioctl.h>` (x86: 2 bits of
/// direction at 30, 14 bits of size at 16, type at 8, number at 0).
const fn iowr(ty: u8, nr: u8, size: usize) -> u32 {
    const READ_WRITE: u32 = 3;
    // CAST: the size of a small structure fits the 14-bit size field.
    (READ_WRITE << 30) | ((size as u32) << 16) | ((ty as u32) << 8) | nr as u32
}

/// `HMM_DMIRROR_MIGRATE_TO_DEV`: migrate `[addr, addr + npages pages)` to
/// the dmirror device's private memory, then copy the device's view of it
/// to `ptr` (`npages` pages) as a read of the mirror.
pub const HMM_DMIRROR_MIGRATE_TO_DEV: u32 = iowr(b'H', 0x02, std::mem::size_of::<DmirrorCmd>());

/// `HMM_DMIRROR_MIGRATE_TO_DEV_PAGECACHE`: as
/// [`HMM_DMIRROR_MIGRATE_TO_DEV`], with page cache folios (shmem, tmpfs,
/// ext4 files) selected too (`MIGRATE_VMA_SELECT_PAGECACHE`); private
/// device memory only (`hmm_dmirror0` and `1`).
pub const HMM_DMIRROR_MIGRATE_TO_DEV_PAGECACHE: u32 =
    iowr(b'H', 0x0a, std::mem::size_of::<DmirrorCmd>());

/// `HMM_DMIRROR_MIGRATE_TO_SYS`: migrate the range's device pages back to
/// system memory; `ptr` is unused.
pub const HMM_DMIRROR_MIGRATE_TO_SYS: u32 = iowr(b'H', 0x03, std::mem::size_of::<DmirrorCmd>());

/// An open dmirror device node. Its mirror is the address space of the
/// process that opened it.
#[derive(Debug)]
pub struct Dmirror {
    fd: OwnedFd,
}

impl Dmirror {
    /// Opens `path` (normally [`DEFAULT_NODE`]) for reading and writing.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let f = OpenOptions::new().read(true).write(true).open(path)?;
        Ok(Self {
            fd: OwnedFd::from(f),
        })
    }

    /// Issues `request` with `cmd`.
    ///
    /// # Safety
    ///
    /// Whatever the request writes besides `*cmd` (for MIGRATE_TO_DEV,
    /// `npages` pages at `ptr`) must be valid for writes, with no Rust
    /// reference to it live.
    unsafe fn ioctl(&self, request: u32, cmd: &mut DmirrorCmd) -> io::Result<()> {
        loop {
            // SAFETY:
            // - `request` encodes the size of `DmirrorCmd`, which the kernel
            //   reads and writes within `*cmd`.
            // - The caller guarantees that the other memory the request
            //   writes may be written.
            let r = unsafe {
                nova_svm_uapi::raw::ioctl(
                    self.fd.as_raw_fd(),
                    request,
                    (cmd as *mut DmirrorCmd).cast(),
                )
            };
            match r {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other.map(|_| ()),
            }
        }
    }

    /// Migrates the pages of `buf` to the device and copies the device's
    /// view of them into `bounce` (as the ioctl always does). Returns
    /// `cpages`: pages the device read back, normally all of them.
    ///
    /// `buf` must be page aligned and `bounce` at least as long.
    pub fn migrate_to_dev(&self, buf: &Region, bounce: &Region) -> io::Result<u64> {
        self.to_dev(HMM_DMIRROR_MIGRATE_TO_DEV, buf, bounce)
    }

    /// [`Dmirror::migrate_to_dev`] that migrates page cache folios too
    /// (`MIGRATE_TO_DEV_PAGECACHE`), for `MAP_SHARED` file mappings.
    pub fn migrate_to_dev_pagecache(&self, buf: &Region, bounce: &Region) -> io::Result<u64> {
        self.to_dev(HMM_DMIRROR_MIGRATE_TO_DEV_PAGECACHE, buf, bounce)
    }

    fn to_dev(&self, request: u32, buf: &Region, bounce: &Region) -> io::Result<u64> {
        let page = page_size();
        if !buf.addr().is_multiple_of(page) || bounce.len() < buf.page_count() * page {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let mut cmd = DmirrorCmd {
            addr: buf.addr(),
            ptr: bounce.addr(),
            npages: buf.page_count(),
            ..DmirrorCmd::default()
        };
        // SAFETY: The ioctl writes `npages` pages at `ptr`, which lie in
        // `bounce`: memory of this process that is reached only through
        // `Region`'s raw accesses, never through references.
        unsafe { self.ioctl(request, &mut cmd) }?;
        Ok(cmd.cpages)
    }

    /// Migrates the device pages of `buf` back to system memory. Returns
    /// `cpages`: the migrated entries the kernel counted.
    pub fn migrate_to_sys(&self, buf: &Region) -> io::Result<u64> {
        if !buf.addr().is_multiple_of(page_size()) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let mut cmd = DmirrorCmd {
            addr: buf.addr(),
            npages: buf.page_count(),
            ..DmirrorCmd::default()
        };
        // SAFETY: MIGRATE_TO_SYS writes no memory besides `cmd`; the
        // migrated pages keep their contents.
        unsafe { self.ioctl(HMM_DMIRROR_MIGRATE_TO_SYS, &mut cmd) }?;
        Ok(cmd.cpages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::Mapping;

    #[test]
    fn layout_and_request_numbers() {
        assert_eq!(std::mem::size_of::<DmirrorCmd>(), 40);
        // _IOWR('H', 0x02, 40) and _IOWR('H', 0x03, 40), as the C header
        // gives them.
        assert_eq!(HMM_DMIRROR_MIGRATE_TO_DEV, 0xc028_4802);
        assert_eq!(HMM_DMIRROR_MIGRATE_TO_SYS, 0xc028_4803);
        assert_eq!(HMM_DMIRROR_MIGRATE_TO_DEV_PAGECACHE, 0xc028_480a);
    }

    #[test]
    fn bad_buffers_are_rejected_before_the_kernel() {
        // /dev/null answers every ioctl with ENOTTY.
        let d = Dmirror::open("/dev/null").unwrap();
        let page = page_size();
        let buf = Mapping::anon(2 * page).unwrap();
        let small = Mapping::anon(page).unwrap();
        let errno = |r: io::Result<u64>| r.unwrap_err().raw_os_error();
        assert_eq!(errno(d.migrate_to_dev(&buf, &small)), Some(libc::EINVAL));
        assert_eq!(errno(d.migrate_to_dev(&buf, &buf)), Some(libc::ENOTTY));
        assert_eq!(errno(d.migrate_to_sys(&buf)), Some(libc::ENOTTY));
    }
}
