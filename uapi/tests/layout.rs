// SPDX-License-Identifier: MIT

//! Checks the Rust mirrors against the C header: compiles a program against
//! `include/uapi/drm/nova_svm_drm.h` with the host C compiler (`$CC`, else
//! `cc`), has it print the size and alignment of every structure, the
//! offset and size of every field, every constant and every ioctl request
//! number, and compares each with the value the crate computes.
//!
//! The header includes "drm.h". It is compiled twice: against the test-only
//! stub in `tests/drm-stub/` (always), and against the kernel's installed
//! uapi headers when they exist (`$NOVA_SVM_DRM_INCLUDE`, else
//! `<cache>/build/normal/usr/include` after `cargo xtask kernel`), which
//! also checks `struct drm_version` and `DRM_IOCTL_VERSION`.

use std::collections::BTreeMap;
use std::mem::{align_of, offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;

use nova_svm_uapi::abi::{self, DeviceCopy, DrmVersion, GetParam, SvmBind, SvmInit};

/// One value to compare: a C expression and what Rust says it is.
struct Check {
    c: String,
    rust: u64,
}

/// The size of a field, from an accessor closure.
fn field_size<T, F>(_: fn(&T) -> &F) -> usize {
    size_of::<F>()
}

/// Adds the checks of one structure: its size and alignment, and the offset
/// and size of each field, which must be listed in order and completely
/// (the fields' sizes must add up to the structure's: no implicit holes).
macro_rules! layout {
    ($checks:ident, $rs:ty, $c:literal, [$($f:ident),+ $(,)?]) => {{
        let mut end = 0usize;
        $checks.push(check(format!("sizeof(struct {})", $c), size_of::<$rs>()));
        $checks.push(check(format!("__alignof__(struct {})", $c), align_of::<$rs>()));
        $(
            let off = offset_of!($rs, $f);
            let size = field_size::<$rs, _>(|s| &s.$f);
            assert_eq!(off, end, "{}: {} is not right after the previous field", $c, stringify!($f));
            end = off + size;
            $checks.push(check(
                format!("offsetof(struct {}, {})", $c, stringify!($f)),
                off,
            ));
            $checks.push(check(
                format!("sizeof(((struct {} *)0)->{})", $c, stringify!($f)),
                size,
            ));
        )+
        assert_eq!(end, size_of::<$rs>(), "{}: fields do not fill the structure", $c);
        assert_eq!(size_of::<$rs>() % 8, 0, "{}: size is not a multiple of 8", $c);
    }};
}

fn check(c: impl Into<String>, rust: impl TryInto<u64>) -> Check {
    let c = c.into();
    let Ok(rust) = rust.try_into() else {
        panic!("{c}: value does not fit u64");
    };
    Check { c, rust }
}

/// Every check of the nova-svm header.
fn nova_svm_checks() -> Vec<Check> {
    let mut v = Vec::new();
    layout!(v, GetParam, "drm_nova_svm_getparam", [param, pad, value]);
    layout!(
        v,
        SvmInit,
        "drm_nova_svm_svm_init",
        [unmanaged_addr, unmanaged_size]
    );
    layout!(
        v,
        SvmBind,
        "drm_nova_svm_svm_bind",
        [header, va_start, va_end, npages, stride, result, reserved0, reserved1]
    );
    layout!(
        v,
        DeviceCopy,
        "drm_nova_svm_device_copy",
        [dst, src, size, flags, pattern, result, reserved0, reserved1]
    );
    let consts: &[(&str, u64)] = &[
        ("DRM_COMMAND_BASE", abi::DRM_COMMAND_BASE.into()),
        ("DRM_NOVA_SVM_GETPARAM", abi::DRM_NOVA_SVM_GETPARAM.into()),
        ("DRM_NOVA_SVM_SVM_INIT", abi::DRM_NOVA_SVM_SVM_INIT.into()),
        ("DRM_NOVA_SVM_SVM_BIND", abi::DRM_NOVA_SVM_SVM_BIND.into()),
        (
            "DRM_NOVA_SVM_DEVICE_COPY",
            abi::DRM_NOVA_SVM_DEVICE_COPY.into(),
        ),
        (
            "DRM_NOVA_SVM_PARAM_VRAM_SIZE",
            abi::DRM_NOVA_SVM_PARAM_VRAM_SIZE.into(),
        ),
        (
            "DRM_NOVA_SVM_PARAM_CHUNK_SIZE",
            abi::DRM_NOVA_SVM_PARAM_CHUNK_SIZE.into(),
        ),
        (
            "DRM_NOVA_SVM_PARAM_CE_CLASS",
            abi::DRM_NOVA_SVM_PARAM_CE_CLASS.into(),
        ),
        (
            "DRM_NOVA_SVM_PARAM_IS_SIMULATED",
            abi::DRM_NOVA_SVM_PARAM_IS_SIMULATED.into(),
        ),
        ("sizeof(enum drm_nova_svm_param)", 4),
        (
            "NOVA_SVM_BIND_COMMAND_SHIFT",
            abi::NOVA_SVM_BIND_COMMAND_SHIFT.into(),
        ),
        (
            "NOVA_SVM_BIND_COMMAND_BITS",
            abi::NOVA_SVM_BIND_COMMAND_BITS.into(),
        ),
        (
            "NOVA_SVM_BIND_COMMAND_MASK",
            abi::NOVA_SVM_BIND_COMMAND_MASK,
        ),
        (
            "NOVA_SVM_BIND_PRIORITY_SHIFT",
            abi::NOVA_SVM_BIND_PRIORITY_SHIFT.into(),
        ),
        (
            "NOVA_SVM_BIND_PRIORITY_BITS",
            abi::NOVA_SVM_BIND_PRIORITY_BITS.into(),
        ),
        (
            "NOVA_SVM_BIND_PRIORITY_MASK",
            abi::NOVA_SVM_BIND_PRIORITY_MASK,
        ),
        (
            "NOVA_SVM_BIND_TARGET_SHIFT",
            abi::NOVA_SVM_BIND_TARGET_SHIFT.into(),
        ),
        (
            "NOVA_SVM_BIND_TARGET_BITS",
            abi::NOVA_SVM_BIND_TARGET_BITS.into(),
        ),
        ("NOVA_SVM_BIND_TARGET_MASK", abi::NOVA_SVM_BIND_TARGET_MASK),
        (
            "NOVA_SVM_BIND_VALID_BITS",
            abi::NOVA_SVM_BIND_VALID_BITS.into(),
        ),
        ("NOVA_SVM_BIND_VALID_MASK", abi::NOVA_SVM_BIND_VALID_MASK),
        (
            "NOVA_SVM_BIND_COMMAND__MIGRATE",
            abi::NOVA_SVM_BIND_COMMAND_MIGRATE,
        ),
        (
            "NOVA_SVM_BIND_TARGET__SYSTEM",
            abi::NOVA_SVM_BIND_TARGET_SYSTEM,
        ),
        (
            "NOVA_SVM_BIND_TARGET__GPU_VRAM",
            abi::NOVA_SVM_BIND_TARGET_GPU_VRAM,
        ),
        (
            "NOVA_SVM_DEVICE_COPY_FILL",
            abi::NOVA_SVM_DEVICE_COPY_FILL.into(),
        ),
        (
            "NOVA_SVM_DEVICE_COPY_FLAGS",
            abi::NOVA_SVM_DEVICE_COPY_FLAGS.into(),
        ),
        (
            "DRM_IOCTL_NOVA_SVM_GETPARAM",
            abi::DRM_IOCTL_NOVA_SVM_GETPARAM.into(),
        ),
        (
            "DRM_IOCTL_NOVA_SVM_SVM_INIT",
            abi::DRM_IOCTL_NOVA_SVM_SVM_INIT.into(),
        ),
        (
            "DRM_IOCTL_NOVA_SVM_SVM_BIND",
            abi::DRM_IOCTL_NOVA_SVM_SVM_BIND.into(),
        ),
        (
            "DRM_IOCTL_NOVA_SVM_DEVICE_COPY",
            abi::DRM_IOCTL_NOVA_SVM_DEVICE_COPY.into(),
        ),
    ];
    v.extend(consts.iter().map(|&(c, rust)| check(c, rust)));
    v
}

/// The checks that need the DRM core's real drm.h.
fn drm_core_checks() -> Vec<Check> {
    let mut v = Vec::new();
    v.push(check("sizeof(struct drm_version)", size_of::<DrmVersion>()));
    v.push(check(
        "__alignof__(struct drm_version)",
        align_of::<DrmVersion>(),
    ));
    // The structure has a hole after `version_patchlevel` on 64-bit
    // targets, so its fields are listed one by one rather than through
    // `layout!`, which insists on contiguous fields.
    for (name, off, size) in [
        (
            "version_major",
            offset_of!(DrmVersion, version_major),
            size_of::<std::ffi::c_int>(),
        ),
        (
            "version_minor",
            offset_of!(DrmVersion, version_minor),
            size_of::<std::ffi::c_int>(),
        ),
        (
            "version_patchlevel",
            offset_of!(DrmVersion, version_patchlevel),
            size_of::<std::ffi::c_int>(),
        ),
        (
            "name_len",
            offset_of!(DrmVersion, name_len),
            size_of::<usize>(),
        ),
        ("name", offset_of!(DrmVersion, name), size_of::<*mut u8>()),
        (
            "date_len",
            offset_of!(DrmVersion, date_len),
            size_of::<usize>(),
        ),
        ("date", offset_of!(DrmVersion, date), size_of::<*mut u8>()),
        (
            "desc_len",
            offset_of!(DrmVersion, desc_len),
            size_of::<usize>(),
        ),
        ("desc", offset_of!(DrmVersion, desc), size_of::<*mut u8>()),
    ] {
        v.push(check(format!("offsetof(struct drm_version, {name})"), off));
        v.push(check(
            format!("sizeof(((struct drm_version *)0)->{name})"),
            size,
        ));
    }
    v.push(check("DRM_IOCTL_BASE", abi::DRM_IOCTL_BASE));
    v.push(check("DRM_IOCTL_VERSION", abi::DRM_IOCTL_VERSION));
    v
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory with `drm/nova_svm_drm.h` as the kernel installs it.
fn header_root() -> PathBuf {
    crate_dir().join("include/uapi")
}

fn stub_include() -> Vec<PathBuf> {
    vec![crate_dir().join("tests/drm-stub")]
}

/// Installed kernel uapi headers (a directory with `drm/drm.h`), if any.
fn installed_include() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("NOVA_SVM_DRM_INCLUDE") {
        return Some(PathBuf::from(dir));
    }
    let cache = if let Some(dir) = std::env::var_os("NOVA_SVM_CACHE") {
        PathBuf::from(dir)
    } else if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        PathBuf::from(dir).join("nova-svm")
    } else {
        PathBuf::from(std::env::var_os("HOME")?).join(".cache/nova-svm")
    };
    let dir = cache.join("build/normal/usr/include");
    dir.join("drm/drm.h").is_file().then_some(dir)
}

/// Include flags for a drm.h directory: the header's `#include "drm.h"`
/// looks in `<dir>/drm`, its own includes in `<dir>` (for the stub, the
/// host's <linux/...> headers serve).
fn drm_include_flags(dirs: &[PathBuf]) -> Vec<String> {
    let mut flags = Vec::new();
    for d in dirs {
        if d.join("drm/drm.h").is_file() {
            flags.push(format!("-I{}", d.join("drm").display()));
        }
        flags.push(format!("-I{}", d.display()));
    }
    flags
}

fn compiler(cxx: bool) -> String {
    let (var, default) = if cxx { ("CXX", "c++") } else { ("CC", "cc") };
    std::env::var(var).unwrap_or_else(|_| default.to_string())
}

/// A scratch directory of its own for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("layout-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Compiles and runs the printing program; returns the C values by
/// expression.
fn c_values(
    name: &str,
    header_root: &Path,
    includes: &[String],
    checks: &[Check],
) -> BTreeMap<String, u64> {
    let dir = scratch(name);
    let mut src = String::from(
        "#include <stddef.h>\n#include <stdio.h>\n#include <drm/nova_svm_drm.h>\n\n\
         #define P(v) printf(\"%s=%llu\\n\", #v, (unsigned long long)(v))\n\n\
         int main(void)\n{\n",
    );
    for c in checks {
        src.push_str(&format!("\tP({});\n", c.c));
    }
    src.push_str("\treturn 0;\n}\n");
    let c_file = dir.join("layout.c");
    std::fs::write(&c_file, src).unwrap();
    let exe = dir.join("layout");
    let out = Command::new(compiler(false))
        .args(["-std=gnu99", "-Wall", "-Wextra", "-Werror"])
        .arg(format!("-I{}", header_root.display()))
        .args(includes)
        .arg(&c_file)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{}`: {e}", compiler(false)));
    assert!(
        out.status.success(),
        "compiling {} failed:\n{}",
        c_file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(&exe).output().unwrap();
    assert!(out.status.success(), "{} failed", exe.display());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.rsplit_once('=').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

/// The mismatches between C and Rust, one line each.
fn mismatches(
    name: &str,
    header_root: &Path,
    includes: &[String],
    checks: &[Check],
) -> Vec<String> {
    let c = c_values(name, header_root, includes, checks);
    assert_eq!(c.len(), checks.len(), "duplicate or missing checks");
    checks
        .iter()
        .filter_map(|k| {
            let cv = c[&k.c];
            (cv != k.rust).then(|| format!("{}: C {:#x}, Rust {:#x}", k.c, cv, k.rust))
        })
        .collect()
}

fn assert_matches(name: &str, includes: &[String], checks: &[Check]) {
    let bad = mismatches(name, &header_root(), includes, checks);
    assert!(bad.is_empty(), "layout mismatches:\n{}", bad.join("\n"));
}

#[test]
fn layout_matches_header_with_stub_drm_h() {
    let checks = nova_svm_checks();
    assert!(checks.len() > 60);
    assert_matches("stub", &drm_include_flags(&stub_include()), &checks);
}

#[test]
fn layout_matches_header_with_installed_drm_h() {
    let Some(dir) = installed_include() else {
        eprintln!("no installed kernel uapi headers (run `cargo xtask kernel`); checked against the stub only");
        return;
    };
    eprintln!("installed kernel uapi headers: {}", dir.display());
    let mut checks = nova_svm_checks();
    checks.extend(drm_core_checks());
    assert_matches("installed", &drm_include_flags(&[dir]), &checks);
}

#[test]
fn header_compiles_as_kernel_uapi_c90_and_cxx98() {
    let dir = scratch("syntax");
    let c_file = dir.join("t.c");
    std::fs::write(
        &c_file,
        "#include <drm/nova_svm_drm.h>\nint main(void) { return 0; }\n",
    )
    .unwrap();
    let includes = match installed_include() {
        Some(d) => drm_include_flags(&[d]),
        None => drm_include_flags(&stub_include()),
    };
    // The kernel's `make headers` compile test uses -std=c90; C++ users
    // need the extern "C" guard to be well formed.
    for (cc, lang, std) in [
        (compiler(false), "c", "-std=c90"),
        (compiler(true), "c++", "-std=c++98"),
    ] {
        let out = Command::new(&cc)
            .args([
                "-x",
                lang,
                std,
                "-Wall",
                "-Wextra",
                "-Werror",
                "-fsyntax-only",
            ])
            .arg(format!("-I{}", header_root().display()))
            .args(&includes)
            .arg(&c_file)
            .output()
            .unwrap_or_else(|e| panic!("cannot run `{cc}`: {e}"));
        assert!(
            out.status.success(),
            "{cc} {std} rejects the header:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn layout_test_detects_a_moved_field() {
    // A copy of the header with a field inserted before `va_start` and
    // `flags` and `pattern` swapped: the comparison must report them.
    let root = scratch("moved").join("include");
    std::fs::create_dir_all(root.join("drm")).unwrap();
    let header = std::fs::read_to_string(header_root().join("drm/nova_svm_drm.h")).unwrap();
    let moved = header
        .replacen(
            "\t__u64 va_start;",
            "\t__u64 inserted;\n\t__u64 va_start;",
            1,
        )
        .replacen("\t__u32 flags;", "\t__u32 flags_tmp;", 1)
        .replacen("\t__u32 pattern;", "\t__u32 flags;", 1)
        .replacen("\t__u32 flags_tmp;", "\t__u32 pattern;", 1);
    assert_ne!(moved, header);
    std::fs::write(root.join("drm/nova_svm_drm.h"), moved).unwrap();
    let includes = drm_include_flags(&stub_include());
    let bad = mismatches("moved-run", &root, &includes, &nova_svm_checks());
    let text = bad.join("\n");
    for expected in [
        "sizeof(struct drm_nova_svm_svm_bind)",
        "offsetof(struct drm_nova_svm_svm_bind, va_start)",
        "offsetof(struct drm_nova_svm_device_copy, flags)",
        "offsetof(struct drm_nova_svm_device_copy, pattern)",
        "DRM_IOCTL_NOVA_SVM_SVM_BIND",
    ] {
        assert!(
            text.contains(expected),
            "{expected} not reported in:\n{text}"
        );
    }
    assert!(!text.contains("drm_nova_svm_getparam"), "{text}");
}
