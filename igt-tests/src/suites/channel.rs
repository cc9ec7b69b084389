// SPDX-License-Identifier: MIT

//! `nova_svm_channel`: the GPU's channels when work goes wrong.
//!
//! The driver's debugfs file `channel_test` makes the GPU do what the uapi never asks of it:
//! run a bad push buffer, access an unmapped or read-only virtual address or a privileged
//! page, reach system memory at a bus address that is not (or no longer) mapped for it, or
//! wait on a semaphore that never comes. Each must end the submission with a clear error
//! that names the fault, and leave a channel that works again; the kernel channel, which
//! every migration uses, must recover too. debugfs needs root: the subtests skip without it
//! or without the simulated GPU, which is the only device with the file.

use std::fs;
use std::path::PathBuf;

use crate::check::{check_eq, fail, skip, within, OrFail};
use crate::env::Env;
use crate::igt::{Subtest, TestResult};
use crate::mem::Mapping;

/// Every subtest of `nova_svm_channel`.
pub const SUBTESTS: &[Subtest] = &[
    Subtest {
        name: "channel-copy",
        description: "the test channel copies between two VRAM pages through its page tables",
        run: channel_copy,
    },
    Subtest {
        name: "channel-fault-unmapped",
        description: "a copy from an unmapped virtual address faults (PTE, read, copy engine)",
        run: || {
            expect(
                "fault-unmapped",
                &[
                    "EIO",
                    "Mmu(MmuFault",
                    &va(UNMAPPED),
                    "access: Read",
                    "client: Ce",
                    "kind: Pte",
                ],
            )
        },
    },
    Subtest {
        name: "channel-fault-readonly",
        description: "a copy into a read-only page faults with a write access",
        run: || {
            expect(
                "fault-readonly",
                &[
                    "EIO",
                    "Mmu(MmuFault",
                    &va(RO),
                    "access: Write",
                    "kind: ReadOnly",
                ],
            )
        },
    },
    Subtest {
        name: "channel-fault-privileged",
        description: "an unprivileged channel cannot read a page mapped privileged",
        run: || {
            expect(
                "fault-privileged",
                &["EIO", "Mmu(MmuFault", &va(PRIV), "kind: Privilege"],
            )
        },
    },
    Subtest {
        name: "channel-bad-header",
        description: "a push-buffer dword that is no method header stops the channel",
        run: || expect("bad-header", &["EIO", "Method {"]),
    },
    Subtest {
        name: "channel-bad-method",
        description: "a method the copy-engine class does not have stops the channel",
        run: || expect("bad-method", &["EIO", "Method {"]),
    },
    Subtest {
        name: "channel-hang",
        description: "a semaphore acquire that never completes times out and the channel is reset",
        run: || expect("hang", &["ETIMEDOUT", "Some(Timeout)"]),
    },
    Subtest {
        name: "channel-dma-unmapped",
        description: "system memory at a bus address that was never mapped is refused",
        run: || {
            expect(
                "dma-unmapped",
                &[
                    "EIO",
                    "Bus { aperture: SysmemCoherent, addr: 524288, access: Read }",
                ],
            )
        },
    },
    Subtest {
        name: "channel-dma-stale",
        description: "a bus address that was mapped and unmapped again is refused",
        run: || {
            expect(
                "dma-stale",
                &["EIO", "Bus { aperture: SysmemCoherent", "access: Read"],
            )
        },
    },
    Subtest {
        name: "channel-kernel-bad-push",
        description: "a bad push buffer on the kernel channel fails, and migrations work after it",
        run: kernel_bad_push,
    },
];

/// GPU virtual addresses of the test channel's pages (the driver's `diag.rs`).
const TEST_VA: u64 = 0x4000_0000;
/// The read-only page.
const RO: u64 = TEST_VA + 0x2000;
/// The privileged page.
const PRIV: u64 = TEST_VA + 0x3000;
/// An address with nothing mapped.
const UNMAPPED: u64 = TEST_VA + 0x10_0000;

/// `va: <addr>`, as the outcome spells a fault's address.
fn va(addr: u64) -> String {
    format!("va: {addr}")
}

/// The device's debugfs directory, or a skip saying why it is not there.
fn debugfs() -> TestResult<PathBuf> {
    crate::check::require_root("debugfs")?;
    let dir = PathBuf::from(crate::env::SIM_DEBUGFS);
    if !dir.join("channel_test").exists() {
        return Err(skip(format!(
            "{} does not exist: no simulated GPU, or debugfs is not mounted",
            dir.display()
        )));
    }
    Ok(dir)
}

/// Runs the driver's channel test `name` and returns its outcome.
fn run(name: &str) -> TestResult<String> {
    let path = debugfs()?.join("channel_test");
    fs::write(&path, name)
        .map_err(|e| fail(format!("writing {name} to {}: {e}", path.display())))?;
    let out =
        fs::read_to_string(&path).map_err(|e| fail(format!("reading {}: {e}", path.display())))?;
    println!("{}", out.trim_end());
    Ok(out)
}

/// Runs test `name` and checks that its outcome names each of `want`, and that the channel
/// recovered.
fn expect(name: &str, want: &[&str]) -> TestResult {
    let out = run(name)?;
    for w in want.iter().chain(["recovered: yes"].iter()) {
        if !out.contains(w) {
            return Err(fail(format!(
                "outcome of {name} does not say {w:?}: {}",
                out.trim_end()
            )));
        }
    }
    // The fault left no DMA mapping behind.
    check_eq("DMA mappings live after the test", dma_live()?, 0)
}

/// `dma_mappings_live` of the device's statistics.
fn dma_live() -> TestResult<u64> {
    let path = debugfs()?.join("stats");
    let stats =
        fs::read_to_string(&path).map_err(|e| fail(format!("reading {}: {e}", path.display())))?;
    stats
        .lines()
        .find_map(|l| l.strip_prefix("dma_mappings_live "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| fail(format!("no dma_mappings_live in {}", path.display())))
}

/// `channel-copy`.
fn channel_copy() -> TestResult {
    let out = run("copy")?;
    check_eq("outcome of the copy", out.trim_end(), "copy: ok")
}

/// `channel-kernel-bad-push`.
fn kernel_bad_push() -> TestResult {
    let env = Env::init()?;
    expect("kernel-bad-push", &["EIO", "Some(Method"])?;
    // The channel every migration runs on works again: a round trip keeps the data.
    let len = 64 * 4096;
    let m = Mapping::anon(len).or_fail("mmap")?;
    m.fill(0x5a);
    within(
        "after the kernel channel's reset",
        env.to_vram("migration", m.range(), 64),
    )?;
    env.to_system("migration back", m.range(), 64)?;
    m.verify("data after the round trip", 0x5a)
}
