// SPDX-License-Identifier: MIT

//! `nova_svm_basic`: SVM memory moving between system memory and VRAM, with
//! its data checked word by word.
//!
//! The subtests follow Intel's `xe_exec_system_allocator` where it applies
//! to a device without shaders: the memory kinds (malloc, anonymous and
//! shared mmap, huge pages, file-backed private), fork, threads, several
//! processes, munmap and mremap of migrated memory, and eviction; and
//! tmpfs and ext4 files in the page cache ([`crate::suites::file`]). The
//! device's side is the copy engine (DEVICE_COPY): it reads VRAM into
//! system memory to check what migration put there, and writes VRAM to
//! check that the CPU sees what the device wrote.
//!
//! SVM_BIND's `result` is checked exactly where the header makes it
//! exact: private pages that this process populated and nobody else
//! touches move all at once, and pages already at the target do not count.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use nova_svm_uapi::{BindTarget, DeviceCopy, GetParam, Param, DRIVER_NAME};

use crate::check::{check_eq, expect_errno, fail, skip, within, OrFail, OrSkip};
use crate::env::Env;
use crate::igt::{Subtest, TestResult};
use crate::mem::{anon_huge_kb, pattern, round_down, round_up, MallocBuf, Mapping, Region};
use crate::suites::file;
use crate::{check, process};

/// Every subtest of `nova_svm_basic`.
pub const SUBTESTS: &[Subtest] = &[
    Subtest {
        name: "getparam",
        description: "device parameters are consistent; the driver name is nova-svm",
        run: getparam,
    },
    Subtest {
        name: "malloc",
        description: "malloc'd buffers (heap and mmap'd) round-trip through VRAM",
        run: malloc,
    },
    Subtest {
        name: "malloc-free-reuse",
        description: "memory freed while in VRAM is reused by the next malloc",
        run: malloc_free_reuse,
    },
    Subtest {
        name: "mmap-anon",
        description: "private anonymous mmap round-trips through VRAM",
        run: mmap_anon,
    },
    Subtest {
        name: "mmap-shared",
        description: "MAP_SHARED|MAP_ANONYMOUS memory round-trips and stays shared",
        run: mmap_shared,
    },
    Subtest {
        name: "mmap-huge",
        description: "2 MiB aligned MADV_HUGEPAGE memory round-trips through VRAM",
        run: mmap_huge,
    },
    Subtest {
        name: "mmap-unpopulated",
        description: "untouched pages get zeroed VRAM; PROT_NONE is skipped but comes home",
        run: mmap_unpopulated,
    },
    Subtest {
        name: "mmap-file-tmpfs",
        description: "a MAP_SHARED tmpfs file moves to VRAM; device writes reach the CPU and pread",
        run: file::mmap_file_tmpfs,
    },
    Subtest {
        name: "mmap-file-ext4",
        description: "a MAP_SHARED ext4 file moves to VRAM; device writes reach the CPU and pread",
        run: file::mmap_file_ext4,
    },
    Subtest {
        name: "mmap-file-xfs",
        description: "a MAP_SHARED xfs file (large folios) moves to VRAM; device writes reach the CPU and pread",
        run: file::mmap_file_xfs,
    },
    Subtest {
        name: "mmap-file-private",
        description:
            "private file pages move read-only; writes copy on write; the file is unchanged",
        run: file::mmap_file_private,
    },
    Subtest {
        name: "mmap-mlock",
        description: "mlocked memory keeps its data across migration",
        run: mmap_mlock,
    },
    Subtest {
        name: "fork",
        description: "a child reads pages the parent migrated; its writes stay its own",
        run: fork,
    },
    Subtest {
        name: "fork-child-exit",
        description: "a child that exits leaves the parent's device pages intact",
        run: fork_child_exit,
    },
    Subtest {
        name: "threads-same-page",
        description: "threads migrate and touch the same pages at once",
        run: threads_same_page,
    },
    Subtest {
        name: "threads-different-pages",
        description: "threads migrate their own pages through one file",
        run: threads_different_pages,
    },
    Subtest {
        name: "threads-own-fd",
        description: "threads with a file and SVM context each, on one address space",
        run: threads_own_fd,
    },
    Subtest {
        name: "processes",
        description: "several processes, each with its own file, migrate at once",
        run: processes,
    },
    Subtest {
        name: "munmap-partial",
        description: "unmapping part of a migrated range frees those pages only",
        run: munmap_partial,
    },
    Subtest {
        name: "munmap-race",
        description: "munmap of a range while another thread migrates it",
        run: munmap_race,
    },
    Subtest {
        name: "mremap",
        description: "mremap moves, grows and shrinks migrated memory",
        run: mremap,
    },
    Subtest {
        name: "mremap-dontunmap",
        description: "MREMAP_DONTUNMAP moves device pages and leaves the old range empty",
        run: mremap_dontunmap,
    },
    Subtest {
        name: "evict",
        description: "a working set larger than VRAM: residency never exceeds VRAM, data intact",
        run: evict,
    },
    Subtest {
        name: "device-fill-vram",
        description: "the device fills VRAM-resident pages; the CPU reads the fill",
        run: device_fill_vram,
    },
    Subtest {
        name: "device-fill-system",
        description: "the device fills unpopulated and system pages without moving them",
        run: device_fill_system,
    },
    Subtest {
        name: "device-fill-cow",
        description: "a device fill of copy-on-write pages in a child leaves the parent's",
        run: device_fill_cow,
    },
    Subtest {
        name: "device-copy-system-to-system",
        description: "the copy engine copies system memory to system memory",
        run: device_copy_system_to_system,
    },
    Subtest {
        name: "device-copy-system-to-vram",
        description: "the copy engine copies system memory into VRAM-resident pages",
        run: device_copy_system_to_vram,
    },
    Subtest {
        name: "device-copy-vram-to-system",
        description: "the copy engine copies VRAM-resident pages to system memory",
        run: device_copy_vram_to_system,
    },
    Subtest {
        name: "device-copy-vram-to-vram",
        description: "the copy engine copies between VRAM-resident pages",
        run: device_copy_vram_to_vram,
    },
    Subtest {
        name: "migrate-system",
        description: "target SYSTEM brings pages back; counts are exact",
        run: migrate_system,
    },
    Subtest {
        name: "bind-rounding",
        description: "SVM_BIND rounds the range out to pages and writes it back",
        run: bind_rounding,
    },
    Subtest {
        name: "close-fd-with-pages",
        description: "pages on the device at close keep their data; a new file can move them",
        run: close_fd_with_pages,
    },
    Subtest {
        name: "process-exit",
        description: "a process exiting with pages on the device gives all of VRAM back",
        run: process_exit,
    },
    Subtest {
        name: "file-device-write-fsync",
        description: "device writes to ext4 and xfs files' VRAM pages reach the disk with fsync",
        run: file::file_device_write_fsync,
    },
    Subtest {
        name: "file-device-write-remount",
        description: "device writes to ext4 and xfs files' VRAM pages survive unmount and mount, \
                      with fsync and with the pages still in VRAM at the unmount",
        run: file::file_device_write_remount,
    },
    Subtest {
        name: "file-untouched",
        description: "SVM_BIND moves file pages that no one mapped yet, and holes as zeroes",
        run: file::file_untouched,
    },
    Subtest {
        name: "file-mapped-twice",
        description: "SVM_BIND over two mappings of one file page in two batches returns, data intact",
        run: file::file_mapped_twice,
    },
    Subtest {
        name: "file-copy-between-aliases",
        description: "DEVICE_COPY between two mappings of the same file pages succeeds and changes nothing",
        run: file::file_copy_between_aliases,
    },
    Subtest {
        name: "file-vram-folio-reuse",
        description: "VRAM folios freed with the LRU flags of mlocked or active pages take new pages, which come home intact",
        run: file::file_vram_folio_reuse,
    },
    Subtest {
        name: "file-written-large-folios",
        description: "a file that one write(2) cached in large folios moves whole, dirty or clean",
        run: file::file_written_large_folios,
    },
    Subtest {
        name: "file-device-write-large",
        description: "the device writes all of a 1024-page file after it moved to VRAM",
        run: file::file_device_write_large,
    },
    Subtest {
        name: "file-fallocate",
        description: "hole punch, zero, collapse and insert range of a file in VRAM keep the device's data",
        run: file::file_fallocate,
    },
    Subtest {
        name: "file-splice",
        description: "sendfile, splice and copy_file_range from a file in VRAM carry the device's data",
        run: file::file_splice,
    },
    Subtest {
        name: "file-fsfreeze",
        description: "fsfreeze writes the device's data in VRAM; reads work frozen, writes after the thaw",
        run: file::file_fsfreeze,
    },
    Subtest {
        name: "file-readonly-bind-mount",
        description: "a file mapped through a read-only bind mount moves read-only; device writes fail",
        run: file::file_readonly_bind_mount,
    },
    Subtest {
        name: "file-migrate-vs-writeback",
        description: "migrations and device writes while another thread writes the file back",
        run: file::file_migrate_vs_writeback,
    },
    Subtest {
        name: "file-read-write-syscalls",
        description: "pread sees VRAM pages' data; pwrite over them reaches the device",
        run: file::file_read_write_syscalls,
    },
    Subtest {
        name: "file-truncate",
        description: "ftruncate of a file in VRAM frees the cut pages; the others keep their data",
        run: file::file_truncate,
    },
    Subtest {
        name: "file-two-processes",
        description: "another process maps a file whose pages are in VRAM, reads and writes it",
        run: file::file_two_processes,
    },
    Subtest {
        name: "file-odirect-read",
        description: "an O_DIRECT read of an ext4 or xfs file returns what the device wrote in VRAM",
        run: file::file_odirect_read,
    },
    Subtest {
        name: "file-odirect-write",
        description: "an O_DIRECT write over an ext4 or xfs file's VRAM pages replaces them",
        run: file::file_odirect_write,
    },
    Subtest {
        name: "file-evict",
        description: "a tmpfs file larger than VRAM: residency never exceeds VRAM, data intact",
        run: file::file_evict,
    },
    Subtest {
        name: "file-random",
        description:
            "seeded random file ops, migrations and device writes vs a shadow copy, per fs",
        run: crate::suites::file_random::file_random,
    },
    Subtest {
        name: "file-random-stress",
        description: "file-random while stress-ng --vm keeps most free memory busy",
        run: crate::suites::file_random::file_random_stress,
    },
    Subtest {
        name: "file-device-write-pageout",
        description: "device writes to file pages survive MADV_PAGEOUT, wherever they were",
        run: crate::suites::file_random::file_device_write_pageout,
    },
];

/// Pages of the buffers most subtests use: small enough for TCG and the
/// debug kernel, large enough to span several page tables' worth of work.
const PAGES: u64 = 32;

/// DEVICE_COPY fill values.
const FILL_A: u32 = 0xa5a5_0001;
const FILL_B: u32 = 0x5a5a_0002;

fn anon(env: &Env, pages: u64) -> TestResult<Mapping> {
    Mapping::anon(pages * env.page).or_fail_with(|| format!("mmap of {pages} anonymous pages"))
}

/// The round trip that the memory-kind subtests share, on `buf` (any
/// alignment; SVM_BIND rounds it out to whole pages):
///
/// 1. The CPU writes pattern `seed`; every page moves to VRAM; a second
///    migration moves none.
/// 2. The device copies the pages to a system buffer, which must hold the
///    pattern; the pages stay in VRAM.
/// 3. The device fills the pages wholly inside `buf`; they stay in VRAM.
/// 4. The CPU reads everything back (fill and pattern); no page is left in
///    VRAM.
/// 5. The CPU writes pattern `seed + 1`; all pages go to VRAM and back with
///    SVM_BIND; the data is intact.
///
/// Between migrations nothing here allocates, so a heap buffer's pages
/// are touched by no one else.
pub fn round_trip(env: &Env, buf: &Region, seed: u64) -> TestResult {
    let page = env.page;
    let range = buf.page_range();
    let n = buf.page_count();
    let shadow = Mapping::anon(range.end - range.start).or_fail("mmap of the shadow buffer")?;
    let delta = buf.addr() - range.start;
    let inner = round_up(buf.addr(), page)..round_down(buf.end(), page);
    let inner = if inner.start < inner.end {
        inner.start - buf.addr()..inner.end - buf.addr()
    } else {
        0..0
    };
    // CAST: the low 16 bits of the seed mark the fill.
    let fill = FILL_A ^ ((seed as u32) << 16);

    buf.fill(seed);
    env.to_vram("first migration", range.clone(), n)?;
    env.to_vram("second migration", range.clone(), 0)?;

    env.copy("device read of VRAM", &shadow, 0, range.start, shadow.len())?;
    shadow.verify_with("device copy of the VRAM pages", delta, buf.len(), |o| {
        pattern(seed, (o - delta) / 8)
    })?;
    env.to_vram("migration after the device read", range.clone(), 0)?;

    if !inner.is_empty() {
        env.fill(
            "device write to VRAM",
            buf,
            inner.start,
            inner.end - inner.start,
            fill,
        )?;
        env.to_vram("migration after the device write", range.clone(), 0)?;
    }

    buf.verify_range("CPU read before the filled pages", 0, inner.start, seed)?;
    buf.verify_u32(
        "CPU read of the device's fill",
        inner.start,
        inner.end - inner.start,
        fill,
    )?;
    buf.verify_range(
        "CPU read after the filled pages",
        inner.end,
        buf.len() - inner.end,
        seed,
    )?;
    env.to_system("migration back after the CPU read", range.clone(), 0)?;

    buf.fill(seed + 1);
    env.to_vram("migration of rewritten pages", range.clone(), n)?;
    env.to_system("explicit migration back", range.clone(), n)?;
    buf.verify("CPU read after the explicit migration back", seed + 1)?;
    env.to_system("second migration back", range, 0)
}

fn getparam() -> TestResult {
    let env = Env::open()?;
    let v = env.dev.version().or_fail("DRM_IOCTL_VERSION")?;
    check_eq("driver name", v.name.as_str(), DRIVER_NAME)?;
    let sim = env
        .dev
        .getparam(Param::IsSimulated)
        .or_fail("GETPARAM(IS_SIMULATED)")?;
    let ce = env
        .dev
        .getparam(Param::CeClass)
        .or_fail("GETPARAM(CE_CLASS)")?;
    println!(
        "{} {}.{}.{}: VRAM {} MiB, chunk {} KiB, CE class {ce:#x}, simulated {sim}",
        v.name,
        v.major,
        v.minor,
        v.patchlevel,
        env.vram_size >> 20,
        env.chunk_size >> 10
    );
    check!(
        env.chunk_size.is_multiple_of(env.page),
        "CHUNK_SIZE {:#x} is not a multiple of the page size {:#x}",
        env.chunk_size,
        env.page
    );
    check!(
        env.vram_size.is_multiple_of(env.chunk_size),
        "VRAM_SIZE {:#x} is not a multiple of CHUNK_SIZE {:#x}",
        env.vram_size,
        env.chunk_size
    );
    check!(sim <= 1, "IS_SIMULATED: expected 0 or 1, got {sim}");
    check!(
        ce != 0 && ce <= 0xffff,
        "CE_CLASS: expected a 16-bit class number such as 0xc8b5, got {ce:#x}"
    );
    if sim == 1 {
        check_eq("CHUNK_SIZE of the simulated GPU", env.chunk_size, 2 << 20)?;
    }
    // `value` is output only, and each parameter reads the same twice.
    for p in Param::ALL {
        let mut arg = GetParam {
            param: p.raw(),
            pad: 0,
            value: 0xdead_beef_dead_beef,
        };
        env.dev
            .ioctl(&mut arg)
            .or_fail_with(|| format!("GETPARAM({p:?}) with garbage in value"))?;
        let again = env
            .dev
            .getparam(p)
            .or_fail_with(|| format!("GETPARAM({p:?})"))?;
        check_eq(&format!("GETPARAM({p:?}) read twice"), arg.value, again)?;
    }
    Ok(())
}

fn malloc() -> TestResult {
    let env = Env::init()?;
    // A small buffer comes from the brk heap, a large one from its own
    // mmap; neither is page aligned.
    for (seed, len) in [(1, 3 * env.page + 40), (3, 64 * env.page + 40)] {
        let buf = MallocBuf::new(len).or_fail_with(|| format!("malloc({len})"))?;
        let what = format!("malloc({len}) at {:#x}", buf.addr());
        within(&what, round_trip(&env, &buf, seed))?;
    }
    Ok(())
}

fn malloc_free_reuse() -> TestResult {
    let env = Env::init()?;
    let len = PAGES * env.page + 8;
    for i in 0..4 {
        let buf = MallocBuf::new(len).or_fail_with(|| format!("malloc({len})"))?;
        let what = format!("allocation {i} at {:#x}", buf.addr());
        within(&what, round_trip(&env, &buf, 10 + 2 * i))?;
        // Free it while its pages are on the device.
        within(
            &what,
            env.to_vram("before free", buf.page_range(), buf.page_count()),
        )?;
    }
    Ok(())
}

fn mmap_anon() -> TestResult {
    let env = Env::init()?;
    let m = anon(&env, PAGES)?;
    round_trip(&env, &m, 1)
}

fn mmap_unpopulated() -> TestResult {
    let env = Env::init()?;
    let page = env.page;
    let m = Mapping::anon(8 * page).or_fail("mmap")?;
    // Pages nobody touched yet: each gets a zeroed page in VRAM.
    env.to_vram("never touched pages", m.range(), 8)?;
    let shadow = Mapping::anon(8 * page).or_fail("mmap of the shadow buffer")?;
    shadow.fill(5);
    env.copy(
        "device read of the new pages",
        &shadow,
        0,
        m.addr(),
        m.len(),
    )?;
    shadow.verify_zero("device read of the new pages", 0, m.len())?;
    // A mapping the device cannot access is not prefetched...
    let none = Mapping::reserve(4 * page).or_fail("mmap(PROT_NONE)")?;
    env.to_vram("a PROT_NONE mapping", none.range(), 0)?;
    // ...but device pages that became inaccessible still go home.
    m.protect(0, 4 * page, libc::PROT_NONE)
        .or_fail("mprotect(PROT_NONE) of half the VRAM pages")?;
    env.to_vram("pages made PROT_NONE, already in VRAM", m.range(), 0)?;
    env.to_system("pages made PROT_NONE", m.sub(0, 4 * page), 4)?;
    m.protect(0, 4 * page, libc::PROT_READ | libc::PROT_WRITE)
        .or_fail("mprotect(PROT_READ|PROT_WRITE)")?;
    m.verify_zero("CPU read of the pages", 0, m.len())
}

fn mmap_shared() -> TestResult {
    let env = Env::init()?;
    let m = Mapping::shared_anon(PAGES * env.page).or_fail("mmap(MAP_SHARED|MAP_ANONYMOUS)")?;
    m.fill(1);
    let moved = env.migrate("first migration", m.range(), BindTarget::GpuVram)?;
    if moved == 0 {
        m.verify("CPU read after a migration that moved nothing", 1)?;
        return Err(skip(
            "MAP_SHARED|MAP_ANONYMOUS (shmem) pages did not move to VRAM: this kernel cannot \
             migrate page-cache folios yet (device-private folios in the page cache)",
        ));
    }
    check_eq("pages of shared memory moved to VRAM", moved, PAGES)?;
    env.to_system("migration back", m.range(), PAGES)?;
    round_trip(&env, &m, 2)?;
    // Another process sees the pages while they are on the device, and
    // its writes reach this one.
    env.to_vram("migration before fork", m.range(), PAGES)?;
    let child = process::fork("child", || {
        m.verify("child reads shared pages on the device", 3)?;
        m.fill(4);
        Ok(())
    })?;
    child.wait()?;
    m.verify("parent reads the child's writes", 4)
}

fn mmap_huge() -> TestResult {
    let env = Env::init()?;
    let huge = 2u64 << 20;
    let m = Mapping::aligned_anon(2 * huge, huge).or_fail("mmap of 4 MiB aligned to 2 MiB")?;
    m.advise(0, m.len(), libc::MADV_HUGEPAGE)
        .or_skip("madvise(MADV_HUGEPAGE) (needs CONFIG_TRANSPARENT_HUGEPAGE)")?;
    m.fill(1);
    match anon_huge_kb(m.addr()) {
        Ok(Some(kb)) => println!("AnonHugePages of the buffer: {kb} kB"),
        _ => println!("AnonHugePages of the buffer: unknown"),
    }
    round_trip(&env, &m, 2)
}

fn mmap_mlock() -> TestResult {
    let env = Env::init()?;
    let m = anon(&env, PAGES)?;
    m.lock().or_skip("mlock (RLIMIT_MEMLOCK?)")?;
    m.fill(1);
    let moved = env.migrate("migration of locked pages", m.range(), BindTarget::GpuVram)?;
    check!(
        moved <= PAGES,
        "pages moved: expected at most {PAGES}, got {moved}"
    );
    println!("{moved} of {PAGES} mlocked pages moved to VRAM");
    let shadow = anon(&env, PAGES)?;
    env.copy("device read", &shadow, 0, m.addr(), m.len())?;
    shadow.verify("device copy of locked pages", 1)?;
    m.verify("CPU read of locked pages", 1)?;
    m.fill(2);
    env.migrate("second migration", m.range(), BindTarget::GpuVram)?;
    env.migrate("migration back", m.range(), BindTarget::System)?;
    m.verify("CPU read after migration back", 2)
}

fn fork() -> TestResult {
    let env = Env::init()?;
    let m = anon(&env, PAGES)?;
    let shadow = anon(&env, PAGES)?;
    m.fill(1);
    env.to_vram("parent's migration", m.range(), PAGES)?;
    let child = process::fork("child", || {
        // The inherited file's context belongs to the parent's mm.
        let v = env
            .dev
            .getparam(Param::VramSize)
            .or_fail("GETPARAM on the inherited file")?;
        check_eq("VRAM_SIZE through the inherited file", v, env.vram_size)?;
        expect_errno(
            "SVM_BIND through the parent's file",
            env.dev.svm_bind_migrate(m.range(), BindTarget::GpuVram, 0),
            libc::EPERM,
        )?;
        let mut arg = DeviceCopy::copy(shadow.addr(), m.addr(), m.len());
        // SAFETY: The destination is `shadow`, this process's own mapping,
        // reached only through `Region`.
        let r = unsafe { env.dev.ioctl_unchecked(&mut arg) };
        expect_errno("DEVICE_COPY through the parent's file", r, libc::EPERM)?;
        expect_errno(
            "SVM_INIT through the parent's file",
            env.dev.svm_init(0, 0),
            libc::EBUSY,
        )?;
        m.verify("child reads the parent's device pages", 1)?;

        let own = Env::init()?;
        let moved = own.migrate("child's migration", m.range(), BindTarget::GpuVram)?;
        check!(
            moved <= PAGES,
            "child's migration: at most {PAGES} pages, got {moved}"
        );
        m.fill(2);
        own.to_vram("child's migration of its written pages", m.range(), PAGES)?;
        own.copy("child's device read", &shadow, 0, m.addr(), m.len())?;
        shadow.verify("child's device copy", 2)?;
        m.verify("child's CPU read", 2)
    })?;
    child.wait()?;
    m.verify("parent's pages after the child wrote its copies", 1)?;
    let moved = env.migrate(
        "parent's migration after fork",
        m.range(),
        BindTarget::GpuVram,
    )?;
    check!(moved <= PAGES, "at most {PAGES} pages, got {moved}");
    env.copy("parent's device read", &shadow, 0, m.addr(), m.len())?;
    shadow.verify("parent's device copy", 1)?;
    m.verify("parent's CPU read", 1)
}

fn fork_child_exit() -> TestResult {
    let env = Env::init()?;
    let m = anon(&env, PAGES)?;
    m.fill(1);
    env.to_vram("migration before fork", m.range(), PAGES)?;
    process::fork("child", || Ok(()))?.wait()?;
    env.to_vram("migration after the child exited", m.range(), 0)?;
    m.verify("CPU read after the child exited", 1)?;
    env.to_system("migration back after the CPU read", m.range(), 0)?;
    m.fill(2);
    env.to_vram("migration of rewritten pages", m.range(), PAGES)?;
    m.verify("CPU read of rewritten pages", 2)
}

/// Runs `f(i)` on `n` threads and returns the first failure.
fn on_threads(n: u64, f: impl Fn(u64) -> TestResult + Sync) -> TestResult {
    let f = &f;
    thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| s.spawn(move || crate::igt::catch(|| f(i))))
            .collect();
        let mut first = Ok(());
        for (i, h) in handles.into_iter().enumerate() {
            let r = h
                .join()
                .unwrap_or_else(|_| Err(fail("the thread panicked")));
            if first.is_ok() {
                first = within(&format!("thread {i}"), r);
            }
        }
        first
    })
}

fn threads_same_page() -> TestResult {
    let env = Env::init()?;
    let (pages, threads, iters) = (4u64, 4u64, 40u64);
    let page = env.page;
    let m = anon(&env, pages)?;
    m.fill(1);
    let mark = |t: u64, i: u64| 0x7700_0000_0000_0000 | (t << 32) | i;
    on_threads(threads, |t| {
        let shadow = anon(&env, pages)?;
        for i in 0..iters {
            let target = if i % 2 == 0 {
                BindTarget::GpuVram
            } else {
                BindTarget::System
            };
            let moved = env.migrate("migration", m.range(), target)?;
            check!(
                moved <= pages,
                "at most {pages} pages can move, got {moved}"
            );
            // Each thread owns word `t` of every page.
            for p in 0..pages {
                m.write_u64(p * page + t * 8, mark(t, i));
            }
            for p in 0..pages {
                let got = m.read_u64(p * page + t * 8);
                check!(
                    got == mark(t, i),
                    "iteration {i}: page {p} word {t}: expected {:#x}, got {got:#x}",
                    mark(t, i)
                );
            }
            if i % 4 == 3 {
                env.copy("device read", &shadow, 0, m.addr(), m.len())?;
                for p in 0..pages {
                    let got = shadow.read_u64(p * page + t * 8);
                    check!(
                        got == mark(t, i),
                        "iteration {i}: device copy of page {p} word {t}: expected {:#x}, got {got:#x}",
                        mark(t, i)
                    );
                }
            }
        }
        Ok(())
    })?;
    m.verify_with("pages after the threads", 0, m.len(), |o| {
        let (w, word_in_page) = (o / 8, (o % page) / 8);
        if word_in_page < threads {
            mark(word_in_page, iters - 1)
        } else {
            pattern(1, w)
        }
    })
}

/// One thread's share of the per-thread subtests: its own pages, exact
/// counts.
/// Moves `range` (`pages` pages) to VRAM, asking again while pages stay
/// behind. With other threads migrating next to it, a page can be busy for
/// a moment (a reference from another CPU's LRU batch, say), and SVM_BIND
/// skips busy pages without an error. A page that never moves still fails.
fn to_vram_all(env: &Env, what: &str, range: Range<u64>, pages: u64) -> TestResult {
    let mut moved = 0;
    for attempt in 1..=5 {
        moved += env.migrate(what, range.clone(), BindTarget::GpuVram)?;
        if moved >= pages {
            if attempt > 1 {
                println!("{what}: every page moved after {attempt} SVM_BINDs");
            }
            break;
        }
    }
    check_eq(&format!("{what}: pages moved to VRAM"), moved, pages)
}

fn own_pages(env: &Env, m: &Mapping, t: u64, pages: u64, iters: u64) -> TestResult {
    let len = pages * env.page;
    let off = t * len;
    let range = m.sub(off, len);
    let shadow = Mapping::anon(m.len()).or_fail("mmap of the shadow")?;
    for i in 0..iters {
        let seed = 100 * (t + 1) + i;
        m.fill_range(off, len, seed);
        to_vram_all(env, "migration", range.clone(), pages)?;
        env.copy("device read", &shadow, off, range.start, len)?;
        shadow.verify_range("device copy", off, len, seed)?;
        env.to_vram("second migration", range.clone(), 0)?;
        m.verify_range("CPU read", off, len, seed)?;
        env.to_system("migration after the CPU read", range.clone(), 0)?;
        to_vram_all(env, "migration after the CPU read", range.clone(), pages)?;
        env.to_system("migration back", range.clone(), pages)?;
        m.verify_range("CPU read after migration back", off, len, seed)?;
    }
    Ok(())
}

fn threads_different_pages() -> TestResult {
    let env = Env::init()?;
    let (threads, pages) = (4, 16);
    let m = anon(&env, threads * pages)?;
    on_threads(threads, |t| own_pages(&env, &m, t, pages, 8))
}

fn threads_own_fd() -> TestResult {
    let env = Env::open()?;
    let (threads, pages) = (4, 16);
    let m = anon(&env, threads * pages)?;
    on_threads(threads, |t| {
        let own = Env::init()?;
        own_pages(&own, &m, t, pages, 8)
    })
}

fn processes() -> TestResult {
    // Fail early, in the parent, without a device.
    drop(Env::open()?);
    let mut children = Vec::new();
    for c in 0..4u64 {
        children.push(process::fork(&format!("process {c}"), move || {
            let env = Env::init()?;
            let m = anon(&env, PAGES)?;
            for i in 0..4 {
                within(
                    &format!("round {i}"),
                    round_trip(&env, &m, 1 + 16 * c + 2 * i),
                )?;
            }
            Ok(())
        })?);
    }
    process::wait_all(children)
}

fn munmap_partial() -> TestResult {
    let env = Env::init()?;
    let page = env.page;
    let m = anon(&env, 16)?;
    let shadow = anon(&env, 16)?;
    m.fill(1);
    env.to_vram("migration", m.range(), 16)?;
    // Unmap pages 4..8 while they are on the device.
    m.unmap(4 * page, 4 * page)
        .or_fail("munmap of pages 4..8")?;
    env.to_vram("migration across the hole", m.range(), 0)?;

    // The device's copy stops at the hole.
    let mut arg = DeviceCopy::copy(shadow.addr(), m.addr(), m.len());
    // SAFETY: The destination is `shadow`, this process's own mapping.
    let r = unsafe { env.dev.ioctl_unchecked(&mut arg) };
    expect_errno("DEVICE_COPY from a range with a hole", r, libc::EFAULT)?;
    check!(
        arg.result.is_multiple_of(page) && arg.result <= 4 * page,
        "DEVICE_COPY result after EFAULT: expected a page multiple up to the hole ({:#x}), got {:#x}",
        4 * page,
        arg.result
    );
    shadow.verify_range("the part copied before the hole", 0, arg.result, 1)?;

    env.to_system("migration back across the hole", m.range(), 12)?;
    m.verify_range("pages before the hole", 0, 4 * page, 1)?;
    m.verify_range("pages after the hole", 8 * page, 8 * page, 1)?;
    env.to_vram("migration of what is left", m.range(), 12)?;
    // Unmap pages 0..4 on the device, then 14..16 in system memory.
    m.unmap(0, 4 * page).or_fail("munmap of pages 0..4")?;
    env.to_system("migration back", m.range(), 8)?;
    m.unmap(14 * page, 2 * page)
        .or_fail("munmap of pages 14..16")?;
    env.to_vram("migration of pages 8..14", m.range(), 6)?;
    env.to_system("migration back of pages 8..14", m.range(), 6)?;
    m.verify_range("pages 8..14", 8 * page, 6 * page, 1)
}

fn munmap_race() -> TestResult {
    let env = Env::init()?;
    let page = env.page;
    let (pages, keep) = (64u64, 32u64);
    let m = anon(&env, pages)?;
    m.fill(1);
    let done = AtomicBool::new(false);
    on_threads(3, |t| match t {
        // Migrates the whole range back and forth until the unmapping ends.
        0 => {
            let mut rounds = 0;
            while !done.load(Ordering::Acquire) || rounds < 2 {
                env.migrate("migration to VRAM", m.range(), BindTarget::GpuVram)?;
                env.migrate("migration back", m.range(), BindTarget::System)?;
                rounds += 1;
            }
            println!("{rounds} migration rounds ran during the unmapping");
            Ok(())
        }
        // Unmaps the upper half, four pages at a time.
        1 => {
            let r = (|| {
                for k in 0..(pages - keep) / 4 {
                    thread::sleep(Duration::from_millis(2));
                    let off = (pages - 4 * (k + 1)) * page;
                    m.unmap(off, 4 * page)
                        .or_fail_with(|| format!("munmap at page {}", off / page))?;
                }
                Ok(())
            })();
            done.store(true, Ordering::Release);
            r
        }
        // Reads the lower half, which stays, all along.
        _ => {
            while !done.load(Ordering::Acquire) {
                m.verify_range("CPU read during the race", 0, keep * page, 1)?;
            }
            Ok(())
        }
    })?;
    m.verify_range("CPU read after the race", 0, keep * page, 1)?;
    env.to_vram("migration of what is left", m.range(), keep)?;
    env.to_system("migration back of what is left", m.range(), keep)?;
    m.verify_range("CPU read of what is left", 0, keep * page, 1)
}

fn mremap() -> TestResult {
    let env = Env::init()?;
    let page = env.page;
    let n = 16;
    let m = anon(&env, n)?;
    m.fill(1);
    env.to_vram("migration", m.range(), n)?;
    let old = m.range();
    // Move and grow to 2n pages at a new address.
    let dest = Mapping::reserve(2 * n * page).or_fail("mmap of the destination")?;
    let (moved, _) = m
        .move_to(dest, 0)
        .or_fail("mremap(MREMAP_MAYMOVE|MREMAP_FIXED)")?;
    env.to_system("migration of the old, unmapped range", old, 0)?;
    let head = moved.sub(0, n * page);
    let r = env.migrate(
        "migration at the new address",
        head.clone(),
        BindTarget::GpuVram,
    )?;
    check!(r <= n, "at most {n} pages can move, got {r}");
    env.to_system("migration back at the new address", head, n)?;
    moved.verify_range("moved pages", 0, n * page, 1)?;
    moved.verify_zero("grown tail", n * page, n * page)?;

    // Shrink in place while on the device.
    moved.fill(2);
    env.to_vram("migration of the grown mapping", moved.range(), 2 * n)?;
    let shrunk = moved
        .shrink(n / 2 * page)
        .or_fail("mremap shrinking in place")?;
    env.to_system("migration back after shrinking", shrunk.range(), n / 2)?;
    shrunk.verify("pages kept by shrinking", 2)
}

fn mremap_dontunmap() -> TestResult {
    let env = Env::init()?;
    let n = 16;
    let m = anon(&env, n)?;
    m.fill(1);
    env.to_vram("migration", m.range(), n)?;
    let dest = Mapping::reserve(m.len()).or_fail("mmap of the destination")?;
    let (new, old) = match m.move_to(dest, libc::MREMAP_DONTUNMAP) {
        Ok((new, Some(old))) => (new, old),
        Ok((_, None)) => return Err(fail("mremap(MREMAP_DONTUNMAP) lost the old mapping")),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            return Err(skip("mremap(MREMAP_DONTUNMAP) is not supported (EINVAL)"))
        }
        Err(e) => return Err(fail(format!("mremap(MREMAP_DONTUNMAP): {e}"))),
    };
    let r = env.migrate(
        "migration at the new address",
        new.range(),
        BindTarget::GpuVram,
    )?;
    check!(r <= n, "at most {n} pages can move, got {r}");
    env.to_system("migration back at the new address", new.range(), n)?;
    new.verify("moved pages", 1)?;
    old.verify_zero("the old range", 0, old.len())?;
    old.fill(2);
    env.to_vram("migration of the refilled old range", old.range(), n)?;
    old.verify("refilled old range", 2)?;
    new.verify("moved pages again", 1)
}

fn evict() -> TestResult {
    let env = Env::init()?;
    let vram = env.vram_pages();
    let n = env.pages_beyond_vram();
    let m = anon(&env, n)?;
    m.fill(1);
    let first = env.migrate(
        "migration of more than VRAM",
        m.range(),
        BindTarget::GpuVram,
    )?;
    check!(
        first > 0 && first <= n,
        "pages moved: expected 1..={n}, got {first}"
    );
    let resident = env.migrate("migration back", m.range(), BindTarget::System)?;
    println!("{n} pages, VRAM {vram} pages: {first} moved, {resident} were resident");
    check!(
        resident > 0 && resident <= vram && resident <= first,
        "pages in VRAM after migrating {n} pages: expected 1..={} (VRAM holds {vram}), got {resident}",
        first.min(vram)
    );
    m.verify("CPU read after eviction", 1)?;

    // VRAM is empty again: the first half fits whole, the second half
    // does not fit beside it.
    m.fill(2);
    let half = n / 2;
    let page = env.page;
    env.to_vram("migration of the first half", m.sub(0, half * page), half)?;
    let second = env.migrate(
        "migration of the second half",
        m.sub(half * page, (n - half) * page),
        BindTarget::GpuVram,
    )?;
    let resident = env.migrate("migration back", m.range(), BindTarget::System)?;
    println!(
        "second half: {second} of {} moved; {resident} were resident",
        n - half
    );
    // Either the second half did not fit, or earlier pages were evicted
    // for it: residency never exceeds VRAM.
    check!(
        resident <= vram,
        "pages in VRAM after migrating {half} + {second} pages: expected at most {vram}, got {resident}"
    );
    m.verify("CPU read after the second eviction", 2)
}

fn device_fill_vram() -> TestResult {
    let env = Env::init()?;
    let page = env.page;
    let m = anon(&env, PAGES)?;
    let shadow = anon(&env, PAGES)?;
    m.fill(1);
    env.to_vram("migration", m.range(), PAGES)?;
    env.fill("fill of VRAM pages", &m, 0, m.len(), FILL_A)?;
    env.to_vram("migration after the fill", m.range(), 0)?;
    env.copy("device read", &shadow, 0, m.addr(), m.len())?;
    shadow.verify_u32("device copy of the filled pages", 0, m.len(), FILL_A)?;
    env.fill("second fill", &m, 8 * page, 8 * page, FILL_B)?;
    env.to_vram("migration after the second fill", m.range(), 0)?;
    m.verify_u32("CPU read of pages 0..8", 0, 8 * page, FILL_A)?;
    m.verify_u32("CPU read of pages 8..16", 8 * page, 8 * page, FILL_B)?;
    m.verify_u32(
        "CPU read of the rest",
        16 * page,
        m.len() - 16 * page,
        FILL_A,
    )?;
    env.to_system("migration back after the CPU read", m.range(), 0)
}

fn device_fill_system() -> TestResult {
    let env = Env::init()?;
    let page = env.page;
    let half = PAGES / 2 * page;
    let m = anon(&env, PAGES)?;
    // The lower half is unpopulated: the fill write-faults it in. The
    // upper half is populated by the CPU.
    m.fill_range(half, half, 1);
    env.fill("fill of unpopulated pages", &m, 0, half, FILL_A)?;
    env.fill("fill of system pages", &m, half, half / 2, FILL_B)?;
    // The fills moved nothing to VRAM: all pages are in system memory.
    env.to_vram("migration after the fills", m.range(), PAGES)?;
    m.verify_u32("lower half", 0, half, FILL_A)?;
    m.verify_u32("filled quarter", half, half / 2, FILL_B)?;
    m.verify_range("last quarter", half + half / 2, half / 2, 1)
}

fn device_fill_cow() -> TestResult {
    let env = Env::open()?;
    let m = anon(&env, PAGES)?;
    m.fill(1);
    process::fork("child", || {
        let own = Env::init()?;
        own.fill("fill of copy-on-write pages", &m, 0, m.len(), FILL_A)?;
        m.verify_u32("child's pages after the fill", 0, m.len(), FILL_A)
    })?
    .wait()?;
    m.verify("parent's pages after the child's device fill", 1)
}

/// Copies a buffer of pattern 1 to a buffer of pattern 2 with the copy
/// engine, with each side in VRAM or system memory; checks the data and
/// that the copy moved no page.
fn copy_case(src_vram: bool, dst_vram: bool) -> TestResult {
    let env = Env::init()?;
    let src = anon(&env, PAGES)?;
    let dst = anon(&env, PAGES)?;
    src.fill(1);
    dst.fill(2);
    for (m, vram, name) in [(&src, src_vram, "source"), (&dst, dst_vram, "destination")] {
        if vram {
            env.to_vram(&format!("migration of the {name}"), m.range(), PAGES)?;
        }
    }
    env.copy("copy", &dst, 0, src.addr(), src.len())?;
    for (m, vram, name) in [(&src, src_vram, "source"), (&dst, dst_vram, "destination")] {
        // A page still in VRAM does not move again; one in system memory does.
        let want = if vram { 0 } else { PAGES };
        env.to_vram(
            &format!("migration of the {name} after the copy"),
            m.range(),
            want,
        )?;
    }
    dst.verify("destination", 1)?;
    src.verify("source", 1)
}

fn device_copy_system_to_system() -> TestResult {
    copy_case(false, false)
}

fn device_copy_system_to_vram() -> TestResult {
    copy_case(false, true)
}

fn device_copy_vram_to_system() -> TestResult {
    copy_case(true, false)
}

fn device_copy_vram_to_vram() -> TestResult {
    copy_case(true, true)
}

fn migrate_system() -> TestResult {
    let env = Env::init()?;
    let page = env.page;
    let m = anon(&env, PAGES)?;
    let (lo, hi) = (
        m.sub(0, PAGES / 2 * page),
        m.sub(PAGES / 2 * page, PAGES / 2 * page),
    );
    m.fill(1);
    env.to_system("migration of system pages to system", m.range(), 0)?;
    env.to_vram("migration", m.range(), PAGES)?;
    env.to_system("migration back", m.range(), PAGES)?;
    env.to_system("second migration back", m.range(), 0)?;
    m.verify("CPU read", 1)?;
    env.to_vram("migration of the lower half", lo.clone(), PAGES / 2)?;
    env.to_vram("migration of everything", m.range(), PAGES / 2)?;
    env.to_system("migration back of the upper half", hi, PAGES / 2)?;
    env.to_system("migration back of everything", m.range(), PAGES / 2)?;
    env.to_vram("migration of one page", m.sub(5 * page, page), 1)?;
    env.to_system("migration back of the lower half", lo, 1)?;
    m.verify("CPU read at the end", 1)
}

fn bind_rounding() -> TestResult {
    let env = Env::init()?;
    let page = env.page;
    let m = anon(&env, 8)?;
    m.fill(1);
    let a = m.addr();
    let check_bind = |what: &str, range: Range<u64>, target, want_pages, want: Range<u64>| {
        let r = env
            .dev
            .svm_bind_migrate(range.clone(), target, 0)
            .or_fail_with(|| format!("{what}: SVM_BIND [{:#x}, {:#x})", range.start, range.end))?;
        check_eq(&format!("{what}: pages moved"), r.pages_moved, want_pages)?;
        check_eq(
            &format!("{what}: rounded range written back"),
            (r.range.start, r.range.end),
            (want.start, want.end),
        )
    };
    check_bind(
        "unaligned start and end",
        a + 100..a + 2 * page + 1,
        BindTarget::GpuVram,
        3,
        a..a + 3 * page,
    )?;
    // Equal, unaligned ends round out to one page.
    check_bind(
        "empty range inside a page",
        a + 5 * page + 8..a + 5 * page + 8,
        BindTarget::GpuVram,
        1,
        a + 5 * page..a + 6 * page,
    )?;
    check_bind(
        "last byte of a page",
        a + 7 * page - 1..a + 7 * page,
        BindTarget::GpuVram,
        1,
        a + 6 * page..a + 7 * page,
    )?;
    // Priority is accepted and ignored.
    let r = env
        .dev
        .svm_bind_migrate(m.range(), BindTarget::System, 0xff)
        .or_fail("SVM_BIND with priority 0xff")?;
    check_eq("pages moved back with priority 0xff", r.pages_moved, 5)?;
    m.verify("CPU read", 1)
}

fn close_fd_with_pages() -> TestResult {
    let a;
    let b;
    {
        let env = Env::init()?;
        a = anon(&env, PAGES)?;
        b = anon(&env, PAGES)?;
        a.fill(1);
        b.fill(2);
        env.to_vram("migration of a", a.range(), PAGES)?;
        env.to_vram("migration of b", b.range(), PAGES)?;
    }
    // The file is closed. Its pages may stay on the device; either way
    // the CPU reads the data, and a new file can move them home.
    a.verify("CPU read after close", 1)?;
    let env = Env::init()?;
    let back = env.migrate(
        "migration back through a new file",
        b.range(),
        BindTarget::System,
    )?;
    check!(
        back == 0 || back == PAGES,
        "pages moved back through a new file: expected 0 (evicted at close) or {PAGES} \
         (all still on the device), got {back}"
    );
    println!("{back} of {PAGES} pages were still on the device after close");
    b.verify("CPU read of b", 2)?;
    env.to_vram("migration through the new file", b.range(), PAGES)?;
    b.verify("CPU read of b after the new file's migration", 2)
}

fn process_exit() -> TestResult {
    let env = Env::init()?;
    let vram = env.vram_pages();
    process::fork("child", || {
        let env = Env::init()?;
        let m = anon(&env, vram / 2)?;
        m.fill(1);
        env.to_vram("child's migration", m.range(), vram / 2)?;
        // Exit with the pages on the device and the file open.
        std::mem::forget(m);
        std::mem::forget(env);
        Ok(())
    })?
    .wait()?;
    // All of VRAM is free again.
    let m = anon(&env, vram)?;
    m.fill(2);
    env.to_vram("migration of all of VRAM", m.range(), vram)?;
    m.verify("CPU read", 2)?;
    env.to_system("migration back after the CPU read", m.range(), 0)
}
