// SPDX-License-Identifier: GPL-2.0

//! The simulated GPU: VRAM in host memory and a copy engine in software.
//!
//! [`SimGpu`] executes the push buffers the core builds with [`ce_interp::CeInterp`], the same
//! dwords real hardware would fetch. Its buses:
//!
//! - VRAM (`TARGET_LOCAL_FB`) is host memory, allocated one chunk at a time when the driver
//!   brings a chunk online ([`Gpu::chunk_online`]).
//! - Coherent system memory is the job's [`SysPages`]: page `i` of the job is at
//!   `i * PAGE_SIZE`, as if an IOMMU mapped the job's pages there. Accesses are page granular;
//!   the driver issues nothing else.
//! - The GPU virtual address space holds one page, the fence semaphore at [`FENCE_VA`].
//!
//! An access outside these, and any method or field the interpreter does not implement, fails
//! the job with `EIO`.

// Shared with the host tests, which use more of it than the driver.
#[allow(dead_code)]
pub(crate) mod ce_interp;

use core::sync::atomic::{AtomicU32, Ordering};

use kernel::{
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    sync::Mutex, //
};

use self::ce_interp::{CeInterp, Fault, Memory, Target};
use crate::{
    ce::{class::CeClass, Aperture},
    dmem::CHUNK_SIZE,
    gpu::{Gpu, SysPages, FENCE_VA},
};

/// The mutable state of the simulated GPU.
struct SimState {
    /// The copy engine, with the method state of its channel.
    ce: CeInterp,
    /// VRAM, one vector of `CHUNK_SIZE` bytes per chunk that is online.
    vram: KVec<Option<KVVec<u8>>>,
    /// The page of GPU virtual memory at `FENCE_VA`.
    fence: KVec<u8>,
    /// A page for system-to-system copies.
    bounce: KVec<u8>,
}

/// The simulated GPU.
#[pin_data]
pub(crate) struct SimGpu {
    vram_size: u64,
    class: &'static CeClass,
    seqno: AtomicU32,
    #[pin]
    state: Mutex<SimState>,
}

impl SimGpu {
    /// Creates a simulated GPU with `vram_size` bytes of VRAM (a multiple of
    /// [`CHUNK_SIZE`]) and a copy engine of `class`.
    pub(crate) fn new(vram_size: u64, class: &'static CeClass) -> impl PinInit<Self, Error> {
        let state = (|| -> Result<SimState> {
            let chunks = usize::try_from(vram_size).map_err(|_| EINVAL)? / CHUNK_SIZE;
            let mut vram = KVec::with_capacity(chunks, GFP_KERNEL)?;
            for _ in 0..chunks {
                vram.push(None, GFP_KERNEL)?;
            }
            Ok(SimState {
                ce: CeInterp::new(class),
                vram,
                fence: KVec::zeroed(PAGE_SIZE, GFP_KERNEL)?,
                bounce: KVec::zeroed(PAGE_SIZE, GFP_KERNEL)?,
            })
        })();
        try_pin_init!(Self {
            vram_size,
            class,
            seqno: AtomicU32::new(0),
            state <- new_mutex!(state?, "nova_svm::SimGpu::state"),
        }? Error)
    }
}

impl Gpu for SimGpu {
    fn vram_size(&self) -> u64 {
        self.vram_size
    }

    fn ce_class(&self) -> &'static CeClass {
        self.class
    }

    fn is_simulated(&self) -> bool {
        true
    }

    fn chunk_online(&self, index: usize) -> Result {
        // Allocate outside the lock: vmalloc of a chunk may sleep for a while.
        let backing = KVVec::zeroed(CHUNK_SIZE, GFP_KERNEL)?;
        let mut st = self.state.lock();
        let slot = st.vram.get_mut(index).ok_or(EINVAL)?;
        if slot.is_none() {
            *slot = Some(backing);
        }
        Ok(())
    }

    fn next_seqno(&self) -> u32 {
        self.seqno.fetch_add(1, Ordering::Relaxed).wrapping_add(1)
    }

    fn sys_addr(&self, i: usize) -> u64 {
        // CAST: a page index times the page size fits the 64-bit aperture.
        (i * PAGE_SIZE) as u64
    }

    fn run(&self, push: &[u32], sys: &dyn SysPages, seqno: u32) -> Result {
        let mut guard = self.state.lock();
        let st = &mut *guard;
        let mut bus = Bus {
            vram: &mut st.vram,
            fence: &mut st.fence,
            bounce: &mut st.bounce,
            sys,
        };
        if let Err(e) = st.ce.execute(&mut bus, push) {
            pr_err!("nova-svm: simulated copy engine: {:?}\n", e);
            return Err(EIO);
        }
        let mut word = [0u8; 4];
        word.copy_from_slice(st.fence.get(..4).ok_or(EIO)?);
        if u32::from_le_bytes(word) != seqno {
            pr_err!("nova-svm: simulated copy engine: fence not released\n");
            return Err(EIO);
        }
        Ok(())
    }
}

/// What the simulated copy engine sees while it runs one job.
struct Bus<'a> {
    vram: &'a mut KVec<Option<KVVec<u8>>>,
    fence: &'a mut KVec<u8>,
    bounce: &'a mut KVec<u8>,
    sys: &'a dyn SysPages,
}

/// Converts an address and a length to a `usize` range start and length.
fn span(addr: u64, len: u64) -> Result<(usize, usize), Fault> {
    Ok((
        usize::try_from(addr).map_err(|_| Fault)?,
        usize::try_from(len).map_err(|_| Fault)?,
    ))
}

/// The page index of a page-aligned system address and a whole number of pages.
fn sys_pages(addr: u64, len: u64) -> Result<(usize, usize), Fault> {
    let (addr, len) = span(addr, len)?;
    if addr % PAGE_SIZE != 0 || len % PAGE_SIZE != 0 {
        return Err(Fault);
    }
    Ok((addr / PAGE_SIZE, len / PAGE_SIZE))
}

impl Bus<'_> {
    /// The VRAM bytes `[addr, addr + len)`, which must lie in one chunk that is online.
    fn vram(&mut self, addr: usize, len: usize) -> Result<&mut [u8], Fault> {
        let chunk = addr / CHUNK_SIZE;
        let off = addr % CHUNK_SIZE;
        let end = off.checked_add(len).ok_or(Fault)?;
        self.vram
            .get_mut(chunk)
            .and_then(|c| c.as_mut())
            .and_then(|c| c.get_mut(off..end))
            .ok_or(Fault)
    }

    /// Runs `f` on each piece of `[addr, addr + len)` that does not cross a page boundary:
    /// `f(addr, offset into the range, length)`.
    fn by_page(
        addr: usize,
        len: usize,
        mut f: impl FnMut(usize, usize, usize) -> Result<(), Fault>,
    ) -> Result<(), Fault> {
        let mut done = 0;
        while done < len {
            let a = addr.checked_add(done).ok_or(Fault)?;
            let n = (PAGE_SIZE - a % PAGE_SIZE).min(len - done);
            f(a, done, n)?;
            done += n;
        }
        Ok(())
    }
}

impl Memory for Bus<'_> {
    fn read(&mut self, target: Target, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        let (a, len) = span(addr, buf.len() as u64)?;
        match target {
            Target::Phys(Aperture::Vram) => Self::by_page(a, len, |pa, off, n| {
                let src = self.vram(pa, n)?;
                buf.get_mut(off..off + n).ok_or(Fault)?.copy_from_slice(src);
                Ok(())
            }),
            Target::Phys(Aperture::SysmemCoherent) => {
                let (first, n) = sys_pages(addr, buf.len() as u64)?;
                for (k, page) in buf.chunks_mut(PAGE_SIZE).enumerate().take(n) {
                    self.sys.read(first + k, page).map_err(|_| Fault)?;
                }
                Ok(())
            }
            _ => Err(Fault),
        }
    }

    fn write(&mut self, target: Target, addr: u64, data: &[u8]) -> Result<(), Fault> {
        let (a, len) = span(addr, data.len() as u64)?;
        match target {
            Target::Phys(Aperture::Vram) => Self::by_page(a, len, |pa, off, n| {
                let src = data.get(off..off + n).ok_or(Fault)?;
                self.vram(pa, n)?.copy_from_slice(src);
                Ok(())
            }),
            Target::Phys(Aperture::SysmemCoherent) => {
                let (first, n) = sys_pages(addr, data.len() as u64)?;
                for (k, page) in data.chunks(PAGE_SIZE).enumerate().take(n) {
                    self.sys.write(first + k, page).map_err(|_| Fault)?;
                }
                Ok(())
            }
            Target::Virtual => {
                let off = a.checked_sub(usize::try_from(FENCE_VA).map_err(|_| Fault)?);
                let end = off.and_then(|o| o.checked_add(len)).ok_or(Fault)?;
                let dst = self.fence.get_mut(end - len..end).ok_or(Fault)?;
                dst.copy_from_slice(data);
                Ok(())
            }
            _ => Err(Fault),
        }
    }

    fn copy(
        &mut self,
        src: Target,
        src_addr: u64,
        dst: Target,
        dst_addr: u64,
        len: u64,
    ) -> Result<(), Fault> {
        const VRAM: Target = Target::Phys(Aperture::Vram);
        const SYS: Target = Target::Phys(Aperture::SysmemCoherent);
        let (s, n) = span(src_addr, len)?;
        let (d, _) = span(dst_addr, len)?;
        match (src, dst) {
            // System memory to VRAM: each page straight into its VRAM bytes.
            (SYS, VRAM) => {
                let (first, pages) = sys_pages(src_addr, len)?;
                for k in 0..pages {
                    let sys = self.sys;
                    let out = self.vram(d + k * PAGE_SIZE, PAGE_SIZE)?;
                    sys.read(first + k, out).map_err(|_| Fault)?;
                }
                Ok(())
            }
            // VRAM to system memory: each page straight from its VRAM bytes.
            (VRAM, SYS) => {
                let (first, pages) = sys_pages(dst_addr, len)?;
                for k in 0..pages {
                    let sys = self.sys;
                    let from = self.vram(s + k * PAGE_SIZE, PAGE_SIZE)?;
                    sys.write(first + k, from).map_err(|_| Fault)?;
                }
                Ok(())
            }
            // Within VRAM or within system memory: a page at a time through the bounce page.
            (VRAM, VRAM) | (SYS, SYS) => {
                let mut bounce = core::mem::take(self.bounce);
                let r = Self::by_page(s, n, |_, off, _| {
                    let k = n.min(off + PAGE_SIZE) - off;
                    let page = bounce.get_mut(..k).ok_or(Fault)?;
                    self.read(src, src_addr + off as u64, page)?;
                    self.write(dst, dst_addr + off as u64, page)
                });
                *self.bounce = bounce;
                r
            }
            _ => Err(Fault),
        }
    }

    fn fill(&mut self, target: Target, addr: u64, len: u64, pattern: &[u8]) -> Result<(), Fault> {
        if pattern.is_empty() || PAGE_SIZE % pattern.len() != 0 {
            return Err(Fault);
        }
        let (a, n) = span(addr, len)?;
        match target {
            Target::Phys(Aperture::Vram) => Self::by_page(a, n, |pa, _, k| {
                if pa % pattern.len() != 0 {
                    return Err(Fault);
                }
                for (b, p) in self.vram(pa, k)?.iter_mut().zip(pattern.iter().cycle()) {
                    *b = *p;
                }
                Ok(())
            }),
            Target::Phys(Aperture::SysmemCoherent) => {
                let (first, pages) = sys_pages(addr, len)?;
                for (b, p) in self.bounce.iter_mut().zip(pattern.iter().cycle()) {
                    *b = *p;
                }
                for k in 0..pages {
                    self.sys.write(first + k, self.bounce).map_err(|_| Fault)?;
                }
                Ok(())
            }
            _ => Err(Fault),
        }
    }
}
