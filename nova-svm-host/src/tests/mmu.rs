// SPDX-License-Identifier: GPL-2.0

//! The GMMU formats (`crate::mmu`) against NVIDIA's MMU headers, and the simulated GPU's
//! page-table walker and TLB (`hw/sim/mmu.rs`).
//!
//! The version 2 fields come from `src/common/inc/swref/published/pascal/gp100/dev_mmu.h`
//! and, for `NV_MMU_VER2_PDE_IS_PTE` and the PDE aperture values, from UVM's
//! `kernel-open/nvidia-uvm/hwref/volta/gv100/dev_mmu.h`; the version 3 fields from
//! `src/common/inc/swref/published/hopper/gh100/dev_mmu.h` (NVIDIA/open-gpu-kernel-modules).
//! Fields of the 128-bit dual PDE that lie in its second word are given as the header writes
//! them (`66:65`) and compared 64 bits lower.

use std::collections::HashMap;

use crate::ce::Aperture;
use crate::mmu::{
    pde_aperture, pte_aperture, v2, v3, DirEntry, DualEntry, EncodeError, Field64, PageSize, Pde,
    Pte, Version, BIG_PT, PD0, SMALL_PT,
};
use crate::sim_mmu::{walk, Mmu, TableMem, WalkFault};

/// Asserts that `f` is the header's `hi:lo`, in the word `hi` and `lo` are in.
fn is(f: Field64, hi: u32, lo: u32, name: &str) {
    let word = lo / 64;
    assert_eq!(hi / 64, word, "{name}: a field of one word");
    assert_eq!((f.hi, f.lo), (hi - 64 * word, lo - 64 * word), "{name}");
}

#[test]
fn ver2_fields() {
    is(v2::PTE_VALID, 0, 0, "NV_MMU_VER2_PTE_VALID");
    is(v2::PTE_APERTURE, 2, 1, "NV_MMU_VER2_PTE_APERTURE");
    is(v2::PTE_VOL, 3, 3, "NV_MMU_VER2_PTE_VOL");
    is(v2::PTE_ENCRYPTED, 4, 4, "NV_MMU_VER2_PTE_ENCRYPTED");
    is(v2::PTE_PRIVILEGE, 5, 5, "NV_MMU_VER2_PTE_PRIVILEGE");
    is(v2::PTE_READ_ONLY, 6, 6, "NV_MMU_VER2_PTE_READ_ONLY");
    is(
        v2::PTE_ATOMIC_DISABLE,
        7,
        7,
        "NV_MMU_VER2_PTE_ATOMIC_DISABLE",
    );
    is(v2::PTE_ADDRESS_SYS, 53, 8, "NV_MMU_VER2_PTE_ADDRESS_SYS");
    is(
        v2::PTE_ADDRESS_VID,
        35 - 3,
        8,
        "NV_MMU_VER2_PTE_ADDRESS_VID",
    );
    is(
        v2::PTE_ADDRESS_VID_PEER,
        35,
        36 - 3,
        "NV_MMU_VER2_PTE_ADDRESS_VID_PEER",
    );
    is(
        v2::PTE_COMPTAGLINE,
        18 + 35,
        36,
        "NV_MMU_VER2_PTE_COMPTAGLINE",
    );
    is(v2::PTE_KIND, 63, 56, "NV_MMU_VER2_PTE_KIND");
    assert_eq!(v2::PTE_ADDRESS_SHIFT, 0xc, "NV_MMU_VER2_PTE_ADDRESS_SHIFT");

    is(v2::PDE_IS_PTE, 0, 0, "NV_MMU_VER2_PDE_IS_PTE");
    is(v2::PDE_APERTURE, 2, 1, "NV_MMU_VER2_PDE_APERTURE");
    is(v2::PDE_VOL, 3, 3, "NV_MMU_VER2_PDE_VOL");
    is(v2::PDE_ADDRESS_SYS, 53, 8, "NV_MMU_VER2_PDE_ADDRESS_SYS");
    is(
        v2::PDE_ADDRESS_VID,
        35 - 3,
        8,
        "NV_MMU_VER2_PDE_ADDRESS_VID",
    );
    assert_eq!(v2::PDE_ADDRESS_SHIFT, 0xc, "NV_MMU_VER2_PDE_ADDRESS_SHIFT");

    is(
        v2::DUAL_APERTURE_BIG,
        2,
        1,
        "NV_MMU_VER2_DUAL_PDE_APERTURE_BIG",
    );
    is(v2::DUAL_VOL_BIG, 3, 3, "NV_MMU_VER2_DUAL_PDE_VOL_BIG");
    is(
        v2::DUAL_ADDRESS_BIG_SYS,
        53,
        8 - 4,
        "NV_MMU_VER2_DUAL_PDE_ADDRESS_BIG_SYS",
    );
    is(
        v2::DUAL_ADDRESS_BIG_VID,
        35 - 3,
        8 - 4,
        "NV_MMU_VER2_DUAL_PDE_ADDRESS_BIG_VID",
    );
    assert_eq!(
        v2::DUAL_ADDRESS_BIG_SHIFT,
        8,
        "NV_MMU_VER2_DUAL_PDE_ADDRESS_BIG_SHIFT"
    );
    is(
        v2::DUAL_APERTURE_SMALL,
        66,
        65,
        "NV_MMU_VER2_DUAL_PDE_APERTURE_SMALL",
    );
    is(v2::DUAL_VOL_SMALL, 67, 67, "NV_MMU_VER2_DUAL_PDE_VOL_SMALL");
    is(
        v2::DUAL_ADDRESS_SMALL_SYS,
        117,
        72,
        "NV_MMU_VER2_DUAL_PDE_ADDRESS_SMALL_SYS",
    );
    is(
        v2::DUAL_ADDRESS_SMALL_VID,
        99 - 3,
        72,
        "NV_MMU_VER2_DUAL_PDE_ADDRESS_SMALL_VID",
    );
    assert_eq!(
        v2::DUAL_ADDRESS_SHIFT,
        0xc,
        "NV_MMU_VER2_DUAL_PDE_ADDRESS_SHIFT"
    );
}

#[test]
fn ver3_fields() {
    is(v3::PTE_VALID, 0, 0, "NV_MMU_VER3_PTE_VALID");
    is(v3::PTE_APERTURE, 2, 1, "NV_MMU_VER3_PTE_APERTURE");
    is(v3::PTE_PCF, 7, 3, "NV_MMU_VER3_PTE_PCF");
    is(v3::PTE_KIND, 11, 8, "NV_MMU_VER3_PTE_KIND");
    is(v3::PTE_ADDRESS, 51, 12, "NV_MMU_VER3_PTE_ADDRESS");
    is(v3::PTE_ADDRESS_VID, 39, 12, "NV_MMU_VER3_PTE_ADDRESS_VID");
    is(v3::PTE_PEER_ID, 63, 64 - 3, "NV_MMU_VER3_PTE_PEER_ID");
    assert_eq!(v3::PCF_REGULAR_RW_ATOMIC_CACHED_ACD, 0x10);
    assert_eq!(v3::PCF_REGULAR_RW_ATOMIC_UNCACHED_ACD, 0x11);
    assert_eq!(v3::PCF_REGULAR_RO_NO_ATOMIC_CACHED_ACD, 0x1c);
    assert_eq!(v3::PCF_REGULAR_RO_NO_ATOMIC_UNCACHED_ACD, 0x1d);
    // PRIVILEGE_RW_ATOMIC_CACHED_ACD 0x12, PRIVILEGE_RW_ATOMIC_UNCACHED_ACD 0x13,
    // PRIVILEGE_RO_NO_ATOMIC_CACHED_ACD 0x1e, PRIVILEGE_RO_NO_ATOMIC_UNCACHED_ACD 0x1f.
    assert_eq!(
        v3::PCF_REGULAR_RW_ATOMIC_CACHED_ACD | v3::PCF_PRIVILEGE,
        0x12
    );
    assert_eq!(
        v3::PCF_REGULAR_RW_ATOMIC_UNCACHED_ACD | v3::PCF_PRIVILEGE,
        0x13
    );
    assert_eq!(
        v3::PCF_REGULAR_RO_NO_ATOMIC_CACHED_ACD | v3::PCF_PRIVILEGE,
        0x1e
    );
    assert_eq!(
        v3::PCF_REGULAR_RO_NO_ATOMIC_UNCACHED_ACD | v3::PCF_PRIVILEGE,
        0x1f
    );
    // REGULAR_RO_ATOMIC_CACHED_ACD is 0x14: the RO bit.
    assert_eq!(v3::PCF_REGULAR_RW_ATOMIC_CACHED_ACD | v3::PCF_RO, 0x14);

    is(v3::PDE_IS_PTE, 0, 0, "NV_MMU_VER3_PDE_IS_PTE");
    is(v3::PDE_APERTURE, 2, 1, "NV_MMU_VER3_PDE_APERTURE");
    is(v3::PDE_PCF, 5, 3, "NV_MMU_VER3_PDE_PCF");
    assert_eq!(v3::PDE_PCF_VALID_CACHED_ATS_NOT_ALLOWED, 0x2);
    is(v3::PDE_ADDRESS, 51, 12, "NV_MMU_VER3_PDE_ADDRESS");

    is(
        v3::DUAL_APERTURE_BIG,
        2,
        1,
        "NV_MMU_VER3_DUAL_PDE_APERTURE_BIG",
    );
    is(v3::DUAL_PCF_BIG, 5, 3, "NV_MMU_VER3_DUAL_PDE_PCF_BIG");
    is(
        v3::DUAL_ADDRESS_BIG,
        51,
        8,
        "NV_MMU_VER3_DUAL_PDE_ADDRESS_BIG",
    );
    assert_eq!(
        v3::DUAL_ADDRESS_BIG_SHIFT,
        8,
        "NV_MMU_VER3_DUAL_PDE_ADDRESS_BIG_SHIFT"
    );
    is(
        v3::DUAL_APERTURE_SMALL,
        66,
        65,
        "NV_MMU_VER3_DUAL_PDE_APERTURE_SMALL",
    );
    is(v3::DUAL_PCF_SMALL, 69, 67, "NV_MMU_VER3_DUAL_PDE_PCF_SMALL");
    is(
        v3::DUAL_ADDRESS_SMALL,
        115,
        76,
        "NV_MMU_VER3_DUAL_PDE_ADDRESS_SMALL",
    );
}

#[test]
fn aperture_values() {
    // NV_MMU_VER2_PTE_APERTURE_* and NV_MMU_VER3_PTE_APERTURE_*.
    assert_eq!(pte_aperture::VIDEO_MEMORY, 0);
    assert_eq!(pte_aperture::PEER_MEMORY, 1);
    assert_eq!(pte_aperture::SYSTEM_COHERENT_MEMORY, 2);
    assert_eq!(pte_aperture::SYSTEM_NON_COHERENT_MEMORY, 3);
    // NV_MMU_VER2_PDE_APERTURE_* and NV_MMU_VER3_PDE_APERTURE_*.
    assert_eq!(pde_aperture::INVALID, 0);
    assert_eq!(pde_aperture::VIDEO_MEMORY, 1);
    assert_eq!(pde_aperture::SYSTEM_COHERENT_MEMORY, 2);
    assert_eq!(pde_aperture::SYSTEM_NON_COHERENT_MEMORY, 3);
}

#[test]
fn levels() {
    // Version 2: PD3 48:47, PD2 46:38, PD1 37:29, PD0 28:21; version 3 adds PD4 56:56 and
    // widens PD3 to 55:47. PTs: 20:12 (4 KiB) and 20:16 (64 KiB).
    let v2: Vec<(u32, u32, usize)> = Version::V2
        .dirs()
        .iter()
        .map(|l| (l.shift, l.bits, l.entry_size))
        .collect();
    assert_eq!(v2, [(47, 2, 8), (38, 9, 8), (29, 9, 8), (21, 8, 16)]);
    let v3: Vec<(u32, u32, usize)> = Version::V3
        .dirs()
        .iter()
        .map(|l| (l.shift, l.bits, l.entry_size))
        .collect();
    assert_eq!(
        v3,
        [(56, 1, 8), (47, 9, 8), (38, 9, 8), (29, 9, 8), (21, 8, 16)]
    );
    assert_eq!(
        (SMALL_PT.shift, SMALL_PT.bits, SMALL_PT.table_bytes()),
        (12, 9, 4096)
    );
    assert_eq!(
        (BIG_PT.shift, BIG_PT.bits, BIG_PT.table_bytes()),
        (16, 5, 256)
    );
    assert_eq!(PD0.table_bytes(), 4096);
    // The levels cover the address bits without a gap.
    for v in [Version::V2, Version::V3] {
        let mut top = v.va_bits();
        for l in v.dirs() {
            assert_eq!(l.shift + l.bits, top, "{v:?}");
            top = l.shift;
        }
        assert_eq!(top, PageSize::Huge.shift());
    }
}

/// A PTE.
fn pte(aperture: Aperture, addr: u64, read_only: bool, privileged: bool) -> Pte {
    Pte {
        aperture,
        addr,
        read_only,
        privileged,
    }
}

#[test]
fn ver2_pte_words() {
    // VALID, APERTURE VIDEO_MEMORY, ADDRESS_VID 0x12345 at bit 8.
    let p = pte(Aperture::Vram, 0x1234_5000, false, false);
    assert_eq!(Version::V2.encode_pte(&p), Ok(0x0123_4501));
    // System memory above 4 GiB: APERTURE SYSTEM_COHERENT (2 << 1), VOL, PRIVILEGE,
    // READ_ONLY, ADDRESS_SYS 0xf00003 at bit 8.
    let p = pte(Aperture::SysmemCoherent, 0xf_0000_3000, true, true);
    assert_eq!(
        Version::V2.encode_pte(&p),
        Ok(0xf000_0300 | 0x40 | 0x20 | 0x8 | 0x4 | 0x1)
    );
    let p = pte(Aperture::SysmemNoncoherent, 0x1000, false, false);
    assert_eq!(
        Version::V2.encode_pte(&p),
        Ok(((0x1000 >> 12) << 8) | 0x8 | 0x6 | 0x1)
    );
    // ADDRESS_VID is 25 bits of 4 KiB frames: 128 GiB of video memory.
    let top = pte(Aperture::Vram, (1 << 37) - 4096, false, false);
    assert!(Version::V2.encode_pte(&top).is_ok());
    let over = pte(Aperture::Vram, 1 << 37, false, false);
    assert_eq!(Version::V2.encode_pte(&over), Err(EncodeError::TooHigh));
    let odd = pte(Aperture::Vram, 0x1234_5800, false, false);
    assert_eq!(Version::V2.encode_pte(&odd), Err(EncodeError::Misaligned));
}

#[test]
fn ver3_pte_words() {
    // VALID, APERTURE VIDEO_MEMORY, PCF REGULAR_RW_ATOMIC_CACHED_ACD (0x10 << 3), the
    // address in place.
    let p = pte(Aperture::Vram, 0x1234_5000, false, false);
    assert_eq!(Version::V3.encode_pte(&p), Ok(0x1234_5000 | 0x80 | 0x1));
    // PCF PRIVILEGE_RO_NO_ATOMIC_UNCACHED_ACD (0x1f << 3) for privileged read-only system
    // memory, APERTURE SYSTEM_COHERENT.
    let p = pte(Aperture::SysmemCoherent, 0xf_0000_3000, true, true);
    assert_eq!(
        Version::V3.encode_pte(&p),
        Ok(0xf_0000_3000 | (0x1f << 3) | 0x4 | 0x1)
    );
    // ADDRESS_VID is 39:12: 1 TiB of video memory.
    assert!(Version::V3
        .encode_pte(&pte(Aperture::Vram, (1 << 40) - 4096, false, false))
        .is_ok());
    assert_eq!(
        Version::V3.encode_pte(&pte(Aperture::Vram, 1 << 40, false, false)),
        Err(EncodeError::TooHigh)
    );
    // System memory takes 51:12.
    assert!(Version::V3
        .encode_pte(&pte(Aperture::SysmemCoherent, 1 << 40, false, false))
        .is_ok());
}

#[test]
fn pte_round_trip() {
    let mut rng = super::Rng::new(0x6d6d_7530);
    for _ in 0..2000 {
        let aperture = [
            Aperture::Vram,
            Aperture::SysmemCoherent,
            Aperture::SysmemNoncoherent,
        ][rng.below(3) as usize];
        let p = pte(
            aperture,
            rng.below(1 << 25) << 12,
            rng.one_in(2),
            rng.one_in(2),
        );
        for v in [Version::V2, Version::V3] {
            let w = v.encode_pte(&p).expect("encodable");
            assert_eq!(v.decode_pte(w), Some(p), "{v:?} {w:#x}");
        }
    }
    // Not valid, and peer memory, decode to nothing.
    for v in [Version::V2, Version::V3] {
        assert_eq!(v.decode_pte(0x1234_5000), None);
        assert_eq!(v.decode_pte(0x1234_5000 | 0x2 | 0x1), None);
    }
}

#[test]
fn pde_words() {
    let table = Pde {
        aperture: Aperture::Vram,
        addr: 0x20_1000,
    };
    // Version 2: APERTURE VIDEO_MEMORY (1 << 1), ADDRESS_VID 0x201 at bit 8.
    assert_eq!(Version::V2.encode_pde(Some(&table)), Ok(0x2_0102));
    // Version 3: APERTURE VIDEO_MEMORY, PCF VALID_CACHED_ATS_NOT_ALLOWED (2 << 3), address
    // in place.
    assert_eq!(Version::V3.encode_pde(Some(&table)), Ok(0x20_1012));
    for v in [Version::V2, Version::V3] {
        assert_eq!(v.encode_pde(None), Ok(0));
        assert_eq!(v.decode_pde(0), DirEntry::Invalid);
        assert_eq!(
            v.decode_pde(v.encode_pde(Some(&table)).expect("encodable")),
            DirEntry::Table(table)
        );
        let sys = Pde {
            aperture: Aperture::SysmemNoncoherent,
            addr: 0x7_ffff_f000,
        };
        assert_eq!(
            v.decode_pde(v.encode_pde(Some(&sys)).expect("encodable")),
            DirEntry::Table(sys)
        );
        // IS_PTE at a directory level.
        assert_eq!(v.decode_pde(0x1), DirEntry::Pte);
        assert_eq!(
            v.encode_pde(Some(&Pde {
                aperture: Aperture::Vram,
                addr: 0x20_1800
            })),
            Err(EncodeError::Misaligned)
        );
    }
}

#[test]
fn dual_words() {
    let big = Pde {
        aperture: Aperture::Vram,
        addr: 0x30_0100,
    };
    let small = Pde {
        aperture: Aperture::SysmemCoherent,
        addr: 0x4000_0000,
    };
    // Version 2: APERTURE_BIG VIDEO_MEMORY, ADDRESS_BIG_VID 0x3001 (the address >> 8) at
    // bit 4; APERTURE_SMALL SYSTEM_COHERENT at 66:65, ADDRESS_SMALL_SYS 0x40000 at 72.
    assert_eq!(
        Version::V2.encode_dual(Some(&big), Some(&small)),
        Ok([0x3_0012, 0x400_0004])
    );
    // Version 3: PCF_BIG and PCF_SMALL VALID_CACHED_ATS_NOT_ALLOWED, ADDRESS_BIG the address
    // >> 8 at 51:8, ADDRESS_SMALL the address >> 12 at 115:76.
    assert_eq!(
        Version::V3.encode_dual(Some(&big), Some(&small)),
        Ok([0x30_0112, 0x4000_0014])
    );
    for v in [Version::V2, Version::V3] {
        let w = v.encode_dual(Some(&big), Some(&small)).expect("encodable");
        assert_eq!(
            v.decode_dual(w),
            DualEntry::Tables {
                big: Some(big),
                small: Some(small)
            }
        );
        let w = v.encode_dual(None, Some(&small)).expect("encodable");
        assert_eq!(
            v.decode_dual(w),
            DualEntry::Tables {
                big: None,
                small: Some(small)
            }
        );
        assert_eq!(v.encode_dual(None, None), Ok([0, 0]));
        // A big page table is 256-byte aligned, a small one 4 KiB aligned.
        let odd = Pde {
            aperture: Aperture::Vram,
            addr: 0x30_0180,
        };
        assert_eq!(
            v.encode_dual(Some(&odd), None),
            Err(EncodeError::Misaligned)
        );
        assert_eq!(
            v.encode_dual(None, Some(&big)),
            Err(EncodeError::Misaligned)
        );
        // A 2 MiB PTE in the first word.
        let huge = pte(Aperture::Vram, 0x4020_0000, false, false);
        let w = v.encode_huge(&huge).expect("encodable");
        assert_eq!(w, [v.encode_pte(&huge).expect("encodable"), 0]);
        assert_eq!(v.decode_dual(w), DualEntry::Huge(huge));
        let off = pte(Aperture::Vram, 0x4020_1000, false, false);
        assert_eq!(v.encode_huge(&off), Err(EncodeError::Misaligned));
    }
}

/// Page-table memory for the walker: 64-bit words by aperture and address, zero elsewhere;
/// addresses at and above `limit` cannot be read.
#[derive(Default)]
struct Tables {
    words: HashMap<(u8, u64), u64>,
    /// Next free table address in VRAM.
    next: u64,
    /// Reads done.
    reads: usize,
}

const LIMIT: u64 = 1 << 30;

/// The key of an aperture in [`Tables::words`].
fn key(a: Aperture) -> u8 {
    match a {
        Aperture::Vram => 0,
        Aperture::SysmemCoherent => 1,
        Aperture::SysmemNoncoherent => 2,
    }
}

impl TableMem for Tables {
    fn read_words(&mut self, aperture: Aperture, addr: u64, out: &mut [u64]) -> Result<(), ()> {
        if addr % 8 != 0 || addr >= LIMIT {
            return Err(());
        }
        self.reads += 1;
        for (i, w) in out.iter_mut().enumerate() {
            *w = self
                .words
                .get(&(key(aperture), addr + 8 * i as u64))
                .copied()
                .unwrap_or(0);
        }
        Ok(())
    }
}

impl Tables {
    /// Allocates a zeroed table of `bytes` in VRAM: 4 KiB aligned, as a PDE's address
    /// field needs, except for big page tables, which dual PDEs address in 256 bytes.
    fn alloc(&mut self, bytes: u64) -> Pde {
        let align = if bytes == BIG_PT.table_bytes() as u64 {
            256
        } else {
            4096
        };
        self.next = self.next.next_multiple_of(align);
        let addr = self.next + 0x10_0000;
        self.next += bytes;
        Pde {
            aperture: Aperture::Vram,
            addr,
        }
    }

    fn set(&mut self, t: &Pde, at: u64, w: u64) {
        self.words.insert((key(t.aperture), t.addr + at), w);
    }

    fn get(&self, t: &Pde, at: u64) -> u64 {
        self.words
            .get(&(key(t.aperture), t.addr + at))
            .copied()
            .unwrap_or(0)
    }

    /// Returns PD0's table for `va`, creating the directories on the way.
    fn pd0(&mut self, v: Version, root: &Pde, va: u64) -> Pde {
        let dirs = v.dirs();
        let mut t = *root;
        for (i, l) in dirs.iter().take(dirs.len() - 1).enumerate() {
            let at = (l.index(va) * l.entry_size) as u64;
            t = match v.decode_pde(self.get(&t, at)) {
                DirEntry::Table(next) => next,
                _ => {
                    let next = self.alloc(dirs[i + 1].table_bytes() as u64);
                    self.set(&t, at, v.encode_pde(Some(&next)).expect("encodable"));
                    next
                }
            };
        }
        t
    }

    /// Maps the 4 KiB page at `va` with `p`, creating tables.
    fn map_small(&mut self, v: Version, root: &Pde, va: u64, p: &Pte) {
        let pd0 = self.pd0(v, root, va);
        let at = (PD0.index(va) * PD0.entry_size) as u64;
        let w = [self.get(&pd0, at), self.get(&pd0, at + 8)];
        let (big, small) = match v.decode_dual(w) {
            DualEntry::Tables { big, small } => (big, small),
            DualEntry::Huge(_) => (None, None),
        };
        let small = small.unwrap_or_else(|| self.alloc(SMALL_PT.table_bytes() as u64));
        let w = v
            .encode_dual(big.as_ref(), Some(&small))
            .expect("encodable");
        self.set(&pd0, at, w[0]);
        self.set(&pd0, at + 8, w[1]);
        let at = (SMALL_PT.index(va) * 8) as u64;
        self.set(&small, at, v.encode_pte(p).expect("encodable"));
    }

    /// Maps the 64 KiB page at `va` with `p`, creating tables.
    fn map_big(&mut self, v: Version, root: &Pde, va: u64, p: &Pte) {
        let pd0 = self.pd0(v, root, va);
        let at = (PD0.index(va) * PD0.entry_size) as u64;
        let w = [self.get(&pd0, at), self.get(&pd0, at + 8)];
        let small = match v.decode_dual(w) {
            DualEntry::Tables { small, .. } => small,
            DualEntry::Huge(_) => None,
        };
        let big = self.alloc(BIG_PT.table_bytes() as u64);
        let w = v
            .encode_dual(Some(&big), small.as_ref())
            .expect("encodable");
        self.set(&pd0, at, w[0]);
        self.set(&pd0, at + 8, w[1]);
        self.set(
            &big,
            (BIG_PT.index(va) * 8) as u64,
            v.encode_pte(p).expect("encodable"),
        );
    }

    /// Maps the 2 MiB page at `va` with `p`.
    fn map_huge(&mut self, v: Version, root: &Pde, va: u64, p: &Pte) {
        let pd0 = self.pd0(v, root, va);
        let at = (PD0.index(va) * PD0.entry_size) as u64;
        let w = v.encode_huge(p).expect("encodable");
        self.set(&pd0, at, w[0]);
        self.set(&pd0, at + 8, w[1]);
    }
}

#[test]
fn walker_page_sizes() {
    for v in [Version::V2, Version::V3] {
        let mut mem = Tables::default();
        let root = mem.alloc(v.dirs()[0].table_bytes() as u64);
        // A 4 KiB page high in the address space, a 64 KiB and a 2 MiB page.
        let va4k = (1u64 << (v.va_bits() - 1)) + 0x1234_5000;
        let p4k = pte(Aperture::SysmemCoherent, 0x8_7654_3000, false, false);
        mem.map_small(v, &root, va4k, &p4k);
        let va64k = 0x40_0001_0000;
        let p64k = pte(Aperture::Vram, 0x1_0005_0000, true, false);
        mem.map_big(v, &root, va64k, &p64k);
        let va2m = 0x7fe0_0000;
        let p2m = pte(Aperture::Vram, 0x2_0000_0000, false, true);
        mem.map_huge(v, &root, va2m, &p2m);

        let leaf = walk(v, &root, va4k + 0x123, &mut mem).expect("mapped");
        assert_eq!((leaf.pte, leaf.size), (p4k, PageSize::Small), "{v:?}");
        assert_eq!(leaf.locate(va4k + 0x123), (0x8_7654_3123, 4096 - 0x123));
        let leaf = walk(v, &root, va64k + 0xfffc, &mut mem).expect("mapped");
        assert_eq!((leaf.pte, leaf.size), (p64k, PageSize::Big), "{v:?}");
        assert_eq!(leaf.locate(va64k + 0xfffc), (0x1_0005_fffc, 4));
        let leaf = walk(v, &root, va2m + 0x1f_f000, &mut mem).expect("mapped");
        assert_eq!((leaf.pte, leaf.size), (p2m, PageSize::Huge), "{v:?}");
        assert_eq!(leaf.locate(va2m + 0x1f_f000), (0x2_001f_f000, 0x1000));

        // Next to the mappings: no PTE in the page tables there, or no tables at all.
        assert_eq!(walk(v, &root, va4k + 0x1000, &mut mem), Err(WalkFault::Pte));
        assert_eq!(
            walk(v, &root, va64k + 0x1_0000, &mut mem),
            Err(WalkFault::Pte)
        );
        assert_eq!(
            walk(v, &root, va2m + 0x20_0000, &mut mem),
            Err(WalkFault::Pde)
        );
        assert_eq!(walk(v, &root, 0x1000, &mut mem), Err(WalkFault::Pde));
        assert_eq!(
            walk(v, &root, 1 << v.va_bits(), &mut mem),
            Err(WalkFault::VaRange)
        );
    }
}

#[test]
fn walker_small_wins_over_big() {
    // A dual entry with both tables: a valid 4 KiB PTE wins, else the 64 KiB one serves.
    let v = Version::V2;
    let mut mem = Tables::default();
    let root = mem.alloc(v.dirs()[0].table_bytes() as u64);
    let va = 0x1_0000;
    let big = pte(Aperture::Vram, 0x50_0000, false, false);
    mem.map_big(v, &root, va, &big);
    let small = pte(Aperture::Vram, 0x66_6000, false, false);
    mem.map_small(v, &root, va + 0x3000, &small);
    assert_eq!(
        walk(v, &root, va + 0x3010, &mut mem).map(|l| l.pte),
        Ok(small)
    );
    let leaf = walk(v, &root, va + 0x4010, &mut mem).expect("mapped");
    assert_eq!((leaf.pte, leaf.size), (big, PageSize::Big));
    assert_eq!(leaf.locate(va + 0x4010), (0x50_4010, 0xbff0));
}

#[test]
fn walker_table_read_fault() {
    let v = Version::V3;
    let mut mem = Tables::default();
    let root = mem.alloc(v.dirs()[0].table_bytes() as u64);
    // PD3 points beyond the memory.
    let bad = Pde {
        aperture: Aperture::Vram,
        addr: LIMIT,
    };
    mem.set(&root, 0, v.encode_pde(Some(&bad)).expect("encodable"));
    assert_eq!(walk(v, &root, 0x1000, &mut mem), Err(WalkFault::TableRead));
}

#[test]
fn mmu_permissions() {
    for v in [Version::V2, Version::V3] {
        let mut mem = Tables::default();
        let root = mem.alloc(v.dirs()[0].table_bytes() as u64);
        mem.map_small(
            v,
            &root,
            0x1000,
            &pte(Aperture::Vram, 0x1_0000, true, false),
        );
        mem.map_small(
            v,
            &root,
            0x2000,
            &pte(Aperture::Vram, 0x2_0000, false, true),
        );
        let mut mmu = Mmu::new(v, root);
        assert_eq!(mmu.pdb(), root);
        assert!(mmu.translate(0x1000, false, false, &mut mem).is_ok());
        assert_eq!(
            mmu.translate(0x1000, true, false, &mut mem),
            Err(WalkFault::ReadOnly)
        );
        assert_eq!(
            mmu.translate(0x1000, true, true, &mut mem),
            Err(WalkFault::ReadOnly)
        );
        assert_eq!(
            mmu.translate(0x2000, false, false, &mut mem),
            Err(WalkFault::Privilege)
        );
        assert!(mmu.translate(0x2000, true, true, &mut mem).is_ok());
        // Faults from the TLB are the same as from a walk.
        assert_eq!(
            mmu.translate(0x1000, true, false, &mut mem),
            Err(WalkFault::ReadOnly)
        );
        assert_eq!(
            mmu.walks(),
            2,
            "{v:?}: the second access of each page hits the TLB"
        );
    }
}

#[test]
fn tlb_needs_an_invalidate() {
    let v = Version::V2;
    let mut mem = Tables::default();
    let root = mem.alloc(v.dirs()[0].table_bytes() as u64);
    let old = pte(Aperture::Vram, 0x10_0000, false, false);
    mem.map_small(v, &root, 0x5000, &old);
    let mut mmu = Mmu::new(v, root);
    assert_eq!(
        mmu.translate(0x5000, false, false, &mut mem).map(|l| l.pte),
        Ok(old)
    );
    // The PTE changes; without an invalidate the TLB keeps the old translation.
    let new = pte(Aperture::SysmemCoherent, 0x9_9000, false, false);
    mem.map_small(v, &root, 0x5000, &new);
    let reads = mem.reads;
    assert_eq!(
        mmu.translate(0x5008, false, false, &mut mem).map(|l| l.pte),
        Ok(old)
    );
    assert_eq!(mem.reads, reads, "a TLB hit reads no table");
    mmu.invalidate();
    assert_eq!(
        mmu.translate(0x5008, false, false, &mut mem).map(|l| l.pte),
        Ok(new)
    );
    // An unmapped page is not cached: mapping it needs no invalidate.
    assert_eq!(
        mmu.translate(0x6000, false, false, &mut mem),
        Err(WalkFault::Pte)
    );
    mem.map_small(v, &root, 0x6000, &old);
    assert!(mmu.translate(0x6000, false, false, &mut mem).is_ok());
}

#[test]
fn tlb_holds_many_pages() {
    // Pages a power of two apart do not all share a set: 32 pages 2 MiB apart stay cached.
    let v = Version::V3;
    let mut mem = Tables::default();
    let root = mem.alloc(v.dirs()[0].table_bytes() as u64);
    for i in 0..32u64 {
        mem.map_small(
            v,
            &root,
            i << 21,
            &pte(Aperture::Vram, i << 12, false, false),
        );
    }
    let mut mmu = Mmu::new(v, root);
    for _ in 0..2 {
        for i in 0..32u64 {
            let leaf = mmu
                .translate(i << 21, false, false, &mut mem)
                .expect("mapped");
            assert_eq!(leaf.pte.addr, i << 12);
        }
    }
    assert_eq!(
        mmu.walks(),
        32,
        "the second pass hits the TLB for every page"
    );
}
