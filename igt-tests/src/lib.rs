// SPDX-License-Identifier: MIT

//! IGT-protocol tests of nova-svm, run inside the test VM.
//!
//! Three binaries, each a table of subtests ([`igt::Subtest`]):
//!
//! - `nova_svm_basic` ([`suites::basic`]): migration of malloc, anonymous,
//!   shared, huge and file-backed private memory; fork, threads, several
//!   processes; munmap and mremap of migrated memory; eviction; the
//!   device's copy engine reading and writing VRAM and system memory.
//! - `nova_svm_negative` ([`suites::negative`]): every field of every ioctl
//!   with invalid values, each expecting the errno the header documents.
//! - `nova_svm_module` ([`suites::module`]): module unload with pages on
//!   the device.
//!
//! Without a nova-svm device every subtest skips (exit 77) with
//! [`env::NO_DEVICE`]. The protocol ([`igt`]) is documented there.
//!
//! One more binary is a tool rather than a test, run by its own VM suite
//! and not by `igt.sh`:
//!
//! - `nova_svm_bench` ([`bench`]): migration throughput of nova-svm,
//!   test_hmm ([`dmirror`]) and memcpy (`cargo xtask bench`).

#![warn(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

pub mod bench;
pub mod check;
pub mod dmirror;
pub mod env;
pub mod igt;
pub mod mem;
pub mod process;
pub mod suites;
