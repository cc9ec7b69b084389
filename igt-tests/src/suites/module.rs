// SPDX-License-Identifier: MIT

//! `nova_svm_module`: unloading the driver while pages are on the device.
//!
//! `modprobe -r nova_svm` must bring every page home with its data, in
//! this process and in others, whether the device or the CPU wrote it
//! last. Each subtest loads the module again afterwards, with the VRAM
//! size it had, so that later subtests find the device.
//!
//! These subtests need root and a loadable module; they skip when the
//! module is built in, `modprobe` is missing, or another process holds the
//! module.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use nova_svm_uapi::Param;

use crate::check::{check_eq, fail, skip, within, OrFail};
use crate::env::Env;
use crate::igt::{Subtest, TestResult};
use crate::mem::Mapping;
use crate::process::{self, pipe};
use crate::suites::file::{Fs, FsDir, TestFile};

/// Every subtest of `nova_svm_module`.
pub const SUBTESTS: &[Subtest] = &[
    Subtest {
        name: "module-unload",
        description: "modprobe -r with device pages (CPU- and device-written) brings them home",
        run: module_unload,
    },
    Subtest {
        name: "module-unload-other-process",
        description: "modprobe -r brings home the device pages of another process",
        run: module_unload_other_process,
    },
    Subtest {
        name: "file-unload",
        description:
            "modprobe -r brings home dirty tmpfs and ext4 file pages, mapped or only cached",
        run: file_unload,
    },
];

/// The module's name.
const MODULE: &str = "nova_svm";

fn sysfs() -> PathBuf {
    Path::new("/sys/module").join(MODULE)
}

/// How to unload and load the module again.
struct Module {
    modprobe: PathBuf,
    /// Arguments of `modprobe` that load it as it is now.
    load_args: Vec<String>,
}

fn refcnt() -> Option<u64> {
    std::fs::read_to_string(sysfs().join("refcnt"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Checks that the module can be unloaded here, and records how to load it
/// again. Opens the device once, which must be closed before unloading.
fn module() -> TestResult<Module> {
    let env = Env::open()?;
    let sim = env
        .dev
        .getparam(Param::IsSimulated)
        .or_fail("GETPARAM(IS_SIMULATED)")?;
    drop(env);
    // The module parameter, which the suite passes on: VRAM_SIZE is what is left for SVM
    // pages after the driver's own objects, less than the VRAM the module was loaded with.
    let vram_mib: u64 =
        match std::env::var("NOVA_SVM_SIM_VRAM_MIB")
            .ok()
            .map(|v| v.parse())
        {
            Some(Ok(v)) => v,
            Some(Err(_)) => return Err(fail("NOVA_SVM_SIM_VRAM_MIB is not a number")),
            None if sim == 1 => return Err(skip(
                "NOVA_SVM_SIM_VRAM_MIB does not say which sim_vram_mib to reload the module with",
            )),
            None => 0,
        };
    if !sysfs().exists() {
        return Err(skip(format!(
            "{} does not exist: the device does not come from the {MODULE} module",
            sysfs().display()
        )));
    }
    if !sysfs().join("initstate").exists() {
        return Err(skip(format!(
            "{MODULE} is built into the kernel; it cannot be unloaded"
        )));
    }
    crate::check::require_root("unloading a module")?;
    let modprobe = process::require_program("modprobe")?;
    match refcnt() {
        Some(0) => {}
        Some(n) => {
            return Err(skip(format!(
                "{MODULE} is in use by another process (refcnt {n})"
            )))
        }
        None => {
            return Err(skip(format!(
                "cannot read {}",
                sysfs().join("refcnt").display()
            )))
        }
    }
    let mut load_args = vec![MODULE.to_string()];
    if sim == 1 {
        load_args.push(format!("sim_vram_mib={vram_mib}"));
    }
    Ok(Module {
        modprobe,
        load_args,
    })
}

impl Module {
    /// `modprobe -r nova_svm`, which must succeed and remove the module.
    fn unload(&self, pages_out: u64) -> TestResult {
        let (ok, out) = process::run_program(&self.modprobe, &["-r", MODULE])?;
        if !ok {
            return Err(fail(format!(
                "modprobe -r {MODULE} with {pages_out} page(s) on the device failed \
                 (refcnt {}): {out}",
                refcnt().map_or("unknown".to_string(), |n| n.to_string())
            )));
        }
        if sysfs().join("initstate").exists() {
            return Err(fail(format!(
                "modprobe -r {MODULE} succeeded, but {} is still there",
                sysfs().display()
            )));
        }
        Ok(())
    }

    /// Loads the module as it was, and checks that the device is back.
    fn reload(&self, vram_size: u64) -> TestResult {
        let args: Vec<&str> = self.load_args.iter().map(String::as_str).collect();
        let (ok, out) = process::run_program(&self.modprobe, &args)?;
        if !ok {
            return Err(fail(format!(
                "reloading with `modprobe {}` failed: {out}",
                args.join(" ")
            )));
        }
        let env = within("after reloading", Env::init())?;
        check_eq("VRAM_SIZE after reloading", env.vram_size, vram_size)?;
        // The new device works.
        let m = Mapping::anon(8 * env.page).or_fail("mmap")?;
        m.fill(9);
        env.to_vram("migration after reloading", m.range(), 8)?;
        env.to_system("migration back after reloading", m.range(), 8)?;
        m.verify("CPU read after reloading", 9)
    }
}

/// Runs `after_unload` and reloads the module whatever it returned.
fn then_reload(module: &Module, vram_size: u64, after_unload: TestResult) -> TestResult {
    let reloaded = module.reload(vram_size);
    after_unload.and(reloaded)
}

fn module_unload() -> TestResult {
    let module = module()?;
    let pages = 32;
    let fill = 0x0bad_cafe;
    let (a, b, vram_size);
    {
        let env = Env::init()?;
        vram_size = env.vram_size;
        let page = env.page;
        a = Mapping::anon(pages * page).or_fail("mmap of a")?;
        b = Mapping::anon(pages * page).or_fail("mmap of b")?;
        a.fill(1);
        b.fill(2);
        env.to_vram("migration of a", a.range(), pages)?;
        env.to_vram("migration of b", b.range(), pages)?;
        // The device writes half of b in VRAM.
        env.fill("device write", &b, 0, b.len() / 2, fill)?;
        env.to_vram("migration after the device write", b.range(), 0)?;
        // The file is closed here; the pages stay on the device.
    }
    module.unload(2 * pages)?;
    let after = (|| {
        a.verify("a after unloading", 1)?;
        b.verify_u32(
            "b's device-written half after unloading",
            0,
            b.len() / 2,
            fill,
        )?;
        b.verify_range(
            "b's other half after unloading",
            b.len() / 2,
            b.len() / 2,
            2,
        )
    })();
    then_reload(&module, vram_size, after)
}

fn module_unload_other_process() -> TestResult {
    let module = module()?;
    let vram_size = Env::open()?.vram_size;
    let (mut ready_r, ready_w) = pipe().or_fail("pipe")?;
    let (go_r, mut go_w) = pipe().or_fail("pipe")?;
    let child = process::fork("child", move || {
        let (mut ready_w, mut go_r) = (ready_w, go_r);
        let m;
        {
            let env = Env::init()?;
            m = Mapping::anon(32 * env.page).or_fail("mmap")?;
            m.fill(5);
            env.to_vram("child's migration", m.range(), 32)?;
        }
        ready_w.write_all(b"r").or_fail("telling the parent")?;
        let mut b = [0u8];
        go_r.read_exact(&mut b)
            .or_fail("waiting for the parent to unload the module")?;
        m.verify("child's pages after the module was unloaded", 5)
    })?;
    let mut b = [0u8];
    let ready = ready_r
        .read_exact(&mut b)
        .or_fail("waiting for the child to migrate its pages");
    let unloaded = ready.and_then(|()| module.unload(32));
    // The child goes on either way; if the module is still loaded, it
    // merely reads its pages back.
    let told = go_w.write_all(b"g").or_fail("telling the child");
    drop(go_w);
    let child = child.wait();
    if unloaded.is_err() {
        return unloaded.and(child);
    }
    then_reload(&module, vram_size, told.and(child))
}

/// One file of `file_unload`.
struct UnloadFile {
    what: String,
    fs: Fs,
    file: TestFile,
    /// The mapping, kept through the unload, or `None` when the file's
    /// pages were only cached (unmapped) at the unload.
    map: Option<Mapping>,
}

fn file_unload() -> TestResult {
    let module = module()?;
    let dirs = FsDir::all()?;
    let pages = 32;
    let fill = 0x0bad_f11e;
    let mut files = Vec::new();
    let vram_size;
    let page;
    {
        let env = Env::init()?;
        vram_size = env.vram_size;
        page = env.page;
        let len = pages * page;
        for d in &dirs {
            for keep_mapped in [true, false] {
                let what = format!(
                    "{:?} file, {}",
                    d.fs,
                    if keep_mapped { "mapped" } else { "unmapped" }
                );
                let tag = if keep_mapped {
                    "unload-mapped"
                } else {
                    "unload-cached"
                };
                let file = TestFile::new(d, tag, len)?;
                let m = file.map_shared(len)?;
                m.fill(1);
                env.to_vram(&format!("migration of the {what}"), m.range(), pages)?;
                env.fill(&format!("device write to the {what}"), &m, 0, len / 2, fill)?;
                env.to_vram(
                    &format!("migration of the {what} after the device write"),
                    m.range(),
                    0,
                )?;
                files.push(UnloadFile {
                    what,
                    fs: d.fs,
                    file,
                    map: keep_mapped.then_some(m),
                });
            }
        }
        // The device file is closed here; the pages stay in VRAM, dirty,
        // in the page cache.
    }
    let n = files.len() as u64;
    module.unload(n * pages)?;
    let len = pages * page;
    let after = (|| {
        for f in &files {
            let what = &f.what;
            let r = f.file.read_all(len)?;
            r.verify_u32(
                &format!("pread of the {what}'s device write"),
                0,
                len / 2,
                fill,
            )?;
            r.verify_range(
                &format!("pread of the {what}'s CPU write"),
                len / 2,
                len / 2,
                1,
            )?;
            if let Some(m) = &f.map {
                m.verify_u32(
                    &format!("CPU read of the {what}'s device write"),
                    0,
                    len / 2,
                    fill,
                )?;
                m.verify_range(
                    &format!("CPU read of the {what}'s CPU write"),
                    len / 2,
                    len / 2,
                    1,
                )?;
            }
            if f.fs == Fs::Ext4 && f.map.is_none() {
                // The data reaches the disk: written back, dropped from the
                // cache, read from the disk.
                f.file.fsync()?;
                f.file.drop_cache()?;
                check_eq(
                    &format!("pages of the {what} cached after fsync and POSIX_FADV_DONTNEED"),
                    f.file.cached_pages(len)?,
                    0,
                )?;
                let d = f.file.read_direct(len)?;
                d.verify_u32(
                    &format!("O_DIRECT read of the {what}'s device write"),
                    0,
                    len / 2,
                    fill,
                )?;
                d.verify_range(
                    &format!("O_DIRECT read of the {what}'s CPU write"),
                    len / 2,
                    len / 2,
                    1,
                )?;
            }
        }
        Ok(())
    })();
    then_reload(&module, vram_size, after)
}
