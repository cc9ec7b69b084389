// SPDX-License-Identifier: MIT

//! IGT-protocol tests of nova-svm, run inside the test VM.
//!
//! Three binaries, each a table of subtests ([`igt::Subtest`]):
//!
//! - `nova_svm_basic` ([`suites::basic`]): migration of malloc, anonymous,
//!   shared, huge and file-backed private memory; fork, threads, several
//!   processes; munmap and mremap of migrated memory; eviction; the
//!   device's copy engine reading and writing VRAM and system memory;
//!   tmpfs and ext4 files in VRAM ([`suites::file`]): fsync, read(2),
//!   write(2), truncation, O_DIRECT, other processes, eviction.
//! - `nova_svm_negative` ([`suites::negative`]): every field of every ioctl
//!   with invalid values, each expecting the errno the header documents.
//! - `nova_svm_module` ([`suites::module`]): module unload with pages on
//!   the device, anonymous and file-backed.
//!
//! Without a nova-svm device every subtest skips (exit 77) with
//! [`env::NO_DEVICE`]. The protocol ([`igt`]) is documented there.
//!
//! Two more binaries are tools rather than tests, run by their own VM
//! suites and not by `igt.sh`:
//!
//! - `nova_svm_bench` ([`bench`]): migration throughput of nova-svm,
//!   test_hmm ([`dmirror`]) and memcpy (`cargo xtask bench`).
//! - `nova_svm_demo` ([`demo`]): one SVM workload, step by step
//!   (`cargo xtask run`).

#![warn(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

pub mod bench;
pub mod check;
pub mod demo;
pub mod dmirror;
pub mod env;
pub mod fuzz;
pub mod igt;
pub mod mem;
pub mod mount;
pub mod process;
pub mod suites;
