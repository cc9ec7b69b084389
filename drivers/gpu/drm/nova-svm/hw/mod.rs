// SPDX-License-Identifier: GPL-2.0

//! Backends of [`crate::gpu::Gpu`].

pub(crate) mod nv;
pub(crate) mod sim;
