//! The IGT test binaries (`igt-tests/`) for the VM: built statically,
//! because the initramfs has busybox and no C library, and packed under
//! `igt/` for `xtask/vm/suites/igt.sh`. Two of them are tools with suites
//! of their own ([`TOOLS`]): the benchmark, the demo and the fuzzer.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::bail;
use crate::util::{self, cache_dir, repo_root, run_logged, step, Context, Result};

/// The suite that runs the tests.
pub const SUITE: &str = "igt";
/// Binaries that are tools rather than IGT tests, with the suite that runs
/// each: `igt.sh` leaves them out.
pub const TOOLS: &[(&str, &str)] = &[
    ("nova_svm_bench", crate::vm::BENCH),
    ("nova_svm_demo", crate::vm::DEMO),
    ("nova_svm_fuzz", crate::vm::FUZZ),
];
/// The suites that run binaries of the package, so that a boot with any of
/// them builds and packs the binaries.
pub const SUITES: &[&str] = &[SUITE, crate::vm::BENCH, crate::vm::DEMO, crate::vm::FUZZ];
/// The cargo package.
const PACKAGE: &str = "nova-svm-igt";
/// The target triple, given explicitly so that RUSTFLAGS apply to the
/// binaries only (not to build scripts) and the output lands apart from
/// the host build.
const TARGET: &str = "x86_64-unknown-linux-gnu";
/// Static linking against glibc's libc.a.
const RUSTFLAGS: &str = "-C target-feature=+crt-static";
/// Where the binaries go in the initramfs.
pub const INITRAMFS_DIR: &str = "igt";

/// The binaries of the package: one per `igt-tests/src/bin/*.rs`, sorted.
pub fn binaries(root: &Path) -> Result<Vec<String>> {
    let dir = root.join("igt-tests/src/bin");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".rs"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    if names.is_empty() {
        bail!("{} holds no test binaries", dir.display());
    }
    Ok(names)
}

/// The directory cargo puts the release binaries in.
fn out_dir(root: &Path) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    target.join(TARGET).join("release")
}

/// The initramfs entries for `names` built in `dir`: `igt/<name>`.
pub fn pack_list(names: &[String], dir: &Path) -> Vec<(String, PathBuf)> {
    names
        .iter()
        .map(|n| (format!("{INITRAMFS_DIR}/{n}"), dir.join(n)))
        .collect()
}

/// Whether an ELF file is statically linked: it has no program
/// interpreter (`PT_INTERP`), so the kernel runs it without ld.so. A
/// static-pie binary qualifies. Fails for what is not a 64-bit
/// little-endian ELF file.
pub fn is_static_elf(data: &[u8]) -> Result<bool> {
    const PT_INTERP: u32 = 3;
    let u16_at = |o: usize| data.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        data.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        data.get(o..o + 8).map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        })
    };
    if data.get(..6) != Some(b"\x7fELF\x02\x01") {
        bail!("not a 64-bit little-endian ELF file");
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        bail!("truncated ELF header");
    };
    for i in 0..usize::from(phnum) {
        let off = usize::try_from(phoff)
            .ok()
            .and_then(|p| p.checked_add(i * usize::from(phentsize)));
        let Some(p_type) = off.and_then(u32_at) else {
            bail!("truncated ELF program header {i}");
        };
        if p_type == PT_INTERP {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Builds the binaries statically (incrementally: cargo decides), checks
/// that each is static, and returns the initramfs entries.
pub fn build() -> Result<Vec<(String, PathBuf)>> {
    let root = repo_root();
    let names = binaries(&root)?;
    step(&format!(
        "building the IGT tests ({}) statically for the VM",
        names.join(", ")
    ));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let log = cache_dir().join("logs/igt-build.log");
    run_logged(
        Command::new(cargo)
            .current_dir(&root)
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env("RUSTFLAGS", RUSTFLAGS)
            .args(["build", "--release", "-p", PACKAGE, "--target", TARGET]),
        &log,
        "cargo build (nova-svm-igt, static)",
        Duration::from_secs(15),
    )?;
    let list = pack_list(&names, &out_dir(&root));
    for (_, path) in &list {
        let data = fs::read(path).context(|| format!("cannot read {}", path.display()))?;
        let is_static = is_static_elf(&data).context(|| format!("{}", path.display()))?;
        if !is_static {
            bail!(
                "{} is dynamically linked (it has an ELF interpreter), but the VM has no C \
                 library; is glibc's libc.a installed (libc6-dev)?",
                path.display()
            );
        }
    }
    Ok(list)
}

/// `cargo xtask igt`: builds the binaries and says where they are.
pub fn show() -> Result<()> {
    for (name, path) in build()? {
        let suite = TOOLS
            .iter()
            .find(|t| name.ends_with(t.0))
            .map_or(SUITE, |t| t.1);
        util::note(&format!(
            "{name}: {} (static; run by the {suite} suite)",
            path.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 header with the given program header types.
    fn elf(types: &[u32]) -> Vec<u8> {
        let mut d = vec![0u8; 64];
        d[..6].copy_from_slice(b"\x7fELF\x02\x01");
        d[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        d[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        d[0x38..0x3a].copy_from_slice(&(types.len() as u16).to_le_bytes());
        for t in types {
            let mut ph = vec![0u8; 56];
            ph[..4].copy_from_slice(&t.to_le_bytes());
            d.extend(ph);
        }
        d
    }

    #[test]
    fn static_and_dynamic_elf() {
        // PT_LOAD, PT_DYNAMIC, PT_GNU_STACK: static-pie.
        assert!(is_static_elf(&elf(&[1, 2, 0x6474_e551])).unwrap());
        // PT_PHDR, PT_INTERP, PT_LOAD: dynamic.
        assert!(!is_static_elf(&elf(&[6, 3, 1])).unwrap());
        assert!(is_static_elf(b"#!/bin/sh\n").is_err());
        let mut cut = elf(&[1, 3]);
        cut.truncate(64 + 56 + 2);
        assert!(is_static_elf(&cut).is_err());
    }

    #[test]
    fn host_programs_are_recognised() {
        // This test binary is a dynamically linked ELF on a glibc host.
        let me = std::env::current_exe().unwrap();
        assert!(!is_static_elf(&fs::read(me).unwrap()).unwrap());
        // busybox-static, which the initramfs already uses, is static.
        if let Ok(bb) = fs::read("/bin/busybox") {
            assert!(is_static_elf(&bb).unwrap());
        }
    }

    #[test]
    fn binaries_and_pack_list() {
        let names = binaries(&repo_root()).unwrap();
        assert_eq!(
            names,
            [
                "nova_svm_basic",
                "nova_svm_bench",
                "nova_svm_channel",
                "nova_svm_demo",
                "nova_svm_fuzz",
                "nova_svm_module",
                "nova_svm_negative"
            ]
        );
        let list = pack_list(&names, Path::new("/t/release"));
        assert_eq!(list[0].0, "igt/nova_svm_basic");
        assert_eq!(list[0].1, Path::new("/t/release/nova_svm_basic"));
        // igt.sh runs every test binary and no tool; each tool's own suite
        // runs it.
        let script = |s: &str| {
            fs::read_to_string(repo_root().join(format!("xtask/vm/suites/{s}.sh"))).unwrap()
        };
        let igt = script(SUITE);
        for n in &names {
            match TOOLS.iter().find(|t| t.0 == n) {
                Some((_, suite)) => {
                    assert!(!igt.contains(n.as_str()), "igt.sh runs the tool {n}");
                    assert!(
                        script(suite).contains(&format!("/igt/{n}")),
                        "{suite}.sh does not run {n}"
                    );
                }
                None => assert!(igt.contains(n.as_str()), "igt.sh does not run {n}"),
            }
        }
    }
}
