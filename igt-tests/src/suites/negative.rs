// SPDX-License-Identifier: MIT

//! `nova_svm_negative`: every input field of every ioctl with values the
//! header rejects, each expecting exactly the errno it documents
//! (`uapi/include/uapi/drm/nova_svm_drm.h`). Each subtest also sends a
//! valid neighbour of its invalid values, so that a driver rejecting
//! everything does not pass.

use std::io;
use std::ops::Range;

use nova_svm_uapi::abi::{self, NOVA_SVM_BIND_COMMAND_MIGRATE, NOVA_SVM_DEVICE_COPY_FILL};
use nova_svm_uapi::{raw, BindTarget, DeviceCopy, GetParam, IoctlArg, Param, SvmBind, SvmInit};

use crate::check::{check_eq, expect_errno, OrFail};
use crate::env::Env;
use crate::igt::{Subtest, TestResult};
use crate::mem::{round_down, user_space_end, Mapping};
use crate::{check, process};

const EINVAL: i32 = libc::EINVAL;

/// Every subtest of `nova_svm_negative`.
pub const SUBTESTS: &[Subtest] = &[
    Subtest {
        name: "getparam-param",
        description: "GETPARAM: unknown parameters fail with EINVAL; known ones need no context",
        run: getparam_param,
    },
    Subtest {
        name: "getparam-pad",
        description: "GETPARAM: nonzero pad fails with EINVAL",
        run: getparam_pad,
    },
    Subtest {
        name: "init-unmanaged-addr",
        description: "SVM_INIT: unaligned window address, or an address without a size: EINVAL",
        run: init_unmanaged_addr,
    },
    Subtest {
        name: "init-unmanaged-size",
        description: "SVM_INIT: unaligned, overflowing or out-of-range window size: EINVAL",
        run: init_unmanaged_size,
    },
    Subtest {
        name: "init-twice",
        description: "SVM_INIT: a second context on one file fails with EBUSY",
        run: init_twice,
    },
    Subtest {
        name: "bind-without-init",
        description: "SVM_BIND without an SVM context fails with ENOENT",
        run: bind_without_init,
    },
    Subtest {
        name: "copy-without-init",
        description: "DEVICE_COPY without an SVM context fails with ENOENT",
        run: copy_without_init,
    },
    Subtest {
        name: "bind-other-mm",
        description: "SVM_BIND from a forked child through the parent's file: EPERM",
        run: bind_other_mm,
    },
    Subtest {
        name: "copy-other-mm",
        description: "DEVICE_COPY from a forked child through the parent's file: EPERM",
        run: copy_other_mm,
    },
    Subtest {
        name: "bind-header-reserved",
        description: "SVM_BIND: header bits 48-63 fail with EINVAL; priority is accepted",
        run: bind_header_reserved,
    },
    Subtest {
        name: "bind-command",
        description: "SVM_BIND: commands other than MIGRATE fail with EINVAL",
        run: bind_command,
    },
    Subtest {
        name: "bind-target",
        description: "SVM_BIND: targets other than SYSTEM and GPU_VRAM fail with EINVAL",
        run: bind_target,
    },
    Subtest {
        name: "bind-va-empty",
        description: "SVM_BIND: an empty or inverted range fails with EINVAL",
        run: bind_va_empty,
    },
    Subtest {
        name: "bind-va-overflow",
        description: "SVM_BIND: an end whose rounding overflows fails with EINVAL",
        run: bind_va_overflow,
    },
    Subtest {
        name: "bind-va-beyond-user",
        description: "SVM_BIND: a range reaching beyond user space fails with EINVAL",
        run: bind_va_beyond_user,
    },
    Subtest {
        name: "bind-va-unmanaged",
        description: "SVM_BIND: a range overlapping the unmanaged window fails with EINVAL",
        run: bind_va_unmanaged,
    },
    Subtest {
        name: "bind-stride",
        description: "SVM_BIND: nonzero stride fails with EINVAL",
        run: bind_stride,
    },
    Subtest {
        name: "bind-reserved0",
        description: "SVM_BIND: nonzero reserved0 fails with EINVAL",
        run: bind_reserved0,
    },
    Subtest {
        name: "bind-reserved1",
        description: "SVM_BIND: nonzero reserved1 fails with EINVAL",
        run: bind_reserved1,
    },
    Subtest {
        name: "bind-ignored-fields",
        description: "SVM_BIND: npages and result are not checked on input",
        run: bind_ignored_fields,
    },
    Subtest {
        name: "copy-dst",
        description: "DEVICE_COPY: unaligned, overflowing or out-of-range dst: EINVAL",
        run: copy_dst,
    },
    Subtest {
        name: "copy-src",
        description:
            "DEVICE_COPY: unaligned, overflowing or out-of-range src, src with FILL: EINVAL",
        run: copy_src,
    },
    Subtest {
        name: "copy-size",
        description: "DEVICE_COPY: zero or non-page-multiple size fails with EINVAL",
        run: copy_size,
    },
    Subtest {
        name: "copy-flags",
        description: "DEVICE_COPY: unknown flags fail with EINVAL",
        run: copy_flags,
    },
    Subtest {
        name: "copy-pattern",
        description: "DEVICE_COPY: a pattern without FILL fails with EINVAL",
        run: copy_pattern,
    },
    Subtest {
        name: "copy-reserved0",
        description: "DEVICE_COPY: nonzero reserved0 fails with EINVAL",
        run: copy_reserved0,
    },
    Subtest {
        name: "copy-reserved1",
        description: "DEVICE_COPY: nonzero reserved1 fails with EINVAL",
        run: copy_reserved1,
    },
    Subtest {
        name: "copy-overlap",
        description: "DEVICE_COPY: overlapping source and destination fail with EINVAL",
        run: copy_overlap,
    },
    Subtest {
        name: "copy-unmanaged",
        description: "DEVICE_COPY: ranges overlapping the unmanaged window fail with EINVAL",
        run: copy_unmanaged,
    },
    Subtest {
        name: "copy-efault-unmapped",
        description: "DEVICE_COPY: unmapped source or destination fails with EFAULT",
        run: copy_efault_unmapped,
    },
    Subtest {
        name: "copy-efault-access",
        description: "DEVICE_COPY: read-only destination or PROT_NONE source fails with EFAULT",
        run: copy_efault_access,
    },
    Subtest {
        name: "copy-efault-partial",
        description: "DEVICE_COPY: EFAULT midway reports how far the copy got",
        run: copy_efault_partial,
    },
    Subtest {
        name: "ioctl-bad-pointer",
        description: "every ioctl with an unreadable argument pointer fails with EFAULT",
        run: ioctl_bad_pointer,
    },
    Subtest {
        name: "ioctl-unknown",
        description: "driver ioctl numbers past DEVICE_COPY fail with EINVAL",
        run: ioctl_unknown,
    },
    Subtest {
        name: "user-knobs-refused",
        description: "a user (the unprivileged pass) can open neither the debugfs knobs nor the module parameters for writing",
        run: user_knobs_refused,
    },
];

/// An address in the kernel half: beyond any user address space.
const KERNEL_ADDR: u64 = 1 << 63;
/// An end beyond user space with 4- and 5-level page tables alike.
const BEYOND_USER: u64 = 1 << 57;

/// The last page of user space, reserved inaccessible so that no pages
/// live there; `None` if something (a stack without ASLR) is mapped there.
fn last_user_page() -> Option<Mapping> {
    let page = crate::mem::page_size();
    match Mapping::reserve_at(user_space_end() - page, page) {
        Ok(m) => Some(m),
        Err(e) => {
            println!(
                "the last user page is taken ({}); cases that need it are left out",
                crate::check::describe(&e)
            );
            None
        }
    }
}

/// Sends SVM_BIND with `arg` as it is; returns what the kernel wrote back.
fn bind(env: &Env, mut arg: SvmBind) -> io::Result<SvmBind> {
    env.dev.ioctl(&mut arg).map(|()| arg)
}

/// A valid SVM_BIND MIGRATE to VRAM of `range`.
fn bind_arg(range: Range<u64>) -> SvmBind {
    SvmBind::migrate(range, BindTarget::GpuVram, 0)
}

/// Checks that SVM_BIND with `arg` fails with `errno`.
fn expect_bind(env: &Env, what: &str, arg: SvmBind, errno: i32) -> TestResult {
    expect_errno(
        &format!("SVM_BIND {what} ({arg:x?})"),
        bind(env, arg),
        errno,
    )
}

/// Two page-aligned buffers of four pages, source filled with pattern 1.
struct Scratch {
    src: Mapping,
    dst: Mapping,
}

impl Scratch {
    fn new(env: &Env) -> TestResult<Self> {
        let src = Mapping::anon(4 * env.page).or_fail("mmap of the source")?;
        let dst = Mapping::anon(4 * env.page).or_fail("mmap of the destination")?;
        src.fill(1);
        dst.fill(2);
        Ok(Self { src, dst })
    }

    /// A valid copy of `pages` pages from `src` to `dst`.
    fn copy(&self, pages: u64) -> DeviceCopy {
        DeviceCopy::copy(
            self.dst.addr(),
            self.src.addr(),
            pages * crate::mem::page_size(),
        )
    }

    /// A valid fill of `pages` pages of `dst`.
    fn fill(&self, pages: u64) -> DeviceCopy {
        DeviceCopy::fill(
            self.dst.addr(),
            pages * crate::mem::page_size(),
            0x1234_5678,
        )
    }
}

/// Sends DEVICE_COPY with `arg` as it is.
///
/// # Safety
///
/// If the kernel accepts `arg`, it writes `[arg.dst, arg.dst + arg.size)`:
/// that range must be memory of a [`Mapping`] this test owns, or memory
/// the kernel cannot write (not mapped, beyond user space, read-only).
unsafe fn copy_raw(env: &Env, mut arg: DeviceCopy) -> io::Result<DeviceCopy> {
    // SAFETY: The caller guarantees what the kernel may write.
    unsafe { env.dev.ioctl_unchecked(&mut arg) }.map(|()| arg)
}

/// Checks that DEVICE_COPY with `arg` fails with `errno`.
///
/// # Safety
///
/// As for [`copy_raw`], should the kernel accept `arg` after all.
unsafe fn expect_copy(env: &Env, what: &str, arg: DeviceCopy, errno: i32) -> TestResult {
    // SAFETY: Passed on from the caller.
    let r = unsafe { copy_raw(env, arg) };
    expect_errno(&format!("DEVICE_COPY {what} ({arg:x?})"), r, errno)
}

fn getparam_param() -> TestResult {
    let env = Env::open()?;
    // No SVM context exists: GETPARAM does not need one.
    for p in Param::ALL {
        env.dev
            .getparam(p)
            .or_fail_with(|| format!("GETPARAM({p:?}) without an SVM context"))?;
    }
    for param in [0, 5, 6, 0x100, 0x8000_0000, u32::MAX] {
        let mut arg = GetParam {
            param,
            ..GetParam::default()
        };
        expect_errno(
            &format!("GETPARAM(param {param:#x})"),
            env.dev.ioctl(&mut arg),
            EINVAL,
        )?;
    }
    Ok(())
}

fn getparam_pad() -> TestResult {
    let env = Env::open()?;
    for pad in [1, 0x8000_0000, u32::MAX] {
        let mut arg = GetParam {
            param: Param::VramSize.raw(),
            pad,
            value: 0,
        };
        expect_errno(
            &format!("GETPARAM(VRAM_SIZE, pad {pad:#x})"),
            env.dev.ioctl(&mut arg),
            EINVAL,
        )?;
    }
    Ok(())
}

fn expect_init(env: &Env, addr: u64, size: u64, errno: i32) -> TestResult {
    let mut arg = SvmInit {
        unmanaged_addr: addr,
        unmanaged_size: size,
    };
    expect_errno(
        &format!("SVM_INIT(unmanaged_addr {addr:#x}, unmanaged_size {size:#x})"),
        env.dev.ioctl(&mut arg),
        errno,
    )
}

fn init_unmanaged_addr() -> TestResult {
    let env = Env::open()?;
    let page = env.page;
    let w = Mapping::reserve(4 * page).or_fail("mmap of the window")?;
    for off in [1, 8, page / 2, page - 1] {
        expect_init(&env, w.addr() + off, page, EINVAL)?;
    }
    // An address with a size of zero.
    expect_init(&env, w.addr(), 0, EINVAL)?;
    expect_init(&env, 1, 0, EINVAL)?;
    // The failures created no context.
    env.dev
        .svm_init(w.addr(), w.len())
        .or_fail("SVM_INIT with a valid window after the failures")
}

fn init_unmanaged_size() -> TestResult {
    let env = Env::open()?;
    let page = env.page;
    let w = Mapping::reserve(4 * page).or_fail("mmap of the window")?;
    for size in [1, 8, page / 2, page + 8, 4 * page - 1] {
        expect_init(&env, w.addr(), size, EINVAL)?;
    }
    // Reaching beyond user space, and overflowing.
    expect_init(&env, w.addr(), BEYOND_USER, EINVAL)?;
    expect_init(&env, 1 << 46, BEYOND_USER, EINVAL)?;
    expect_init(&env, KERNEL_ADDR, page, EINVAL)?;
    expect_init(&env, round_down(u64::MAX, page), 2 * page, EINVAL)?;
    expect_init(&env, w.addr(), round_down(u64::MAX, page), EINVAL)?;
    expect_init(&env, KERNEL_ADDR, KERNEL_ADDR, EINVAL)?;
    let end = user_space_end();
    expect_init(&env, end - page, 2 * page, EINVAL)?;
    expect_init(&env, end, page, EINVAL)?;
    // A window ending exactly at the end of user space is valid.
    let other = Env::open()?;
    other
        .dev
        .svm_init(end - page, page)
        .or_fail_with(|| format!("SVM_INIT with the window [{:#x}, {end:#x})", end - page))?;
    env.dev
        .svm_init(w.addr(), w.len())
        .or_fail("SVM_INIT with a valid window after the failures")
}

fn init_twice() -> TestResult {
    let env = Env::open()?;
    let w = Mapping::reserve(4 * env.page).or_fail("mmap of the window")?;
    env.dev.svm_init(0, 0).or_fail("first SVM_INIT")?;
    expect_init(&env, 0, 0, libc::EBUSY)?;
    expect_init(&env, w.addr(), w.len(), libc::EBUSY)?;
    // Another file of the same process gets a context of its own.
    let other = Env::open()?;
    other
        .dev
        .svm_init(w.addr(), w.len())
        .or_fail("SVM_INIT on a second file")
}

fn bind_without_init() -> TestResult {
    let env = Env::open()?;
    let m = Mapping::anon(4 * env.page).or_fail("mmap")?;
    m.fill(1);
    expect_bind(&env, "without a context", bind_arg(m.range()), libc::ENOENT)?;
    expect_bind(
        &env,
        "to SYSTEM without a context",
        SvmBind::migrate(m.range(), BindTarget::System, 0),
        libc::ENOENT,
    )?;
    env.dev.svm_init(0, 0).or_fail("SVM_INIT")?;
    let r = bind(&env, bind_arg(m.range())).or_fail("SVM_BIND after SVM_INIT")?;
    check_eq("pages moved after SVM_INIT", r.result, 4)?;
    m.verify("CPU read", 1)
}

fn copy_without_init() -> TestResult {
    let env = Env::open()?;
    let s = Scratch::new(&env)?;
    // SAFETY: The destination is `s.dst`, this test's mapping.
    unsafe {
        expect_copy(&env, "without a context", s.copy(4), libc::ENOENT)?;
        expect_copy(&env, "FILL without a context", s.fill(4), libc::ENOENT)?;
    }
    s.dst.verify("destination after the failed copies", 2)?;
    env.dev.svm_init(0, 0).or_fail("SVM_INIT")?;
    env.copy("copy after SVM_INIT", &s.dst, 0, s.src.addr(), s.src.len())?;
    s.dst.verify("destination", 1)
}

fn bind_other_mm() -> TestResult {
    let env = Env::open()?;
    let m = Mapping::anon(4 * env.page).or_fail("mmap")?;
    m.fill(1);
    env.dev.svm_init(0, 0).or_fail("SVM_INIT")?;
    process::fork("child", || {
        expect_bind(
            &env,
            "through the parent's file",
            bind_arg(m.range()),
            libc::EPERM,
        )?;
        expect_bind(
            &env,
            "to SYSTEM through the parent's file",
            SvmBind::migrate(m.range(), BindTarget::System, 0),
            libc::EPERM,
        )?;
        // A file of its own works. It moves a buffer of the child's own:
        // `m`'s pages are still shared with the parent (copy-on-write), and
        // moving them would move them for the parent too.
        let own = Env::init()?;
        let mine = Mapping::anon(4 * env.page).or_fail("mmap in the child")?;
        mine.fill(3);
        own.to_vram("child's own file", mine.range(), 4)?;
        mine.verify("child's CPU read", 3)
    })?
    .wait()?;
    env.to_vram("parent", m.range(), 4)?;
    m.verify("CPU read", 1)
}

fn copy_other_mm() -> TestResult {
    let env = Env::open()?;
    let s = Scratch::new(&env)?;
    env.dev.svm_init(0, 0).or_fail("SVM_INIT")?;
    process::fork("child", || {
        // SAFETY: The destination is the child's copy of `s.dst`.
        unsafe {
            expect_copy(&env, "through the parent's file", s.copy(4), libc::EPERM)?;
            expect_copy(
                &env,
                "FILL through the parent's file",
                s.fill(4),
                libc::EPERM,
            )?;
        }
        s.dst.verify("child's destination after the failures", 2)?;
        let own = Env::init()?;
        own.copy("child's own file", &s.dst, 0, s.src.addr(), s.src.len())?;
        s.dst.verify("child's destination", 1)
    })?
    .wait()?;
    s.dst.verify("parent's destination", 2)
}

/// A file with an SVM context and four populated pages.
fn bind_setup() -> TestResult<(Env, Mapping)> {
    let env = Env::init()?;
    let m = Mapping::anon(4 * env.page).or_fail("mmap")?;
    m.fill(1);
    Ok((env, m))
}

fn bind_header_reserved() -> TestResult {
    let (env, m) = bind_setup()?;
    let valid = bind_arg(m.range());
    for bit in [48, 49, 55, 56, 62, 63] {
        let arg = SvmBind {
            header: valid.header | (1 << bit),
            ..valid
        };
        expect_bind(&env, &format!("with header bit {bit}"), arg, EINVAL)?;
    }
    let arg = SvmBind {
        header: valid.header | !abi::NOVA_SVM_BIND_VALID_MASK,
        ..valid
    };
    expect_bind(&env, "with all reserved header bits", arg, EINVAL)?;
    // Every priority is accepted.
    for prio in [1u8, 0x80, 0xff] {
        let r = bind(&env, SvmBind::migrate(m.range(), BindTarget::GpuVram, prio))
            .or_fail_with(|| format!("SVM_BIND with priority {prio:#x}"))?;
        check!(r.result <= 4, "pages moved: at most 4, got {}", r.result);
    }
    m.verify("CPU read", 1)
}

fn bind_command() -> TestResult {
    let (env, m) = bind_setup()?;
    for cmd in [1u64, 2, 0x7f, 0xff] {
        let arg = SvmBind {
            header: abi::svm_bind_header(cmd, 0, abi::NOVA_SVM_BIND_TARGET_GPU_VRAM),
            ..bind_arg(m.range())
        };
        expect_bind(&env, &format!("with command {cmd:#x}"), arg, EINVAL)?;
    }
    let arg = SvmBind {
        header: abi::svm_bind_header(
            NOVA_SVM_BIND_COMMAND_MIGRATE,
            0,
            abi::NOVA_SVM_BIND_TARGET_GPU_VRAM,
        ),
        ..bind_arg(m.range())
    };
    let r = bind(&env, arg).or_fail("SVM_BIND with command MIGRATE")?;
    check_eq("pages moved by MIGRATE", r.result, 4)
}

fn bind_target() -> TestResult {
    let (env, m) = bind_setup()?;
    for target in [
        1u64,
        2,
        0x4000_0000,
        0x7fff_ffff,
        0x8000_0001,
        0xc000_0000,
        0xffff_ffff,
    ] {
        let arg = SvmBind {
            header: abi::svm_bind_header(NOVA_SVM_BIND_COMMAND_MIGRATE, 0, target),
            ..bind_arg(m.range())
        };
        expect_bind(&env, &format!("with target {target:#x}"), arg, EINVAL)?;
    }
    let r = bind(&env, bind_arg(m.range())).or_fail("SVM_BIND to GPU_VRAM")?;
    check_eq("pages moved to GPU_VRAM", r.result, 4)?;
    let r = bind(&env, SvmBind::migrate(m.range(), BindTarget::System, 0))
        .or_fail("SVM_BIND to SYSTEM")?;
    check_eq("pages moved to SYSTEM", r.result, 4)
}

fn bind_va_empty() -> TestResult {
    let (env, m) = bind_setup()?;
    let (a, page) = (m.addr(), env.page);
    expect_bind(&env, "of an empty range", bind_arg(a..a), EINVAL)?;
    expect_bind(&env, "of an empty range at 0", bind_arg(0..0), EINVAL)?;
    expect_bind(
        &env,
        "of an inverted range",
        bind_arg(a + 2 * page..a + page),
        EINVAL,
    )?;
    expect_bind(
        &env,
        "of an inverted range within a page",
        bind_arg(a + 2 * page + 8..a + page + 16),
        EINVAL,
    )?;
    let r = bind(&env, bind_arg(a..a + page)).or_fail("SVM_BIND of one page")?;
    check_eq("pages moved", r.result, 1)
}

fn bind_va_overflow() -> TestResult {
    let (env, m) = bind_setup()?;
    let page = env.page;
    for end in [u64::MAX, u64::MAX - page + 2] {
        expect_bind(
            &env,
            "whose end rounds past 2^64",
            bind_arg(m.addr()..end),
            EINVAL,
        )?;
    }
    expect_bind(
        &env,
        "at the top of the address space",
        bind_arg(u64::MAX - 10..u64::MAX),
        EINVAL,
    )?;
    Ok(())
}

fn bind_va_beyond_user() -> TestResult {
    let (env, m) = bind_setup()?;
    let page = env.page;
    expect_bind(
        &env,
        "in the kernel half",
        bind_arg(KERNEL_ADDR..KERNEL_ADDR + page),
        EINVAL,
    )?;
    expect_bind(
        &env,
        "from user space past its end",
        bind_arg(m.addr()..BEYOND_USER),
        EINVAL,
    )?;
    expect_bind(
        &env,
        "just below 2^64",
        bind_arg(round_down(u64::MAX, page) - page..round_down(u64::MAX, page)),
        EINVAL,
    )?;
    let end = user_space_end();
    expect_bind(
        &env,
        "across the end of user space",
        bind_arg(end - page..end + page),
        EINVAL,
    )?;
    expect_bind(
        &env,
        "at the end of user space",
        bind_arg(end..end + page),
        EINVAL,
    )?;
    // Ranges inside user space without an accessible mapping are not an
    // error: nothing moves. The last page (reserved PROT_NONE) counts when
    // nothing else lives there.
    let last = last_user_page();
    let mut empty: Vec<Range<u64>> = Vec::new();
    empty.push(1 << 46..(1 << 46) + page);
    empty.extend(last.as_ref().map(|l| l.range()));
    for r in empty {
        let b = bind(&env, bind_arg(r.clone()))
            .or_fail_with(|| format!("SVM_BIND of [{:#x}, {:#x})", r.start, r.end))?;
        check_eq(
            &format!(
                "pages moved from the unmapped [{:#x}, {:#x})",
                r.start, r.end
            ),
            b.result,
            0,
        )?;
    }
    Ok(())
}

/// A context whose unmanaged window is pages 1..17 of an 18-page
/// reservation (so that its neighbours hold no pages either).
fn window_setup() -> TestResult<(Env, Mapping, Range<u64>)> {
    let env = Env::open()?;
    let page = env.page;
    let res = Mapping::reserve(18 * page).or_fail("mmap of the window")?;
    let w = res.sub(page, 16 * page);
    env.dev
        .svm_init(w.start, w.end - w.start)
        .or_fail("SVM_INIT with an unmanaged window")?;
    Ok((env, res, w))
}

fn bind_va_unmanaged() -> TestResult {
    let (env, _res, w) = window_setup()?;
    let page = env.page;
    let cases = [
        ("of the window's first page", w.start..w.start + page),
        ("inside the window", w.start + 4 * page..w.start + 5 * page),
        ("of the whole window", w.clone()),
        (
            "overlapping the window's start",
            w.start - page..w.start + page,
        ),
        ("overlapping the window's end", w.end - page..w.end + page),
        ("covering the window", w.start - page..w.end + page),
        ("unaligned, inside the window", w.start + 8..w.start + 16),
    ];
    for (what, r) in cases {
        expect_bind(&env, what, bind_arg(r), EINVAL)?;
    }
    // The pages on either side are SVM memory.
    for (what, r) in [
        ("just below the window", w.start - page..w.start),
        ("just above the window", w.end..w.end + page),
    ] {
        let b = bind(&env, bind_arg(r)).or_fail_with(|| format!("SVM_BIND {what}"))?;
        check_eq(&format!("pages moved {what}"), b.result, 0)?;
    }
    Ok(())
}

fn bind_field(what: &str, set: fn(&mut SvmBind, u64)) -> TestResult {
    let (env, m) = bind_setup()?;
    for v in [1, env.page, 1 << 63, u64::MAX] {
        let mut arg = bind_arg(m.range());
        set(&mut arg, v);
        expect_bind(&env, &format!("with {what} {v:#x}"), arg, EINVAL)?;
    }
    let r = bind(&env, bind_arg(m.range())).or_fail_with(|| format!("SVM_BIND with {what} 0"))?;
    check_eq("pages moved", r.result, 4)
}

fn bind_stride() -> TestResult {
    bind_field("stride", |a, v| a.stride = v)
}

fn bind_reserved0() -> TestResult {
    bind_field("reserved0", |a, v| a.reserved0 = v)
}

fn bind_reserved1() -> TestResult {
    bind_field("reserved1", |a, v| a.reserved1 = v)
}

fn bind_ignored_fields() -> TestResult {
    let (env, m) = bind_setup()?;
    let page = env.page;
    for (i, npages) in [0, 1, 12345, u64::MAX].into_iter().enumerate() {
        let target = if i % 2 == 0 {
            BindTarget::GpuVram
        } else {
            BindTarget::System
        };
        let arg = SvmBind {
            npages,
            result: 0xdead_beef,
            ..SvmBind::migrate(m.range(), target, 0)
        };
        let r = bind(&env, arg)
            .or_fail_with(|| format!("SVM_BIND with npages {npages:#x} and garbage in result"))?;
        check_eq(&format!("pages moved with npages {npages:#x}"), r.result, 4)?;
    }
    // va_start and va_end come back rounded.
    let a = m.addr();
    let r = bind(&env, bind_arg(a + 8..a + page + 8)).or_fail("SVM_BIND of an unaligned range")?;
    check_eq(
        "rounded range written back",
        (r.va_start, r.va_end),
        (a, a + 2 * page),
    )?;
    m.verify("CPU read", 1)
}

/// A file with an SVM context and a [`Scratch`].
fn copy_setup() -> TestResult<(Env, Scratch)> {
    let env = Env::init()?;
    let s = Scratch::new(&env)?;
    Ok((env, s))
}

/// Checks a valid copy still works and the data arrived.
fn copy_works(env: &Env, s: &Scratch) -> TestResult {
    env.copy("valid copy", &s.dst, 0, s.src.addr(), s.src.len())?;
    s.dst.verify("destination of the valid copy", 1)
}

fn copy_dst() -> TestResult {
    let (env, s) = copy_setup()?;
    let page = env.page;
    let d = s.dst.addr();
    let last = last_user_page();
    let mut cases = vec![
        ("with dst 8 bytes into a page", d + 8, page),
        ("with dst 1 byte into a page", d + 1, page),
        ("with dst in the kernel half", KERNEL_ADDR, page),
        (
            "with dst + size overflowing",
            round_down(u64::MAX, page),
            2 * page,
        ),
    ];
    if let Some(l) = &last {
        cases.push(("with dst reaching beyond user space", l.addr(), 2 * page));
    }
    for (what, dst, size) in cases {
        // SAFETY: Each destination is a page inside `s.dst` (which has
        // four), or is not writable: beyond user space, or the last user
        // page, which `last` holds inaccessible.
        unsafe {
            let arg = DeviceCopy {
                dst,
                size,
                ..s.copy(1)
            };
            expect_copy(&env, what, arg, EINVAL)?;
            let fill = DeviceCopy {
                dst,
                size,
                ..s.fill(1)
            };
            expect_copy(&env, &format!("FILL {what}"), fill, EINVAL)?;
        }
    }
    s.dst.verify("destination after the failures", 2)?;
    copy_works(&env, &s)
}

fn copy_src() -> TestResult {
    let (env, s) = copy_setup()?;
    let page = env.page;
    let a = s.src.addr();
    let end = user_space_end();
    for (what, src, size) in [
        ("with src 8 bytes into a page", a + 8, page),
        ("with src in the kernel half", KERNEL_ADDR, page),
        ("with src reaching beyond user space", end - page, 2 * page),
        (
            "with src + size overflowing",
            round_down(u64::MAX, page),
            2 * page,
        ),
    ] {
        let arg = DeviceCopy {
            src,
            size,
            ..s.copy(1)
        };
        // SAFETY: The destination is the first two pages of `s.dst`.
        unsafe { expect_copy(&env, what, arg, EINVAL)? };
    }
    // FILL takes no source.
    for src in [a, page] {
        let arg = DeviceCopy { src, ..s.fill(1) };
        // SAFETY: The destination is `s.dst`.
        unsafe { expect_copy(&env, &format!("FILL with src {src:#x}"), arg, EINVAL)? };
    }
    s.dst.verify("destination after the failures", 2)?;
    // A read-only source is fine.
    s.src
        .protect(0, s.src.len(), libc::PROT_READ)
        .or_fail("mprotect(PROT_READ) of the source")?;
    copy_works(&env, &s)
}

fn copy_size() -> TestResult {
    let (env, s) = copy_setup()?;
    let page = env.page;
    for size in [0, 1, 8, page / 2, page - 1, page + 8] {
        let arg = DeviceCopy { size, ..s.copy(1) };
        // SAFETY: The destination is `s.dst`, four pages long.
        unsafe { expect_copy(&env, &format!("of {size:#x} bytes"), arg, EINVAL)? };
        let arg = DeviceCopy { size, ..s.fill(1) };
        // SAFETY: As above.
        unsafe { expect_copy(&env, &format!("FILL of {size:#x} bytes"), arg, EINVAL)? };
    }
    s.dst.verify("destination after the failures", 2)?;
    copy_works(&env, &s)
}

fn copy_flags() -> TestResult {
    let (env, s) = copy_setup()?;
    for flags in [2, 4, 0x8000_0000, u32::MAX, NOVA_SVM_DEVICE_COPY_FILL | 2] {
        let arg = DeviceCopy { flags, ..s.copy(1) };
        // SAFETY: The destination is `s.dst`.
        unsafe { expect_copy(&env, &format!("with flags {flags:#x}"), arg, EINVAL)? };
    }
    s.dst.verify("destination after the failures", 2)?;
    copy_works(&env, &s)
}

fn copy_pattern() -> TestResult {
    let (env, s) = copy_setup()?;
    for pattern in [1, 0x8000_0000, u32::MAX] {
        let arg = DeviceCopy {
            pattern,
            ..s.copy(1)
        };
        // SAFETY: The destination is `s.dst`.
        unsafe {
            expect_copy(
                &env,
                &format!("without FILL but pattern {pattern:#x}"),
                arg,
                EINVAL,
            )?
        };
    }
    s.dst.verify("destination after the failures", 2)?;
    // With FILL every pattern, zero included, is valid.
    for pattern in [0, u32::MAX] {
        env.fill("fill", &s.dst, 0, s.dst.len(), pattern)?;
        s.dst
            .verify_u32("destination of the fill", 0, s.dst.len(), pattern)?;
    }
    copy_works(&env, &s)
}

fn copy_field(what: &str, set: fn(&mut DeviceCopy, u64)) -> TestResult {
    let (env, s) = copy_setup()?;
    for v in [1, 1 << 63, u64::MAX] {
        for (kind, mut arg) in [("copy", s.copy(1)), ("FILL", s.fill(1))] {
            set(&mut arg, v);
            // SAFETY: The destination is `s.dst`.
            unsafe { expect_copy(&env, &format!("{kind} with {what} {v:#x}"), arg, EINVAL)? };
        }
    }
    s.dst.verify("destination after the failures", 2)?;
    copy_works(&env, &s)
}

fn copy_reserved0() -> TestResult {
    copy_field("reserved0", |a, v| a.reserved0 = v)
}

fn copy_reserved1() -> TestResult {
    copy_field("reserved1", |a, v| a.reserved1 = v)
}

fn copy_overlap() -> TestResult {
    let env = Env::init()?;
    let page = env.page;
    let m = Mapping::anon(4 * page).or_fail("mmap")?;
    m.fill(1);
    let a = m.addr();
    for (what, dst, src, size) in [
        ("onto itself", a, a, page),
        ("onto itself, two pages", a, a, 2 * page),
        ("with the source a page above", a, a + page, 2 * page),
        ("with the destination a page above", a + page, a, 2 * page),
        (
            "with the destination inside the source",
            a + page,
            a,
            3 * page,
        ),
    ] {
        let arg = DeviceCopy::copy(dst, src, size);
        // SAFETY: The destination lies in `m`, this test's mapping.
        unsafe { expect_copy(&env, what, arg, EINVAL)? };
    }
    m.verify("buffer after the failures", 1)?;
    // Adjacent ranges do not overlap.
    env.copy("copy to the adjacent pages", &m, 2 * page, a, 2 * page)?;
    m.verify_with("buffer after the adjacent copy", 0, m.len(), |o| {
        crate::mem::pattern(1, (o % (2 * page)) / 8)
    })
}

fn copy_unmanaged() -> TestResult {
    let (env, _res, w) = window_setup()?;
    let page = env.page;
    let m = Mapping::anon(4 * page).or_fail("mmap")?;
    m.fill(1);
    for (what, dst, src, size) in [
        ("to the window", w.start, m.addr(), page),
        ("from the window", m.addr(), w.start, page),
        (
            "to a range overlapping the window's start",
            w.start - page,
            m.addr(),
            2 * page,
        ),
        (
            "from a range overlapping the window's end",
            m.addr(),
            w.end - page,
            2 * page,
        ),
    ] {
        let arg = DeviceCopy::copy(dst, src, size);
        // SAFETY: Each destination is in `m` or in the PROT_NONE window
        // reservation, which the kernel cannot write.
        unsafe { expect_copy(&env, what, arg, EINVAL)? };
    }
    let arg = DeviceCopy::fill(w.start, page, 1);
    // SAFETY: The destination is the PROT_NONE window reservation.
    unsafe { expect_copy(&env, "FILL of the window", arg, EINVAL)? };
    m.verify("buffer after the failures", 1)
}

/// A page-aligned address range that nothing maps.
fn hole(pages: u64) -> TestResult<Range<u64>> {
    let m = Mapping::reserve(pages * crate::mem::page_size()).or_fail("mmap of the hole")?;
    Ok(m.range())
}

fn copy_efault_unmapped() -> TestResult {
    let (env, s) = copy_setup()?;
    let page = env.page;
    let h = hole(4)?;
    for (what, arg) in [
        (
            "from an unmapped source",
            DeviceCopy::copy(s.dst.addr(), h.start, 4 * page),
        ),
        (
            "to an unmapped destination",
            DeviceCopy::copy(h.start, s.src.addr(), 4 * page),
        ),
        (
            "FILL of an unmapped destination",
            DeviceCopy::fill(h.start, 4 * page, 7),
        ),
    ] {
        // SAFETY: The destination is `s.dst`, or unmapped.
        unsafe { expect_copy(&env, what, arg, libc::EFAULT)? };
    }
    // How far the copy got is written back on failure: nothing.
    let mut arg = DeviceCopy::copy(s.dst.addr(), h.start, 4 * page);
    // SAFETY: The destination is `s.dst`.
    let r = unsafe { env.dev.ioctl_unchecked(&mut arg) };
    expect_errno("DEVICE_COPY from an unmapped source", r, libc::EFAULT)?;
    check_eq(
        "DEVICE_COPY result from an unmapped first page",
        arg.result,
        0,
    )?;
    s.dst.verify("destination after the failures", 2)?;
    copy_works(&env, &s)
}

fn copy_efault_access() -> TestResult {
    let (env, s) = copy_setup()?;
    s.dst
        .protect(0, s.dst.len(), libc::PROT_READ)
        .or_fail("mprotect(PROT_READ) of the destination")?;
    // SAFETY: The destination is read-only, so the kernel cannot write it.
    unsafe {
        expect_copy(&env, "to a read-only destination", s.copy(4), libc::EFAULT)?;
        expect_copy(
            &env,
            "FILL of a read-only destination",
            s.fill(4),
            libc::EFAULT,
        )?;
    }
    s.dst.verify("read-only destination", 2)?;
    s.dst
        .protect(0, s.dst.len(), libc::PROT_READ | libc::PROT_WRITE)
        .or_fail("mprotect(PROT_READ|PROT_WRITE) of the destination")?;
    s.src
        .protect(0, s.src.len(), libc::PROT_NONE)
        .or_fail("mprotect(PROT_NONE) of the source")?;
    // SAFETY: The destination is `s.dst`.
    unsafe { expect_copy(&env, "from a PROT_NONE source", s.copy(4), libc::EFAULT)? };
    s.dst.verify("destination after the failures", 2)?;
    s.src
        .protect(0, s.src.len(), libc::PROT_READ)
        .or_fail("mprotect(PROT_READ) of the source")?;
    copy_works(&env, &s)
}

fn copy_efault_partial() -> TestResult {
    let (env, s) = copy_setup()?;
    let page = env.page;
    // The source's upper two pages go away.
    s.src
        .unmap(2 * page, 2 * page)
        .or_fail("munmap of the source's upper half")?;
    let mut arg = s.copy(4);
    // SAFETY: The destination is `s.dst`.
    let r = unsafe { env.dev.ioctl_unchecked(&mut arg) };
    expect_errno("DEVICE_COPY from a half-unmapped source", r, libc::EFAULT)?;
    check!(
        arg.result.is_multiple_of(page) && arg.result <= 2 * page,
        "DEVICE_COPY result: expected a page multiple of at most {:#x} (the mapped part), got {:#x}",
        2 * page,
        arg.result
    );
    s.dst
        .verify_range("the part reported copied", 0, arg.result, 1)?;
    s.dst
        .verify_range("beyond the hole", 2 * page, 2 * page, 2)?;
    Ok(())
}

fn ioctl_bad_pointer() -> TestResult {
    let env = Env::init()?;
    let guard = Mapping::reserve(env.page).or_fail("mmap of a PROT_NONE page")?;
    let requests = [
        ("GETPARAM", GetParam::REQUEST),
        ("SVM_INIT", SvmInit::REQUEST),
        ("SVM_BIND", SvmBind::REQUEST),
        ("DEVICE_COPY", DeviceCopy::REQUEST),
    ];
    for (name, req) in requests {
        for (what, ptr) in [("NULL", 0u64), ("a PROT_NONE page", guard.addr())] {
            // SAFETY: The argument pointer is NULL or an inaccessible page:
            // the DRM core cannot copy the structure in, so the driver sees
            // no arguments and writes nothing.
            let r = unsafe {
                raw::ioctl(
                    std::os::fd::AsRawFd::as_raw_fd(&env.dev),
                    req,
                    ptr as usize as *mut libc::c_void,
                )
            };
            expect_errno(
                &format!("{name} with the argument at {what}"),
                r,
                libc::EFAULT,
            )?;
        }
    }
    Ok(())
}

fn ioctl_unknown() -> TestResult {
    let env = Env::init()?;
    for nr in [abi::DRM_NOVA_SVM_DEVICE_COPY + 1, 0x1f, 0x5f] {
        let req = abi::drm_iowr(abi::DRM_COMMAND_BASE + nr, 16);
        let mut arg = [0u64; 2];
        // SAFETY: `arg` is valid for the 16 bytes the request encodes, and
        // no driver ioctl with this number exists to do more.
        let r = unsafe {
            raw::ioctl(
                std::os::fd::AsRawFd::as_raw_fd(&env.dev),
                req,
                arg.as_mut_ptr().cast(),
            )
        };
        expect_errno(&format!("driver ioctl {nr:#x}"), r, EINVAL)?;
    }
    Ok(())
}

/// The debugfs files of the simulated GPU that change what the device does.
const DEBUGFS_KNOBS: [&str; 2] = ["timeout_ms", "channel_test"];

/// `open(O_WRONLY)` of `path` must fail with EACCES or EPERM.
fn expect_write_refused(path: &str) -> TestResult {
    match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(_) => Err(crate::check::fail(format!(
            "a user opened {path} for writing"
        ))),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) => {
            println!("{path}: {e}");
            Ok(())
        }
        Err(e) => Err(crate::check::fail(format!(
            "open({path}, O_WRONLY) as a user: {e}, want EACCES or EPERM"
        ))),
    }
}

/// As a user, with the device open to all: the knobs that change the
/// device's behaviour (its GPU timeout, channel fault tests) and the
/// module's parameters refuse to open for writing. Root may write them, so
/// the root pass skips.
fn user_knobs_refused() -> TestResult {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return Err(crate::check::skip(
            "root may write them; the unprivileged pass (NOVA_SVM_IGT_UID) runs this",
        ));
    }
    let _env = Env::init()?;
    for knob in DEBUGFS_KNOBS {
        expect_write_refused(&format!("{}/{knob}", crate::env::SIM_DEBUGFS))?;
    }
    let params = std::path::Path::new("/sys/module/nova_svm/parameters");
    match std::fs::read_dir(params) {
        Ok(dir) => {
            for e in dir {
                let e = e.or_fail("readdir of the module's parameters")?;
                expect_write_refused(&e.path().to_string_lossy())?;
            }
        }
        Err(e) => println!(
            "{}: {e} (the module shows no parameters in sysfs)",
            params.display()
        ),
    }
    Ok(())
}
