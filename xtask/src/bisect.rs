//! `cargo xtask bisect-check`: every patch of the series builds and boots
//! in turn, so that a bisection through the series never lands on a
//! broken kernel.
//!
//! The check runs in its own git worktree of the kernel work tree
//! (`<cache>/bisect/linux`) with its own build directory, so the normal
//! and debug builds stay as they are. For each commit since `v7.3.4`, in
//! order, it checks the commit out, overlays `drivers/` and `uapi/`,
//! configures (tinyconfig + `xtask/kconfig/base.config`; again only where
//! a commit touches a Kconfig file), builds bzImage, the modules and
//! hmm-tests, and boots the kernel in QEMU, where the built-in KUnit
//! tests run and the ext4 and xfs disks are mounted. Any build error,
//! failed KUnit test or kernel splat stops the check and names the patch.
//!
//! The driver (drivers/gpu/drm/nova-svm) is not part of the series: it is
//! built only at the last commit, on the whole series. Before that, the
//! configuration turns it off, since it needs the abstractions of later
//! patches.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::bail;
use crate::kconfig::{self, Setting};
use crate::kernel::{self, Flavor, Paths, BASE};
use crate::util::{self, cache_dir, fmt_dur, note, run, step, Context, Result};
use crate::vm;

/// The driver's Kconfig symbol, off before the last commit.
const DRIVER: &str = "CONFIG_DRM_NOVA_SVM";

/// One commit of the series, with the patch file it was exported to.
struct Patch {
    commit: String,
    name: String,
}

/// The commits of the work tree's series, matched with `mm-patches/series`.
fn patches(tree: &Path) -> Result<Vec<Patch>> {
    let list = kernel::git_out(tree, &["rev-list", "--reverse", &format!("{BASE}..HEAD")])?;
    let commits: Vec<String> = list.lines().map(str::to_string).collect();
    let names: Vec<String> = kernel::series()?
        .iter()
        .map(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    if commits.len() != names.len() {
        bail!(
            "the work tree has {} commit(s) since {BASE} but mm-patches/series names {} patch(es): \
             run `cargo xtask kernel` (or `cargo xtask patches export` after editing the tree)",
            commits.len(),
            names.len()
        );
    }
    Ok(commits
        .into_iter()
        .zip(names)
        .map(|(commit, name)| Patch { commit, name })
        .collect())
}

/// The settings of a commit's configuration (`last`: the whole series): the normal
/// fragments, and the driver off before the last commit.
fn settings(last: bool) -> Result<Vec<Setting>> {
    let mut out = Vec::new();
    for f in Flavor::Normal.fragments() {
        let text = fs::read_to_string(&f).context(|| format!("cannot read {}", f.display()))?;
        out.extend(kconfig::parse_fragment(&text).context(|| format!("{}", f.display()))?);
    }
    if !last {
        out.retain(|s| s.name != DRIVER);
        out.push(Setting {
            name: DRIVER.to_string(),
            value: None,
        });
    }
    Ok(out)
}

/// Whether a commit changes a Kconfig file, so that the configuration
/// must be made again.
fn touches_kconfig(tree: &Path, commit: &str) -> Result<bool> {
    let files = kernel::git_out(
        tree,
        &["diff-tree", "--no-commit-id", "--name-only", "-r", commit],
    )?;
    Ok(files.lines().any(|f| {
        f.rsplit('/')
            .next()
            .is_some_and(|n| n.starts_with("Kconfig"))
    }))
}

fn configure(p: &Paths, last: bool) -> Result<()> {
    let fragments = settings(last)?;
    let missing = kernel::make_config(p, &fragments, "bisect")?;
    // Options that later patches add cannot stick earlier; on the whole
    // series every one must.
    if last && !missing.is_empty() {
        bail!(
            "the configuration of the whole series lost options:\n  {}",
            missing.join("\n  ")
        );
    }
    Ok(())
}

fn build(p: &Paths, patch: &Patch) -> Result<Duration> {
    let start = Instant::now();
    let log = p.logs.join(format!("build-{}.log", &patch.name[..4]));
    kernel::make_and_stage(p, &format!("build of {}", patch.name), &log, "bisect")
        .map_err(|e| util::Error(format!("patch {}: {e}", patch.name)))?;
    Ok(start.elapsed())
}

/// The worktree, made once from the kernel work tree.
fn worktree(main: &Path, dir: &Path) -> Result<PathBuf> {
    let wt = dir.join("linux");
    if !wt.join(".git").exists() {
        // A worktree whose directory went away is still registered.
        run(kernel::git(main).args(["worktree", "prune"]))?;
        fs::create_dir_all(dir)?;
        step(&format!("making the bisect worktree {}", wt.display()));
        run(kernel::git(main)
            .args(["worktree", "add", "-q", "--force", "--detach"])
            .arg(&wt)
            .arg(BASE))?;
    }
    Ok(wt)
}

/// `cargo xtask bisect-check [--from N] [SUITE...]`: builds and boots every
/// patch from number `from` (1-based) on; `suites` run in each boot
/// besides KUnit.
pub fn bisect_check(from: usize, suites: &[String]) -> Result<bool> {
    let suites = if suites.is_empty() {
        vec![vm::KUNIT.to_string()]
    } else {
        vm::check_suites(suites)?
    };
    let start = Instant::now();
    let main = kernel::build(Flavor::Normal, false)?.tree;
    let all = patches(&main)?;
    if from == 0 || from > all.len() {
        bail!("--from {from}: the series has patches 1 to {}", all.len());
    }
    let dir = cache_dir().join("bisect");
    let wt = worktree(&main, &dir)?;
    let p = Paths {
        tree: wt.clone(),
        build: dir.join("build"),
        stage: dir.join("stage"),
        logs: dir.join("logs"),
    };
    fs::create_dir_all(&p.logs)?;
    let n = all.len();
    let mut configured_last = None;
    let mut lines = Vec::new();
    for (i, patch) in all.iter().enumerate().skip(from - 1) {
        let last = i + 1 == n;
        step(&format!("patch {}/{n}: {}", i + 1, patch.name));
        run(kernel::git(&wt).args(["checkout", "-q", "--detach", "--force", &patch.commit]))?;
        kernel::overlay_into(&wt, &dir.join("overlay-manifest"))?;
        if configured_last != Some(last)
            || !p.build.join(".config").exists()
            || touches_kconfig(&wt, &patch.commit)?
        {
            configure(&p, last)
                .map_err(|e| util::Error(format!("patch {}: configure: {e}", patch.name)))?;
            configured_last = Some(last);
        }
        let built = build(&p, patch)?;
        let run = vm::boot_in(
            &dir.join("vm"),
            &p,
            Flavor::Normal,
            &suites,
            vm::default_timeout(Flavor::Normal),
            &[],
        )?;
        vm::print_run(&run, Flavor::Normal);
        if !run.ok() || run.suites.is_empty() {
            bail!(
                "patch {} builds but does not boot cleanly (console: {})",
                patch.name,
                run.console.display()
            );
        }
        let c = run.counts();
        let line = format!(
            "patch {:>2}/{n} {}: built in {}, booted; {} passed, {} failed, {} skipped",
            i + 1,
            patch.name,
            fmt_dur(built),
            c.passed,
            c.failed,
            c.skipped
        );
        note(&line);
        lines.push(line);
    }
    step(&format!("bisect-check ({})", fmt_dur(start.elapsed())));
    for l in &lines {
        println!("{l}");
    }
    println!(
        "{} patch(es) from {from} to {n} build and boot ({})",
        lines.len(),
        suites.join(" ")
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_driver_is_off_until_the_last_commit() {
        let early = settings(false).unwrap();
        let d: Vec<_> = early.iter().filter(|s| s.name == DRIVER).collect();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].value, None);
        let last = settings(true).unwrap();
        assert!(last.iter().any(|s| s.name == DRIVER && s.value.is_some()));
    }
}
