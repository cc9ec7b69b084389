// SPDX-License-Identifier: GPL-2.0

//! The ioctl argument checks, field by field, against the rules of `nova_svm_drm.h`.

use crate::args::*;

const PAGE: u64 = 4096;
const VRAM: u64 = BIND_TARGET_GPU_VRAM << 16;

fn bind(header: u64, va_start: u64, va_end: u64) -> BindArgs {
    BindArgs {
        header,
        va_start,
        va_end,
        stride: 0,
        reserved0: 0,
        reserved1: 0,
    }
}

fn copy(dst: u64, src: u64, size: u64, flags: u32, pattern: u32) -> CopyArgs {
    CopyArgs {
        dst,
        src,
        size,
        flags,
        pattern,
        reserved0: 0,
        reserved1: 0,
    }
}

#[test]
fn svm_init_window() {
    assert_eq!(svm_init(0, 0, PAGE), Ok(0..0));
    assert_eq!(svm_init(0x10000, 0x2000, PAGE), Ok(0x10000..0x12000));
    assert_eq!(
        svm_init(0x10001, 0x2000, PAGE),
        Err(Invalid::Unaligned("unmanaged_addr"))
    );
    assert_eq!(
        svm_init(0x10000, 0x2001, PAGE),
        Err(Invalid::Unaligned("unmanaged_size"))
    );
    assert_eq!(
        svm_init(0x10000, 0, PAGE),
        Err(Invalid::Conflict("unmanaged_addr"))
    );
    assert_eq!(
        svm_init(u64::MAX - PAGE + 1, 2 * PAGE, PAGE),
        Err(Invalid::BadRange("unmanaged_size"))
    );
}

#[test]
fn svm_bind_rounds_like_nouveau() {
    let b = svm_bind(&bind(VRAM, 0x1001, 0x2001), PAGE).unwrap();
    assert!(b.to_vram);
    assert_eq!(b.range, 0x1000..0x3000);
    let b = svm_bind(&bind(0, 0x1000, 0x2000), PAGE).unwrap();
    assert!(!b.to_vram);
    assert_eq!(b.range, 0x1000..0x2000);
    // The priority byte is accepted and ignored.
    assert!(svm_bind(&bind(VRAM | 0x7f00, 0x1000, 0x2000), PAGE).is_ok());
}

#[test]
fn svm_bind_rejects_each_bad_field() {
    let ok = bind(VRAM, 0x1000, 0x2000);
    for (field, set) in [("stride", 0usize), ("reserved0", 1), ("reserved1", 2)] {
        let mut a = bind(ok.header, ok.va_start, ok.va_end);
        match set {
            0 => a.stride = 1,
            1 => a.reserved0 = 1 << 63,
            _ => a.reserved1 = 1,
        }
        assert_eq!(svm_bind(&a, PAGE), Err(Invalid::Reserved(field)));
    }
    assert_eq!(
        svm_bind(&bind(VRAM | 1 << 48, 0x1000, 0x2000), PAGE),
        Err(Invalid::Reserved("header"))
    );
    assert_eq!(
        svm_bind(&bind(VRAM | 1, 0x1000, 0x2000), PAGE),
        Err(Invalid::Unknown("header.command"))
    );
    assert_eq!(
        svm_bind(&bind(1 << 16, 0x1000, 0x2000), PAGE),
        Err(Invalid::Unknown("header.target"))
    );
    // Empty after rounding, reversed, and an end whose rounding overflows.
    assert_eq!(
        svm_bind(&bind(VRAM, 0x2000, 0x2000), PAGE),
        Err(Invalid::BadRange("va_end"))
    );
    assert_eq!(
        svm_bind(&bind(VRAM, 0x3000, 0x2000), PAGE),
        Err(Invalid::BadRange("va_end"))
    );
    assert_eq!(
        svm_bind(&bind(VRAM, 0x1000, u64::MAX), PAGE),
        Err(Invalid::BadRange("va_end"))
    );
}

#[test]
fn device_copy_checks() {
    let c = device_copy(&copy(0x10000, 0x20000, 0x2000, 0, 0), PAGE).unwrap();
    assert_eq!(c.dst, 0x10000..0x12000);
    assert_eq!(
        c.kind,
        CopyKind::Copy {
            src: 0x20000..0x22000
        }
    );
    let c = device_copy(&copy(0x10000, 0, 0x1000, COPY_FILL, 0xdead_beef), PAGE).unwrap();
    assert_eq!(c.kind, CopyKind::Fill(0xdead_beef));

    let cases = [
        (copy(0x10000, 0x20000, 0, 0, 0), Invalid::BadRange("size")),
        (
            copy(0x10000, 0x20000, 0x1001, 0, 0),
            Invalid::Unaligned("size"),
        ),
        (
            copy(0x10001, 0x20000, 0x1000, 0, 0),
            Invalid::Unaligned("dst"),
        ),
        (
            copy(0x10000, 0x20001, 0x1000, 0, 0),
            Invalid::Unaligned("src"),
        ),
        (
            copy(0x10000, 0x20000, 0x1000, 2, 0),
            Invalid::Unknown("flags"),
        ),
        (
            copy(0x10000, 0x20000, 0x1000, 0, 5),
            Invalid::Conflict("pattern"),
        ),
        (
            copy(0x10000, 0x20000, 0x1000, COPY_FILL, 5),
            Invalid::Conflict("src"),
        ),
        (
            copy(0x10000, 0x11000, 0x2000, 0, 0),
            Invalid::BadRange("src"),
        ),
        (
            copy(0x11000, 0x10000, 0x2000, 0, 0),
            Invalid::BadRange("src"),
        ),
        (
            copy(u64::MAX - 0xfff, 0x20000, 0x2000, 0, 0),
            Invalid::BadRange("dst"),
        ),
    ];
    for (a, want) in cases {
        assert_eq!(device_copy(&a, PAGE), Err(want));
    }
    let mut a = copy(0x10000, 0x20000, 0x1000, 0, 0);
    a.reserved0 = 1;
    assert_eq!(device_copy(&a, PAGE), Err(Invalid::Reserved("reserved0")));
    a.reserved0 = 0;
    a.reserved1 = 1;
    assert_eq!(device_copy(&a, PAGE), Err(Invalid::Reserved("reserved1")));
}
