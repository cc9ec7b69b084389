// SPDX-License-Identifier: GPL-2.0

//! Checks of ioctl arguments that need nothing but the arguments.
//!
//! The ioctl handlers call these before anything else; each names the field that is wrong, so
//! the handler can log it. This file depends on `core` only, so that the host crate
//! `nova-svm-host` compiles and tests it.

use core::ops::Range;

/// Why an argument is invalid. Every variant means `EINVAL` for userspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Invalid {
    /// A pad or reserved field is not zero.
    Reserved(&'static str),
    /// An address or size is not page aligned.
    Unaligned(&'static str),
    /// A range whose end overflows, or an empty range.
    BadRange(&'static str),
    /// An unknown command, target, flag or parameter.
    Unknown(&'static str),
    /// A field that must be zero with the given flags is not.
    Conflict(&'static str),
}

/// `NOVA_SVM_BIND_COMMAND__MIGRATE`.
pub(crate) const BIND_COMMAND_MIGRATE: u64 = 0;
/// `NOVA_SVM_BIND_TARGET__SYSTEM`.
pub(crate) const BIND_TARGET_SYSTEM: u64 = 0;
/// `NOVA_SVM_BIND_TARGET__GPU_VRAM`.
pub(crate) const BIND_TARGET_GPU_VRAM: u64 = 0x8000_0000;
/// `NOVA_SVM_BIND_VALID_MASK`.
const BIND_VALID_MASK: u64 = (1 << 48) - 1;
/// `NOVA_SVM_DEVICE_COPY_FILL`.
pub(crate) const COPY_FILL: u32 = 1;

/// Checks that `value` is zero.
pub(crate) fn zero(value: u64, field: &'static str) -> Result<(), Invalid> {
    if value == 0 {
        Ok(())
    } else {
        Err(Invalid::Reserved(field))
    }
}

/// Checks that `value` is a multiple of `page`.
fn aligned(value: u64, page: u64, field: &'static str) -> Result<(), Invalid> {
    if value % page == 0 {
        Ok(())
    } else {
        Err(Invalid::Unaligned(field))
    }
}

/// Converts `start..start + len` to a `usize` range, failing when it overflows.
fn range(start: u64, len: u64, field: &'static str) -> Result<Range<usize>, Invalid> {
    let end = start.checked_add(len).ok_or(Invalid::BadRange(field))?;
    let start = usize::try_from(start).map_err(|_| Invalid::BadRange(field))?;
    let end = usize::try_from(end).map_err(|_| Invalid::BadRange(field))?;
    Ok(start..end)
}

/// Checks `SVM_INIT`'s unmanaged window and returns it (empty for none).
pub(crate) fn svm_init(addr: u64, size: u64, page: u64) -> Result<Range<usize>, Invalid> {
    aligned(addr, page, "unmanaged_addr")?;
    aligned(size, page, "unmanaged_size")?;
    if size == 0 && addr != 0 {
        return Err(Invalid::Conflict("unmanaged_addr"));
    }
    range(addr, size, "unmanaged_size")
}

/// A checked `SVM_BIND`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Bind {
    /// Whether the target is VRAM (else system memory).
    pub(crate) to_vram: bool,
    /// The rounded range.
    pub(crate) range: Range<usize>,
}

/// The fields of `struct drm_nova_svm_svm_bind` that `SVM_BIND` reads.
pub(crate) struct BindArgs {
    /// `header`.
    pub(crate) header: u64,
    /// `va_start`.
    pub(crate) va_start: u64,
    /// `va_end`.
    pub(crate) va_end: u64,
    /// `stride`.
    pub(crate) stride: u64,
    /// `reserved0`.
    pub(crate) reserved0: u64,
    /// `reserved1`.
    pub(crate) reserved1: u64,
}

/// Checks `SVM_BIND`'s arguments and rounds the range to pages, as nouveau does.
pub(crate) fn svm_bind(a: &BindArgs, page: u64) -> Result<Bind, Invalid> {
    zero(a.stride, "stride")?;
    zero(a.reserved0, "reserved0")?;
    zero(a.reserved1, "reserved1")?;
    zero(a.header & !BIND_VALID_MASK, "header")?;
    if a.header & 0xff != BIND_COMMAND_MIGRATE {
        return Err(Invalid::Unknown("header.command"));
    }
    let to_vram = match (a.header >> 16) & 0xffff_ffff {
        BIND_TARGET_SYSTEM => false,
        BIND_TARGET_GPU_VRAM => true,
        _ => return Err(Invalid::Unknown("header.target")),
    };
    let start = a.va_start & !(page - 1);
    let end = a
        .va_end
        .checked_add(page - 1)
        .ok_or(Invalid::BadRange("va_end"))?
        & !(page - 1);
    if end <= start {
        return Err(Invalid::BadRange("va_end"));
    }
    Ok(Bind {
        to_vram,
        range: range(start, end - start, "va_end")?,
    })
}

/// What a checked `DEVICE_COPY` does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CopyKind {
    /// Copy from the source range.
    Copy {
        /// The source range.
        src: Range<usize>,
    },
    /// Fill with a pattern.
    Fill(u32),
}

/// A checked `DEVICE_COPY`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Copy {
    /// The destination range.
    pub(crate) dst: Range<usize>,
    /// Copy or fill.
    pub(crate) kind: CopyKind,
}

/// The fields of `struct drm_nova_svm_device_copy` that `DEVICE_COPY` reads.
pub(crate) struct CopyArgs {
    /// `dst`.
    pub(crate) dst: u64,
    /// `src`.
    pub(crate) src: u64,
    /// `size`.
    pub(crate) size: u64,
    /// `flags`.
    pub(crate) flags: u32,
    /// `pattern`.
    pub(crate) pattern: u32,
    /// `reserved0`.
    pub(crate) reserved0: u64,
    /// `reserved1`.
    pub(crate) reserved1: u64,
}

/// Checks `DEVICE_COPY`'s arguments.
pub(crate) fn device_copy(a: &CopyArgs, page: u64) -> Result<Copy, Invalid> {
    zero(a.reserved0, "reserved0")?;
    zero(a.reserved1, "reserved1")?;
    if a.flags & !COPY_FILL != 0 {
        return Err(Invalid::Unknown("flags"));
    }
    if a.size == 0 {
        return Err(Invalid::BadRange("size"));
    }
    aligned(a.size, page, "size")?;
    aligned(a.dst, page, "dst")?;
    let dst = range(a.dst, a.size, "dst")?;
    let kind = if a.flags & COPY_FILL != 0 {
        if a.src != 0 {
            return Err(Invalid::Conflict("src"));
        }
        CopyKind::Fill(a.pattern)
    } else {
        if a.pattern != 0 {
            return Err(Invalid::Conflict("pattern"));
        }
        aligned(a.src, page, "src")?;
        let src = range(a.src, a.size, "src")?;
        if src.start < dst.end && dst.start < src.end {
            return Err(Invalid::BadRange("src"));
        }
        CopyKind::Copy { src }
    };
    Ok(Copy { dst, kind })
}
