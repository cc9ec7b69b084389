// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the page tables, the TLB and the fences, on a simulated GPU of each
//! page-table format.
//!
//! They run when the module loads. Each test builds a GPU of its own, maps pages of VRAM with
//! [`crate::vmm::Vmm`] and makes the copy engine read them through a channel: the driver's
//! encoder and the GPU's page-table walker have to agree on every bit for the data to come
//! out right.

#[kernel::macros::kunit_tests(nova_svm_gpu)]
mod tests {
    use kernel::{prelude::*, sync::Arc};

    use crate::{
        ce::{header, push::PushBuffer, Aperture},
        chan::{self, Channel, Layout, CE_SUBCHANNEL},
        gpu::Gpu,
        host::mthd,
        hw::{chips, ChannelError, Chip, FaultKind, MmuFault},
        mmu::{PageSize, Pte},
        vmm::Retired,
    };

    /// VRAM of the test GPUs.
    const VRAM: u64 = 16 << 20;
    /// Virtual addresses of the test mappings: a 2 MiB page, a 64 KiB page, a 4 KiB page,
    /// and the 4 KiB page copies go to.
    const VA_HUGE: u64 = 0x4000_0000;
    const VA_BIG: u64 = 0x4020_0000;
    const VA_SMALL: u64 = 0x4040_0000;
    const VA_DST: u64 = 0x4060_0000;
    /// How long the tests wait for the GPU.
    const TIMEOUT_MS: u32 = 2000;

    /// A GPU of `chip`, a test channel on it, and the VRAM the tests map.
    struct Rig {
        gpu: Arc<Gpu>,
        chan: Channel,
        /// VRAM address of the 2 MiB the 2 MiB page maps; the next 2 MiB hold the 64 KiB
        /// page, the 4 KiB page (64 KiB further) and the destination (1 MiB further).
        base: u64,
    }

    impl Rig {
        fn new(chip: &'static Chip) -> Result<Self> {
            let gpu = crate::driver::test_gpu(VRAM, chip)?;
            let chan = Channel::new(
                gpu.instmem(),
                Layout {
                    va: 0x1000_0000,
                    entries: 64,
                    push_pages: 4,
                    privileged: false,
                },
            )?;
            let base = gpu.data_vram().start;
            gpu.backend().vram_online(base, 4 << 20)?;
            Ok(Self { gpu, chan, base })
        }

        fn huge(&self) -> u64 {
            self.base
        }
        fn big(&self) -> u64 {
            self.base + (2 << 20)
        }
        fn small(&self) -> u64 {
            self.base + (2 << 20) + (64 << 10)
        }
        fn dst(&self) -> u64 {
            self.base + (3 << 20)
        }

        /// Fills the 4 KiB of VRAM at `addr` with a pattern of `addr`.
        fn stamp(&self, addr: u64) -> Result {
            let mut words = KVec::with_capacity(1024, GFP_KERNEL)?;
            for i in 0..1024u64 {
                // CAST: the pattern is any 32 bits.
                words.push((addr + 4 * i) as u32 ^ 0x5a5a_0000, GFP_KERNEL)?;
            }
            self.gpu.backend().bar_write_u32s(addr, &words)
        }

        /// Whether the destination page holds the pattern of `addr`.
        fn dst_holds(&self, addr: u64) -> Result<bool> {
            let mut b = KVec::from_elem(0u8, 4096, GFP_KERNEL)?;
            self.gpu.backend().bar_read(self.dst(), &mut b)?;
            Ok(b.chunks_exact(4).enumerate().all(|(i, w)| {
                // CAST: as in `stamp`.
                let want = (addr + 4 * i as u64) as u32 ^ 0x5a5a_0000;
                u32::from_le_bytes([w[0], w[1], w[2], w[3]]) == want
            }))
        }

        /// Copies the 4 KiB at virtual `src` to the destination page and waits.
        fn copy(&self, src: u64) -> Result {
            let mut buf = KVec::from_elem(0u32, 32, GFP_KERNEL)?;
            let mut pb =
                PushBuffer::new(self.chan.ce(), CE_SUBCHANNEL, &mut buf).map_err(|_| EINVAL)?;
            pb.copy_virtual(src, VA_DST, 4096).map_err(|_| EINVAL)?;
            let n = pb.len();
            buf.truncate(n);
            self.chan.submit(&buf, TIMEOUT_MS)?.wait(TIMEOUT_MS)
        }

        fn map(&self, va: u64, addr: u64, size: PageSize) -> Result {
            let pte = Pte {
                aperture: Aperture::Vram,
                addr,
                read_only: false,
                privileged: false,
            };
            self.chan.vmm().map(va, &pte, size)
        }
    }

    /// Maps a page of each size, and checks that the copy engine reads what each maps.
    fn walk(chip: &'static Chip) -> Result {
        let r = Rig::new(chip)?;
        r.map(VA_HUGE, r.huge(), PageSize::Huge)?;
        r.map(VA_BIG, r.big(), PageSize::Big)?;
        r.map(VA_SMALL, r.small(), PageSize::Small)?;
        r.map(VA_DST, r.dst(), PageSize::Small)?;
        r.chan.invalidate_tlb(TIMEOUT_MS)?;
        // Pages at offsets inside the large pages, and the small page.
        for (va, phys) in [
            (VA_HUGE, r.huge()),
            (VA_HUGE + 0x12_3000, r.huge() + 0x12_3000),
            (VA_BIG + 0xf000, r.big() + 0xf000),
            (VA_SMALL, r.small()),
        ] {
            r.stamp(phys)?;
            r.copy(va)?;
            assert!(r.dst_holds(phys)?);
        }
        // Unmapped, the page faults; its page table goes once the TLB is invalidated.
        let tables = r.chan.vmm().tables();
        r.chan
            .unmap([VA_SMALL].into_iter(), PageSize::Small, TIMEOUT_MS)?;
        assert!(r.chan.vmm().tables() < tables);
        r.chan.clear_last_error();
        assert_eq!(r.copy(VA_SMALL), Err(EIO));
        assert!(matches!(
            r.chan.last_error(),
            Some(ChannelError::Mmu(MmuFault {
                va: VA_SMALL,
                kind: FaultKind::Pde | FaultKind::Pte,
                ..
            }))
        ));
        // And the channel works after the fault.
        r.stamp(r.huge())?;
        r.copy(VA_HUGE)?;
        assert!(r.dst_holds(r.huge())?);
        Ok(())
    }

    #[test]
    fn page_tables_ver2() -> Result {
        walk(&chips::TURING)
    }

    #[test]
    fn page_tables_ver3() -> Result {
        walk(&chips::HOPPER)
    }

    /// A PTE that changes without a TLB invalidate keeps its old translation, as on the
    /// hardware; the invalidate from the channel brings the new one.
    #[test]
    fn tlb_invalidate() -> Result {
        let r = Rig::new(&chips::GA10X)?;
        r.map(VA_DST, r.dst(), PageSize::Small)?;
        r.map(VA_SMALL, r.small(), PageSize::Small)?;
        r.chan.invalidate_tlb(TIMEOUT_MS)?;
        let (old, new) = (r.small(), r.small() + 0x1000);
        r.stamp(old)?;
        r.stamp(new)?;
        r.copy(VA_SMALL)?;
        assert!(r.dst_holds(old)?);
        // Point the page elsewhere, without an invalidate.
        let mut retired = Retired::new();
        r.chan
            .vmm()
            .unmap(VA_SMALL, PageSize::Small, &mut retired)?;
        r.map(VA_SMALL, new, PageSize::Small)?;
        r.copy(VA_SMALL)?;
        assert!(r.dst_holds(old)?);
        r.chan.invalidate_tlb(TIMEOUT_MS)?;
        drop(retired);
        r.copy(VA_SMALL)?;
        assert!(r.dst_holds(new)?);
        Ok(())
    }

    /// A fence of work that never completes times out, and the channel is reset.
    #[test]
    fn fence_timeout() -> Result {
        let r = Rig::new(&chips::GB20X)?;
        r.map(VA_DST, r.dst(), PageSize::Small)?;
        r.map(VA_SMALL, r.small(), PageSize::Small)?;
        r.chan.invalidate_tlb(TIMEOUT_MS)?;
        r.gpu.backend().bar_write_u32s(r.dst(), &[0, 0])?;
        let mut push = KVec::new();
        let exec = mthd::SEM_EXECUTE_OPERATION.val(mthd::sem_op::ACQUIRE);
        // CAST: bits 31:0 and 39:32 of the address.
        chan::host_methods(
            &mut push,
            mthd::SEM_ADDR_LO,
            &[VA_DST as u32, (VA_DST >> 32) as u32, 1, 0, exec],
        )?;
        let resets = r.chan.resets();
        let fence = r.chan.submit(&push, TIMEOUT_MS)?;
        assert_eq!(fence.wait(50), Err(ETIMEDOUT));
        assert_eq!(r.chan.resets(), resets + 1);
        assert_eq!(r.chan.last_error(), Some(ChannelError::Timeout));
        // The fence stays failed, and new work runs.
        assert_eq!(fence.wait(50), Err(EIO));
        r.stamp(r.small())?;
        r.copy(VA_SMALL)?;
        assert!(r.dst_holds(r.small())?);
        Ok(())
    }

    /// A fence of work that stopped the channel fails with `EIO`, and so does a fence
    /// submitted after it in the same epoch.
    #[test]
    fn fence_error() -> Result {
        let r = Rig::new(&chips::GA100)?;
        let bad = header::DMA_SEC_OP.val(header::sec_op::RESERVED6);
        let f1 = r.chan.submit(&[bad], TIMEOUT_MS)?;
        assert_eq!(f1.wait(TIMEOUT_MS), Err(EIO));
        assert!(matches!(
            r.chan.last_error(),
            Some(ChannelError::Method { .. })
        ));
        let f2 = r.chan.submit(&[], TIMEOUT_MS)?;
        assert_eq!(f2.wait(TIMEOUT_MS), Ok(()));
        assert_eq!(f1.wait(TIMEOUT_MS), Err(EIO));
        Ok(())
    }
}
