// SPDX-License-Identifier: MIT

//! Userspace interface of nova-svm, the shared virtual memory (SVM) DRM
//! driver for NVIDIA GPUs.
//!
//! The C header `include/uapi/drm/nova_svm_drm.h` beside this crate is the
//! contract; it documents the semantics and every errno. This crate holds:
//!
//! - [`abi`]: `#[repr(C)]` mirrors of the header's structures, its
//!   constants and the ioctl request numbers, checked against the header by
//!   the layout test.
//! - [`Device`]: an open render node with safe wrappers for each ioctl,
//!   returning the kernel's errno as an [`io::Error`].
//! - [`Device::ioctl`] and [`Device::ioctl_unchecked`]: any of the
//!   driver's structures with any field values, for negative tests, and
//!   [`raw::ioctl`] for what is not one of them.
//!
//! DEVICE_COPY makes the device write to an address taken from its
//! argument, like a raw pointer write, so the wrappers that take addresses
//! ([`Device::device_copy`], [`Device::device_fill`]) are `unsafe`; the
//! ones that take Rust buffers ([`Device::device_copy_slice`],
//! [`Device::device_fill_slice`]) are safe.
//!
//! ```no_run
//! use nova_svm_uapi::{BindTarget, Device, Param};
//!
//! # fn main() -> std::io::Result<()> {
//! let dev = Device::open_render_node()?;
//! println!("VRAM: {} bytes", dev.getparam(Param::VramSize)?);
//! dev.svm_init(0, 0)?;
//!
//! let page = nova_svm_uapi::page_size();
//! let mut buf = vec![0u8; 4 * page as usize];
//! let start = buf.as_mut_ptr() as u64;
//! let bind = dev.svm_bind_migrate(start..start + buf.len() as u64, BindTarget::GpuVram, 0)?;
//! println!("{} pages moved to VRAM", bind.pages_moved);
//! # Ok(())
//! # }
//! ```

#![warn(
    missing_docs,
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks
)]

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::io;
use std::ops::Range;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

pub mod abi;
pub mod raw;

pub use abi::{DeviceCopy, GetParam, IoctlArg, SafeIoctlArg, SvmBind, SvmInit};

/// The DRM driver name of nova-svm, as `DRM_IOCTL_VERSION` reports it.
pub const DRIVER_NAME: &str = "nova-svm";

/// The directory that holds DRM device nodes.
pub const DRM_DIR: &str = "/dev/dri";

/// The kernel's base page size in bytes, the granule of SVM addresses.
pub fn page_size() -> u64 {
    // SAFETY: `sysconf` has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    // CAST: the page size is positive; 4096 is the fallback should sysconf
    // ever fail (it cannot for _SC_PAGESIZE on Linux).
    if size > 0 {
        size as u64
    } else {
        4096
    }
}

/// A device parameter for [`Device::getparam`].
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Param {
    /// Bytes of device memory that SVM pages can occupy.
    VramSize = abi::DRM_NOVA_SVM_PARAM_VRAM_SIZE,
    /// Bytes of VRAM the driver reserves at a time for device pages.
    ChunkSize = abi::DRM_NOVA_SVM_PARAM_CHUNK_SIZE,
    /// Class number of the copy engine the driver uses.
    CeClass = abi::DRM_NOVA_SVM_PARAM_CE_CLASS,
    /// 1 on the simulated GPU, 0 on real hardware.
    IsSimulated = abi::DRM_NOVA_SVM_PARAM_IS_SIMULATED,
}

impl Param {
    /// Every parameter.
    pub const ALL: [Param; 4] = [
        Param::VramSize,
        Param::ChunkSize,
        Param::CeClass,
        Param::IsSimulated,
    ];

    /// The `DRM_NOVA_SVM_PARAM_*` value.
    pub const fn raw(self) -> u32 {
        // CAST: a `#[repr(u32)]` enum's discriminant.
        self as u32
    }
}

/// Target memory of an SVM_BIND migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BindTarget {
    /// System memory: pages in this device's VRAM move back.
    System,
    /// This device's VRAM.
    GpuVram,
}

impl BindTarget {
    /// The `NOVA_SVM_BIND_TARGET__*` value.
    pub const fn raw(self) -> u64 {
        match self {
            BindTarget::System => abi::NOVA_SVM_BIND_TARGET_SYSTEM,
            BindTarget::GpuVram => abi::NOVA_SVM_BIND_TARGET_GPU_VRAM,
        }
    }
}

/// What [`Device::svm_bind_migrate`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindResult {
    /// Pages this call moved to the target (pages already there do not
    /// count).
    pub pages_moved: u64,
    /// The range after the kernel rounded it out to page boundaries.
    pub range: Range<u64>,
}

/// A DRM driver's name and version, from `DRM_IOCTL_VERSION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverVersion {
    /// Major version.
    pub major: i32,
    /// Minor version.
    pub minor: i32,
    /// Patch level.
    pub patchlevel: i32,
    /// Driver name, "nova-svm" for this driver.
    pub name: String,
    /// Driver date string.
    pub date: String,
    /// Driver description.
    pub desc: String,
}

impl SvmBind {
    /// An SVM_BIND migrate command for `range` with the fields the way
    /// Mesa fills them: `npages` is the length in pages rounded up
    /// (informational only), everything else that is not an input is zero.
    ///
    /// Nothing is checked: the kernel rounds the range and rejects what is
    /// invalid, so even an inverted range is passed through.
    pub fn migrate(range: Range<u64>, target: BindTarget, priority: u8) -> Self {
        let page = page_size();
        Self {
            header: abi::svm_bind_header(
                abi::NOVA_SVM_BIND_COMMAND_MIGRATE,
                u64::from(priority),
                target.raw(),
            ),
            va_start: range.start,
            va_end: range.end,
            npages: range.end.saturating_sub(range.start).div_ceil(page),
            ..Self::default()
        }
    }
}

impl DeviceCopy {
    /// A copy of `size` bytes from `src` to `dst`. Nothing is checked.
    pub fn copy(dst: u64, src: u64, size: u64) -> Self {
        Self {
            dst,
            src,
            size,
            ..Self::default()
        }
    }

    /// A fill of `size` bytes at `dst` with `pattern`. Nothing is checked.
    pub fn fill(dst: u64, size: u64, pattern: u32) -> Self {
        Self {
            dst,
            size,
            flags: abi::NOVA_SVM_DEVICE_COPY_FILL,
            pattern,
            ..Self::default()
        }
    }
}

/// The error a wrapper returns for an argument it rejects itself: EINVAL,
/// exactly as the kernel would report it.
fn einval() -> io::Error {
    io::Error::from_raw_os_error(libc::EINVAL)
}

/// Checks that a buffer can be a DEVICE_COPY range: nonempty, page aligned
/// and a whole number of pages long.
fn check_page_buffer(addr: u64, len: u64) -> io::Result<()> {
    let page = page_size();
    if len == 0 || !addr.is_multiple_of(page) || !len.is_multiple_of(page) {
        return Err(einval());
    }
    Ok(())
}

/// Runs `f` until it fails with something other than `EINTR`, as libdrm's
/// `drmIoctl` does. The SVM ioctls are safe to repeat: a repeated migration
/// or copy gives the same result.
fn retry_eintr<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// An open nova-svm (or any DRM) device node.
///
/// Each open file has its own SVM context once [`Device::svm_init`] has
/// created it; the context belongs to the address space of the process
/// that created it.
#[derive(Debug)]
pub struct Device {
    fd: OwnedFd,
}

impl Device {
    /// Opens the DRM device node at `path` for reading and writing (with
    /// `O_CLOEXEC`). It does not check that the node belongs to nova-svm;
    /// see [`Device::version`].
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        Ok(Self {
            fd: OwnedFd::from(file),
        })
    }

    /// Opens the first render node in [`DRM_DIR`] whose driver is
    /// nova-svm. Fails with [`io::ErrorKind::NotFound`] when there is none.
    pub fn open_render_node() -> io::Result<Self> {
        Self::open_render_node_in(DRM_DIR)
    }

    /// Opens the first render node (`renderD<N>`, lowest `N` first) in `dir`
    /// whose driver is nova-svm. Nodes that cannot be opened or queried
    /// are skipped. Fails with [`io::ErrorKind::NotFound`] when none
    /// matches.
    pub fn open_render_node_in(dir: impl AsRef<Path>) -> io::Result<Self> {
        let dir = dir.as_ref();
        let mut nodes: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir(dir)?
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let minor = render_node_minor(&entry.file_name())?;
                Some((minor, entry.path()))
            })
            .collect();
        nodes.sort();
        for (_, path) in nodes {
            let Ok(dev) = Self::open(&path) else {
                continue;
            };
            if matches!(dev.version(), Ok(v) if v.name == DRIVER_NAME) {
                return Ok(dev);
            }
        }
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no {DRIVER_NAME} render node in {}", dir.display()),
        ))
    }

    /// Wraps an already open DRM file descriptor.
    pub fn from_fd(fd: OwnedFd) -> Self {
        Self { fd }
    }

    /// Gives up the wrapper and returns the file descriptor.
    pub fn into_fd(self) -> OwnedFd {
        self.fd
    }

    /// Issues the driver ioctl that takes `arg`, once, with whatever field
    /// values `arg` holds, and leaves what the kernel wrote back in `arg`
    /// (also on error, as DRM copies the structure back either way). It
    /// does not retry on `EINTR`.
    ///
    /// This is the way to send invalid arguments: nonzero reserved fields,
    /// unknown flags, misaligned or overflowing ranges. For DEVICE_COPY,
    /// which writes memory, see [`Device::ioctl_unchecked`].
    pub fn ioctl<T: SafeIoctlArg>(&self, arg: &mut T) -> io::Result<()> {
        // SAFETY: `T: SafeIoctlArg` guarantees that the ioctl writes no
        // memory of this process other than `*arg`, whatever its values.
        unsafe { self.ioctl_unchecked(arg) }
    }

    /// [`Device::ioctl`] for any of the driver's structures, including
    /// [`DeviceCopy`]. Use [`DeviceCopy::copy`] or [`DeviceCopy::fill`]
    /// and this to see how far a failed copy got (`result`).
    ///
    /// # Safety
    ///
    /// Whatever memory the ioctl writes besides `*arg` (for DEVICE_COPY,
    /// `[dst, dst + size)` when the kernel accepts the arguments) must be
    /// valid for writes, and no Rust reference to it may be live: the call
    /// is a raw pointer write.
    pub unsafe fn ioctl_unchecked<T: IoctlArg>(&self, arg: &mut T) -> io::Result<()> {
        // SAFETY:
        // - `T: IoctlArg` guarantees that `T::REQUEST` encodes
        //   `size_of::<T>()` bytes, so the kernel reads and writes within
        //   `*arg`, which is valid for writes for the whole call.
        // - Every bit pattern is a valid `T`, so what the kernel writes is
        //   a valid value.
        // - The caller guarantees that any other memory the ioctl writes may
        //   be written.
        unsafe { raw::ioctl(self.as_raw_fd(), T::REQUEST, (arg as *mut T).cast()) }.map(|_| ())
    }

    /// The driver's name and version (`DRM_IOCTL_VERSION`).
    pub fn version(&self) -> io::Result<DriverVersion> {
        // First ask for the lengths, then fetch the strings.
        let mut v = abi::DrmVersion::default();
        // SAFETY: `v` is a valid `drm_version` whose buffers are null with
        // zero lengths, so the kernel only writes the fields of `v`.
        unsafe {
            raw::ioctl(
                self.as_raw_fd(),
                abi::DRM_IOCTL_VERSION,
                (&mut v as *mut abi::DrmVersion).cast(),
            )
        }?;
        let mut name = vec![0u8; v.name_len];
        let mut date = vec![0u8; v.date_len];
        let mut desc = vec![0u8; v.desc_len];
        v.name = name.as_mut_ptr().cast();
        v.date = date.as_mut_ptr().cast();
        v.desc = desc.as_mut_ptr().cast();
        // SAFETY: `v` is a valid `drm_version`; each buffer pointer is
        // valid for writes of its length (`*_len` equals the `Vec`'s
        // length) and lives until after the call. The kernel writes at most
        // `*_len` bytes into each.
        unsafe {
            raw::ioctl(
                self.as_raw_fd(),
                abi::DRM_IOCTL_VERSION,
                (&mut v as *mut abi::DrmVersion).cast(),
            )
        }?;
        // The strings may have grown between the calls; the kernel copied
        // no more than the buffers hold.
        name.truncate(v.name_len);
        date.truncate(v.date_len);
        desc.truncate(v.desc_len);
        Ok(DriverVersion {
            major: v.version_major,
            minor: v.version_minor,
            patchlevel: v.version_patchlevel,
            name: String::from_utf8_lossy(&name).into_owned(),
            date: String::from_utf8_lossy(&date).into_owned(),
            desc: String::from_utf8_lossy(&desc).into_owned(),
        })
    }

    /// Reads a device parameter (`DRM_IOCTL_NOVA_SVM_GETPARAM`).
    pub fn getparam(&self, param: Param) -> io::Result<u64> {
        let mut arg = GetParam {
            param: param.raw(),
            ..GetParam::default()
        };
        retry_eintr(|| self.ioctl(&mut arg))?;
        Ok(arg.value)
    }

    /// Creates this file's SVM context for the calling process's address
    /// space (`DRM_IOCTL_NOVA_SVM_SVM_INIT`). Every address outside the
    /// unmanaged window `[unmanaged_addr, unmanaged_addr + unmanaged_size)`
    /// becomes an SVM address; `(0, 0)` means no window.
    pub fn svm_init(&self, unmanaged_addr: u64, unmanaged_size: u64) -> io::Result<()> {
        let mut arg = SvmInit {
            unmanaged_addr,
            unmanaged_size,
        };
        retry_eintr(|| self.ioctl(&mut arg))
    }

    /// Migrates the pages of `range` to `target`, synchronously and best
    /// effort (`DRM_IOCTL_NOVA_SVM_SVM_BIND` with the MIGRATE command). The
    /// kernel rounds `range` out to page boundaries. `priority` is passed
    /// through; the driver ignores it for now.
    pub fn svm_bind_migrate(
        &self,
        range: Range<u64>,
        target: BindTarget,
        priority: u8,
    ) -> io::Result<BindResult> {
        let arg = retry_eintr(|| {
            let mut arg = SvmBind::migrate(range.clone(), target, priority);
            self.ioctl(&mut arg).map(|()| arg)
        })?;
        Ok(BindResult {
            pages_moved: arg.result,
            range: arg.va_start..arg.va_end,
        })
    }

    /// Makes the device's copy engine copy `size` bytes from SVM address
    /// `src` to SVM address `dst` (`DRM_IOCTL_NOVA_SVM_DEVICE_COPY`).
    /// Addresses and size must be page granular and the ranges must not
    /// overlap; the kernel checks. Use [`Device::ioctl_unchecked`] with
    /// [`DeviceCopy::copy`] to see how far a failed copy got.
    ///
    /// # Safety
    ///
    /// `[dst, dst + size)` is written as through a raw pointer: it must be
    /// valid for writes and no Rust reference to it may be live.
    pub unsafe fn device_copy(&self, dst: u64, src: u64, size: u64) -> io::Result<()> {
        retry_eintr(|| {
            // SAFETY: The caller guarantees that `[dst, dst + size)` may be
            // written.
            unsafe { self.ioctl_unchecked(&mut DeviceCopy::copy(dst, src, size)) }
        })
    }

    /// Makes the device's copy engine fill `size` bytes at SVM address
    /// `dst` with the 32-bit `pattern` (`DRM_IOCTL_NOVA_SVM_DEVICE_COPY`
    /// with `NOVA_SVM_DEVICE_COPY_FILL`).
    ///
    /// # Safety
    ///
    /// `[dst, dst + size)` is written as through a raw pointer: it must be
    /// valid for writes and no Rust reference to it may be live.
    pub unsafe fn device_fill(&self, dst: u64, size: u64, pattern: u32) -> io::Result<()> {
        retry_eintr(|| {
            // SAFETY: The caller guarantees that `[dst, dst + size)` may be
            // written.
            unsafe { self.ioctl_unchecked(&mut DeviceCopy::fill(dst, size, pattern)) }
        })
    }

    /// [`Device::device_copy`] between two buffers of this process. Both
    /// must be page aligned, a whole number of pages long, nonempty and of
    /// the same length; otherwise this fails with EINVAL without calling
    /// the kernel.
    pub fn device_copy_slice(&self, dst: &mut [u8], src: &[u8]) -> io::Result<()> {
        // CAST: pointers and lengths of live buffers fit in u64.
        let (dst_addr, src_addr) = (dst.as_mut_ptr() as u64, src.as_ptr() as u64);
        let len = dst.len() as u64;
        if src.len() != dst.len() {
            return Err(einval());
        }
        check_page_buffer(dst_addr, len)?;
        check_page_buffer(src_addr, len)?;
        // SAFETY: `[dst_addr, dst_addr + len)` is `dst`, which is valid for
        // writes and borrowed mutably for the call, so no other reference
        // to it is live; `src` is only read.
        unsafe { self.device_copy(dst_addr, src_addr, len) }
    }

    /// [`Device::device_fill`] of a buffer of this process. It must be page
    /// aligned, a whole number of pages long and nonempty; otherwise this
    /// fails with EINVAL without calling the kernel.
    pub fn device_fill_slice(&self, dst: &mut [u8], pattern: u32) -> io::Result<()> {
        // CAST: the pointer and length of a live buffer fit in u64.
        let (addr, len) = (dst.as_mut_ptr() as u64, dst.len() as u64);
        check_page_buffer(addr, len)?;
        // SAFETY: `[addr, addr + len)` is `dst`, which is valid for writes
        // and borrowed mutably for the call, so no other reference to it is
        // live.
        unsafe { self.device_fill(addr, len, pattern) }
    }
}

impl AsFd for Device {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Device {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl From<OwnedFd> for Device {
    fn from(fd: OwnedFd) -> Self {
        Self::from_fd(fd)
    }
}

/// The minor number of a render node's file name (`renderD<N>`), or `None`
/// for any other name.
fn render_node_minor(name: &OsStr) -> Option<u32> {
    let digits = name.to_str()?.strip_prefix("renderD")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::{alloc_zeroed, dealloc, Layout};

    /// A zeroed, page-aligned heap buffer.
    struct PageBuf {
        ptr: *mut u8,
        layout: Layout,
    }

    impl PageBuf {
        fn new(pages: usize) -> Self {
            let page = page_size() as usize;
            let layout = Layout::from_size_align(pages * page, page).unwrap();
            // SAFETY: `layout` has a nonzero size.
            let ptr = unsafe { alloc_zeroed(layout) };
            assert!(!ptr.is_null());
            Self { ptr, layout }
        }

        fn slice(&mut self) -> &mut [u8] {
            // SAFETY: `ptr` is valid for `layout.size()` initialised bytes
            // and borrowed mutably through `self`.
            unsafe { std::slice::from_raw_parts_mut(self.ptr, self.layout.size()) }
        }
    }

    impl Drop for PageBuf {
        fn drop(&mut self) {
            // SAFETY: `ptr` came from `alloc_zeroed(layout)`.
            unsafe { dealloc(self.ptr, self.layout) };
        }
    }

    /// A `Device` on /dev/null: every ioctl fails with ENOTTY, so a test
    /// can tell the wrapper's own EINVAL from a call into the kernel.
    fn null_device() -> Device {
        Device::open("/dev/null").unwrap()
    }

    fn errno(r: io::Result<impl std::fmt::Debug>) -> i32 {
        r.unwrap_err().raw_os_error().unwrap()
    }

    #[test]
    fn page_size_is_a_power_of_two() {
        assert!(page_size().is_power_of_two());
        assert!(page_size() >= 4096);
    }

    #[test]
    fn param_values_match_the_header() {
        assert_eq!(Param::VramSize.raw(), 1);
        assert_eq!(Param::ChunkSize.raw(), 2);
        assert_eq!(Param::CeClass.raw(), 3);
        assert_eq!(Param::IsSimulated.raw(), 4);
        assert_eq!(Param::ALL.len(), 4);
    }

    #[test]
    fn bind_migrate_fills_fields_like_mesa() {
        let page = page_size();
        let arg = SvmBind::migrate(page + 1..3 * page, BindTarget::GpuVram, 5);
        assert_eq!(arg.header, (0x8000_0000 << 16) | (5 << 8));
        assert_eq!(arg.va_start, page + 1);
        assert_eq!(arg.va_end, 3 * page);
        assert_eq!(arg.npages, 2);
        assert_eq!(
            (arg.stride, arg.result, arg.reserved0, arg.reserved1),
            (0, 0, 0, 0)
        );
        let back = SvmBind::migrate(0..1, BindTarget::System, 0);
        assert_eq!(back.header, 0);
        assert_eq!(back.npages, 1);
        // An inverted range is passed through for the kernel to judge.
        let inverted = SvmBind::migrate(2 * page..page, BindTarget::System, 0);
        assert_eq!((inverted.va_start, inverted.va_end), (2 * page, page));
        assert_eq!(inverted.npages, 0);
    }

    #[test]
    fn copy_and_fill_builders() {
        assert_eq!(
            DeviceCopy::copy(0x2000, 0x1000, 0x1000),
            DeviceCopy {
                dst: 0x2000,
                src: 0x1000,
                size: 0x1000,
                ..DeviceCopy::default()
            }
        );
        assert_eq!(
            DeviceCopy::fill(0x2000, 0x1000, 0xdead_beef),
            DeviceCopy {
                dst: 0x2000,
                size: 0x1000,
                flags: abi::NOVA_SVM_DEVICE_COPY_FILL,
                pattern: 0xdead_beef,
                ..DeviceCopy::default()
            }
        );
    }

    #[test]
    fn page_buffer_check() {
        let page = page_size();
        assert!(check_page_buffer(page, page).is_ok());
        assert!(check_page_buffer(0, 4 * page).is_ok());
        for (addr, len) in [(page, 0), (page + 4, page), (page, page - 4), (1, 1)] {
            assert_eq!(errno(check_page_buffer(addr, len)), libc::EINVAL);
        }
    }

    #[test]
    fn slice_wrappers_reject_bad_buffers_before_the_kernel() {
        let dev = null_device();
        let page = page_size() as usize;
        let mut a = PageBuf::new(3);
        let mut b = PageBuf::new(3);
        let (a, b) = (a.slice(), b.slice());

        // Misaligned start, partial page, empty, different lengths.
        assert_eq!(
            errno(dev.device_fill_slice(&mut a[4..page + 4], 1)),
            libc::EINVAL
        );
        assert_eq!(
            errno(dev.device_fill_slice(&mut a[..page - 1], 1)),
            libc::EINVAL
        );
        assert_eq!(errno(dev.device_fill_slice(&mut a[..0], 1)), libc::EINVAL);
        assert_eq!(
            errno(dev.device_copy_slice(&mut a[..page], &b[..2 * page])),
            libc::EINVAL
        );
        assert_eq!(
            errno(dev.device_copy_slice(&mut a[..page], &b[8..page + 8])),
            libc::EINVAL
        );
        assert_eq!(
            errno(dev.device_copy_slice(&mut a[8..page + 8], &b[..page])),
            libc::EINVAL
        );

        // Good buffers reach the kernel, which /dev/null answers with
        // ENOTTY.
        assert_eq!(
            errno(dev.device_fill_slice(&mut a[page..], 1)),
            libc::ENOTTY
        );
        assert_eq!(
            errno(dev.device_copy_slice(&mut a[..page], &b[page..2 * page])),
            libc::ENOTTY
        );
    }

    #[test]
    fn wrappers_pass_the_kernels_errno_through() {
        let dev = null_device();
        assert_eq!(errno(dev.getparam(Param::VramSize)), libc::ENOTTY);
        assert_eq!(errno(dev.svm_init(0, 0)), libc::ENOTTY);
        assert_eq!(
            errno(dev.svm_bind_migrate(0..1, BindTarget::GpuVram, 0)),
            libc::ENOTTY
        );
        let mut bad = SvmBind {
            reserved0: 1,
            ..SvmBind::default()
        };
        assert_eq!(errno(dev.ioctl(&mut bad)), libc::ENOTTY);
        // Unchecked values go to the kernel as they are.
        // SAFETY: /dev/null fails every ioctl, so nothing is written.
        unsafe {
            assert_eq!(errno(dev.device_copy(1, 2, 0)), libc::ENOTTY);
            assert_eq!(errno(dev.device_fill(3, 5, 0)), libc::ENOTTY);
            let mut bad = DeviceCopy {
                reserved0: 1,
                ..DeviceCopy::default()
            };
            assert_eq!(errno(dev.ioctl_unchecked(&mut bad)), libc::ENOTTY);
        }
        assert_eq!(errno(dev.version()), libc::ENOTTY);
    }

    #[test]
    fn raw_ioctl_reports_ebadf() {
        let mut arg = GetParam::default();
        // SAFETY: `arg` is valid for the request's 16 bytes; the descriptor
        // is invalid, so the kernel fails before touching it.
        let r = unsafe { raw::ioctl(-1, GetParam::REQUEST, (&mut arg as *mut GetParam).cast()) };
        assert_eq!(errno(r), libc::EBADF);
    }

    #[test]
    fn render_node_names() {
        assert_eq!(render_node_minor(OsStr::new("renderD128")), Some(128));
        assert_eq!(render_node_minor(OsStr::new("renderD7")), Some(7));
        for name in ["card0", "renderD", "renderD12x", "renderD+1", "xrenderD128"] {
            assert_eq!(render_node_minor(OsStr::new(name)), None, "{name}");
        }
    }

    #[test]
    fn open_render_node_skips_other_drivers() {
        let dir = std::env::temp_dir().join(format!("nova-svm-uapi-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Regular files named like render nodes: they open, but
        // DRM_IOCTL_VERSION fails on them, so they are skipped.
        std::fs::write(dir.join("renderD128"), b"").unwrap();
        std::fs::write(dir.join("renderD129"), b"").unwrap();
        std::fs::write(dir.join("card0"), b"").unwrap();
        let err = Device::open_render_node_in(&dir).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains(DRIVER_NAME));
    }

    #[test]
    fn open_render_node_in_missing_dir() {
        let err = Device::open_render_node_in("/nonexistent/nova-svm-uapi").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
