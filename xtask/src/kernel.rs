//! `cargo xtask kernel`: the kernel work tree (a git repository holding
//! v7.3.4 plus the series), the overlay of `drivers/` and `uapi/`, the
//! configuration and the out-of-tree builds.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::bail;
use crate::kconfig;
use crate::setup::{self, Layout};
use crate::util::{
    self, cache_dir, fmt_dur, hash_tree, note, output, read_stamp, repo_root, run, run_logged,
    step, write_stamp, Context, Fnv, Result,
};

/// The tag of the pristine kernel commit in the work tree.
pub const BASE: &str = "v7.3.4";
/// The branch the series is applied on.
const BRANCH: &str = "nova-svm";

/// Which kernel configuration to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Normal,
    Debug,
}

impl Flavor {
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Normal => "normal",
            Flavor::Debug => "debug",
        }
    }

    /// The config fragments merged onto `tinyconfig`, in order.
    pub fn fragments(self) -> Vec<PathBuf> {
        let dir = repo_root().join("xtask/kconfig");
        match self {
            Flavor::Normal => vec![dir.join("base.config")],
            Flavor::Debug => vec![dir.join("base.config"), dir.join("debug.config")],
        }
    }
}

/// Paths of the work tree and of one flavour's outputs.
pub struct Paths {
    pub tree: PathBuf,
    pub build: PathBuf,
    pub stage: PathBuf,
    pub logs: PathBuf,
}

impl Paths {
    pub fn new(flavor: Flavor) -> Self {
        let c = cache_dir();
        Paths {
            tree: c.join("linux"),
            build: c.join("build").join(flavor.name()),
            stage: c.join("stage").join(flavor.name()),
            logs: c.join("logs"),
        }
    }

    pub fn bzimage(&self) -> PathBuf {
        self.stage.join("bzImage")
    }

    pub fn modules(&self) -> PathBuf {
        self.stage.join("modules")
    }

    pub fn tests(&self) -> PathBuf {
        self.stage.join("tests")
    }
}

pub fn git(tree: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(tree)
        .env("GIT_AUTHOR_NAME", "nova-svm developers")
        .env("GIT_AUTHOR_EMAIL", "dev@nova-svm.invalid")
        .env("GIT_COMMITTER_NAME", "nova-svm developers")
        .env("GIT_COMMITTER_EMAIL", "dev@nova-svm.invalid");
    c
}

pub fn git_out(tree: &Path, args: &[&str]) -> Result<String> {
    output(git(tree).args(args)).map(|s| s.trim().to_string())
}

/// The environment every kernel `make` runs with.
pub fn make(tree: &Path, build: &Path) -> Result<Command> {
    let layout = Layout::new();
    let path = std::env::var("PATH").unwrap_or_default();
    let bindgen_dir = setup::bindgen()
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut c = Command::new("make");
    c.current_dir(tree)
        .env("PATH", format!("{}:{bindgen_dir}:{path}", setup::LLVM_BIN))
        .env("RUST_LIB_SRC", layout.rust_lib_src()?)
        .arg(format!("O={}", build.display()))
        .arg("LLVM=1");
    Ok(c)
}

/// Unpacks the kernel tarball as a git repository with one commit, once.
fn unpack(p: &Paths) -> Result<()> {
    if p.tree.join(".git").exists()
        && git_out(
            &p.tree,
            &["rev-parse", "--verify", "-q", &format!("refs/tags/{BASE}")],
        )
        .is_ok()
    {
        return Ok(());
    }
    let layout = Layout::new();
    let tarball = layout.kernel_tarball();
    if !tarball.exists() {
        bail!(
            "the kernel source is not downloaded ({} is missing): run `cargo xtask setup`",
            tarball.display()
        );
    }
    let pkg_version = read_stamp(&layout.kernel_stamp()).unwrap_or_default();
    step(&format!(
        "unpacking linux-source-7.3 {pkg_version} into {}",
        p.tree.display()
    ));
    let partial = p.tree.with_extension("partial");
    let _ = fs::remove_dir_all(&partial);
    fs::create_dir_all(&partial)?;
    let t = Instant::now();
    run(Command::new("tar")
        .arg("-xf")
        .arg(&tarball)
        .arg("--strip-components=1")
        .arg("-C")
        .arg(&partial))?;
    note(&format!("tar: {}", fmt_dur(t.elapsed())));
    let version = makefile_version(&fs::read_to_string(partial.join("Makefile"))?)?;
    let want = pkg_version.split('-').next().unwrap_or("");
    if version != want {
        bail!("the tarball holds Linux {version}, but the package version is {pkg_version}");
    }
    if version != "7.3.4" {
        println!("warning: the work tree is Linux {version}, not 7.3.4; the series is applied with a 3-way merge");
    }
    drop_debian_ignore(&partial.join(".gitignore"))?;
    note("creating the git repository (one commit, about a minute)");
    run(git(&partial).args(["init", "-q", "-b", BRANCH]))?;
    run(git(&partial).args(["config", "core.autocrlf", "false"]))?;
    run(git(&partial).args(["config", "gc.auto", "0"]))?;
    run(git(&partial).args(["add", "-A"]))?;
    run(git(&partial).args([
        "commit",
        "-q",
        "-m",
        &format!("Linux {version}\n\nDebian linux-source-7.3 {pkg_version}."),
    ]))?;
    run(git(&partial).args(["tag", BASE]))?;
    let _ = fs::remove_dir_all(&p.tree);
    fs::rename(&partial, &p.tree)?;
    note(&format!("work tree ready in {}", fmt_dur(t.elapsed())));
    Ok(())
}

/// Debian's tarball appends a block to `.gitignore` that ignores every
/// top-level path; without it removed, the work tree would track nothing.
fn drop_debian_ignore(path: &Path) -> Result<()> {
    let text = fs::read_to_string(path)?;
    if let Some(i) = text.find("#\n# Debian packaging") {
        fs::write(path, &text[..i])?;
    }
    Ok(())
}

/// Reads `VERSION.PATCHLEVEL.SUBLEVEL` from the top Makefile.
pub fn makefile_version(makefile: &str) -> Result<String> {
    let get = |key: &str| -> Option<String> {
        makefile.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    match (get("VERSION"), get("PATCHLEVEL"), get("SUBLEVEL")) {
        (Some(a), Some(b), Some(c)) => Ok(format!("{a}.{b}.{c}")),
        _ => bail!("the kernel Makefile has no VERSION/PATCHLEVEL/SUBLEVEL"),
    }
}

/// The patches named by `mm-patches/series`, in order.
pub fn series() -> Result<Vec<PathBuf>> {
    let dir = repo_root().join("mm-patches");
    let text = fs::read_to_string(dir.join("series")).unwrap_or_default();
    let mut out = Vec::new();
    for l in text.lines() {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let p = dir.join(l);
        if !p.exists() {
            bail!("mm-patches/series names {l}, which does not exist");
        }
        out.push(p);
    }
    Ok(out)
}

fn series_hash(patches: &[PathBuf]) -> Result<String> {
    let mut h = Fnv::default();
    for p in patches {
        h.chunk(&fs::read(p)?);
    }
    Ok(h.hex())
}

fn series_stamp(p: &Paths) -> PathBuf {
    p.tree.join(".git/nova-svm-series")
}

/// Records that the work tree's HEAD holds the series with this hash.
pub fn record_series(p: &Paths, hash: &str) -> Result<()> {
    let head = git_out(&p.tree, &["rev-parse", "HEAD"])?;
    write_stamp(&series_stamp(p), &format!("{hash} {head}"))
}

/// Explains a failed `git am`: which patch, which files.
pub fn am_failure(patch_names: &[String], log: &str) -> String {
    let mut msg = String::new();
    let failed = log
        .lines()
        .find_map(|l| l.strip_prefix("Patch failed at "))
        .map(str::trim);
    if let Some(f) = failed {
        let num = f.split_whitespace().next().unwrap_or("");
        let file = patch_names
            .iter()
            .find(|n| n.starts_with(num))
            .cloned()
            .unwrap_or_else(|| f.to_string());
        msg.push_str(&format!("patch {file} does not apply ({f})\n"));
    } else {
        msg.push_str("git am failed\n");
    }
    let mut files: Vec<String> = Vec::new();
    for l in log.lines() {
        let file = if let Some(r) = l.strip_prefix("error: patch failed: ") {
            Some(r.rsplit_once(':').map_or(r, |x| x.0).to_string())
        } else if let Some(r) = l.strip_prefix("CONFLICT (content): Merge conflict in ") {
            Some(r.trim().to_string())
        } else if let Some(r) = l.strip_prefix("error: ") {
            r.strip_suffix(": does not exist in index")
                .or_else(|| r.strip_suffix(": already exists in index"))
                .or_else(|| r.strip_suffix(": patch does not apply"))
                .map(str::to_string)
        } else {
            None
        };
        if let Some(f) = file {
            if !files.contains(&f) {
                files.push(f);
            }
        }
    }
    if !files.is_empty() {
        msg.push_str(&format!(
            "  files that do not apply: {}\n",
            files.join(", ")
        ));
    }
    msg.push_str(
        "  Rebase the patch onto v7.3.4 in the work tree and run `cargo xtask patches export`.",
    );
    msg
}

/// Brings the work tree to v7.3.4 plus the series, unless it already is.
fn apply_series(p: &Paths, reset: bool) -> Result<()> {
    let patches = series()?;
    let hash = series_hash(&patches)?;
    let stamp = read_stamp(&series_stamp(p));
    let applied = stamp.as_deref().and_then(|s| s.split_once(' '));
    if applied.is_some_and(|(h, _)| h == hash) && !reset {
        note(&format!(
            "series: {} patch(es) applied, up to date",
            patches.len()
        ));
        return Ok(());
    }
    // Re-applying resets the branch: only allowed when it holds nothing
    // but the last applied series (or the bare base).
    let head = git_out(&p.tree, &["rev-parse", "HEAD"])?;
    let expected = match applied {
        Some((_, at)) => at.to_string(),
        None => git_out(&p.tree, &["rev-parse", &format!("{BASE}^{{commit}}")])?,
    };
    let dirty = git_out(&p.tree, &["status", "--porcelain", "--untracked-files=no"])?;
    if !reset && (head != expected || !dirty.is_empty()) {
        bail!(
            "mm-patches/ changed, but the kernel work tree {} has commits or edits that are not \
             in mm-patches/ (HEAD {}, expected {}).\n  Export them with \
             `cargo xtask patches export`, or drop them with `cargo xtask kernel --reset`.",
            p.tree.display(),
            &head[..12.min(head.len())],
            &expected[..12.min(expected.len())]
        );
    }
    let _ = fs::remove_file(series_stamp(p));
    step(&format!(
        "applying mm-patches/ ({} patch(es)) with git am",
        patches.len()
    ));
    let _ = git(&p.tree).args(["am", "--abort"]).output();
    run(git(&p.tree).args(["checkout", "-q", "-B", BRANCH, BASE]))?;
    run(git(&p.tree).args(["reset", "-q", "--hard", BASE]))?;
    if !patches.is_empty() {
        let out = git(&p.tree)
            .args(["am", "-q", "--3way", "--keep-cr"])
            .args(&patches)
            .output()?;
        if !out.status.success() {
            let log = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            let _ = git(&p.tree).args(["am", "--abort"]).output();
            let names: Vec<String> = patches
                .iter()
                .filter_map(|x| x.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect();
            bail!(
                "{}\n--- git am said:\n{}",
                am_failure(&names, &log),
                util::tail(&log, 20)
            );
        }
    }
    record_series(p, &hash)?;
    Ok(())
}

fn overlay_manifest(p: &Paths) -> PathBuf {
    p.tree.join(".git/nova-svm-overlay")
}

/// Copies `drivers/` and `uapi/include/` into the work tree. Only files
/// whose content differs are written, so make rebuilds only what changed;
/// files dropped from the repository since the last overlay are removed.
fn overlay(p: &Paths) -> Result<usize> {
    let (written, listed) = overlay_into(&p.tree, &overlay_manifest(p))?;
    // Overlaid files are not part of the series: keep them out of `git add`.
    let mut exclude =
        String::from("# written by cargo xtask: overlaid from the nova-svm repository\n");
    for l in &listed {
        exclude.push('/');
        exclude.push_str(l);
        exclude.push('\n');
    }
    fs::write(p.tree.join(".git/info/exclude"), exclude)?;
    Ok(written)
}

/// The overlay of [`overlay`] into any kernel tree, with the list of what
/// it wrote last time in `manifest`. Returns the number of files written
/// and the overlaid paths, relative to `tree`.
pub fn overlay_into(tree: &Path, manifest: &Path) -> Result<(usize, Vec<String>)> {
    let root = repo_root();
    let mut files = Vec::new();
    for (src, dst) in [("drivers", "drivers"), ("uapi/include", "include")] {
        let mut found = Vec::new();
        util::walk(&root.join(src), &mut found)?;
        for f in found {
            let rel = f.strip_prefix(root.join(src)).unwrap_or(&f).to_path_buf();
            files.push((f, Path::new(dst).join(rel)));
        }
    }
    let mut written = 0;
    let mut listed = Vec::new();
    for (src, rel) in &files {
        let dst = tree.join(rel);
        let data = fs::read(src)?;
        if fs::read(&dst).ok().as_deref() != Some(&data[..]) {
            if let Some(d) = dst.parent() {
                fs::create_dir_all(d)?;
            }
            fs::write(&dst, &data)?;
            written += 1;
        }
        listed.push(rel.display().to_string());
    }
    let old = fs::read_to_string(manifest).unwrap_or_default();
    for stale in old.lines().filter(|l| !listed.iter().any(|n| n == l)) {
        let _ = fs::remove_file(tree.join(stale));
    }
    listed.sort();
    fs::write(manifest, listed.join("\n"))?;
    Ok((written, listed))
}

/// Prepares the work tree: unpack, series, overlay.
pub fn prepare_tree(reset: bool) -> Result<Paths> {
    let p = Paths::new(Flavor::Normal);
    unpack(&p)?;
    apply_series(&p, reset)?;
    let n = overlay(&p)?;
    note(&format!(
        "overlay: {n} file(s) updated from drivers/ and uapi/"
    ));
    Ok(p)
}

/// Makes `p.build/.config`: `make tinyconfig`, `fragments` merged onto it,
/// `make olddefconfig`. Returns the settings that did not stick. `label`
/// names the logs (`config-<label>-<target>.log`).
pub fn make_config(p: &Paths, fragments: &[kconfig::Setting], label: &str) -> Result<Vec<String>> {
    fs::create_dir_all(&p.build)?;
    let config = p.build.join(".config");
    // One log per target: each run_logged call truncates its log.
    let config_target = |target: &str| -> Result<()> {
        run_logged(
            make(&p.tree, &p.build)?.arg(target),
            &p.logs.join(format!("config-{label}-{target}.log")),
            &format!("make {target}"),
            Duration::from_secs(30),
        )
    };
    config_target("tinyconfig")?;
    let merged = kconfig::merge(&fs::read_to_string(&config)?, fragments)?;
    fs::write(&config, merged)?;
    config_target("olddefconfig")?;
    kconfig::verify(&fs::read_to_string(&config)?, fragments)
}

fn configure(p: &Paths, flavor: Flavor) -> Result<()> {
    let mut h = Fnv::default();
    let mut fragments = Vec::new();
    for f in flavor.fragments() {
        let text = fs::read_to_string(&f).context(|| format!("cannot read {}", f.display()))?;
        h.chunk(text.as_bytes());
        fragments.extend(kconfig::parse_fragment(&text).context(|| format!("{}", f.display()))?);
    }
    // Kconfig files come from the series and the overlay.
    h.chunk(git_out(&p.tree, &["rev-parse", "HEAD"])?.as_bytes());
    let mut kconfigs = Vec::new();
    util::walk(&repo_root().join("drivers"), &mut kconfigs)?;
    for k in kconfigs.iter().filter(|k| k.ends_with("Kconfig")) {
        h.chunk(&fs::read(k)?);
    }
    let stamp = p.build.join(".nova-svm-config");
    let config = p.build.join(".config");
    if config.exists() && read_stamp(&stamp).as_deref() == Some(&h.hex()) {
        return Ok(());
    }
    step(&format!(
        "configuring the {} kernel (tinyconfig + fragments)",
        flavor.name()
    ));
    let missing = make_config(p, &fragments, flavor.name())?;
    if !missing.is_empty() {
        bail!(
            "the {} configuration lost options from the fragments (unmet dependencies?):\n  {}\n  \
             Add the dependencies to xtask/kconfig/, or check `make menuconfig O={}`.",
            flavor.name(),
            missing.join("\n  "),
            p.build.display()
        );
    }
    write_stamp(&stamp, &h.hex())
}

/// Everything a build depends on, for the up-to-date check.
fn fingerprint(p: &Paths) -> Result<String> {
    let mut h = Fnv::default();
    h.chunk(git_out(&p.tree, &["rev-parse", "HEAD"])?.as_bytes());
    h.chunk(git_out(&p.tree, &["status", "--porcelain"])?.as_bytes());
    h.chunk(output(git(&p.tree).args(["diff", "HEAD"]))?.as_bytes());
    h.chunk(
        read_stamp(&p.build.join(".nova-svm-config"))
            .unwrap_or_default()
            .as_bytes(),
    );
    let root = repo_root();
    for d in ["drivers", "uapi", "xtask/kconfig"] {
        hash_tree(&mut h, &root.join(d))?;
    }
    h.chunk(&fs::read(root.join("xtask/src/kernel.rs")).unwrap_or_default());
    Ok(h.hex())
}

/// Builds bzImage and the modules (log in `log`, progress as `label`),
/// then stages them in `p.stage` with the uapi headers, hmm-tests and
/// the other mm selftests.
/// `name` names the install log (`install-<name>.log`).
pub fn make_and_stage(p: &Paths, label: &str, log: &Path, name: &str) -> Result<()> {
    run_logged(
        make(&p.tree, &p.build)?
            .arg(format!("-j{}", util::jobs()))
            .args(["bzImage", "modules"]),
        log,
        label,
        Duration::from_secs(20),
    )
    .map_err(|e| util::Error(format!("{e}\n(build log: {})", log.display())))?;
    let _ = fs::remove_dir_all(&p.stage);
    fs::create_dir_all(p.tests())?;
    run_logged(
        make(&p.tree, &p.build)?
            .arg("modules_install")
            .arg(format!("INSTALL_MOD_PATH={}", p.modules().display()))
            .arg("INSTALL_MOD_STRIP=1")
            .arg("headers_install"),
        &p.logs.join(format!("install-{name}.log")),
        "modules_install + headers_install",
        Duration::from_secs(20),
    )?;
    fs::copy(p.build.join("arch/x86/boot/bzImage"), p.bzimage())?;
    build_selftests(p)
}

/// Builds the kernel, modules and test binaries of one flavour.
pub fn build(flavor: Flavor, reset: bool) -> Result<Paths> {
    setup::setup()?;
    prepare_tree(reset)?;
    let mut p = Paths::new(flavor);
    p.tree = Paths::new(Flavor::Normal).tree;
    configure(&p, flavor)?;
    let fp = fingerprint(&p)?;
    let stamp = p.build.join(".nova-svm-built");
    if p.bzimage().exists() && read_stamp(&stamp).as_deref() == Some(&fp) {
        step(&format!("{} kernel: up to date", flavor.name()));
        return Ok(p);
    }
    step(&format!(
        "building the {} kernel (make LLVM=1 -j{}; a cold build takes several minutes)",
        flavor.name(),
        util::jobs()
    ));
    let log = p.logs.join(format!("build-{}.log", flavor.name()));
    make_and_stage(
        &p,
        &format!("kernel build ({})", flavor.name()),
        &log,
        flavor.name(),
    )?;
    write_stamp(&stamp, &fp)?;
    Ok(p)
}

/// The upstream mm selftests that the VM runs besides `hmm-tests`: the
/// splits of anonymous, shmem and page cache THPs, and a split racing with
/// faults. The series changes how migration splits and collects large
/// folios, next to these paths.
const MM_SELFTESTS: &[&str] = &["split_huge_page_test", "folio_split_race_test"];

/// Builds the upstream `hmm-tests` and [`MM_SELFTESTS`] statically against
/// this tree's headers.
fn build_selftests(p: &Paths) -> Result<()> {
    let mm = p.tree.join("tools/testing/selftests/mm");
    for test in std::iter::once("hmm-tests").chain(MM_SELFTESTS.iter().copied()) {
        let log = p.logs.join(format!("selftest-{test}.log"));
        run_logged(
            Command::new("gcc")
                .current_dir(&mm)
                .args(["-static", "-O2", "-Wall", "-U_FORTIFY_SOURCE"])
                .arg(format!("-I{}", p.tree.display()))
                .arg(format!(
                    "-I{}",
                    p.tree.join("tools/testing/selftests").display()
                ))
                .arg("-isystem")
                .arg(p.build.join("usr/include"))
                .arg("-isystem")
                .arg(p.tree.join("tools/include/uapi"))
                .arg(format!("{test}.c"))
                .args([
                    "vm_util.c",
                    "hugepage_settings.c",
                    "-lrt",
                    "-lpthread",
                    "-lm",
                ])
                .arg("-o")
                .arg(p.tests().join(test)),
            &log,
            &format!("{test} (gcc -static)"),
            Duration::from_secs(20),
        )?;
    }
    Ok(())
}

/// `cargo xtask patches export`: the work tree's commits back into
/// `mm-patches/`, with the cover letter from `mm-patches/cover-letter.txt`.
pub fn export() -> Result<()> {
    let p = Paths::new(Flavor::Normal);
    if !p.tree.join(".git").exists() {
        bail!(
            "no kernel work tree at {}: run `cargo xtask kernel` first",
            p.tree.display()
        );
    }
    let dirty = git_out(&p.tree, &["status", "--porcelain", "--untracked-files=no"])?;
    if !dirty.is_empty() {
        bail!("the work tree has uncommitted changes; commit them first:\n{dirty}");
    }
    let dir = repo_root().join("mm-patches");
    fs::create_dir_all(&dir)?;
    let cover = fs::read_to_string(dir.join("cover-letter.txt")).unwrap_or_default();
    if !cover.trim().is_empty() {
        run(git(&p.tree).args([
            "config",
            &format!("branch.{BRANCH}.description"),
            cover.trim(),
        ]))?;
    }
    let count = git_out(&p.tree, &["rev-list", "--count", &format!("{BASE}..HEAD")])?;
    for e in fs::read_dir(&dir)? {
        let e = e?;
        if e.file_name().to_string_lossy().ends_with(".patch") {
            fs::remove_file(e.path())?;
        }
    }
    let mut names = Vec::new();
    if count != "0" {
        output(
            git(&p.tree)
                .args(["format-patch", "-q", "--zero-commit", "--no-signature"])
                .args(["--cover-letter", "--cover-from-description=subject"])
                .arg(format!("--base={BASE}"))
                .arg("-o")
                .arg(&dir)
                .arg(format!("{BASE}..HEAD")),
        )?;
        let mut all: Vec<String> = fs::read_dir(&dir)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".patch") && !n.starts_with("0000-"))
            .collect();
        all.sort();
        names = all;
    }
    let mut list =
        String::from("# Applied in order with `git am` on v7.3.4 by `cargo xtask kernel`.\n");
    for n in &names {
        list.push_str(n);
        list.push('\n');
    }
    fs::write(dir.join("series"), list)?;
    let hash = series_hash(&series()?)?;
    record_series(&p, &hash)?;
    step(&format!(
        "exported {} patch(es) to mm-patches/",
        names.len()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makefile_version_is_read() {
        let mk = "# SPDX\nVERSION = 7\nPATCHLEVEL = 3\nSUBLEVEL = 4\nEXTRAVERSION =\n";
        assert_eq!(makefile_version(mk).unwrap(), "7.3.4");
        assert!(makefile_version("VERSION = 7\n").is_err());
    }

    #[test]
    fn am_failure_names_patch_and_files() {
        let log = "Applying: mm: first\n\
                   Applying: mm/filemap: second\n\
                   error: patch failed: mm/filemap.c:2500\n\
                   error: mm/filemap.c: patch does not apply\n\
                   error: include/linux/memremap.h: does not exist in index\n\
                   Patch failed at 0002 mm/filemap: second\n";
        let names = vec![
            "0001-mm-first.patch".to_string(),
            "0002-mm-filemap-second.patch".to_string(),
        ];
        let m = am_failure(&names, log);
        assert!(
            m.starts_with("patch 0002-mm-filemap-second.patch does not apply"),
            "{m}"
        );
        assert!(m.contains("mm/filemap.c, include/linux/memremap.h"), "{m}");
    }

    #[test]
    fn series_file_is_consistent() {
        // Every patch named in mm-patches/series exists.
        series().unwrap();
    }
}
