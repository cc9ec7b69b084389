//! `cargo xtask setup`: installs the toolchain and downloads the Debian
//! source packages, through a private apt configuration that leaves the
//! machine's own sources alone.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bail;
use crate::util::{self, cache_dir, note, output, run, step, Context, Result};

/// Debian packages from the machine's own sources.
pub const PACKAGES: &[&str] = &[
    "clang-19",
    "lld-19",
    "llvm-19",
    "libclang-19-dev",
    "qemu-system-x86",
    "busybox-static",
    "flex",
    "bison",
    "bc",
    "libelf-dev",
    "libssl-dev",
    "cpio",
    "rsync",
    "e2fsprogs", // mkfs.ext4, for the VM's ext4 disk (vm::EXT4)
    "xfsprogs",  // mkfs.xfs, for the VM's xfs disk (vm::XFS)
    "gcc",
    "make",
    "xz-utils",
    "kmod",
];

/// Debian packages that setup installs when it can, and whose absence only
/// leaves something out: `stress-ng`, for the memory-pressure subtest
/// (`nova_svm_basic.file-random-stress`, which skips without it;
/// [`crate::stressng`] packs it into the VM).
pub const OPTIONAL_PACKAGES: &[&str] = &[crate::stressng::PACKAGE];

/// The kernel source package and the version the series is written for.
pub const KERNEL_PACKAGE: &str = "linux-source-7.3";
pub const KERNEL_VERSION: &str = "7.3.4-1~bpo13+1";
/// The registry that carries `linux-source-7.3` and `rust-src`.
const BACKPORTS: &str = "deb http://deb.debian.org/debian trixie-backports main";
pub const BINDGEN_VERSION: &str = "0.71.1";
pub const LLVM_BIN: &str = "/usr/lib/llvm-19/bin";

/// Where setup puts what it downloads.
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn new() -> Self {
        Layout { root: cache_dir() }
    }
    fn apt(&self) -> PathBuf {
        self.root.join("apt")
    }
    fn downloads(&self) -> PathBuf {
        self.root.join("downloads")
    }
    /// The kernel tarball, once verified.
    pub fn kernel_tarball(&self) -> PathBuf {
        self.root.join("src").join("linux-source-7.3.tar.xz")
    }
    /// Records which package version the tarball came from.
    pub fn kernel_stamp(&self) -> PathBuf {
        self.root.join("src").join("linux-source.version")
    }
    /// `RUST_LIB_SRC` for the kernel build.
    pub fn rust_lib_src(&self) -> Result<PathBuf> {
        let ver = rustc_version()?;
        Ok(self
            .root
            .join("rust-src")
            .join(&ver)
            .join(format!("usr/src/rustc-{ver}/library")))
    }
}

/// `rustc --version` as `1.95.0`.
pub fn rustc_version() -> Result<String> {
    let out = output(Command::new("rustc").arg("--version"))
        .context(|| "rustc is needed (the machine's toolchain)".to_string())?;
    parse_rustc_version(&out)
}

fn parse_rustc_version(out: &str) -> Result<String> {
    match out.split_whitespace().nth(1) {
        Some(v) if v.chars().next().is_some_and(|c| c.is_ascii_digit()) => {
            Ok(v.split('-').next().unwrap_or(v).to_string())
        }
        _ => bail!("cannot read the rustc version from `{}`", out.trim()),
    }
}

/// Picks the newest `rust-src` whose upstream version equals rustc's.
/// `available` is in apt's order (newest first).
pub fn pick_rust_src(rustc: &str, available: &[String]) -> Option<String> {
    let prefix = format!("{rustc}+");
    available
        .iter()
        .find(|v| v.starts_with(&prefix) || v.as_str() == rustc)
        .cloned()
}

/// Picks the kernel package version: the pinned one if the registry still
/// has it, or else the newest 7.3.x (the caller warns).
pub fn pick_kernel(available: &[String]) -> Option<(String, bool)> {
    if available.iter().any(|v| v == KERNEL_VERSION) {
        return Some((KERNEL_VERSION.to_string(), true));
    }
    available
        .iter()
        .find(|v| v.starts_with("7.3."))
        .map(|v| (v.clone(), false))
}

/// A recorded checksum from `xtask/sources.lock`.
#[derive(Debug, PartialEq, Eq)]
pub struct Locked {
    pub kind: String,
    pub package: String,
    pub version: String,
    pub sha256: String,
}

/// Parses `sources.lock`.
pub fn parse_lock(text: &str) -> Result<Vec<Locked>> {
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() != 4 || f[3].len() != 64 {
            bail!(
                "sources.lock line {}: expected `kind package version sha256`",
                i + 1
            );
        }
        out.push(Locked {
            kind: f[0].into(),
            package: f[1].into(),
            version: f[2].into(),
            sha256: f[3].into(),
        });
    }
    Ok(out)
}

fn lock() -> Result<Vec<Locked>> {
    let p = util::repo_root().join("xtask/sources.lock");
    parse_lock(&fs::read_to_string(&p).context(|| format!("cannot read {}", p.display()))?)
}

fn sha256(path: &Path) -> Result<String> {
    let out = output(Command::new("sha256sum").arg(path))?;
    match out.split_whitespace().next() {
        Some(h) if h.len() == 64 => Ok(h.to_string()),
        _ => bail!("unexpected sha256sum output for {}", path.display()),
    }
}

/// Checks a file against the lock. Unknown versions pass with a warning.
fn verify(path: &Path, kind: &str, package: &str, version: &str) -> Result<()> {
    let got = sha256(path)?;
    match lock()?
        .into_iter()
        .find(|l| l.kind == kind && l.package == package && l.version == version)
    {
        Some(l) if l.sha256 == got => {
            note(&format!(
                "verified {kind} {package} {version} (sha256 {})",
                &got[..16]
            ));
            Ok(())
        }
        Some(l) => bail!(
            "checksum mismatch for {kind} {package} {version}: {} has sha256 {got}, \
             xtask/sources.lock records {}. Delete the file and run `cargo xtask setup` again; \
             if it persists the registry content changed.",
            path.display(),
            l.sha256
        ),
        None => {
            println!(
                "warning: no recorded checksum for {kind} {package} {version}; add this line to xtask/sources.lock:\n\
                 {kind:<10} {package:<17} {version:<25} {got}"
            );
            Ok(())
        }
    }
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_ok_and(|s| s.trim() == "0")
}

fn privileged(args: &[&str]) -> Command {
    let mut c = if is_root() {
        Command::new(args[0])
    } else {
        let mut c = Command::new("sudo");
        c.arg(args[0]);
        c
    };
    c.args(&args[1..]);
    c.env("DEBIAN_FRONTEND", "noninteractive");
    c
}

/// The packages of `list` that are not installed yet.
fn missing_of(list: &[&'static str]) -> Vec<&'static str> {
    list.iter()
        .copied()
        .filter(|p| {
            output(Command::new("dpkg-query").args(["-W", "-f=${db:Status-Abbrev}", p]))
                .map_or(true, |s| !s.starts_with("ii"))
        })
        .collect()
}

/// The machine packages that are not installed yet.
fn missing_packages() -> Vec<&'static str> {
    missing_of(PACKAGES)
}

/// Installs [`OPTIONAL_PACKAGES`] that are missing; a failure is a note,
/// not an error. Returns whether it installed anything.
fn install_optional(updated: bool) -> bool {
    let missing = missing_of(OPTIONAL_PACKAGES);
    if missing.is_empty() {
        note(&format!(
            "optional Debian packages: all present ({})",
            OPTIONAL_PACKAGES.join(" ")
        ));
        return false;
    }
    note(&format!(
        "installing optional Debian packages: {}",
        missing.join(" ")
    ));
    if !updated {
        if let Err(e) = run(&mut privileged(&["apt-get", "update", "-q"])) {
            note(&format!(
                "apt-get update failed ({e}); not installed: {} (the subtests that need it will skip)",
                missing.join(" ")
            ));
            return false;
        }
    }
    let mut args = vec!["apt-get", "install", "-y", "-q", "--no-install-recommends"];
    args.extend(&missing);
    let r = run(&mut privileged(&args));
    let still = missing_of(OPTIONAL_PACKAGES);
    if let Err(e) = r.as_ref().map_err(|e| e.to_string()).and_then(|()| {
        if still.is_empty() {
            Ok(())
        } else {
            Err("still missing afterwards".to_string())
        }
    }) {
        note(&format!(
            "could not install {} ({e}): the subtests that need it will skip",
            still.join(" ")
        ));
    }
    missing.len() > still.len()
}

fn install_packages() -> Result<bool> {
    let missing = missing_packages();
    if missing.is_empty() {
        note(&format!("Debian packages: all {} present", PACKAGES.len()));
        return Ok(false);
    }
    note(&format!(
        "installing Debian packages: {}",
        missing.join(" ")
    ));
    run(&mut privileged(&["apt-get", "update", "-q"]))
        .context(|| "apt-get update failed: is the Debian registry reachable?".to_string())?;
    let mut args = vec!["apt-get", "install", "-y", "-q", "--no-install-recommends"];
    args.extend(&missing);
    run(&mut privileged(&args)).context(|| {
        format!(
            "cannot install {}: check that the machine's apt sources carry them \
             (Debian bookworm has clang-19)",
            missing.join(" ")
        )
    })?;
    let still = missing_packages();
    if !still.is_empty() {
        bail!(
            "packages still missing after apt-get install: {}",
            still.join(" ")
        );
    }
    Ok(true)
}

/// A private apt configuration: its own sources, lists and archive cache.
struct PrivateApt {
    dir: PathBuf,
    updated: bool,
}

impl PrivateApt {
    fn new(dir: PathBuf) -> Result<Self> {
        for d in [
            "lists/partial",
            "archives/partial",
            "preferences.d",
            "sources.list.d",
        ] {
            fs::create_dir_all(dir.join(d))?;
        }
        fs::write(dir.join("sources.list"), format!("{BACKPORTS}\n"))?;
        let conf = format!(
            "Dir::Etc::SourceList \"{d}/sources.list\";\n\
             Dir::Etc::SourceParts \"{d}/sources.list.d\";\n\
             Dir::Etc::Preferences \"{d}/preferences\";\n\
             Dir::Etc::PreferencesParts \"{d}/preferences.d\";\n\
             Dir::State::Lists \"{d}/lists\";\n\
             Dir::Cache::Archives \"{d}/archives\";\n\
             Dir::Cache::pkgcache \"{d}/pkgcache.bin\";\n\
             Dir::Cache::srcpkgcache \"{d}/srcpkgcache.bin\";\n\
             APT::Architecture \"amd64\";\n",
            d = dir.display()
        );
        fs::write(dir.join("apt.conf"), conf)?;
        Ok(PrivateApt {
            dir,
            updated: false,
        })
    }

    fn cmd(&self, prog: &str) -> Command {
        let mut c = Command::new(prog);
        c.env("APT_CONFIG", self.dir.join("apt.conf"));
        c
    }

    fn update(&mut self) -> Result<()> {
        if self.updated {
            return Ok(());
        }
        note("apt-get update (private configuration: trixie-backports)");
        let mut c = self.cmd("apt-get");
        c.args(["update", "-q"]);
        output(&mut c).context(|| {
            "cannot reach trixie-backports (deb.debian.org) with the private apt configuration"
                .to_string()
        })?;
        self.updated = true;
        Ok(())
    }

    /// Versions of a package, newest first.
    fn versions(&mut self, package: &str) -> Result<Vec<String>> {
        self.update()?;
        let mut c = self.cmd("apt-cache");
        c.args(["madison", package]);
        let out = output(&mut c)?;
        Ok(out
            .lines()
            .filter_map(|l| l.split('|').nth(1).map(|v| v.trim().to_string()))
            .collect())
    }

    fn download(&mut self, package: &str, version: &str, into: &Path) -> Result<PathBuf> {
        self.update()?;
        fs::create_dir_all(into)?;
        let mut c = self.cmd("apt-get");
        c.current_dir(into)
            .args(["download", "-q", &format!("{package}={version}")]);
        note(&format!("downloading {package} {version}"));
        output(&mut c).context(|| format!("apt-get download {package}={version} failed"))?;
        deb_path(into, package, version)
    }
}

fn deb_path(dir: &Path, package: &str, version: &str) -> Result<PathBuf> {
    // apt escapes ':' in file names; our versions have no epoch.
    let p = dir.join(format!("{package}_{version}_all.deb"));
    if !p.exists() {
        bail!("expected {} after the download", p.display());
    }
    Ok(p)
}

fn extract(deb: &Path, into: &Path) -> Result<()> {
    let tmp = into.with_extension("partial");
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp)?;
    run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&tmp))?;
    let _ = fs::remove_dir_all(into);
    fs::rename(&tmp, into)?;
    Ok(())
}

fn kernel_source(l: &Layout, apt: &mut Option<PrivateApt>) -> Result<bool> {
    if l.kernel_tarball().exists() && l.kernel_stamp().exists() {
        note(&format!(
            "kernel source: {} {} present",
            KERNEL_PACKAGE,
            util::read_stamp(&l.kernel_stamp()).unwrap_or_default()
        ));
        return Ok(false);
    }
    let apt = apt.get_or_insert(PrivateApt::new(l.apt())?);
    let versions = apt.versions(KERNEL_PACKAGE)?;
    let Some((version, pinned)) = pick_kernel(&versions) else {
        bail!(
            "trixie-backports has no {KERNEL_PACKAGE} 7.3.x (it lists: {}); the series needs a 7.3 kernel",
            versions.join(", ")
        );
    };
    if !pinned {
        println!(
            "warning: {KERNEL_PACKAGE} {KERNEL_VERSION} is gone from the registry; using {version}. \
             The series will be applied with a 3-way merge."
        );
    }
    let deb = apt.download(KERNEL_PACKAGE, &version, &l.downloads())?;
    verify(&deb, "deb", KERNEL_PACKAGE, &version)?;
    let ex = l.downloads().join("linux-source-extract");
    extract(&deb, &ex)?;
    let tarball = ex.join("usr/src/linux-source-7.3.tar.xz");
    if !tarball.exists() {
        bail!(
            "{} does not contain usr/src/linux-source-7.3.tar.xz",
            deb.display()
        );
    }
    verify(&tarball, "tarball", KERNEL_PACKAGE, &version)?;
    fs::create_dir_all(l.kernel_tarball().parent().unwrap_or(&l.root))?;
    fs::rename(&tarball, l.kernel_tarball())?;
    fs::remove_dir_all(&ex)?;
    fs::remove_file(&deb)?;
    util::write_stamp(&l.kernel_stamp(), &version)?;
    Ok(true)
}

fn rust_src(l: &Layout, apt: &mut Option<PrivateApt>) -> Result<bool> {
    let rustc = rustc_version()?;
    let lib = l.rust_lib_src()?;
    if lib.join("core/src/lib.rs").exists() {
        note(&format!("rust-src {rustc}: present"));
        return Ok(false);
    }
    let apt = apt.get_or_insert(PrivateApt::new(l.apt())?);
    let versions = apt.versions("rust-src")?;
    let Some(version) = pick_rust_src(&rustc, &versions) else {
        bail!(
            "no rust-src package matches rustc {rustc} (trixie-backports has: {}). \
             The kernel needs the standard library source of exactly this compiler: \
             install a rustc whose version is listed.",
            versions.join(", ")
        );
    };
    let deb = apt.download("rust-src", &version, &l.downloads())?;
    verify(&deb, "deb", "rust-src", &version)?;
    extract(&deb, &l.root.join("rust-src").join(&rustc))?;
    fs::remove_file(&deb)?;
    if !lib.join("core/src/lib.rs").exists() {
        bail!(
            "rust-src {version} unpacked, but {} is missing",
            lib.display()
        );
    }
    Ok(true)
}

fn cargo_bin() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from("/root/.cargo"));
    home.join("bin")
}

/// The bindgen binary the kernel build uses.
pub fn bindgen() -> PathBuf {
    cargo_bin().join("bindgen")
}

fn bindgen_cli() -> Result<bool> {
    let have = output(Command::new(bindgen()).arg("--version")).unwrap_or_default();
    if have.split_whitespace().nth(1) == Some(BINDGEN_VERSION) {
        note(&format!("bindgen-cli {BINDGEN_VERSION}: present"));
        return Ok(false);
    }
    note(&format!(
        "cargo install bindgen-cli {BINDGEN_VERSION} (a few minutes)"
    ));
    run(Command::new("cargo")
        .args([
            "install",
            "bindgen-cli",
            "--version",
            BINDGEN_VERSION,
            "--locked",
            "--quiet",
        ])
        .env("LIBCLANG_PATH", "/usr/lib/llvm-19/lib"))
    .context(|| "cannot install bindgen-cli from crates.io".to_string())?;
    Ok(true)
}

/// Runs every setup step; returns whether anything was done.
pub fn setup() -> Result<bool> {
    step("setup: toolchain and sources");
    let l = Layout::new();
    fs::create_dir_all(&l.root).context(|| format!("cannot create {}", l.root.display()))?;
    let mut apt = None;
    let mut did = install_packages()?;
    did |= install_optional(did);
    did |= kernel_source(&l, &mut apt)?;
    did |= rust_src(&l, &mut apt)?;
    did |= bindgen_cli()?;
    if did {
        note("setup: done");
    } else {
        note("setup: nothing to do, everything is in place");
    }
    Ok(did)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn rustc_version_is_read() {
        assert_eq!(
            parse_rustc_version("rustc 1.95.0 (59807616e 2026-04-14)\n").unwrap(),
            "1.95.0"
        );
        assert_eq!(
            parse_rustc_version("rustc 1.96.0-beta.3 (x)").unwrap(),
            "1.96.0"
        );
        assert!(parse_rustc_version("garbage").is_err());
    }

    #[test]
    fn rust_src_matches_exactly() {
        let avail = v(&[
            "1.96.1+dfsg1-2~bpo13+1",
            "1.95.0+dfsg1-2~bpo13+1",
            "1.95.0+dfsg1-1~bpo13+1",
            "1.94.1+dfsg1-1~bpo13+3",
        ]);
        assert_eq!(
            pick_rust_src("1.95.0", &avail).as_deref(),
            Some("1.95.0+dfsg1-2~bpo13+1")
        );
        assert_eq!(pick_rust_src("1.95.1", &avail), None);
        assert_eq!(pick_rust_src("1.9", &avail), None);
    }

    #[test]
    fn kernel_prefers_pin_then_newest_73() {
        assert_eq!(
            pick_kernel(&v(&["7.3.9-1~bpo13+1", KERNEL_VERSION])),
            Some((KERNEL_VERSION.to_string(), true))
        );
        assert_eq!(
            pick_kernel(&v(&[
                "7.4.1-1~bpo13+1",
                "7.3.9-1~bpo13+1",
                "7.3.5-1~bpo13+1"
            ])),
            Some(("7.3.9-1~bpo13+1".to_string(), false))
        );
        assert_eq!(pick_kernel(&v(&["7.4.1-1"])), None);
    }

    #[test]
    fn lock_file_parses() {
        let l =
            parse_lock(&fs::read_to_string(util::repo_root().join("xtask/sources.lock")).unwrap())
                .unwrap();
        assert!(l
            .iter()
            .any(|x| x.kind == "tarball" && x.version == KERNEL_VERSION));
        assert!(parse_lock("deb a b c").is_err());
    }
}
