// SPDX-License-Identifier: GPL-2.0

//! GPU page-table (GMMU) formats: version 2 (Pascal to Ada) and version 3 (Hopper and
//! Blackwell).
//!
//! A GPU virtual address space is a tree of page directories whose leaves are page tables.
//! Each level indexes a few bits of the virtual address ([`Level`]). The last directory
//! (PD0) has 16-byte "dual" entries that point at two page tables for the same 2 MiB, one of
//! 4 KiB pages and one of 64 KiB ("big") pages, or that are themselves a 2 MiB PTE.
//!
//! The bit positions are those of `dev_mmu.h` (`NV_MMU_VER2_*` in
//! `src/common/inc/swref/published/pascal/gp100/dev_mmu.h`, `NV_MMU_VER3_*` in
//! `.../hopper/gh100/dev_mmu.h`, NVIDIA/open-gpu-kernel-modules); the level layouts are those
//! of UVM's `uvm_pascal_mmu.c` and `uvm_hopper_mmu.c` (and nouveau's `vmmgp100.c`).
//! The host tests check every field against the header values.
//!
//! This module depends on `core` only, so that the host crate `nova-svm-host` can compile and
//! test it.

use crate::ce::Aperture;

/// A page-table format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    /// `NV_MMU_VER2_*`: 49-bit virtual addresses, five levels.
    V2,
    /// `NV_MMU_VER3_*`: 57-bit virtual addresses, six levels.
    V3,
}

/// The page sizes a PTE can map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PageSize {
    /// 4 KiB, in a small page table.
    Small,
    /// 64 KiB, in a big page table.
    Big,
    /// 2 MiB, a PTE in PD0.
    Huge,
}

impl PageSize {
    /// Returns log2 of the size in bytes.
    pub(crate) const fn shift(self) -> u32 {
        match self {
            PageSize::Small => 12,
            PageSize::Big => 16,
            PageSize::Huge => 21,
        }
    }

    /// Returns the size in bytes.
    pub(crate) const fn bytes(self) -> u64 {
        1 << self.shift()
    }
}

/// One level of the tree: which bits of the virtual address index it and how big its
/// entries are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Level {
    /// The lowest virtual-address bit the level indexes.
    pub(crate) shift: u32,
    /// The number of bits it indexes.
    pub(crate) bits: u32,
    /// Bytes of one entry: 8, or 16 for the dual entries of PD0.
    pub(crate) entry_size: usize,
}

impl Level {
    /// Returns the number of entries of a table of this level.
    pub(crate) const fn entries(&self) -> usize {
        1 << self.bits
    }

    /// Returns the bytes of a table of this level.
    pub(crate) const fn table_bytes(&self) -> usize {
        self.entries() * self.entry_size
    }

    /// Returns the index of `va` in a table of this level.
    pub(crate) const fn index(&self, va: u64) -> usize {
        // CAST: the mask leaves at most `bits` (at most 9) bits.
        ((va >> self.shift) & ((1 << self.bits) - 1)) as usize
    }
}

/// The directories of version 2, root (PD3) first: `48:47`, `46:38`, `37:29`, `28:21`.
const V2_DIRS: [Level; 4] = [
    Level {
        shift: 47,
        bits: 2,
        entry_size: 8,
    },
    Level {
        shift: 38,
        bits: 9,
        entry_size: 8,
    },
    Level {
        shift: 29,
        bits: 9,
        entry_size: 8,
    },
    PD0,
];

/// The directories of version 3, root (PD4) first: `56:56`, `55:47`, `46:38`, `37:29`,
/// `28:21`.
const V3_DIRS: [Level; 5] = [
    Level {
        shift: 56,
        bits: 1,
        entry_size: 8,
    },
    Level {
        shift: 47,
        bits: 9,
        entry_size: 8,
    },
    Level {
        shift: 38,
        bits: 9,
        entry_size: 8,
    },
    Level {
        shift: 29,
        bits: 9,
        entry_size: 8,
    },
    PD0,
];

/// PD0, the last directory, of both versions: bits `28:21`, dual entries.
pub(crate) const PD0: Level = Level {
    shift: 21,
    bits: 8,
    entry_size: 16,
};

/// A page table of 4 KiB pages: bits `20:12`.
pub(crate) const SMALL_PT: Level = Level {
    shift: 12,
    bits: 9,
    entry_size: 8,
};

/// A page table of 64 KiB pages: bits `20:16`.
pub(crate) const BIG_PT: Level = Level {
    shift: 16,
    bits: 5,
    entry_size: 8,
};

/// A page-table entry, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pte {
    /// Where the page is.
    pub(crate) aperture: Aperture,
    /// Byte address of the page in its aperture, aligned to the page size.
    pub(crate) addr: u64,
    /// Writes fault.
    pub(crate) read_only: bool,
    /// Only privileged (kernel) channels may access the page.
    pub(crate) privileged: bool,
}

/// A directory entry that points at a table, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pde {
    /// Where the table is.
    pub(crate) aperture: Aperture,
    /// Byte address of the table in its aperture.
    pub(crate) addr: u64,
}

/// What a directory entry (not of PD0) holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DirEntry {
    /// Nothing (`APERTURE_INVALID`).
    Invalid,
    /// The next level's table.
    Table(Pde),
    /// A PTE at a directory level (`IS_PTE`), which this driver never writes.
    Pte,
}

/// What a dual entry of PD0 holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DualEntry {
    /// A 2 MiB page (`IS_PTE`).
    Huge(Pte),
    /// The two page tables of the 2 MiB, either of which may be absent.
    Tables {
        /// The table of 64 KiB pages (`*_BIG`).
        big: Option<Pde>,
        /// The table of 4 KiB pages (`*_SMALL`).
        small: Option<Pde>,
    },
}

/// A field `hi:lo` of a 64-bit entry word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Field64 {
    /// Most significant bit, inclusive.
    pub(crate) hi: u32,
    /// Least significant bit, inclusive.
    pub(crate) lo: u32,
}

impl Field64 {
    /// Creates the field `hi:lo`.
    pub(crate) const fn new(hi: u32, lo: u32) -> Self {
        Self { hi, lo }
    }

    /// Returns the mask of the field's bits in place.
    pub(crate) const fn mask(self) -> u64 {
        (u64::MAX >> (63 - (self.hi - self.lo))) << self.lo
    }

    /// Returns whether `v` fits the field.
    pub(crate) const fn fits(self, v: u64) -> bool {
        v <= (u64::MAX >> (63 - (self.hi - self.lo)))
    }

    /// Returns `v` placed in the field; bits that do not fit are dropped.
    pub(crate) const fn val(self, v: u64) -> u64 {
        (v << self.lo) & self.mask()
    }

    /// Returns the field's value in `w`.
    pub(crate) const fn get(self, w: u64) -> u64 {
        (w & self.mask()) >> self.lo
    }
}

/// `NV_MMU_VER2_*` fields.
pub(crate) mod v2 {
    use super::Field64;

    /// `NV_MMU_VER2_PTE_VALID`.
    pub(crate) const PTE_VALID: Field64 = Field64::new(0, 0);
    /// `NV_MMU_VER2_PTE_APERTURE`.
    pub(crate) const PTE_APERTURE: Field64 = Field64::new(2, 1);
    /// `NV_MMU_VER2_PTE_VOL`.
    pub(crate) const PTE_VOL: Field64 = Field64::new(3, 3);
    /// `NV_MMU_VER2_PTE_ENCRYPTED`.
    pub(crate) const PTE_ENCRYPTED: Field64 = Field64::new(4, 4);
    /// `NV_MMU_VER2_PTE_PRIVILEGE`.
    pub(crate) const PTE_PRIVILEGE: Field64 = Field64::new(5, 5);
    /// `NV_MMU_VER2_PTE_READ_ONLY`.
    pub(crate) const PTE_READ_ONLY: Field64 = Field64::new(6, 6);
    /// `NV_MMU_VER2_PTE_ATOMIC_DISABLE`.
    pub(crate) const PTE_ATOMIC_DISABLE: Field64 = Field64::new(7, 7);
    /// `NV_MMU_VER2_PTE_ADDRESS_SYS`: the address shifted right by
    /// `NV_MMU_VER2_PTE_ADDRESS_SHIFT`.
    pub(crate) const PTE_ADDRESS_SYS: Field64 = Field64::new(53, 8);
    /// `NV_MMU_VER2_PTE_ADDRESS_VID`, `(35-3):8`.
    pub(crate) const PTE_ADDRESS_VID: Field64 = Field64::new(32, 8);
    /// `NV_MMU_VER2_PTE_ADDRESS_VID_PEER`, `35:(36-3)`.
    pub(crate) const PTE_ADDRESS_VID_PEER: Field64 = Field64::new(35, 33);
    /// `NV_MMU_VER2_PTE_COMPTAGLINE`, `(18+35):36`.
    pub(crate) const PTE_COMPTAGLINE: Field64 = Field64::new(53, 36);
    /// `NV_MMU_VER2_PTE_KIND`.
    pub(crate) const PTE_KIND: Field64 = Field64::new(63, 56);
    /// `NV_MMU_VER2_PTE_ADDRESS_SHIFT`.
    pub(crate) const PTE_ADDRESS_SHIFT: u32 = 12;

    /// `NV_MMU_VER2_PDE_IS_PTE`.
    pub(crate) const PDE_IS_PTE: Field64 = Field64::new(0, 0);
    /// `NV_MMU_VER2_PDE_APERTURE`.
    pub(crate) const PDE_APERTURE: Field64 = Field64::new(2, 1);
    /// `NV_MMU_VER2_PDE_VOL`.
    pub(crate) const PDE_VOL: Field64 = Field64::new(3, 3);
    /// `NV_MMU_VER2_PDE_ADDRESS_SYS`.
    pub(crate) const PDE_ADDRESS_SYS: Field64 = Field64::new(53, 8);
    /// `NV_MMU_VER2_PDE_ADDRESS_VID`, `(35-3):8`.
    pub(crate) const PDE_ADDRESS_VID: Field64 = Field64::new(32, 8);
    /// `NV_MMU_VER2_PDE_ADDRESS_SHIFT`.
    pub(crate) const PDE_ADDRESS_SHIFT: u32 = 12;

    /// `NV_MMU_VER2_DUAL_PDE_APERTURE_BIG`.
    pub(crate) const DUAL_APERTURE_BIG: Field64 = Field64::new(2, 1);
    /// `NV_MMU_VER2_DUAL_PDE_VOL_BIG`.
    pub(crate) const DUAL_VOL_BIG: Field64 = Field64::new(3, 3);
    /// `NV_MMU_VER2_DUAL_PDE_ADDRESS_BIG_SYS`, `53:(8-4)`.
    pub(crate) const DUAL_ADDRESS_BIG_SYS: Field64 = Field64::new(53, 4);
    /// `NV_MMU_VER2_DUAL_PDE_ADDRESS_BIG_VID`, `(35-3):(8-4)`.
    pub(crate) const DUAL_ADDRESS_BIG_VID: Field64 = Field64::new(32, 4);
    /// `NV_MMU_VER2_DUAL_PDE_ADDRESS_BIG_SHIFT`: big page tables are 256-byte aligned.
    pub(crate) const DUAL_ADDRESS_BIG_SHIFT: u32 = 8;
    /// `NV_MMU_VER2_DUAL_PDE_APERTURE_SMALL` (`66:65`), as bits of the second word.
    pub(crate) const DUAL_APERTURE_SMALL: Field64 = Field64::new(66 - 64, 65 - 64);
    /// `NV_MMU_VER2_DUAL_PDE_VOL_SMALL` (`67:67`), as bits of the second word.
    pub(crate) const DUAL_VOL_SMALL: Field64 = Field64::new(67 - 64, 67 - 64);
    /// `NV_MMU_VER2_DUAL_PDE_ADDRESS_SMALL_SYS` (`117:72`), as bits of the second word.
    pub(crate) const DUAL_ADDRESS_SMALL_SYS: Field64 = Field64::new(117 - 64, 72 - 64);
    /// `NV_MMU_VER2_DUAL_PDE_ADDRESS_SMALL_VID` (`(99-3):72`), as bits of the second word.
    pub(crate) const DUAL_ADDRESS_SMALL_VID: Field64 = Field64::new(96 - 64, 72 - 64);
    /// `NV_MMU_VER2_DUAL_PDE_ADDRESS_SHIFT`.
    pub(crate) const DUAL_ADDRESS_SHIFT: u32 = 12;
}

/// `NV_MMU_VER3_*` fields.
pub(crate) mod v3 {
    use super::Field64;

    /// `NV_MMU_VER3_PTE_VALID`.
    pub(crate) const PTE_VALID: Field64 = Field64::new(0, 0);
    /// `NV_MMU_VER3_PTE_APERTURE`.
    pub(crate) const PTE_APERTURE: Field64 = Field64::new(2, 1);
    /// `NV_MMU_VER3_PTE_PCF`.
    pub(crate) const PTE_PCF: Field64 = Field64::new(7, 3);
    /// `NV_MMU_VER3_PTE_KIND`.
    pub(crate) const PTE_KIND: Field64 = Field64::new(11, 8);
    /// `NV_MMU_VER3_PTE_ADDRESS`: the address in place, bits 51:12.
    pub(crate) const PTE_ADDRESS: Field64 = Field64::new(51, 12);
    /// `NV_MMU_VER3_PTE_ADDRESS_VID`.
    pub(crate) const PTE_ADDRESS_VID: Field64 = Field64::new(39, 12);
    /// `NV_MMU_VER3_PTE_PEER_ID`, `63:(64-3)`.
    pub(crate) const PTE_PEER_ID: Field64 = Field64::new(63, 61);

    /// `NV_MMU_VER3_PTE_PCF_REGULAR_RW_ATOMIC_CACHED_ACD`.
    pub(crate) const PCF_REGULAR_RW_ATOMIC_CACHED_ACD: u64 = 0x10;
    /// `NV_MMU_VER3_PTE_PCF_REGULAR_RW_ATOMIC_UNCACHED_ACD`.
    pub(crate) const PCF_REGULAR_RW_ATOMIC_UNCACHED_ACD: u64 = 0x11;
    /// `NV_MMU_VER3_PTE_PCF_REGULAR_RO_NO_ATOMIC_CACHED_ACD`.
    pub(crate) const PCF_REGULAR_RO_NO_ATOMIC_CACHED_ACD: u64 = 0x1c;
    /// `NV_MMU_VER3_PTE_PCF_REGULAR_RO_NO_ATOMIC_UNCACHED_ACD`.
    pub(crate) const PCF_REGULAR_RO_NO_ATOMIC_UNCACHED_ACD: u64 = 0x1d;
    /// The bit that the `*_PRIVILEGE_*` values of `NV_MMU_VER3_PTE_PCF` set.
    pub(crate) const PCF_PRIVILEGE: u64 = 0x2;
    /// The bit that the `*_RO_*` values of `NV_MMU_VER3_PTE_PCF` set.
    pub(crate) const PCF_RO: u64 = 0x4;

    /// `NV_MMU_VER3_PDE_IS_PTE`.
    pub(crate) const PDE_IS_PTE: Field64 = Field64::new(0, 0);
    /// `NV_MMU_VER3_PDE_APERTURE`.
    pub(crate) const PDE_APERTURE: Field64 = Field64::new(2, 1);
    /// `NV_MMU_VER3_PDE_PCF`.
    pub(crate) const PDE_PCF: Field64 = Field64::new(5, 3);
    /// `NV_MMU_VER3_PDE_PCF_VALID_CACHED_ATS_NOT_ALLOWED`.
    pub(crate) const PDE_PCF_VALID_CACHED_ATS_NOT_ALLOWED: u64 = 0x2;
    /// `NV_MMU_VER3_PDE_ADDRESS`: the address in place, bits 51:12.
    pub(crate) const PDE_ADDRESS: Field64 = Field64::new(51, 12);

    /// `NV_MMU_VER3_DUAL_PDE_APERTURE_BIG`.
    pub(crate) const DUAL_APERTURE_BIG: Field64 = Field64::new(2, 1);
    /// `NV_MMU_VER3_DUAL_PDE_PCF_BIG`.
    pub(crate) const DUAL_PCF_BIG: Field64 = Field64::new(5, 3);
    /// `NV_MMU_VER3_DUAL_PDE_ADDRESS_BIG`: the address shifted right by
    /// `NV_MMU_VER3_DUAL_PDE_ADDRESS_BIG_SHIFT` (8), at bits 51:8.
    pub(crate) const DUAL_ADDRESS_BIG: Field64 = Field64::new(51, 8);
    /// `NV_MMU_VER3_DUAL_PDE_ADDRESS_BIG_SHIFT`.
    pub(crate) const DUAL_ADDRESS_BIG_SHIFT: u32 = 8;
    /// `NV_MMU_VER3_DUAL_PDE_APERTURE_SMALL` (`66:65`), as bits of the second word.
    pub(crate) const DUAL_APERTURE_SMALL: Field64 = Field64::new(66 - 64, 65 - 64);
    /// `NV_MMU_VER3_DUAL_PDE_PCF_SMALL` (`69:67`), as bits of the second word.
    pub(crate) const DUAL_PCF_SMALL: Field64 = Field64::new(69 - 64, 67 - 64);
    /// `NV_MMU_VER3_DUAL_PDE_ADDRESS_SMALL` (`115:76`), as bits of the second word: the
    /// address shifted right by 12.
    pub(crate) const DUAL_ADDRESS_SMALL: Field64 = Field64::new(115 - 64, 76 - 64);
}

/// `*_APERTURE` values of a PTE: `VIDEO_MEMORY`, `PEER_MEMORY`, `SYSTEM_COHERENT_MEMORY`,
/// `SYSTEM_NON_COHERENT_MEMORY`.
pub(crate) mod pte_aperture {
    /// `APERTURE_VIDEO_MEMORY`.
    pub(crate) const VIDEO_MEMORY: u64 = 0;
    /// `APERTURE_PEER_MEMORY`.
    pub(crate) const PEER_MEMORY: u64 = 1;
    /// `APERTURE_SYSTEM_COHERENT_MEMORY`.
    pub(crate) const SYSTEM_COHERENT_MEMORY: u64 = 2;
    /// `APERTURE_SYSTEM_NON_COHERENT_MEMORY`.
    pub(crate) const SYSTEM_NON_COHERENT_MEMORY: u64 = 3;
}

/// `*_APERTURE` values of a PDE: `INVALID`, `VIDEO_MEMORY`, `SYSTEM_COHERENT_MEMORY`,
/// `SYSTEM_NON_COHERENT_MEMORY`.
pub(crate) mod pde_aperture {
    /// `APERTURE_INVALID`.
    pub(crate) const INVALID: u64 = 0;
    /// `APERTURE_VIDEO_MEMORY`.
    pub(crate) const VIDEO_MEMORY: u64 = 1;
    /// `APERTURE_SYSTEM_COHERENT_MEMORY`.
    pub(crate) const SYSTEM_COHERENT_MEMORY: u64 = 2;
    /// `APERTURE_SYSTEM_NON_COHERENT_MEMORY`.
    pub(crate) const SYSTEM_NON_COHERENT_MEMORY: u64 = 3;
}

/// Why an entry cannot be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EncodeError {
    /// The address is not aligned as the entry requires.
    Misaligned,
    /// The address does not fit the entry's address field for its aperture.
    TooHigh,
}

/// Returns the PTE `APERTURE` value of `a`.
const fn pte_aperture_of(a: Aperture) -> u64 {
    match a {
        Aperture::Vram => pte_aperture::VIDEO_MEMORY,
        Aperture::SysmemCoherent => pte_aperture::SYSTEM_COHERENT_MEMORY,
        Aperture::SysmemNoncoherent => pte_aperture::SYSTEM_NON_COHERENT_MEMORY,
    }
}

/// Returns the aperture of a PTE `APERTURE` value; peer memory is not one this driver maps.
const fn aperture_of_pte(v: u64) -> Option<Aperture> {
    match v {
        pte_aperture::VIDEO_MEMORY => Some(Aperture::Vram),
        pte_aperture::SYSTEM_COHERENT_MEMORY => Some(Aperture::SysmemCoherent),
        pte_aperture::SYSTEM_NON_COHERENT_MEMORY => Some(Aperture::SysmemNoncoherent),
        _ => None,
    }
}

/// Returns the PDE `APERTURE` value of `a`.
const fn pde_aperture_of(a: Aperture) -> u64 {
    match a {
        Aperture::Vram => pde_aperture::VIDEO_MEMORY,
        Aperture::SysmemCoherent => pde_aperture::SYSTEM_COHERENT_MEMORY,
        Aperture::SysmemNoncoherent => pde_aperture::SYSTEM_NON_COHERENT_MEMORY,
    }
}

/// Returns the aperture of a PDE `APERTURE` value, `None` for `INVALID`.
const fn aperture_of_pde(v: u64) -> Option<Aperture> {
    match v {
        pde_aperture::VIDEO_MEMORY => Some(Aperture::Vram),
        pde_aperture::SYSTEM_COHERENT_MEMORY => Some(Aperture::SysmemCoherent),
        pde_aperture::SYSTEM_NON_COHERENT_MEMORY => Some(Aperture::SysmemNoncoherent),
        _ => None,
    }
}

/// Places `addr >> shift` in `field`, checking the alignment and the width.
fn place(field: Field64, addr: u64, shift: u32) -> Result<u64, EncodeError> {
    if addr & ((1 << shift) - 1) != 0 {
        return Err(EncodeError::Misaligned);
    }
    let v = addr >> shift;
    if !field.fits(v) {
        return Err(EncodeError::TooHigh);
    }
    Ok(field.val(v))
}

impl Version {
    /// Returns the directories, root first; PD0 is the last.
    pub(crate) const fn dirs(self) -> &'static [Level] {
        match self {
            Version::V2 => &V2_DIRS,
            Version::V3 => &V3_DIRS,
        }
    }

    /// Returns the bits of a virtual address.
    pub(crate) const fn va_bits(self) -> u32 {
        match self {
            Version::V2 => 49,
            Version::V3 => 57,
        }
    }

    /// Encodes a valid PTE.
    pub(crate) fn encode_pte(self, pte: &Pte) -> Result<u64, EncodeError> {
        match self {
            Version::V2 => {
                let addr = match pte.aperture {
                    Aperture::Vram => place(v2::PTE_ADDRESS_VID, pte.addr, v2::PTE_ADDRESS_SHIFT)?,
                    _ => place(v2::PTE_ADDRESS_SYS, pte.addr, v2::PTE_ADDRESS_SHIFT)?,
                };
                // System memory is snooped: `VOL` makes the GPU bypass its L2 for it, as UVM
                // does for coherent system memory.
                let vol = u64::from(pte.aperture != Aperture::Vram);
                Ok(v2::PTE_VALID.val(1)
                    | v2::PTE_APERTURE.val(pte_aperture_of(pte.aperture))
                    | v2::PTE_VOL.val(vol)
                    | v2::PTE_PRIVILEGE.val(u64::from(pte.privileged))
                    | v2::PTE_READ_ONLY.val(u64::from(pte.read_only))
                    | addr)
            }
            Version::V3 => {
                let field = if pte.aperture == Aperture::Vram {
                    v3::PTE_ADDRESS_VID
                } else {
                    v3::PTE_ADDRESS
                };
                let addr = place(field, pte.addr, 12)?;
                let cached = pte.aperture == Aperture::Vram;
                let mut pcf = match (pte.read_only, cached) {
                    (false, true) => v3::PCF_REGULAR_RW_ATOMIC_CACHED_ACD,
                    (false, false) => v3::PCF_REGULAR_RW_ATOMIC_UNCACHED_ACD,
                    (true, true) => v3::PCF_REGULAR_RO_NO_ATOMIC_CACHED_ACD,
                    (true, false) => v3::PCF_REGULAR_RO_NO_ATOMIC_UNCACHED_ACD,
                };
                if pte.privileged {
                    pcf |= v3::PCF_PRIVILEGE;
                }
                Ok(v3::PTE_VALID.val(1)
                    | v3::PTE_APERTURE.val(pte_aperture_of(pte.aperture))
                    | v3::PTE_PCF.val(pcf)
                    | addr)
            }
        }
    }

    /// Decodes a PTE; `None` when it is not valid or maps peer memory.
    pub(crate) fn decode_pte(self, w: u64) -> Option<Pte> {
        match self {
            Version::V2 => {
                if v2::PTE_VALID.get(w) == 0 {
                    return None;
                }
                let aperture = aperture_of_pte(v2::PTE_APERTURE.get(w))?;
                let field = if aperture == Aperture::Vram {
                    v2::PTE_ADDRESS_VID
                } else {
                    v2::PTE_ADDRESS_SYS
                };
                Some(Pte {
                    aperture,
                    addr: field.get(w) << v2::PTE_ADDRESS_SHIFT,
                    read_only: v2::PTE_READ_ONLY.get(w) != 0,
                    privileged: v2::PTE_PRIVILEGE.get(w) != 0,
                })
            }
            Version::V3 => {
                if v3::PTE_VALID.get(w) == 0 {
                    return None;
                }
                let aperture = aperture_of_pte(v3::PTE_APERTURE.get(w))?;
                let field = if aperture == Aperture::Vram {
                    v3::PTE_ADDRESS_VID
                } else {
                    v3::PTE_ADDRESS
                };
                let pcf = v3::PTE_PCF.get(w);
                Some(Pte {
                    aperture,
                    addr: field.get(w) << 12,
                    read_only: pcf & v3::PCF_RO != 0,
                    privileged: pcf & v3::PCF_PRIVILEGE != 0,
                })
            }
        }
    }

    /// Encodes a directory entry (not of PD0) that points at `pde`'s table, or nothing.
    pub(crate) fn encode_pde(self, pde: Option<&Pde>) -> Result<u64, EncodeError> {
        let Some(pde) = pde else {
            return Ok(0);
        };
        match self {
            Version::V2 => {
                let addr = match pde.aperture {
                    Aperture::Vram => place(v2::PDE_ADDRESS_VID, pde.addr, v2::PDE_ADDRESS_SHIFT)?,
                    _ => place(v2::PDE_ADDRESS_SYS, pde.addr, v2::PDE_ADDRESS_SHIFT)?,
                };
                Ok(v2::PDE_APERTURE.val(pde_aperture_of(pde.aperture)) | addr)
            }
            Version::V3 => Ok(v3::PDE_APERTURE.val(pde_aperture_of(pde.aperture))
                | v3::PDE_PCF.val(v3::PDE_PCF_VALID_CACHED_ATS_NOT_ALLOWED)
                | place(v3::PDE_ADDRESS, pde.addr, 12)?),
        }
    }

    /// Decodes a directory entry (not of PD0).
    pub(crate) fn decode_pde(self, w: u64) -> DirEntry {
        let (is_pte, aperture) = match self {
            Version::V2 => (v2::PDE_IS_PTE.get(w), v2::PDE_APERTURE.get(w)),
            Version::V3 => (v3::PDE_IS_PTE.get(w), v3::PDE_APERTURE.get(w)),
        };
        if is_pte != 0 {
            return DirEntry::Pte;
        }
        let Some(aperture) = aperture_of_pde(aperture) else {
            return DirEntry::Invalid;
        };
        let addr = match (self, aperture) {
            (Version::V2, Aperture::Vram) => v2::PDE_ADDRESS_VID.get(w) << v2::PDE_ADDRESS_SHIFT,
            (Version::V2, _) => v2::PDE_ADDRESS_SYS.get(w) << v2::PDE_ADDRESS_SHIFT,
            (Version::V3, _) => v3::PDE_ADDRESS.get(w) << 12,
        };
        DirEntry::Table(Pde { aperture, addr })
    }

    /// Encodes a dual entry of PD0 that points at a big and a small page table.
    pub(crate) fn encode_dual(
        self,
        big: Option<&Pde>,
        small: Option<&Pde>,
    ) -> Result<[u64; 2], EncodeError> {
        let mut w = [0u64; 2];
        match self {
            Version::V2 => {
                if let Some(b) = big {
                    let f = if b.aperture == Aperture::Vram {
                        v2::DUAL_ADDRESS_BIG_VID
                    } else {
                        v2::DUAL_ADDRESS_BIG_SYS
                    };
                    w[0] = v2::DUAL_APERTURE_BIG.val(pde_aperture_of(b.aperture))
                        | place(f, b.addr, v2::DUAL_ADDRESS_BIG_SHIFT)?;
                }
                if let Some(s) = small {
                    let f = if s.aperture == Aperture::Vram {
                        v2::DUAL_ADDRESS_SMALL_VID
                    } else {
                        v2::DUAL_ADDRESS_SMALL_SYS
                    };
                    w[1] = v2::DUAL_APERTURE_SMALL.val(pde_aperture_of(s.aperture))
                        | place(f, s.addr, v2::DUAL_ADDRESS_SHIFT)?;
                }
            }
            Version::V3 => {
                let pcf = v3::PDE_PCF_VALID_CACHED_ATS_NOT_ALLOWED;
                if let Some(b) = big {
                    w[0] = v3::DUAL_APERTURE_BIG.val(pde_aperture_of(b.aperture))
                        | v3::DUAL_PCF_BIG.val(pcf)
                        | place(v3::DUAL_ADDRESS_BIG, b.addr, v3::DUAL_ADDRESS_BIG_SHIFT)?;
                }
                if let Some(s) = small {
                    w[1] = v3::DUAL_APERTURE_SMALL.val(pde_aperture_of(s.aperture))
                        | v3::DUAL_PCF_SMALL.val(pcf)
                        | place(v3::DUAL_ADDRESS_SMALL, s.addr, 12)?;
                }
            }
        }
        Ok(w)
    }

    /// Encodes a dual entry of PD0 that is a 2 MiB PTE: the PTE in the first word.
    pub(crate) fn encode_huge(self, pte: &Pte) -> Result<[u64; 2], EncodeError> {
        if pte.addr % PageSize::Huge.bytes() != 0 {
            return Err(EncodeError::Misaligned);
        }
        Ok([self.encode_pte(pte)?, 0])
    }

    /// Decodes a dual entry of PD0.
    pub(crate) fn decode_dual(self, w: [u64; 2]) -> DualEntry {
        // `IS_PTE` is bit 0 in both versions, where a PTE has `VALID`.
        if w[0] & 1 != 0 {
            return match self.decode_pte(w[0]) {
                Some(pte) => DualEntry::Huge(pte),
                None => DualEntry::Tables {
                    big: None,
                    small: None,
                },
            };
        }
        let (big, small) = match self {
            Version::V2 => {
                let big = aperture_of_pde(v2::DUAL_APERTURE_BIG.get(w[0])).map(|a| {
                    let f = if a == Aperture::Vram {
                        v2::DUAL_ADDRESS_BIG_VID
                    } else {
                        v2::DUAL_ADDRESS_BIG_SYS
                    };
                    Pde {
                        aperture: a,
                        addr: f.get(w[0]) << v2::DUAL_ADDRESS_BIG_SHIFT,
                    }
                });
                let small = aperture_of_pde(v2::DUAL_APERTURE_SMALL.get(w[1])).map(|a| {
                    let f = if a == Aperture::Vram {
                        v2::DUAL_ADDRESS_SMALL_VID
                    } else {
                        v2::DUAL_ADDRESS_SMALL_SYS
                    };
                    Pde {
                        aperture: a,
                        addr: f.get(w[1]) << v2::DUAL_ADDRESS_SHIFT,
                    }
                });
                (big, small)
            }
            Version::V3 => {
                let big = aperture_of_pde(v3::DUAL_APERTURE_BIG.get(w[0])).map(|a| Pde {
                    aperture: a,
                    addr: v3::DUAL_ADDRESS_BIG.get(w[0]) << v3::DUAL_ADDRESS_BIG_SHIFT,
                });
                let small = aperture_of_pde(v3::DUAL_APERTURE_SMALL.get(w[1])).map(|a| Pde {
                    aperture: a,
                    addr: v3::DUAL_ADDRESS_SMALL.get(w[1]) << 12,
                });
                (big, small)
            }
        };
        DualEntry::Tables { big, small }
    }
}
