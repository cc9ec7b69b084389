// SPDX-License-Identifier: MIT

//! Mirrors of `include/uapi/drm/nova_svm_drm.h`: structures, constants and
//! ioctl request numbers.
//!
//! Names follow the C header with the prefixes dropped where Rust's paths
//! carry them. The layout test (`tests/layout.rs`) compiles the header with
//! the host C compiler and checks every size, offset, constant and request
//! number here against it.

use core::mem::size_of;

/// Ioctl number encoding, as `include/uapi/asm-generic/ioctl.h` and the
/// architectures that override it define it.
pub mod ioc {
    /// Bits of the command number.
    pub const NRBITS: u32 = 8;
    /// Bits of the type (the "magic" character).
    pub const TYPEBITS: u32 = 8;

    /// Bits of the argument size.
    #[cfg(any(
        target_arch = "powerpc",
        target_arch = "powerpc64",
        target_arch = "mips",
        target_arch = "mips64",
        target_arch = "sparc",
        target_arch = "sparc64"
    ))]
    pub const SIZEBITS: u32 = 13;
    /// Bits of the argument size.
    #[cfg(not(any(
        target_arch = "powerpc",
        target_arch = "powerpc64",
        target_arch = "mips",
        target_arch = "mips64",
        target_arch = "sparc",
        target_arch = "sparc64"
    )))]
    pub const SIZEBITS: u32 = 14;

    /// Direction: no data.
    #[cfg(any(
        target_arch = "powerpc",
        target_arch = "powerpc64",
        target_arch = "mips",
        target_arch = "mips64",
        target_arch = "sparc",
        target_arch = "sparc64"
    ))]
    pub const NONE: u32 = 1;
    /// Direction: userspace writes, the kernel reads.
    #[cfg(any(
        target_arch = "powerpc",
        target_arch = "powerpc64",
        target_arch = "mips",
        target_arch = "mips64",
        target_arch = "sparc",
        target_arch = "sparc64"
    ))]
    pub const WRITE: u32 = 4;

    /// Direction: no data.
    #[cfg(not(any(
        target_arch = "powerpc",
        target_arch = "powerpc64",
        target_arch = "mips",
        target_arch = "mips64",
        target_arch = "sparc",
        target_arch = "sparc64"
    )))]
    pub const NONE: u32 = 0;
    /// Direction: userspace writes, the kernel reads.
    #[cfg(not(any(
        target_arch = "powerpc",
        target_arch = "powerpc64",
        target_arch = "mips",
        target_arch = "mips64",
        target_arch = "sparc",
        target_arch = "sparc64"
    )))]
    pub const WRITE: u32 = 1;

    /// Direction: the kernel writes, userspace reads.
    pub const READ: u32 = 2;

    /// Shift of the command number.
    pub const NRSHIFT: u32 = 0;
    /// Shift of the type.
    pub const TYPESHIFT: u32 = NRSHIFT + NRBITS;
    /// Shift of the size.
    pub const SIZESHIFT: u32 = TYPESHIFT + TYPEBITS;
    /// Shift of the direction.
    pub const DIRSHIFT: u32 = SIZESHIFT + SIZEBITS;

    /// `_IOC(dir, type, nr, size)`.
    ///
    /// Panics (at compile time, in a constant) when `nr`, `ty` or `size` do
    /// not fit their fields; the C macros would silently corrupt the number.
    pub const fn ioc(dir: u32, ty: u8, nr: u8, size: usize) -> u32 {
        assert!(size < (1 << SIZEBITS), "ioctl argument too large");
        // CAST: `ty` and `nr` are 8-bit fields; `size` is checked to fit
        // SIZEBITS above, so it fits in u32.
        (dir << DIRSHIFT)
            | ((ty as u32) << TYPESHIFT)
            | ((nr as u32) << NRSHIFT)
            | ((size as u32) << SIZESHIFT)
    }

    /// `_IOWR(type, nr, size)`: the argument is copied in and out.
    pub const fn iowr(ty: u8, nr: u8, size: usize) -> u32 {
        ioc(READ | WRITE, ty, nr, size)
    }

    /// `_IOC_NR(request)`.
    pub const fn nr(request: u32) -> u8 {
        // CAST: masked to NRBITS (8) bits.
        ((request >> NRSHIFT) & ((1 << NRBITS) - 1)) as u8
    }

    /// `_IOC_TYPE(request)`.
    pub const fn ty(request: u32) -> u8 {
        // CAST: masked to TYPEBITS (8) bits.
        ((request >> TYPESHIFT) & ((1 << TYPEBITS) - 1)) as u8
    }

    /// `_IOC_SIZE(request)`.
    pub const fn size(request: u32) -> usize {
        // CAST: at most SIZEBITS (14) bits, which fit any usize.
        ((request >> SIZESHIFT) & ((1 << SIZEBITS) - 1)) as usize
    }

    /// `_IOC_DIR(request)`.
    pub const fn dir(request: u32) -> u32 {
        request >> DIRSHIFT
    }
}

/// `DRM_IOCTL_BASE`: the ioctl type of every DRM ioctl.
pub const DRM_IOCTL_BASE: u8 = b'd';

/// `DRM_COMMAND_BASE`: first command number of driver-specific ioctls.
pub const DRM_COMMAND_BASE: u8 = 0x40;

/// `DRM_IOWR(nr, type)`.
pub const fn drm_iowr(nr: u8, size: usize) -> u32 {
    ioc::iowr(DRM_IOCTL_BASE, nr, size)
}

/// `struct drm_version`, the argument of [`DRM_IOCTL_VERSION`] (from the
/// DRM core's `drm.h`).
///
/// The kernel copies at most `*_len` bytes of each string into the buffers
/// and sets each `*_len` to the string's full length.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct DrmVersion {
    /// Major version of the driver.
    pub version_major: libc::c_int,
    /// Minor version of the driver.
    pub version_minor: libc::c_int,
    /// Patch level of the driver.
    pub version_patchlevel: libc::c_int,
    /// In: size of the `name` buffer. Out: length of the name.
    pub name_len: usize,
    /// Buffer for the driver's name (not NUL-terminated), or null.
    pub name: *mut libc::c_char,
    /// In: size of the `date` buffer. Out: length of the date.
    pub date_len: usize,
    /// Buffer for the driver's date, or null.
    pub date: *mut libc::c_char,
    /// In: size of the `desc` buffer. Out: length of the description.
    pub desc_len: usize,
    /// Buffer for the driver's description, or null.
    pub desc: *mut libc::c_char,
}

impl Default for DrmVersion {
    fn default() -> Self {
        Self {
            version_major: 0,
            version_minor: 0,
            version_patchlevel: 0,
            name_len: 0,
            name: core::ptr::null_mut(),
            date_len: 0,
            date: core::ptr::null_mut(),
            desc_len: 0,
            desc: core::ptr::null_mut(),
        }
    }
}

/// `DRM_IOCTL_VERSION`: the DRM core's driver name and version query.
pub const DRM_IOCTL_VERSION: u32 = drm_iowr(0x00, size_of::<DrmVersion>());

/// `DRM_NOVA_SVM_GETPARAM`: command number of [`DRM_IOCTL_NOVA_SVM_GETPARAM`].
pub const DRM_NOVA_SVM_GETPARAM: u8 = 0x00;
/// `DRM_NOVA_SVM_SVM_INIT`: command number of [`DRM_IOCTL_NOVA_SVM_SVM_INIT`].
pub const DRM_NOVA_SVM_SVM_INIT: u8 = 0x01;
/// `DRM_NOVA_SVM_SVM_BIND`: command number of [`DRM_IOCTL_NOVA_SVM_SVM_BIND`].
pub const DRM_NOVA_SVM_SVM_BIND: u8 = 0x02;
/// `DRM_NOVA_SVM_DEVICE_COPY`: command number of
/// [`DRM_IOCTL_NOVA_SVM_DEVICE_COPY`].
pub const DRM_NOVA_SVM_DEVICE_COPY: u8 = 0x03;

/// `DRM_NOVA_SVM_PARAM_VRAM_SIZE`: bytes of device memory for SVM pages.
pub const DRM_NOVA_SVM_PARAM_VRAM_SIZE: u32 = 1;
/// `DRM_NOVA_SVM_PARAM_CHUNK_SIZE`: bytes of VRAM reserved at a time.
pub const DRM_NOVA_SVM_PARAM_CHUNK_SIZE: u32 = 2;
/// `DRM_NOVA_SVM_PARAM_CE_CLASS`: class number of the copy engine.
pub const DRM_NOVA_SVM_PARAM_CE_CLASS: u32 = 3;
/// `DRM_NOVA_SVM_PARAM_IS_SIMULATED`: 1 on the simulated GPU, 0 on hardware.
pub const DRM_NOVA_SVM_PARAM_IS_SIMULATED: u32 = 4;

/// `struct drm_nova_svm_getparam`: argument of
/// [`DRM_IOCTL_NOVA_SVM_GETPARAM`].
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GetParam {
    /// In: a `DRM_NOVA_SVM_PARAM_*` value (EINVAL if unknown).
    pub param: u32,
    /// Must be zero (EINVAL otherwise).
    pub pad: u32,
    /// Out: the parameter's value.
    pub value: u64,
}

/// `struct drm_nova_svm_svm_init`: argument of
/// [`DRM_IOCTL_NOVA_SVM_SVM_INIT`], nouveau's layout.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SvmInit {
    /// In: first address of the unmanaged window (page aligned, zero
    /// when `unmanaged_size` is zero).
    pub unmanaged_addr: u64,
    /// In: size of the unmanaged window in bytes (a multiple of the page
    /// size; zero for no window).
    pub unmanaged_size: u64,
}

/// `NOVA_SVM_BIND_COMMAND_SHIFT`.
pub const NOVA_SVM_BIND_COMMAND_SHIFT: u32 = 0;
/// `NOVA_SVM_BIND_COMMAND_BITS`.
pub const NOVA_SVM_BIND_COMMAND_BITS: u32 = 8;
/// `NOVA_SVM_BIND_COMMAND_MASK`.
pub const NOVA_SVM_BIND_COMMAND_MASK: u64 = (1 << 8) - 1;
/// `NOVA_SVM_BIND_PRIORITY_SHIFT`.
pub const NOVA_SVM_BIND_PRIORITY_SHIFT: u32 = 8;
/// `NOVA_SVM_BIND_PRIORITY_BITS`.
pub const NOVA_SVM_BIND_PRIORITY_BITS: u32 = 8;
/// `NOVA_SVM_BIND_PRIORITY_MASK`.
pub const NOVA_SVM_BIND_PRIORITY_MASK: u64 = (1 << 8) - 1;
/// `NOVA_SVM_BIND_TARGET_SHIFT`.
pub const NOVA_SVM_BIND_TARGET_SHIFT: u32 = 16;
/// `NOVA_SVM_BIND_TARGET_BITS`.
pub const NOVA_SVM_BIND_TARGET_BITS: u32 = 32;
/// `NOVA_SVM_BIND_TARGET_MASK`.
pub const NOVA_SVM_BIND_TARGET_MASK: u64 = 0xffff_ffff;
/// `NOVA_SVM_BIND_VALID_BITS`: header bits at and above this must be zero.
pub const NOVA_SVM_BIND_VALID_BITS: u32 = 48;
/// `NOVA_SVM_BIND_VALID_MASK`: the header bits that have a meaning.
pub const NOVA_SVM_BIND_VALID_MASK: u64 = (1 << NOVA_SVM_BIND_VALID_BITS) - 1;
/// `NOVA_SVM_BIND_COMMAND__MIGRATE`: synchronous migration to the target.
pub const NOVA_SVM_BIND_COMMAND_MIGRATE: u64 = 0;
/// `NOVA_SVM_BIND_TARGET__SYSTEM`: system memory.
pub const NOVA_SVM_BIND_TARGET_SYSTEM: u64 = 0;
/// `NOVA_SVM_BIND_TARGET__GPU_VRAM`: the device's memory.
pub const NOVA_SVM_BIND_TARGET_GPU_VRAM: u64 = 0x8000_0000;

/// Packs an SVM_BIND header from its fields, masking each to its width as
/// nouveau's userspace does (so out-of-range values cannot spill into
/// another field).
pub const fn svm_bind_header(command: u64, priority: u64, target: u64) -> u64 {
    ((command & NOVA_SVM_BIND_COMMAND_MASK) << NOVA_SVM_BIND_COMMAND_SHIFT)
        | ((priority & NOVA_SVM_BIND_PRIORITY_MASK) << NOVA_SVM_BIND_PRIORITY_SHIFT)
        | ((target & NOVA_SVM_BIND_TARGET_MASK) << NOVA_SVM_BIND_TARGET_SHIFT)
}

/// `struct drm_nova_svm_svm_bind`: argument of
/// [`DRM_IOCTL_NOVA_SVM_SVM_BIND`], nouveau's layout.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SvmBind {
    /// In: command, priority and target (see [`svm_bind_header`]).
    pub header: u64,
    /// In: start of the range, rounded down to a page. Out: rounded.
    pub va_start: u64,
    /// In: end of the range, rounded up to a page. Out: rounded.
    pub va_end: u64,
    /// In: informational page count; not used by the kernel.
    pub npages: u64,
    /// Must be zero (EINVAL otherwise).
    pub stride: u64,
    /// Out: pages this call moved to the target.
    pub result: u64,
    /// Must be zero (EINVAL otherwise).
    pub reserved0: u64,
    /// Must be zero (EINVAL otherwise).
    pub reserved1: u64,
}

/// `NOVA_SVM_DEVICE_COPY_FILL`: fill the destination with the pattern.
pub const NOVA_SVM_DEVICE_COPY_FILL: u32 = 0x1;
/// `NOVA_SVM_DEVICE_COPY_FLAGS`: every known flag.
pub const NOVA_SVM_DEVICE_COPY_FLAGS: u32 = NOVA_SVM_DEVICE_COPY_FILL;

/// `struct drm_nova_svm_device_copy`: argument of
/// [`DRM_IOCTL_NOVA_SVM_DEVICE_COPY`].
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeviceCopy {
    /// In: destination address (page aligned).
    pub dst: u64,
    /// In: source address (page aligned; zero when filling).
    pub src: u64,
    /// In: bytes to copy or fill (a nonzero multiple of the page size).
    pub size: u64,
    /// In: `NOVA_SVM_DEVICE_COPY_*` flags.
    pub flags: u32,
    /// In: fill pattern (zero unless filling).
    pub pattern: u32,
    /// Out: bytes done from the start of the ranges, also on error.
    pub result: u64,
    /// Must be zero (EINVAL otherwise).
    pub reserved0: u64,
    /// Must be zero (EINVAL otherwise).
    pub reserved1: u64,
}

/// `DRM_IOCTL_NOVA_SVM_GETPARAM`.
pub const DRM_IOCTL_NOVA_SVM_GETPARAM: u32 = drm_iowr(
    DRM_COMMAND_BASE + DRM_NOVA_SVM_GETPARAM,
    size_of::<GetParam>(),
);
/// `DRM_IOCTL_NOVA_SVM_SVM_INIT`.
pub const DRM_IOCTL_NOVA_SVM_SVM_INIT: u32 = drm_iowr(
    DRM_COMMAND_BASE + DRM_NOVA_SVM_SVM_INIT,
    size_of::<SvmInit>(),
);
/// `DRM_IOCTL_NOVA_SVM_SVM_BIND`.
pub const DRM_IOCTL_NOVA_SVM_SVM_BIND: u32 = drm_iowr(
    DRM_COMMAND_BASE + DRM_NOVA_SVM_SVM_BIND,
    size_of::<SvmBind>(),
);
/// `DRM_IOCTL_NOVA_SVM_DEVICE_COPY`.
pub const DRM_IOCTL_NOVA_SVM_DEVICE_COPY: u32 = drm_iowr(
    DRM_COMMAND_BASE + DRM_NOVA_SVM_DEVICE_COPY,
    size_of::<DeviceCopy>(),
);

// The sizes the header documents; the layout test checks them against C.
const _: () = assert!(size_of::<GetParam>() == 16);
const _: () = assert!(size_of::<SvmInit>() == 16);
const _: () = assert!(size_of::<SvmBind>() == 64);
const _: () = assert!(size_of::<DeviceCopy>() == 56);

/// An argument structure of one of the driver's ioctls.
///
/// Implemented only for the `#[repr(C)]` structures of this module, all of
/// whose fields are integers: every bit pattern is a valid value, so the
/// kernel may write any bytes into them.
///
/// # Safety
///
/// Implementors must be `#[repr(C)]` plain integer structures whose size
/// is the size encoded in [`IoctlArg::REQUEST`], and for which every bit
/// pattern is valid.
pub unsafe trait IoctlArg: Copy {
    /// The request number that takes this structure.
    const REQUEST: u32;
}

// SAFETY: `GetParam` is `#[repr(C)]` with only integer fields, and its
// request encodes `size_of::<GetParam>()`.
unsafe impl IoctlArg for GetParam {
    const REQUEST: u32 = DRM_IOCTL_NOVA_SVM_GETPARAM;
}

// SAFETY: `SvmInit` is `#[repr(C)]` with only integer fields, and its
// request encodes `size_of::<SvmInit>()`.
unsafe impl IoctlArg for SvmInit {
    const REQUEST: u32 = DRM_IOCTL_NOVA_SVM_SVM_INIT;
}

// SAFETY: `SvmBind` is `#[repr(C)]` with only integer fields, and its
// request encodes `size_of::<SvmBind>()`.
unsafe impl IoctlArg for SvmBind {
    const REQUEST: u32 = DRM_IOCTL_NOVA_SVM_SVM_BIND;
}

// SAFETY: `DeviceCopy` is `#[repr(C)]` with only integer fields, and its
// request encodes `size_of::<DeviceCopy>()`.
unsafe impl IoctlArg for DeviceCopy {
    const REQUEST: u32 = DRM_IOCTL_NOVA_SVM_DEVICE_COPY;
}

/// An [`IoctlArg`] whose ioctl, whatever its field values, changes no
/// memory of the calling process other than the structure itself.
///
/// GETPARAM, SVM_INIT and SVM_BIND qualify: a migration moves pages but
/// keeps their contents. DEVICE_COPY does not: it writes to an address
/// taken from the structure, like a raw pointer write.
///
/// # Safety
///
/// Implementors must make sure the kernel's documented behaviour for
/// [`IoctlArg::REQUEST`] never writes the process's memory beyond the
/// argument structure, for any field values.
pub unsafe trait SafeIoctlArg: IoctlArg {}

// SAFETY: GETPARAM only writes `value` in the structure.
unsafe impl SafeIoctlArg for GetParam {}

// SAFETY: SVM_INIT only creates the file's SVM context.
unsafe impl SafeIoctlArg for SvmInit {}

// SAFETY: SVM_BIND migrates pages and preserves their contents; it writes
// only `va_start`, `va_end` and `result` in the structure.
unsafe impl SafeIoctlArg for SvmBind {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioc_fields_round_trip() {
        let r = ioc::iowr(b'd', 0x42, 64);
        assert_eq!(ioc::nr(r), 0x42);
        assert_eq!(ioc::ty(r), b'd');
        assert_eq!(ioc::size(r), 64);
        assert_eq!(ioc::dir(r), ioc::READ | ioc::WRITE);
    }

    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    #[test]
    fn request_numbers_match_known_values() {
        // `_IOWR('d', nr, size)` is 0xc0000000 | size << 16 | 'd' << 8 | nr.
        assert_eq!(DRM_IOCTL_VERSION, 0xc040_6400);
        assert_eq!(DRM_IOCTL_NOVA_SVM_GETPARAM, 0xc010_6440);
        assert_eq!(DRM_IOCTL_NOVA_SVM_SVM_INIT, 0xc010_6441);
        assert_eq!(DRM_IOCTL_NOVA_SVM_SVM_BIND, 0xc040_6442);
        assert_eq!(DRM_IOCTL_NOVA_SVM_DEVICE_COPY, 0xc038_6443);
        // nouveau's SVM ioctls with the same layouts, as a cross-check of
        // the encoding: DRM_IOCTL_NOUVEAU_SVM_INIT and _SVM_BIND.
        assert_eq!(drm_iowr(DRM_COMMAND_BASE + 0x08, 16), 0xc010_6448);
        assert_eq!(drm_iowr(DRM_COMMAND_BASE + 0x09, 64), 0xc040_6449);
    }

    #[test]
    fn requests_encode_their_struct() {
        fn check<T: IoctlArg>(nr: u8) {
            assert_eq!(ioc::size(T::REQUEST), size_of::<T>());
            assert_eq!(ioc::nr(T::REQUEST), DRM_COMMAND_BASE + nr);
            assert_eq!(ioc::ty(T::REQUEST), DRM_IOCTL_BASE);
            assert_eq!(ioc::dir(T::REQUEST), ioc::READ | ioc::WRITE);
        }
        check::<GetParam>(DRM_NOVA_SVM_GETPARAM);
        check::<SvmInit>(DRM_NOVA_SVM_SVM_INIT);
        check::<SvmBind>(DRM_NOVA_SVM_SVM_BIND);
        check::<DeviceCopy>(DRM_NOVA_SVM_DEVICE_COPY);
    }

    #[test]
    fn bind_header_packs_like_nouveau() {
        let h = svm_bind_header(
            NOVA_SVM_BIND_COMMAND_MIGRATE,
            7,
            NOVA_SVM_BIND_TARGET_GPU_VRAM,
        );
        assert_eq!(h, 0x0000_8000_0000_0700);
        assert_eq!(h & !NOVA_SVM_BIND_VALID_MASK, 0);
        // Out-of-range fields are masked, not spilled into neighbours.
        assert_eq!(svm_bind_header(0x1ff, 0, 0), 0xff);
        assert_eq!(svm_bind_header(0, 0x1ff, 0), 0xff00);
        assert_eq!(svm_bind_header(0, 0, u64::MAX), 0x0000_ffff_ffff_0000);
    }

    #[test]
    #[should_panic(expected = "ioctl argument too large")]
    fn ioc_rejects_oversized_argument() {
        let size = std::hint::black_box(1usize << ioc::SIZEBITS);
        let _ = ioc::iowr(b'd', 0, size);
    }
}
