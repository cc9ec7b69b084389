// SPDX-License-Identifier: GPL-2.0

//! Copy engine (CE): method encodings per GPU generation and a push-buffer builder.
//!
//! The copy engine is the only way nova-svm moves data between system memory and VRAM. The
//! driver builds push buffers with [`push::PushBuffer`]; the method offsets and field
//! positions come from the class tables in [`class`], chosen by [`class::Generation`]. The
//! same dwords go to real hardware or to the software copy engine of the simulated GPU
//! (`hw/sim/ce_interp.rs`).
//!
//! This module depends on `core` only, so that the host crate `nova-svm-host` can compile and
//! test it.

pub(crate) mod class;
pub(crate) mod field;
pub(crate) mod header;
pub(crate) mod push;

/// A memory aperture that the copy engine addresses physically (`SET_SRC_PHYS_MODE_TARGET`
/// and `SET_DST_PHYS_MODE_TARGET`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Aperture {
    /// Video memory (`TARGET_LOCAL_FB`).
    Vram,
    /// Snooped system memory (`TARGET_COHERENT_SYSMEM`).
    SysmemCoherent,
    /// Non-snooped system memory (`TARGET_NONCOHERENT_SYSMEM`).
    SysmemNoncoherent,
}

impl Aperture {
    /// Returns the `SET_*_PHYS_MODE_TARGET` value of the aperture.
    pub(crate) const fn target(self) -> u32 {
        match self {
            Aperture::Vram => class::phys_mode_target::LOCAL_FB,
            Aperture::SysmemCoherent => class::phys_mode_target::COHERENT_SYSMEM,
            Aperture::SysmemNoncoherent => class::phys_mode_target::NONCOHERENT_SYSMEM,
        }
    }

    /// Returns the aperture of a `SET_*_PHYS_MODE_TARGET` value, if it is one of the three
    /// above.
    pub(crate) const fn from_target(target: u32) -> Option<Aperture> {
        match target {
            class::phys_mode_target::LOCAL_FB => Some(Aperture::Vram),
            class::phys_mode_target::COHERENT_SYSMEM => Some(Aperture::SysmemCoherent),
            class::phys_mode_target::NONCOHERENT_SYSMEM => Some(Aperture::SysmemNoncoherent),
            _ => None,
        }
    }
}

/// A physical address in an aperture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PhysAddr {
    /// The aperture the address is in.
    pub(crate) aperture: Aperture,
    /// The byte address within the aperture.
    pub(crate) addr: u64,
}

impl PhysAddr {
    /// Returns the address `addr` in video memory.
    pub(crate) const fn vram(addr: u64) -> Self {
        Self {
            aperture: Aperture::Vram,
            addr,
        }
    }

    /// Returns the address `addr` in coherent system memory.
    pub(crate) const fn sysmem(addr: u64) -> Self {
        Self {
            aperture: Aperture::SysmemCoherent,
            addr,
        }
    }
}

/// Returns bits 63:32 of `value`.
pub(crate) const fn upper_32_bits(value: u64) -> u32 {
    // CAST: the shift leaves 32 significant bits.
    (value >> 32) as u32
}

/// Returns bits 31:0 of `value`.
pub(crate) const fn lower_32_bits(value: u64) -> u32 {
    // CAST: truncation to the low 32 bits is intended.
    value as u32
}
