// SPDX-License-Identifier: GPL-2.0

//! The one interface between the core of nova-svm and a GPU.
//!
//! A backend is what sits behind a GPU's BARs: VRAM that the CPU reaches through a BAR,
//! channels that fetch GPFIFO entries and push buffers, a doorbell, and a DMA device through
//! which the GPU reaches system memory by bus address. [`Backend`] is that surface, and
//! nothing more: the core builds page tables, GPFIFO entries and push buffers itself, in the
//! formats of [`crate::mmu`], [`crate::host`] and [`crate::ce`], and the backend runs them.
//!
//! Two backends implement it: [`sim`], a GPU simulated in software on a faux device, and
//! [`nv`], real hardware through nova-core. The driver's probe picks one; the core (`dmem`,
//! `migrate`, `svm`, `file`, `chan`, `vmm`) only ever sees `dyn Backend`.

pub(crate) mod nv;
pub(crate) mod sim;

use kernel::{
    dma::DataDirection,
    mm::hmm::{DmaPage, PageRef},
    prelude::*,
    sync::Arc,
};

use crate::{
    ce::{class::CeClass, Aperture},
    mmu,
};

/// GPU architectures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    /// TU10x.
    Turing,
    /// GA100, GA10x, and AD10x, whose copy engine, channel and MMU are GA10x's.
    Ampere,
    /// GH100.
    Hopper,
    /// GB10x and GB20x.
    Blackwell,
}

/// The facts about a chip that the core depends on (see `firmware-notes/chips.md`).
#[derive(Debug)]
pub(crate) struct Chip {
    /// The architecture.
    pub(crate) family: Family,
    /// The channel (GPFIFO) class.
    pub(crate) channel_class: u32,
    /// The usermode (doorbell) class.
    pub(crate) usermode_class: u32,
    /// The copy-engine class.
    pub(crate) ce: &'static CeClass,
    /// The page-table format.
    pub(crate) mmu: mmu::Version,
    /// The replayable fault buffer class.
    pub(crate) fault_buffer_class: u32,
}

/// What a backend needs to create a channel.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChannelDesc {
    /// The root page directory of the channel's address space.
    pub(crate) pdb: mmu::Pde,
    /// GPU virtual address of the GPFIFO ring.
    pub(crate) gpfifo_va: u64,
    /// Entries of the ring, a power of two.
    pub(crate) gpfifo_entries: u32,
    /// VRAM address of the channel's USERD.
    pub(crate) userd: u64,
    /// Whether the channel is the kernel's: it may access pages mapped `PRIVILEGE`.
    pub(crate) privileged: bool,
}

/// The kind of memory access that faulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// A read.
    Read,
    /// A write.
    Write,
}

/// The unit of the GPU that made a faulting access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Client {
    /// The host, fetching GP entries or push buffers, or releasing or acquiring a semaphore.
    Host,
    /// The copy engine.
    Ce,
}

/// Why a virtual address did not translate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// A directory entry on the way is invalid.
    Pde,
    /// The PTE is invalid.
    Pte,
    /// A write to a read-only page.
    ReadOnly,
    /// An unprivileged access to a privileged page.
    Privilege,
    /// The address is beyond the address space.
    VaRange,
    /// The translation reached a page the memory behind it refused: an unmapped bus address,
    /// or VRAM that does not exist.
    Unbound,
}

/// A recorded GPU page fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MmuFault {
    /// The virtual address.
    pub(crate) va: u64,
    /// The access.
    pub(crate) access: Access,
    /// The unit that accessed it.
    pub(crate) client: Client,
    /// Why it faulted.
    pub(crate) kind: FaultKind,
}

/// Why a channel stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChannelError {
    /// A GPU page fault.
    Mmu(MmuFault),
    /// A physical access to system memory at a bus address with no live DMA mapping, or to
    /// VRAM beyond its end.
    Bus {
        /// The aperture.
        aperture: Aperture,
        /// The address.
        addr: u64,
        /// The access.
        access: Access,
    },
    /// A GP entry the host does not accept.
    GpEntry {
        /// Its index in the ring.
        index: u32,
    },
    /// A push-buffer dword the host or an engine does not accept (a bad header, an unknown
    /// method, bad method data).
    Method {
        /// GPU virtual address of the dword.
        va: u64,
    },
    /// The driver gave up waiting for the channel.
    Timeout,
}

/// What a channel reports to the core, from the backend's context (a work item or an
/// interrupt handler). The implementation must not sleep for long or allocate memory: work
/// that memory reclaim waits for may be what raised the event.
pub(crate) trait ChannelEvents: Send + Sync {
    /// The channel executed `NON_STALL_INTERRUPT`.
    fn nonstall(&self);

    /// The channel stopped on `err`.
    fn error(&self, err: ChannelError);
}

/// A channel of the backend.
pub(crate) trait HwChannel: Send + Sync {
    /// The work-submit token to write to the doorbell.
    fn token(&self) -> u32;

    /// Stops the channel where it is, drops what it fetched and skips the GP entries it did
    /// not fetch (`GPGet` becomes `GPPut`), clears its error and unbinds its subchannels, so
    /// that it takes new work. Returns once the channel no longer touches memory.
    fn reset(&self) -> Result;
}

/// A system page mapped for the GPU.
///
/// The backend keeps the mapping known to whatever translates the GPU's accesses (the
/// IOMMU), until [`Backend::dma_unmap`].
pub(crate) struct SysPage {
    /// The DMA API's mapping.
    pub(crate) map: DmaPage,
}

impl SysPage {
    /// The bus address of the page.
    pub(crate) fn bus(&self) -> u64 {
        self.map.dma_address()
    }
}

/// Counters of a backend, for the driver's statistics.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counters {
    /// Nanoseconds the GPU's engines were busy running channels.
    pub(crate) busy_ns: u64,
    /// Accesses the GPU refused (faults and bus errors).
    pub(crate) faults: u64,
    /// Bytes the copy engine moved.
    pub(crate) copy_bytes: u64,
    /// Nanoseconds of the busy time that the copy engine spent moving those bytes; the rest
    /// went to fetching and decoding methods and resolving addresses.
    pub(crate) copy_ns: u64,
}

/// A GPU.
pub(crate) trait Backend: Send + Sync {
    /// The backend's counters.
    fn counters(&self) -> Counters;

    /// The chip.
    fn chip(&self) -> &'static Chip;

    /// Bytes of VRAM.
    fn vram_size(&self) -> u64;

    /// Makes VRAM `start..start + len` usable, before the first access to it.
    fn vram_online(&self, start: u64, len: u64) -> Result;

    /// Writes `data` to VRAM at `addr`, through the BAR.
    fn bar_write(&self, addr: u64, data: &[u8]) -> Result;

    /// Writes the dwords `words` (little endian, as the GPU reads them) to VRAM at `addr`, a
    /// multiple of four, through the BAR.
    fn bar_write_u32s(&self, addr: u64, words: &[u32]) -> Result;

    /// Reads VRAM at `addr` into `out`, through the BAR.
    fn bar_read(&self, addr: u64, out: &mut [u8]) -> Result;

    /// Creates a channel, which reports to `events`.
    fn channel_new(
        &self,
        desc: &ChannelDesc,
        events: Arc<dyn ChannelEvents>,
    ) -> Result<KBox<dyn HwChannel>>;

    /// Writes `value` to the usermode register at `offset` (the doorbell is
    /// [`crate::host::usermode::NOTIFY_CHANNEL_PENDING`]).
    fn usermode_write(&self, offset: u32, value: u32);

    /// Maps `len` bytes of `page` (up to the end of its folio) for the GPU with the DMA API.
    /// The GPU may use the address once [`Backend::dma_publish`] has published it.
    ///
    /// Must not allocate memory that reclaim could wait for: device copies map pages while
    /// holding a lock that invalidations take.
    fn dma_map(&self, page: &PageRef, len: usize, dir: DataDirection) -> Result<SysPage>;

    /// Makes the mappings `pages` usable by the GPU, at once (as an IOMMU's IOTLB sync
    /// does after a batch of mappings). Does not allocate either.
    fn dma_publish(&self, pages: &[SysPage]) -> Result;

    /// Unmaps every page of `pages`, of which the first `published` were published, and
    /// empties it. The GPU must not access them any more.
    fn dma_unmap(&self, pages: &mut KVec<SysPage>, published: usize);
}

/// The chips nova-svm knows, by copy-engine class (`firmware-notes/chips.md` gives the
/// sources).
pub(crate) mod chips {
    use super::{Chip, Family};
    use crate::{
        ce::class::{
            AMPERE_DMA_COPY_A, AMPERE_DMA_COPY_B, BLACKWELL_DMA_COPY_A, BLACKWELL_DMA_COPY_B,
            HOPPER_DMA_COPY_A, TURING_DMA_COPY_A,
        },
        host::{class, usermode},
        mmu::Version,
    };

    /// `MMU_FAULT_BUFFER`, the replayable fault buffer class of Volta and later.
    const MMU_FAULT_BUFFER: u32 = 0xc369;

    /// TU10x.
    pub(crate) static TURING: Chip = Chip {
        family: Family::Turing,
        channel_class: class::TURING_CHANNEL_GPFIFO_A,
        usermode_class: usermode::TURING_USERMODE_A,
        ce: &TURING_DMA_COPY_A,
        mmu: Version::V2,
        fault_buffer_class: MMU_FAULT_BUFFER,
    };

    /// GA100.
    pub(crate) static GA100: Chip = Chip {
        family: Family::Ampere,
        channel_class: class::AMPERE_CHANNEL_GPFIFO_A,
        usermode_class: usermode::AMPERE_USERMODE_A,
        ce: &AMPERE_DMA_COPY_A,
        mmu: Version::V2,
        fault_buffer_class: MMU_FAULT_BUFFER,
    };

    /// GA10x and AD10x, which share the copy engine (AMPERE_DMA_COPY_B) and, through GSP-RM,
    /// the channel class of GA100 (nouveau's `gsp/rm/ga1xx.c` and `ad10x.c`; its non-GSP
    /// path allocates AMPERE_CHANNEL_GPFIFO_B on GA10x instead).
    pub(crate) static GA10X: Chip = Chip {
        family: Family::Ampere,
        channel_class: class::AMPERE_CHANNEL_GPFIFO_A,
        usermode_class: usermode::AMPERE_USERMODE_A,
        ce: &AMPERE_DMA_COPY_B,
        mmu: Version::V2,
        fault_buffer_class: MMU_FAULT_BUFFER,
    };

    /// GH100.
    pub(crate) static HOPPER: Chip = Chip {
        family: Family::Hopper,
        channel_class: class::HOPPER_CHANNEL_GPFIFO_A,
        usermode_class: usermode::HOPPER_USERMODE_A,
        ce: &HOPPER_DMA_COPY_A,
        mmu: Version::V3,
        fault_buffer_class: MMU_FAULT_BUFFER,
    };

    /// GB10x.
    pub(crate) static GB10X: Chip = Chip {
        family: Family::Blackwell,
        channel_class: class::BLACKWELL_CHANNEL_GPFIFO_A,
        // GB10x keeps Hopper's usermode class (nouveau's `gsp/rm/gb10x.c`).
        usermode_class: usermode::HOPPER_USERMODE_A,
        ce: &BLACKWELL_DMA_COPY_A,
        mmu: Version::V3,
        fault_buffer_class: MMU_FAULT_BUFFER,
    };

    /// GB20x.
    pub(crate) static GB20X: Chip = Chip {
        family: Family::Blackwell,
        channel_class: class::BLACKWELL_CHANNEL_GPFIFO_B,
        usermode_class: usermode::BLACKWELL_USERMODE_A,
        ce: &BLACKWELL_DMA_COPY_B,
        mmu: Version::V3,
        fault_buffer_class: MMU_FAULT_BUFFER,
    };

    /// Every chip.
    pub(crate) static ALL: [&Chip; 6] = [&TURING, &GA100, &GA10X, &HOPPER, &GB10X, &GB20X];

    /// The chip whose copy engine is class `ce`.
    pub(crate) fn by_ce_class(ce: u32) -> Option<&'static Chip> {
        ALL.iter().copied().find(|c| c.ce.id == ce)
    }
}
