// SPDX-License-Identifier: GPL-2.0

//! Device memory (dmem): VRAM handed to the core mm as device-private pages.
//!
//! VRAM is managed in chunks of [`CHUNK_SIZE`] bytes. Each chunk is a
//! [`DevicePrivateRegion`]: a range of device-private `struct page`s whose page `i` stands for
//! VRAM byte `base + i * PAGE_SIZE` of the chunk. The region keeps the free lists (whole
//! 2 MiB blocks for large folios and single pages); [`Dmem`] adds chunks on demand until
//! VRAM is exhausted. Dropping [`Dmem`] drops the chunks, and each one brings its pages home
//! with the copy engine before it is unmapped.

use kernel::{
    dma::DataDirection,
    mm::memremap::{
        DeviceFault, DeviceFolio, DevicePrivateOps, DevicePrivateRegion, FaultResult, FillFolio,
        Owner,
    },
    new_mutex, new_spinlock,
    prelude::*,
    sync::{Arc, Mutex, SpinLock},
};

pub(crate) use crate::gpu::CHUNK_SIZE;
use crate::{
    ce::PhysAddr,
    gpu::{pages, DmaMaps, Gpu, Job, PushMem},
};

/// One chunk of VRAM: what the core mm calls back for its pages.
pub(crate) struct Chunk {
    gpu: Arc<Gpu>,
    /// VRAM address of the chunk's first page.
    base: u64,
}

/// A chunk's device-private pages.
pub(crate) type Region = DevicePrivateRegion<Chunk>;

impl Chunk {
    /// The GPU the chunk's VRAM belongs to.
    pub(crate) fn gpu(&self) -> &Gpu {
        &self.gpu
    }
}

/// The VRAM address of the page at `pfn` of `region`, if it is one of the region's.
pub(crate) fn vram_addr(region: &Region, pfn: usize) -> Option<u64> {
    let pfns = region.pfns();
    if !pfns.contains(&pfn) {
        return None;
    }
    // CAST: a byte offset within a chunk fits u64.
    Some(region.ops().base + pages(pfn - pfns.start) as u64)
}

#[vtable]
impl DevicePrivateOps for Chunk {
    fn folio_free(&self, _folio: &DeviceFolio<'_, Self>) {
        // The region takes the pages back into its free lists; their VRAM holds nothing that
        // needs releasing.
    }

    fn migrate_to_ram(&self, fault: &DeviceFault<'_, Self>) -> FaultResult {
        crate::migrate::fault_to_ram(fault)
    }

    fn folio_split(&self, _head: &DeviceFolio<'_, Self>, _tail: Option<&DeviceFolio<'_, Self>>) {
        // A page's VRAM address follows from its index in the chunk, whichever folio it is
        // part of: there is nothing to update.
    }

    fn copy_to_ram(&self, src: &DeviceFolio<'_, Self>, dst: &FillFolio<'_>) -> Result {
        let gpu = &*self.gpu;
        let len = pages(dst.nr_pages());
        let mut maps = DmaMaps::new(gpu, 1)?;
        let to = maps.map(&dst.head(), len, DataDirection::FromDevice)?;
        maps.publish()?;
        let mut mem = PushMem::small()?;
        let mut job = Job::new(gpu, &mut mem);
        // CAST: a byte offset within a chunk fits u64.
        let vram = self.base + pages(src.index()) as u64;
        job.copy(PhysAddr::vram(vram), to, len)?;
        job.run()
    }
}

/// The device memory of one GPU.
///
/// The chunk list is behind a spinlock that is never held across an allocation or a sleep;
/// adding chunks is serialised by `grow`.
#[pin_data]
pub(crate) struct Dmem {
    gpu: Arc<Gpu>,
    max_chunks: usize,
    #[pin]
    chunks: SpinLock<KVec<Arc<Region>>>,
    #[pin]
    grow: Mutex<()>,
}

impl Dmem {
    /// Creates the device memory of `gpu`, with no chunk yet.
    pub(crate) fn new(gpu: Arc<Gpu>) -> impl PinInit<Self, Error> {
        let vram = gpu.data_vram();
        let max_chunks = usize::try_from(vram.end - vram.start).unwrap_or(0) / CHUNK_SIZE;
        let list = KVec::with_capacity(max_chunks, GFP_KERNEL);
        try_pin_init!(Self {
            gpu,
            max_chunks,
            chunks <- new_spinlock!(list?, "nova_svm::Dmem::chunks"),
            grow <- new_mutex!((), "nova_svm::Dmem::grow"),
        }? Error)
    }

    /// The owner of the device's pages, as the core mm knows it.
    pub(crate) fn owner(&self) -> Owner {
        Owner::from_ref(self)
    }

    /// The GPU.
    pub(crate) fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// Bytes of VRAM that device memory may use.
    pub(crate) fn size(&self) -> u64 {
        // CAST: the chunk size fits u64.
        (self.max_chunks * CHUNK_SIZE) as u64
    }

    /// The VRAM address of device page `pfn`, if it is one of this device's. The chunk in
    /// `cache` is tried first, and the chunk of `pfn` is left there: neighbouring pages are
    /// mostly in one chunk.
    pub(crate) fn vram_of(&self, pfn: usize, cache: &mut Option<Arc<Region>>) -> Option<u64> {
        if let Some(addr) = cache.as_deref().and_then(|r| vram_addr(r, pfn)) {
            return Some(addr);
        }
        let chunks = self.chunks.lock();
        let region = chunks.iter().find(|r| r.pfns().contains(&pfn))?;
        *cache = Some(region.clone());
        vram_addr(region, pfn)
    }

    fn with_free(&self, order: u32) -> Option<Arc<Region>> {
        self.chunks
            .lock()
            .iter()
            .find(|r| r.has_free(order))
            .cloned()
    }

    /// A chunk with a free folio of `order`, adding a chunk if VRAM has room for one.
    /// `ENOSPC` when VRAM is full.
    pub(crate) fn region_for(&self, order: u32) -> Result<Arc<Region>> {
        if let Some(r) = self.with_free(order) {
            return Ok(r);
        }
        let _grow = self.grow.lock();
        if let Some(r) = self.with_free(order) {
            return Ok(r);
        }
        let index = self.chunks.lock().len();
        if index >= self.max_chunks {
            return Err(ENOSPC);
        }
        // CAST: a VRAM byte offset fits u64.
        let base = self.gpu.data_vram().start + (index * CHUNK_SIZE) as u64;
        // CAST: the chunk size fits u64.
        self.gpu.backend().vram_online(base, CHUNK_SIZE as u64)?;
        let r = Arc::pin_init(
            Region::new(
                CHUNK_SIZE,
                self.owner(),
                c"nova-svm",
                Chunk {
                    gpu: self.gpu.clone(),
                    base,
                },
            ),
            GFP_KERNEL,
        )?;
        // The list has room for `max_chunks`: this does not allocate.
        self.chunks.lock().push(r.clone(), GFP_ATOMIC)?;
        Ok(r)
    }
}
