// SPDX-License-Identifier: MIT

//! Unchecked ioctl calls, for tests that must send what the safe wrappers
//! would not: wrong sizes in the request number, bad pointers, other
//! drivers' requests.
//!
//! For the driver's own structures with arbitrary field values (nonzero
//! reserved fields, unknown flags, misaligned addresses) no unsafe code is
//! needed: fill the structure and pass it to [`crate::Device::ioctl`].

use std::io;
use std::os::fd::RawFd;

/// Issues `ioctl(fd, request, arg)` once and returns its result, or the
/// errno as an [`io::Error`]. It does not retry on `EINTR`.
///
/// # Safety
///
/// `arg` must be valid for what the kernel does with `request` on `fd`:
/// for a DRM ioctl that is reading and writing `_IOC_SIZE(request)` bytes
/// at `arg`, and whatever the argument's own pointers lead the kernel to
/// access. A wrong request or pointer can make the kernel write anywhere in
/// this process's memory.
pub unsafe fn ioctl(fd: RawFd, request: u32, arg: *mut libc::c_void) -> io::Result<libc::c_int> {
    // CAST: `libc::Ioctl` is `c_ulong` on glibc and `c_int` on musl; the
    // kernel takes the request as an unsigned int, so the 32 bits are
    // passed through unchanged either way.
    let request = request as libc::Ioctl;
    // SAFETY: The caller guarantees that `arg` is valid for `request` on
    // `fd`; an invalid `fd` only makes the call fail with EBADF.
    let ret = unsafe { libc::ioctl(fd, request, arg) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}
