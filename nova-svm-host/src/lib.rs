// SPDX-License-Identifier: GPL-2.0

//! Host build of nova-svm's pure driver logic.
//!
//! The files pulled in below belong to the kernel driver (`drivers/gpu/drm/nova-svm/`) and
//! are compiled here unchanged, so that their logic is unit-tested with `cargo test` in
//! seconds. Outside tests this crate is `no_std`, like the kernel crate, which proves that
//! the shared files need nothing beyond `core`.
//!
//! The shared items are `pub(crate)`, as the kernel crate wants them; nothing outside the
//! tests uses them here, hence `dead_code` is allowed in non-test builds.

#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), allow(dead_code))]
// The lints the kernel enables for Rust code (`rust_common_flags` in the top-level Makefile).
#![warn(
    missing_docs,
    rust_2018_idioms,
    unreachable_pub,
    clippy::all,
    clippy::as_ptr_cast_mut,
    clippy::as_underscore,
    clippy::cast_lossless,
    clippy::ignored_unit_patterns,
    clippy::mut_mut,
    clippy::needless_bitwise_bool,
    clippy::no_mangle_with_rust_abi,
    clippy::ptr_as_ptr,
    clippy::ptr_cast_constness,
    clippy::ref_as_ptr,
    clippy::undocumented_unsafe_blocks,
    clippy::unnecessary_safety_comment,
    clippy::unnecessary_safety_doc
)]
#![forbid(unsafe_code)]

#[path = "../../drivers/gpu/drm/nova-svm/args.rs"]
#[warn(clippy::missing_docs_in_private_items)]
mod args;

#[path = "../../drivers/gpu/drm/nova-svm/ce/mod.rs"]
#[warn(clippy::missing_docs_in_private_items)]
mod ce;

#[path = "../../drivers/gpu/drm/nova-svm/hw/sim/ce_interp.rs"]
#[warn(clippy::missing_docs_in_private_items)]
mod ce_interp;

#[path = "../../drivers/gpu/drm/nova-svm/host/mod.rs"]
#[warn(clippy::missing_docs_in_private_items)]
mod host;

#[path = "../../drivers/gpu/drm/nova-svm/mmu/mod.rs"]
#[warn(clippy::missing_docs_in_private_items)]
mod mmu;

#[path = "../../drivers/gpu/drm/nova-svm/hw/sim/pbdma.rs"]
#[warn(clippy::missing_docs_in_private_items)]
mod pbdma;

#[path = "../../drivers/gpu/drm/nova-svm/hw/sim/mmu.rs"]
#[warn(clippy::missing_docs_in_private_items)]
mod sim_mmu;

#[path = "../../drivers/gpu/drm/nova-svm/hw/sim/iommu.rs"]
#[warn(clippy::missing_docs_in_private_items)]
mod iommu;

#[cfg(test)]
mod tests;
