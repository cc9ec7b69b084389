// SPDX-License-Identifier: GPL-2.0

//! The simulated GPU's host (PBDMA): GPFIFO fetch, push-buffer decoding and host methods.
//!
//! [`Pbdma::run`] does what a channel's PBDMA does between the doorbell and the engines: it
//! fetches the GP entries from `GPGet` up to `GPPut`, fetches the push-buffer segment each
//! one points at, decodes the method headers ([`crate::ce::header`]), executes the host
//! methods ([`crate::host::mthd`]: semaphores, TLB invalidates, non-stall interrupts,
//! `SET_OBJECT`) and hands the others to the engine bound to the subchannel. Everything it
//! reads and writes goes through a [`Host`], which translates GPU virtual addresses.
//!
//! A semaphore acquire that is not satisfied stops the channel where it is ([`Stop::Blocked`]);
//! the next call retries it. Anything the host does not accept stops the channel with an
//! error at the dword that caused it; nothing after it runs.
//!
//! This file uses only `core` and the definitions at `crate::ce` and `crate::host`, so that
//! the host crate `nova-svm-host` compiles and tests it.

use crate::ce::header::{self, Header, Kind};
use crate::ce::Aperture;
use crate::host::{mthd, mthd::sem_op, BadGpEntry, GpEntry};

/// Why an access of the host or an engine failed; the [`Host`] keeps the details.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Refused;

/// What the host reaches through the channel.
pub(crate) trait Host {
    /// Reads `out.len()` dwords at GPU virtual address `va` (GP entries, push buffers).
    fn fetch(&mut self, va: u64, out: &mut [u32]) -> Result<(), Refused>;

    /// Reads a semaphore of `out.len()` (4 or 8) bytes at `va`.
    fn sem_read(&mut self, va: u64, out: &mut [u8]) -> Result<(), Refused>;

    /// Writes a semaphore of `data.len()` (4 or 8) bytes at `va`.
    fn sem_write(&mut self, va: u64, data: &[u8]) -> Result<(), Refused>;

    /// `SET_OBJECT` with `data` on `subchannel`.
    fn set_object(&mut self, subchannel: u8, data: u32) -> Result<(), Refused>;

    /// An engine method.
    fn engine_method(&mut self, subchannel: u8, method: u32, data: u32) -> Result<(), Refused>;

    /// `MMU_TLB_INVALIDATE`: of every address space when `all`, else of the one whose page
    /// directory base is `pdb`.
    fn tlb_invalidate(&mut self, all: bool, pdb: (Aperture, u64));

    /// `NON_STALL_INTERRUPT`.
    fn nonstall(&mut self);

    /// The host consumed GP entries: `GPGet` is now `gp_get`.
    fn gp_get(&mut self, gp_get: u32);

    /// `SET_REFERENCE`.
    fn reference(&mut self, value: u32);
}

/// Why the host stopped a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PbdmaError {
    /// A GP entry or push buffer could not be fetched at `va`.
    Fetch {
        /// The address.
        va: u64,
    },
    /// GP entry `index` is not one the host accepts.
    GpEntry {
        /// Its index in the ring.
        index: u32,
        /// Why.
        why: BadGpEntry,
    },
    /// The dword at `va` is not a header the host accepts.
    Header {
        /// Its address.
        va: u64,
        /// The dword.
        word: u32,
    },
    /// A host method the host does not implement, or data it does not accept.
    HostMethod {
        /// The address of the data dword.
        va: u64,
        /// The method.
        method: u32,
        /// The data.
        data: u32,
    },
    /// The engine refused the method whose data is at `va`.
    Engine {
        /// The address of the data dword.
        va: u64,
    },
    /// A semaphore access at `addr` failed (`va` is the address of `SEM_EXECUTE`'s data).
    Semaphore {
        /// The address of the data dword.
        va: u64,
        /// The semaphore's address.
        addr: u64,
    },
}

/// Why [`Pbdma::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// `GPGet` reached `GPPut`.
    Idle,
    /// A semaphore acquire is not satisfied.
    Blocked,
    /// The budget of dwords is spent; there may be more work.
    Budget,
    /// An error stopped the channel.
    Error(PbdmaError),
}

/// A push-buffer segment being executed.
#[derive(Clone, Copy, Debug)]
struct Cursor {
    /// GPU virtual address of the segment's first dword.
    va: u64,
    /// Its length in dwords.
    dwords: u32,
    /// The next dword to execute.
    pos: u32,
}

/// A method header whose data dwords are still coming.
#[derive(Clone, Copy, Debug)]
struct Pending {
    /// How the data dwords map to methods.
    kind: Kind,
    /// The subchannel of the header.
    subchannel: u8,
    /// The method of the header.
    method: u32,
    /// Index of the next data dword.
    index: u32,
    /// Data dwords left.
    left: u32,
}

/// Dwords fetched at once.
const WINDOW: usize = 128;

/// The host state of one channel.
pub(crate) struct Pbdma {
    /// GPU virtual address of the GPFIFO ring.
    gpfifo_va: u64,
    /// GP entries of the ring.
    entries: u32,
    /// `GPGet`: the next entry to fetch.
    gp_get: u32,
    /// The segment being executed, if any.
    seg: Option<Cursor>,
    /// The header whose data comes next, if any.
    pending: Option<Pending>,
    /// `SEM_ADDR_LO`, `SEM_ADDR_HI`, `SEM_PAYLOAD_LO`, `SEM_PAYLOAD_HI`.
    sem: [u32; 4],
    /// `MEM_OP_A` to `MEM_OP_C`.
    mem_op: [u32; 3],
    /// Fetched dwords: `window[..window_len]` are those from segment dword `window_pos` on.
    window: [u32; WINDOW],
    /// The segment dword that `window[0]` holds.
    window_pos: u32,
    /// Dwords of `window` that hold fetched data.
    window_len: usize,
}

/// What executing one dword did.
enum Step {
    /// Go on with the next dword.
    Next,
    /// Stay at this dword: a semaphore acquire is not satisfied.
    Blocked,
}

impl Pbdma {
    /// Creates the host state of a channel whose GPFIFO ring of `entries` entries is at
    /// `gpfifo_va`.
    pub(crate) fn new(gpfifo_va: u64, entries: u32) -> Self {
        Self {
            gpfifo_va,
            entries,
            gp_get: 0,
            seg: None,
            pending: None,
            sem: [0; 4],
            mem_op: [0; 3],
            window: [0; WINDOW],
            window_pos: 0,
            window_len: 0,
        }
    }

    /// `GPGet`.
    pub(crate) fn gp_get(&self) -> u32 {
        self.gp_get
    }

    /// Drops what the channel fetched and skips the entries before `gp_put`, so that the
    /// next call starts at `gp_put` with no method state (the channel's reset).
    pub(crate) fn reset(&mut self, gp_put: u32) {
        *self = Self::new(self.gpfifo_va, self.entries);
        self.gp_get = gp_put % self.entries.max(1);
    }

    /// Runs the channel from `GPGet` to `gp_put`, for at most `budget` dwords.
    pub(crate) fn run(&mut self, host: &mut impl Host, gp_put: u32, budget: usize) -> Stop {
        let mut done = 0;
        loop {
            let Some(mut cur) = self.seg else {
                if self.entries == 0 || self.gp_get == gp_put % self.entries {
                    return Stop::Idle;
                }
                match self.fetch_entry(host) {
                    Ok(()) => continue,
                    Err(e) => return Stop::Error(e),
                }
            };
            if cur.pos == cur.dwords {
                self.seg = None;
                self.gp_get = (self.gp_get + 1) % self.entries;
                host.gp_get(self.gp_get);
                continue;
            }
            if done == budget {
                return Stop::Budget;
            }
            let va = cur.va + 4 * u64::from(cur.pos);
            let word = match self.word(host, &cur) {
                Ok(w) => w,
                Err(e) => return Stop::Error(e),
            };
            match self.execute(host, va, word) {
                Ok(Step::Next) => {
                    cur.pos += 1;
                    self.seg = Some(cur);
                    done += 1;
                }
                Ok(Step::Blocked) => return Stop::Blocked,
                Err(e) => return Stop::Error(e),
            }
        }
    }

    /// Fetches and decodes the GP entry at `GPGet`.
    fn fetch_entry(&mut self, host: &mut impl Host) -> Result<(), PbdmaError> {
        let va = self.gpfifo_va + 8 * u64::from(self.gp_get);
        let mut e = [0u32; 2];
        host.fetch(va, &mut e)
            .map_err(|Refused| PbdmaError::Fetch { va })?;
        match GpEntry::decode(e) {
            Ok(GpEntry::Nop) => {
                self.gp_get = (self.gp_get + 1) % self.entries;
                host.gp_get(self.gp_get);
            }
            Ok(GpEntry::Segment(s)) => {
                // Entries run in order and each method completes before the next one, so
                // `SYNC_WAIT` holds by itself.
                self.seg = Some(Cursor {
                    va: s.va,
                    dwords: s.dwords,
                    pos: 0,
                });
                self.window_len = 0;
            }
            Err(why) => {
                return Err(PbdmaError::GpEntry {
                    index: self.gp_get,
                    why,
                })
            }
        }
        Ok(())
    }

    /// The dword at the cursor, fetching a window of the segment when it is not fetched.
    fn word(&mut self, host: &mut impl Host, cur: &Cursor) -> Result<u32, PbdmaError> {
        let fetched = cur.pos >= self.window_pos
            && usize::try_from(cur.pos - self.window_pos).is_ok_and(|o| o < self.window_len);
        if !fetched {
            // CAST: `WINDOW` fits u32.
            let n = (cur.dwords - cur.pos).min(WINDOW as u32);
            let va = cur.va + 4 * u64::from(cur.pos);
            // CAST: at most `WINDOW`.
            let out = self
                .window
                .get_mut(..n as usize)
                .ok_or(PbdmaError::Fetch { va })?;
            host.fetch(va, out)
                .map_err(|Refused| PbdmaError::Fetch { va })?;
            self.window_pos = cur.pos;
            // CAST: at most `WINDOW`.
            self.window_len = n as usize;
        }
        // CAST: the offset is below `window_len`.
        let at = (cur.pos - self.window_pos) as usize;
        self.window.get(at).copied().ok_or(PbdmaError::Fetch {
            va: cur.va + 4 * u64::from(cur.pos),
        })
    }

    /// Executes the dword `word` at `va`: a header, or data of the pending header.
    fn execute(&mut self, host: &mut impl Host, va: u64, word: u32) -> Result<Step, PbdmaError> {
        if let Some(mut p) = self.pending {
            let method = p.kind.method(p.method, p.index);
            let step = self.method(host, va, p.subchannel, method, word)?;
            if let Step::Next = step {
                p.index += 1;
                p.left -= 1;
                self.pending = (p.left > 0).then_some(p);
            }
            return Ok(step);
        }
        match header::decode(word) {
            None => Err(PbdmaError::Header { va, word }),
            Some(Header::Nop) => Ok(Step::Next),
            Some(Header::Immediate {
                subchannel,
                method,
                data,
            }) => self.method(host, va, subchannel, method, data),
            Some(Header::Methods {
                kind,
                subchannel,
                method,
                count,
            }) => {
                self.pending = Some(Pending {
                    kind,
                    subchannel,
                    method,
                    index: 0,
                    left: count,
                });
                Ok(Step::Next)
            }
        }
    }

    /// Executes `method` with `data` (at `va`) on `subchannel`.
    fn method(
        &mut self,
        host: &mut impl Host,
        va: u64,
        subchannel: u8,
        method: u32,
        data: u32,
    ) -> Result<Step, PbdmaError> {
        if method >= header::HOST_METHOD_LIMIT {
            return host
                .engine_method(subchannel, method, data)
                .map(|()| Step::Next)
                .map_err(|Refused| PbdmaError::Engine { va });
        }
        let bad = PbdmaError::HostMethod { va, method, data };
        match method {
            mthd::SET_OBJECT => host
                .set_object(subchannel, data)
                .map(|()| Step::Next)
                .map_err(|Refused| PbdmaError::Engine { va }),
            mthd::NOP | mthd::WFI => Ok(Step::Next),
            mthd::NON_STALL_INTERRUPT => {
                host.nonstall();
                Ok(Step::Next)
            }
            mthd::SET_REFERENCE => {
                host.reference(data);
                Ok(Step::Next)
            }
            mthd::MEM_OP_A | mthd::MEM_OP_B | mthd::MEM_OP_C => {
                let i = usize::try_from((method - mthd::MEM_OP_A) / 4).map_err(|_| bad)?;
                *self.mem_op.get_mut(i).ok_or(bad)? = data;
                Ok(Step::Next)
            }
            mthd::MEM_OP_D => self.mem_op(host, data).map(|()| Step::Next).ok_or(bad),
            mthd::SEM_ADDR_LO | mthd::SEM_ADDR_HI | mthd::SEM_PAYLOAD_LO | mthd::SEM_PAYLOAD_HI => {
                let i = usize::try_from((method - mthd::SEM_ADDR_LO) / 4).map_err(|_| bad)?;
                *self.sem.get_mut(i).ok_or(bad)? = data;
                Ok(Step::Next)
            }
            mthd::SEM_EXECUTE => self.sem_execute(host, va, data),
            _ => Err(bad),
        }
    }

    /// `MEM_OP_D` with `data`, after `MEM_OP_A` to `C`. `None` for an operation the host does
    /// not implement.
    fn mem_op(&mut self, host: &mut impl Host, data: u32) -> Option<()> {
        let [_a, _b, c] = self.mem_op;
        match mthd::MEM_OP_D_OPERATION.get(data) {
            // The simulated memory is coherent: a barrier has nothing to wait for.
            mthd::OPERATION_MEMBAR => Some(()),
            // A targeted invalidate is carried out as a whole one, which is allowed: it only
            // drops more cached translations.
            mthd::OPERATION_MMU_TLB_INVALIDATE | mthd::OPERATION_MMU_TLB_INVALIDATE_TARGETED => {
                let all = mthd::MEM_OP_C_PDB.get(c) == mthd::PDB_ALL;
                let aperture = match mthd::MEM_OP_C_PDB_APERTURE.get(c) {
                    mthd::PDB_APERTURE_VID_MEM => Aperture::Vram,
                    mthd::PDB_APERTURE_SYS_MEM_COHERENT => Aperture::SysmemCoherent,
                    mthd::PDB_APERTURE_SYS_MEM_NONCOHERENT => Aperture::SysmemNoncoherent,
                    _ => return None,
                };
                let addr = (u64::from(mthd::MEM_OP_D_PDB_ADDR_HI.get(data)) << 32)
                    | u64::from(mthd::MEM_OP_C_PDB_ADDR_LO.get(c) << 12);
                host.tlb_invalidate(all, (aperture, addr));
                Some(())
            }
            _ => None,
        }
    }

    /// `SEM_EXECUTE` with `data` (at `va`).
    fn sem_execute(
        &mut self,
        host: &mut impl Host,
        va: u64,
        data: u32,
    ) -> Result<Step, PbdmaError> {
        let bad = PbdmaError::HostMethod {
            va,
            method: mthd::SEM_EXECUTE,
            data,
        };
        let [lo, hi, payload_lo, payload_hi] = self.sem;
        let known = mthd::SEM_EXECUTE_OPERATION.mask()
            | mthd::SEM_EXECUTE_ACQUIRE_SWITCH_TSG.mask()
            | mthd::SEM_EXECUTE_RELEASE_WFI.mask()
            | mthd::SEM_EXECUTE_PAYLOAD_SIZE.mask()
            | mthd::SEM_EXECUTE_RELEASE_TIMESTAMP.mask()
            | mthd::SEM_EXECUTE_REDUCTION.mask()
            | mthd::SEM_EXECUTE_REDUCTION_FORMAT.mask();
        if data & !known != 0 || mthd::SEM_EXECUTE_RELEASE_TIMESTAMP.get(data) != 0 {
            return Err(bad);
        }
        if lo & !mthd::SEM_ADDR_LO_OFFSET.mask() != 0 || hi & !mthd::SEM_ADDR_HI_OFFSET.mask() != 0
        {
            return Err(bad);
        }
        let addr = (u64::from(hi) << 32) | u64::from(lo);
        let wide = mthd::SEM_EXECUTE_PAYLOAD_SIZE.get(data) == mthd::PAYLOAD_SIZE_64BIT;
        let size = if wide { 8 } else { 4 };
        if addr % size != 0 {
            return Err(bad);
        }
        let payload = (u64::from(payload_hi) << 32) | u64::from(payload_lo);
        let sem_err = PbdmaError::Semaphore { va, addr };
        let bytes = payload.to_le_bytes();
        // CAST: `size` is 4 or 8.
        let n = size as usize;
        let op = mthd::SEM_EXECUTE_OPERATION.get(data);
        if op == sem_op::RELEASE {
            let out = bytes.get(..n).ok_or(bad)?;
            host.sem_write(addr, out).map_err(|Refused| sem_err)?;
            return Ok(Step::Next);
        }
        let mut cur = [0u8; 8];
        host.sem_read(addr, cur.get_mut(..n).ok_or(bad)?)
            .map_err(|Refused| sem_err)?;
        let value = u64::from_le_bytes(cur);
        let payload = if wide { payload } else { u64::from(payload_lo) };
        let done = match op {
            sem_op::ACQUIRE => value == payload,
            sem_op::ACQ_STRICT_GEQ => value >= payload,
            sem_op::ACQ_CIRC_GEQ if wide => value.wrapping_sub(payload) as i64 >= 0,
            // CAST: the wrapping difference of 32-bit values, read as signed.
            sem_op::ACQ_CIRC_GEQ => (value as u32).wrapping_sub(payload as u32) as i32 >= 0,
            sem_op::ACQ_AND => value & payload != 0,
            _ => return Err(bad),
        };
        Ok(if done { Step::Next } else { Step::Blocked })
    }
}
