//! stress-ng in the VM, for `nova_svm_basic.file-random-stress`: the
//! host's `/usr/bin/stress-ng` (Debian's package, which `cargo xtask
//! setup` installs) with the shared libraries `ldd` names and the dynamic
//! loader, packed into the initramfs at the same paths. The initramfs has
//! no C library of its own, so this is the whole runtime stress-ng needs
//! (the loader finds the libraries in its built-in search path,
//! `/lib/x86_64-linux-gnu`).
//!
//! Optional: without stress-ng on the host, a note says so and the subtest
//! skips in the VM with its reason.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bail;
use crate::util::{note, output, Context, Result};

/// Where the host has stress-ng, and where it goes in the VM.
pub const PROGRAM: &str = "/usr/bin/stress-ng";
/// The Debian package.
pub const PACKAGE: &str = "stress-ng";

/// The files that `ldd` lists: each library it resolved and the loader
/// (the line with an absolute path and no `=>`). The vDSO, which has no
/// file, is left out; a library that `ldd` could not find is an error.
pub fn parse_ldd(text: &str) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let path = match line.split_once("=>") {
            Some((name, rest)) => {
                let rest = rest.trim();
                if rest.starts_with("not found") {
                    bail!("ldd: {} not found", name.trim());
                }
                // `libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x...)`;
                // an empty target (`=>  (0x...)`) is a vDSO.
                match rest.split_whitespace().next() {
                    Some(p) if p.starts_with('/') => p,
                    _ => continue,
                }
            }
            // `/lib64/ld-linux-x86-64.so.2 (0x...)` or
            // `linux-vdso.so.1 (0x...)`.
            None => match line.split_whitespace().next() {
                Some(p) if p.starts_with('/') => p,
                _ => {
                    if line.contains("statically linked") || line.contains("not a dynamic") {
                        return Ok(Vec::new());
                    }
                    continue;
                }
            },
        };
        let p = PathBuf::from(path);
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// The initramfs entries for a program at `program` (packed at the same
/// path) and the files `ldd_text` lists (each at the path ldd gives, its
/// content read through symbolic links).
pub fn entries(program: &Path, ldd_text: &str) -> Result<Vec<(String, PathBuf)>> {
    let mut v = vec![(archive_path(program), program.to_path_buf())];
    for lib in parse_ldd(ldd_text)? {
        v.push((archive_path(&lib), lib));
    }
    Ok(v)
}

fn archive_path(p: &Path) -> String {
    p.to_string_lossy().trim_start_matches('/').to_string()
}

/// The host's stress-ng and its runtime, or nothing (with a note) when the
/// host has no stress-ng.
pub fn initramfs_entries() -> Result<Vec<(String, PathBuf)>> {
    let program = Path::new(PROGRAM);
    if !program.is_file() {
        note(&format!(
            "{PROGRAM} is not installed on this host: the VM gets no stress-ng, and \
             nova_svm_basic.file-random-stress will skip (`cargo xtask setup` installs \
             Debian's {PACKAGE})"
        ));
        return Ok(Vec::new());
    }
    let text = output(Command::new("ldd").arg(program))
        .context(|| format!("ldd {PROGRAM} failed (stress-ng for the VM)"))?;
    let v = entries(program, &text).context(|| format!("the libraries of {PROGRAM}"))?;
    for (_, host) in &v {
        if !host.is_file() {
            bail!(
                "{} (which {PROGRAM} needs) is not a file on this host",
                host.display()
            );
        }
    }
    note(&format!(
        "stress-ng for the VM: {PROGRAM} and {} shared object(s) from ldd",
        v.len() - 1
    ));
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ldd /usr/bin/stress-ng` on Debian bookworm (shortened).
    const BOOKWORM: &str = "\tlinux-vdso.so.1 (0x00007fedfe3df000)
\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007fedfd1a7000)
\tlibEGL.so.1 => /lib/x86_64-linux-gnu/libEGL.so.1 (0x00007fedfd191000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007fedfc21e000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007fedfe3e1000)
\tlibGLdispatch.so.0 => /lib/x86_64-linux-gnu/libGLdispatch.so.0 (0x00007fedfc0d2000)
\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007fedfd1a7000)
";

    #[test]
    fn ldd_output_is_parsed() {
        let v = parse_ldd(BOOKWORM).unwrap();
        let v: Vec<&str> = v.iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(
            v,
            [
                "/lib/x86_64-linux-gnu/libm.so.6",
                "/lib/x86_64-linux-gnu/libEGL.so.1",
                "/lib/x86_64-linux-gnu/libc.so.6",
                "/lib64/ld-linux-x86-64.so.2",
                "/lib/x86_64-linux-gnu/libGLdispatch.so.0",
            ]
        );
        // Older ldd prints the vDSO with an empty target.
        assert!(parse_ldd("\tlinux-gate.so.1 =>  (0x00007ffd)\n")
            .unwrap()
            .is_empty());
        assert!(parse_ldd("\tstatically linked\n").unwrap().is_empty());
        assert!(parse_ldd("\tnot a dynamic executable\n")
            .unwrap()
            .is_empty());
        let missing = parse_ldd("\tlibJudy.so.1 => not found\n").unwrap_err();
        assert!(missing.0.contains("libJudy.so.1"), "{}", missing.0);
    }

    #[test]
    fn entries_keep_the_host_paths() {
        let e = entries(Path::new(PROGRAM), BOOKWORM).unwrap();
        assert_eq!(
            e[0],
            ("usr/bin/stress-ng".to_string(), PathBuf::from(PROGRAM))
        );
        assert!(e.contains(&(
            "lib64/ld-linux-x86-64.so.2".to_string(),
            PathBuf::from("/lib64/ld-linux-x86-64.so.2")
        )));
        assert_eq!(e.len(), 6);
    }

    #[test]
    fn this_hosts_stress_ng_is_packable() {
        if !Path::new(PROGRAM).is_file() {
            return; // Not installed here.
        }
        let v = initramfs_entries().unwrap();
        assert!(v.iter().any(|(a, _)| a == "usr/bin/stress-ng"));
        assert!(v.iter().any(|(a, _)| a.contains("ld-linux")), "{v:?}");
        assert!(v.iter().any(|(a, _)| a.ends_with("/libc.so.6")), "{v:?}");
    }
}
