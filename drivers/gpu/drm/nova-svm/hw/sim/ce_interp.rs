// SPDX-License-Identifier: GPL-2.0

//! Software copy engine of the simulated GPU.
//!
//! [`CeInterp`] executes copy-engine push buffers, the same dwords that real hardware would
//! fetch, against a [`Memory`] that the caller implements. It decodes the method headers of
//! [`crate::ce::header`], keeps the method state of each subchannel, and on `LAUNCH_DMA`
//! performs the copy, fill or semaphore release that the state describes.
//!
//! It implements what nova-svm uses: pitch-linear copies of one or more lines between
//! physical or virtual addresses, constant fills through the remap unit, and one- or two-word
//! semaphore releases. Anything else is an error and never ignored: a header it does not
//! accept, a method the class does not have (or that the interpreter does not implement),
//! method data with bits that the class header leaves undefined, and `LAUNCH_DMA` field values
//! it does not implement (block-linear layouts, interrupts, semaphore reductions, four-word
//! semaphores, secure copies, scrubbing, compression). Fields that only tune caching or
//! ordering on hardware (`FLUSH_ENABLE`, `FLUSH_TYPE`, `*_BYPASS_L2`, `FORCE_RMWDISABLE`,
//! `DISABLE_PLC`, pipelined or not) are accepted with any value: the interpreter completes
//! each launch before the next method.
//!
//! Method data is checked when a launch uses it, as the hardware latches it: the fields of
//! the transfer only when `DATA_TRANSFER_TYPE` is not `NONE`, the source only when no remap
//! constant replaces it, the semaphore only when one is released.
//!
//! Large transfers go to [`Memory::copy`] and [`Memory::fill`] a whole line at a time, or in
//! one call when the lines are contiguous.
//!
//! This file uses the copy-engine definitions at `crate::ce`, which both the kernel crate and
//! the host test crate `nova-svm-host` place at their root.

use crate::ce::class::{
    addr_type, copy_type, data_transfer_type, flag, interrupt_type, memory_layout,
    phys_mode_target, remap_dst, semaphore_payload_size, semaphore_type, CeClass,
};
use crate::ce::field::Field;
use crate::ce::header::{self, Header};
use crate::ce::Aperture;

/// Where a memory access of the copy engine goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A physical address in an aperture (`LAUNCH_DMA_*_TYPE_PHYSICAL`).
    Phys(Aperture),
    /// A GPU virtual address in the channel's address space (`LAUNCH_DMA_*_TYPE_VIRTUAL`);
    /// semaphore releases always use virtual addresses.
    Virtual,
}

/// A memory access that a [`Memory`] implementation refused (for example, out of range or
/// unmapped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fault;

/// Size of the bounce buffer of the default [`Memory::copy`] and [`Memory::fill`].
const CHUNK: usize = 512;

/// Memory that the software copy engine reads and writes, in bytes. The GPU is little
/// endian.
///
/// A transfer calls [`Memory::copy`] or [`Memory::fill`] once per line, or once for lines
/// without gaps between them, so an implementation in the kernel can bound the time spent in
/// one call there (by rescheduling between calls, for example).
pub(crate) trait Memory {
    /// Reads `buf.len()` bytes at `addr` in `target`.
    fn read(&mut self, target: Target, addr: u64, buf: &mut [u8]) -> Result<(), Fault>;

    /// Writes `data` at `addr` in `target`.
    fn write(&mut self, target: Target, addr: u64, data: &[u8]) -> Result<(), Fault>;

    /// Copies `len` bytes from `src_addr` in `src` to `dst_addr` in `dst`, as `memmove` would
    /// when both are in the same target.
    ///
    /// The default goes through [`Memory::read`] and [`Memory::write`] in small chunks;
    /// implementations with direct access to their backing store should override it.
    fn copy(
        &mut self,
        src: Target,
        src_addr: u64,
        dst: Target,
        dst_addr: u64,
        len: u64,
    ) -> Result<(), Fault> {
        let mut buf = [0u8; CHUNK];
        let backward = src == dst && dst_addr > src_addr && dst_addr - src_addr < len;

        let mut done = 0u64;
        while done < len {
            let n = chunk_len(len - done, CHUNK);
            let off = if backward { len - done - n } else { done };
            let chunk = buf.get_mut(..chunk_usize(n)).ok_or(Fault)?;
            self.read(src, src_addr.checked_add(off).ok_or(Fault)?, chunk)?;
            self.write(dst, dst_addr.checked_add(off).ok_or(Fault)?, chunk)?;
            done += n;
        }
        Ok(())
    }

    /// Writes `len` bytes at `addr` in `target` with `pattern` repeated; `len` is a multiple
    /// of `pattern.len()`, which is between 1 and 16.
    ///
    /// The default goes through [`Memory::write`] in small chunks; implementations with
    /// direct access to their backing store should override it.
    fn fill(&mut self, target: Target, addr: u64, len: u64, pattern: &[u8]) -> Result<(), Fault> {
        if pattern.is_empty() || pattern.len() > CHUNK {
            return Err(Fault);
        }
        let mut buf = [0u8; CHUNK];
        for (slot, byte) in buf.iter_mut().zip(pattern.iter().cycle()) {
            *slot = *byte;
        }
        // Chunks hold whole patterns, so that each one starts at a pattern boundary.
        let whole = CHUNK - CHUNK % pattern.len();

        let mut done = 0u64;
        while done < len {
            let n = chunk_len(len - done, whole);
            let chunk = buf.get(..chunk_usize(n)).ok_or(Fault)?;
            self.write(target, addr.checked_add(done).ok_or(Fault)?, chunk)?;
            done += n;
        }
        Ok(())
    }
}

/// Returns `min(left, max)` as a `u64`.
fn chunk_len(left: u64, max: usize) -> u64 {
    // CAST: `max` is at most `CHUNK`, far below `u64::MAX`.
    left.min(max as u64)
}

/// Returns a chunk length computed by [`chunk_len`] as a `usize`.
fn chunk_usize(n: u64) -> usize {
    // CAST: `n` is at most `CHUNK`, so it fits in `usize`.
    n as usize
}

/// Why the copy engine stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExecErrorKind {
    /// A dword in header position that is not a header the interpreter accepts.
    BadHeader(u32),
    /// A header whose data dwords run past the end of the push buffer.
    Truncated {
        /// Data dwords the header announces.
        needed: usize,
        /// Dwords left after the header.
        left: usize,
    },
    /// A method the class does not have, or that the interpreter does not implement.
    UnknownMethod {
        /// The subchannel of the header.
        subchannel: u8,
        /// The method offset.
        method: u32,
    },
    /// A copy-engine method on a subchannel without an object (`SET_OBJECT`).
    NoObject {
        /// The subchannel of the header.
        subchannel: u8,
    },
    /// `SET_OBJECT` with a class other than the interpreter's.
    WrongClass {
        /// The class number in the method data.
        class: u32,
    },
    /// Method data with bits set that no field of the method covers.
    ReservedBits {
        /// The method offset.
        method: u32,
        /// The offending bits.
        bits: u32,
    },
    /// A field value that the class header does not define.
    UndefinedValue {
        /// The field, as the header spells it.
        field: &'static str,
        /// The value.
        value: u32,
    },
    /// A field value that the class header defines but the interpreter does not implement.
    Unsupported {
        /// The field, as the header spells it.
        field: &'static str,
        /// The value.
        value: u32,
    },
    /// A transfer with `LINE_LENGTH_IN` of zero.
    ZeroLineLength,
    /// A multi-line transfer with `LINE_COUNT` of zero.
    ZeroLineCount,
    /// A range that ends past the addresses the class can express.
    AddressOverflow,
    /// A semaphore address not aligned to its payload size.
    Misaligned {
        /// The semaphore address.
        addr: u64,
    },
    /// The memory refused a copy.
    CopyFault {
        /// Source target.
        src: Target,
        /// Source address.
        src_addr: u64,
        /// Destination target.
        dst: Target,
        /// Destination address.
        dst_addr: u64,
        /// Bytes.
        len: u64,
    },
    /// The memory refused a write (fill or semaphore).
    WriteFault {
        /// Target.
        target: Target,
        /// Address.
        addr: u64,
        /// Bytes.
        len: u64,
    },
}

/// An error of [`CeInterp::execute`]: what went wrong, and at which dword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ExecError {
    /// Index in the push buffer of the header or data dword that failed.
    pub(crate) dword: usize,
    /// What went wrong.
    pub(crate) kind: ExecErrorKind,
}

/// Method state of one subchannel: the last value written to each method.
#[derive(Clone, Copy, Debug, Default)]
struct Subchannel {
    /// Whether `SET_OBJECT` bound the copy-engine class to the subchannel.
    bound: bool,
    /// `SET_SEMAPHORE_A`.
    set_semaphore_a: u32,
    /// `SET_SEMAPHORE_B`.
    set_semaphore_b: u32,
    /// `SET_SEMAPHORE_PAYLOAD`.
    set_semaphore_payload: u32,
    /// `SET_SEMAPHORE_PAYLOAD_UPPER`.
    set_semaphore_payload_upper: u32,
    /// `SET_SRC_PHYS_MODE`.
    set_src_phys_mode: u32,
    /// `SET_DST_PHYS_MODE`.
    set_dst_phys_mode: u32,
    /// `OFFSET_IN_UPPER`.
    offset_in_upper: u32,
    /// `OFFSET_IN_LOWER`.
    offset_in_lower: u32,
    /// `OFFSET_OUT_UPPER`.
    offset_out_upper: u32,
    /// `OFFSET_OUT_LOWER`.
    offset_out_lower: u32,
    /// `PITCH_IN`.
    pitch_in: u32,
    /// `PITCH_OUT`.
    pitch_out: u32,
    /// `LINE_LENGTH_IN`.
    line_length_in: u32,
    /// `LINE_COUNT`.
    line_count: u32,
    /// `SET_REMAP_CONST_A`.
    set_remap_const_a: u32,
    /// `SET_REMAP_CONST_B`.
    set_remap_const_b: u32,
    /// `SET_REMAP_COMPONENTS`.
    set_remap_components: u32,
}

/// Field names of `SET_SRC_PHYS_MODE` or `SET_DST_PHYS_MODE`, for errors.
struct PhysModeNames {
    /// `TARGET`.
    target: &'static str,
    /// `BASIC_KIND`.
    basic_kind: &'static str,
    /// `PEER_ID`.
    peer_id: &'static str,
    /// `FLA`.
    fla: &'static str,
}

/// Field names of `SET_SRC_PHYS_MODE`.
const SRC_PHYS_MODE: PhysModeNames = PhysModeNames {
    target: "SET_SRC_PHYS_MODE_TARGET",
    basic_kind: "SET_SRC_PHYS_MODE_BASIC_KIND",
    peer_id: "SET_SRC_PHYS_MODE_PEER_ID",
    fla: "SET_SRC_PHYS_MODE_FLA",
};

/// Field names of `SET_DST_PHYS_MODE`.
const DST_PHYS_MODE: PhysModeNames = PhysModeNames {
    target: "SET_DST_PHYS_MODE_TARGET",
    basic_kind: "SET_DST_PHYS_MODE_BASIC_KIND",
    peer_id: "SET_DST_PHYS_MODE_PEER_ID",
    fla: "SET_DST_PHYS_MODE_FLA",
};

/// Field names of `SET_REMAP_COMPONENTS_DST_X` to `_DST_W`, in component order.
const REMAP_DST_NAMES: [&str; 4] = [
    "SET_REMAP_COMPONENTS_DST_X",
    "SET_REMAP_COMPONENTS_DST_Y",
    "SET_REMAP_COMPONENTS_DST_Z",
    "SET_REMAP_COMPONENTS_DST_W",
];

/// Largest remapped element: four components of four bytes.
const MAX_ELEMENT: usize = 16;

/// Where the bytes of a transfer come from.
#[derive(Clone, Copy, Debug)]
enum Source {
    /// Memory, line `i` at `addr + i * pitch`.
    Copy {
        /// Source target.
        target: Target,
        /// Address of the first line.
        addr: u64,
        /// Bytes between lines.
        pitch: u64,
    },
    /// A remapped element of constants, repeated.
    Fill {
        /// The element's bytes; the first `len` are used.
        element: [u8; MAX_ELEMENT],
        /// Bytes per element.
        len: usize,
    },
}

/// A validated transfer, ready to run.
#[derive(Clone, Copy, Debug)]
struct Transfer {
    /// Where the bytes come from.
    src: Source,
    /// Destination target.
    dst: Target,
    /// Address of the first destination line.
    dst_addr: u64,
    /// Bytes between destination lines.
    pitch_out: u64,
    /// Number of lines.
    lines: u64,
    /// Bytes written per line.
    line_bytes: u64,
}

impl Transfer {
    /// Performs the transfer.
    fn run<M: Memory + ?Sized>(&self, mem: &mut M) -> Result<(), ExecErrorKind> {
        // Lines without gaps between them form one range: move it in one call, unless a
        // copy's source and destination overlap, where line order matters. The range was
        // checked to lie within the class's addresses, so the sums below do not overflow.
        let contiguous = self.lines > 1 && self.pitch_out == self.line_bytes;

        match self.src {
            Source::Copy {
                target,
                addr,
                pitch,
            } => {
                if contiguous && pitch == self.line_bytes {
                    let total = self.lines * self.line_bytes;
                    let overlap = target == self.dst
                        && addr < self.dst_addr + total
                        && self.dst_addr < addr + total;
                    if !overlap {
                        return copy(mem, target, addr, self.dst, self.dst_addr, total);
                    }
                }
                for line in 0..self.lines {
                    copy(
                        mem,
                        target,
                        addr + line * pitch,
                        self.dst,
                        self.dst_addr + line * self.pitch_out,
                        self.line_bytes,
                    )?;
                }
                Ok(())
            }
            Source::Fill { element, len } => {
                let pattern = element.get(..len).ok_or(ExecErrorKind::AddressOverflow)?;
                if contiguous {
                    let total = self.lines * self.line_bytes;
                    return fill(mem, self.dst, self.dst_addr, total, pattern);
                }
                for line in 0..self.lines {
                    let addr = self.dst_addr + line * self.pitch_out;
                    fill(mem, self.dst, addr, self.line_bytes, pattern)?;
                }
                Ok(())
            }
        }
    }
}

/// Calls [`Memory::copy`], turning a fault into an error.
fn copy<M: Memory + ?Sized>(
    mem: &mut M,
    src: Target,
    src_addr: u64,
    dst: Target,
    dst_addr: u64,
    len: u64,
) -> Result<(), ExecErrorKind> {
    mem.copy(src, src_addr, dst, dst_addr, len)
        .map_err(|Fault| ExecErrorKind::CopyFault {
            src,
            src_addr,
            dst,
            dst_addr,
            len,
        })
}

/// Calls [`Memory::fill`], turning a fault into an error.
fn fill<M: Memory + ?Sized>(
    mem: &mut M,
    target: Target,
    addr: u64,
    len: u64,
    pattern: &[u8],
) -> Result<(), ExecErrorKind> {
    mem.fill(target, addr, len, pattern)
        .map_err(|Fault| ExecErrorKind::WriteFault { target, addr, len })
}

/// A validated semaphore release, ready to run.
#[derive(Clone, Copy, Debug)]
struct Release {
    /// GPU virtual address.
    va: u64,
    /// Payload bytes, little endian; the first `len` are written.
    payload: [u8; 8],
    /// Payload size in bytes, 4 or 8.
    len: usize,
}

impl Release {
    /// Writes the payload.
    fn run<M: Memory + ?Sized>(&self, mem: &mut M) -> Result<(), ExecErrorKind> {
        // CAST: `len` is 4 or 8.
        let len = self.len as u64;
        let fault = ExecErrorKind::WriteFault {
            target: Target::Virtual,
            addr: self.va,
            len,
        };
        let data = self.payload.get(..self.len).ok_or(fault)?;
        mem.write(Target::Virtual, self.va, data)
            .map_err(|Fault| fault)
    }
}

/// Returns an error if `word`, written to `method`, sets bits outside `defined`.
fn check_reserved(method: u32, word: u32, defined: u32) -> Result<(), ExecErrorKind> {
    match word & !defined {
        0 => Ok(()),
        bits => Err(ExecErrorKind::ReservedBits { method, bits }),
    }
}

/// Returns an error if the optional `field` of `word` is present and not zero: a feature the
/// interpreter does not implement.
fn check_zero(word: u32, field: Option<Field>, name: &'static str) -> Result<(), ExecErrorKind> {
    match field.map(|f| f.get(word)) {
        None | Some(0) => Ok(()),
        Some(value) => Err(ExecErrorKind::Unsupported { field: name, value }),
    }
}

/// The software copy engine of one channel: one copy-engine class, eight subchannels.
pub(crate) struct CeInterp {
    /// The class that `SET_OBJECT` may bind.
    class: &'static CeClass,
    /// Method state per subchannel.
    subchannels: [Subchannel; Self::SUBCHANNELS],
    /// Number of `LAUNCH_DMA` executed.
    launches: u64,
}

impl CeInterp {
    /// Number of subchannels.
    // CAST: widening u8 to usize, lossless (`usize::from` is not const).
    const SUBCHANNELS: usize = header::NUMBER_OF_SUBCHANNELS as usize;

    /// Creates a copy engine of `class` with no object bound to any subchannel.
    pub(crate) fn new(class: &'static CeClass) -> Self {
        Self {
            class,
            subchannels: [Subchannel::default(); Self::SUBCHANNELS],
            launches: 0,
        }
    }

    /// Returns the copy engine's class.
    pub(crate) fn class(&self) -> &'static CeClass {
        self.class
    }

    /// Returns the number of `LAUNCH_DMA` methods executed so far.
    pub(crate) fn launches(&self) -> u64 {
        self.launches
    }

    /// Executes the push buffer `push` against `mem`.
    ///
    /// The framing of the whole buffer (headers and their data counts) is checked before
    /// anything runs, so a bad header or a truncated buffer changes nothing. An error in a
    /// method stops execution there; the methods before it have taken effect. Method state
    /// persists across calls, like a channel's.
    pub(crate) fn execute<M: Memory + ?Sized>(
        &mut self,
        mem: &mut M,
        push: &[u32],
    ) -> Result<(), ExecError> {
        check_framing(push)?;

        let mut at = 0;
        while let Some(&word) = push.get(at) {
            match header::decode(word) {
                None => {
                    return Err(ExecError {
                        dword: at,
                        kind: ExecErrorKind::BadHeader(word),
                    })
                }
                Some(Header::Nop) => at += 1,
                Some(Header::Immediate {
                    subchannel,
                    method,
                    data,
                }) => {
                    self.method(mem, subchannel, method, data)
                        .map_err(|kind| ExecError { dword: at, kind })?;
                    at += 1;
                }
                Some(Header::Methods {
                    kind,
                    subchannel,
                    method,
                    count,
                }) => {
                    let first = at + 1;
                    let data = data_of(push, at, count)?;
                    for ((dword, &value), index) in (first..).zip(data).zip(0..count) {
                        self.method(mem, subchannel, kind.method(method, index), value)
                            .map_err(|kind| ExecError { dword, kind })?;
                    }
                    at = first + data.len();
                }
            }
        }
        Ok(())
    }

    /// Writes `data` to `method` on `subchannel`: `SET_OBJECT` or an engine method.
    fn method<M: Memory + ?Sized>(
        &mut self,
        mem: &mut M,
        subchannel: u8,
        method: u32,
        data: u32,
    ) -> Result<(), ExecErrorKind> {
        if method < header::HOST_METHOD_LIMIT {
            if method != header::SET_OBJECT {
                return Err(ExecErrorKind::UnknownMethod { subchannel, method });
            }
            return self.set_object(subchannel, data);
        }
        self.engine_method(mem, subchannel, method, data)
    }

    /// Unbinds every subchannel and forgets their method state, as a channel reset does.
    pub(crate) fn reset(&mut self) {
        self.subchannels = [Subchannel::default(); Self::SUBCHANNELS];
    }

    /// The host method `SET_OBJECT` with `data` on `subchannel`: binds the copy-engine class
    /// to it, if `data` names it.
    pub(crate) fn set_object(&mut self, subchannel: u8, data: u32) -> Result<(), ExecErrorKind> {
        let method = header::SET_OBJECT;
        let class = self.class;
        let st = self
            .subchannels
            .get_mut(usize::from(subchannel))
            .ok_or(ExecErrorKind::UnknownMethod { subchannel, method })?;
        let defined = header::SET_OBJECT_NVCLASS.mask() | header::SET_OBJECT_ENGINE.mask();
        check_reserved(method, data, defined)?;
        check_zero(data, Some(header::SET_OBJECT_ENGINE), "SET_OBJECT_ENGINE")?;
        let nvclass = header::SET_OBJECT_NVCLASS.get(data);
        if nvclass != class.id {
            return Err(ExecErrorKind::WrongClass { class: nvclass });
        }
        st.bound = true;
        Ok(())
    }

    /// Writes `data` to the copy-engine method `method` (at or above
    /// [`header::HOST_METHOD_LIMIT`]) on `subchannel`, and runs `LAUNCH_DMA`.
    pub(crate) fn engine_method<M: Memory + ?Sized>(
        &mut self,
        mem: &mut M,
        subchannel: u8,
        method: u32,
        data: u32,
    ) -> Result<(), ExecErrorKind> {
        let class = self.class;
        let unknown = ExecErrorKind::UnknownMethod { subchannel, method };
        let st = self
            .subchannels
            .get_mut(usize::from(subchannel))
            .ok_or(unknown)?;

        if method < header::HOST_METHOD_LIMIT {
            return Err(unknown);
        }

        if !st.bound {
            return Err(ExecErrorKind::NoObject { subchannel });
        }

        let m = &class.mthd;
        let slot = match method {
            x if x == m.nop => return Ok(()),
            x if x == m.launch_dma => {
                let state = *st;
                return self.launch(mem, &state, data);
            }
            x if x == m.set_semaphore_a => &mut st.set_semaphore_a,
            x if x == m.set_semaphore_b => &mut st.set_semaphore_b,
            x if x == m.set_semaphore_payload => &mut st.set_semaphore_payload,
            x if Some(x) == m.set_semaphore_payload_upper => &mut st.set_semaphore_payload_upper,
            x if x == m.set_src_phys_mode => &mut st.set_src_phys_mode,
            x if x == m.set_dst_phys_mode => &mut st.set_dst_phys_mode,
            x if x == m.offset_in_upper => &mut st.offset_in_upper,
            x if x == m.offset_in_lower => &mut st.offset_in_lower,
            x if x == m.offset_out_upper => &mut st.offset_out_upper,
            x if x == m.offset_out_lower => &mut st.offset_out_lower,
            x if x == m.pitch_in => &mut st.pitch_in,
            x if x == m.pitch_out => &mut st.pitch_out,
            x if x == m.line_length_in => &mut st.line_length_in,
            x if x == m.line_count => &mut st.line_count,
            x if x == m.set_remap_const_a => &mut st.set_remap_const_a,
            x if x == m.set_remap_const_b => &mut st.set_remap_const_b,
            x if x == m.set_remap_components => &mut st.set_remap_components,
            _ => return Err(unknown),
        };
        *slot = data;
        Ok(())
    }

    /// Executes `LAUNCH_DMA` with data `d` and the method state `st`. Everything is checked
    /// before memory is touched.
    fn launch<M: Memory + ?Sized>(
        &mut self,
        mem: &mut M,
        st: &Subchannel,
        d: u32,
    ) -> Result<(), ExecErrorKind> {
        let c = self.class;
        let f = &c.launch_dma;
        check_reserved(c.mthd.launch_dma, d, f.defined_mask())?;

        let value = f.data_transfer_type.get(d);
        let transfer = match value {
            data_transfer_type::NONE => false,
            data_transfer_type::PIPELINED | data_transfer_type::NON_PIPELINED => true,
            data_transfer_type::PREFETCH if f.data_transfer_type_prefetch => {
                return Err(unsupported("LAUNCH_DMA_DATA_TRANSFER_TYPE", value))
            }
            _ => return Err(undefined("LAUNCH_DMA_DATA_TRANSFER_TYPE", value)),
        };

        let value = f.semaphore_type.get(d);
        let release = match value {
            semaphore_type::NONE => false,
            semaphore_type::RELEASE_ONE_WORD_SEMAPHORE => true,
            semaphore_type::RELEASE_FOUR_WORD_SEMAPHORE => {
                return Err(unsupported("LAUNCH_DMA_SEMAPHORE_TYPE", value))
            }
            semaphore_type::RELEASE_CONDITIONAL_INTR_SEMAPHORE
                if f.semaphore_type_conditional_intr =>
            {
                return Err(unsupported("LAUNCH_DMA_SEMAPHORE_TYPE", value))
            }
            _ => return Err(undefined("LAUNCH_DMA_SEMAPHORE_TYPE", value)),
        };

        let value = f.interrupt_type.get(d);
        match value {
            interrupt_type::NONE => {}
            interrupt_type::BLOCKING | interrupt_type::NON_BLOCKING => {
                return Err(unsupported("LAUNCH_DMA_INTERRUPT_TYPE", value))
            }
            _ => return Err(undefined("LAUNCH_DMA_INTERRUPT_TYPE", value)),
        }

        if let Some(field) = f.copy_type {
            let value = field.get(d);
            match value {
                copy_type::DEFAULT => {}
                copy_type::SECURE | copy_type::NONPROT2NONPROT => {
                    return Err(unsupported("LAUNCH_DMA_COPY_TYPE", value))
                }
                _ => return Err(undefined("LAUNCH_DMA_COPY_TYPE", value)),
            }
        }

        // Features the interpreter does not implement, and the error code that only the
        // hardware writes.
        let must_be_zero = [
            (
                Some(f.semaphore_reduction),
                "LAUNCH_DMA_SEMAPHORE_REDUCTION",
            ),
            (
                Some(f.semaphore_reduction_sign),
                "LAUNCH_DMA_SEMAPHORE_REDUCTION_SIGN",
            ),
            (
                Some(f.semaphore_reduction_enable),
                "LAUNCH_DMA_SEMAPHORE_REDUCTION_ENABLE",
            ),
            (f.compression_enable, "LAUNCH_DMA_COMPRESSION_ENABLE"),
            (f.vprmode, "LAUNCH_DMA_VPRMODE"),
            (f.memory_scrub_enable, "LAUNCH_DMA_MEMORY_SCRUB_ENABLE"),
            (
                f.reserved_start_of_copy,
                "LAUNCH_DMA_RESERVED_START_OF_COPY",
            ),
            (Some(f.reserved_err_code), "LAUNCH_DMA_RESERVED_ERR_CODE"),
        ];
        for (field, name) in must_be_zero {
            check_zero(d, field, name)?;
        }

        let two_word = f
            .semaphore_payload_size
            .is_some_and(|field| field.get(d) == semaphore_payload_size::TWO_WORD);

        let transfer = if transfer {
            Some(self.plan_transfer(st, d)?)
        } else {
            None
        };
        let release = if release {
            Some(self.plan_release(st, two_word)?)
        } else {
            None
        };

        if let Some(transfer) = transfer {
            transfer.run(mem)?;
        }
        if let Some(release) = release {
            release.run(mem)?;
        }
        self.launches += 1;
        Ok(())
    }

    /// Checks the transfer that `LAUNCH_DMA` data `d` and the state `st` describe.
    fn plan_transfer(&self, st: &Subchannel, d: u32) -> Result<Transfer, ExecErrorKind> {
        let c = self.class;
        let f = &c.launch_dma;
        let m = &c.mthd;

        let value = f.dst_memory_layout.get(d);
        if value != memory_layout::PITCH {
            return Err(unsupported("LAUNCH_DMA_DST_MEMORY_LAYOUT", value));
        }

        let lines = match f.multi_line_enable.get(d) {
            flag::TRUE => st.line_count,
            _ => 1,
        };
        if lines == 0 {
            return Err(ExecErrorKind::ZeroLineCount);
        }
        if st.line_length_in == 0 {
            return Err(ExecErrorKind::ZeroLineLength);
        }

        let dst = self.target(
            f.dst_type.get(d),
            st.set_dst_phys_mode,
            m.set_dst_phys_mode,
            &DST_PHYS_MODE,
        )?;
        let dst_addr = offset(
            c.offset_out_upper_upper,
            m.offset_out_upper,
            st.offset_out_upper,
            st.offset_out_lower,
        )?;

        let (src, line_bytes) = match f.remap_enable.get(d) {
            flag::TRUE => {
                let (element, len) = self.remap_element(st)?;
                // CAST: `len` is at most `MAX_ELEMENT`.
                let line_bytes = u64::from(st.line_length_in) * len as u64;
                (Source::Fill { element, len }, line_bytes)
            }
            _ => {
                let value = f.src_memory_layout.get(d);
                if value != memory_layout::PITCH {
                    return Err(unsupported("LAUNCH_DMA_SRC_MEMORY_LAYOUT", value));
                }
                let target = self.target(
                    f.src_type.get(d),
                    st.set_src_phys_mode,
                    m.set_src_phys_mode,
                    &SRC_PHYS_MODE,
                )?;
                let addr = offset(
                    c.offset_in_upper_upper,
                    m.offset_in_upper,
                    st.offset_in_upper,
                    st.offset_in_lower,
                )?;
                let line_bytes = u64::from(st.line_length_in);
                self.check_range(addr, lines, st.pitch_in, line_bytes)?;
                let pitch = u64::from(st.pitch_in);
                (
                    Source::Copy {
                        target,
                        addr,
                        pitch,
                    },
                    line_bytes,
                )
            }
        };
        self.check_range(dst_addr, lines, st.pitch_out, line_bytes)?;

        Ok(Transfer {
            src,
            dst,
            dst_addr,
            pitch_out: u64::from(st.pitch_out),
            lines: u64::from(lines),
            line_bytes,
        })
    }

    /// Checks the semaphore release that the state `st` describes.
    fn plan_release(&self, st: &Subchannel, two_word: bool) -> Result<Release, ExecErrorKind> {
        let c = self.class;
        let upper = c.set_semaphore_a_upper;
        let va = offset(
            upper,
            c.mthd.set_semaphore_a,
            st.set_semaphore_a,
            st.set_semaphore_b,
        )?;

        let (payload, len) = if two_word {
            let payload = (u64::from(st.set_semaphore_payload_upper) << 32)
                | u64::from(st.set_semaphore_payload);
            (payload.to_le_bytes(), 8)
        } else {
            (u64::from(st.set_semaphore_payload).to_le_bytes(), 4)
        };

        // CAST: `len` is 4 or 8.
        let size = len as u64;
        if va % size != 0 {
            return Err(ExecErrorKind::Misaligned { addr: va });
        }
        let end = va.checked_add(size).ok_or(ExecErrorKind::AddressOverflow)?;
        if end > 1u64 << c.semaphore_address_bits() {
            return Err(ExecErrorKind::AddressOverflow);
        }

        Ok(Release { va, payload, len })
    }

    /// Returns the target of a transfer side whose `LAUNCH_DMA_*_TYPE` is `kind` and, when
    /// physical, whose aperture is in `mode`, the data of `method` (`SET_*_PHYS_MODE`, with
    /// field names `names`).
    fn target(
        &self,
        kind: u32,
        mode: u32,
        method: u32,
        names: &PhysModeNames,
    ) -> Result<Target, ExecErrorKind> {
        if kind == addr_type::VIRTUAL {
            return Ok(Target::Virtual);
        }

        let p = &self.class.phys_mode;
        check_reserved(method, mode, p.defined_mask())?;
        check_zero(mode, p.basic_kind, names.basic_kind)?;
        check_zero(mode, p.peer_id, names.peer_id)?;
        check_zero(mode, p.fla, names.fla)?;

        let value = p.target.get(mode);
        match Aperture::from_target(value) {
            Some(aperture) => Ok(Target::Phys(aperture)),
            None if value == phys_mode_target::PEERMEM && p.target_peermem => {
                Err(unsupported(names.target, value))
            }
            None => Err(undefined(names.target, value)),
        }
    }

    /// Returns the remapped element that `SET_REMAP_*` describe, and its length, if it is made
    /// of constants only.
    fn remap_element(&self, st: &Subchannel) -> Result<([u8; MAX_ELEMENT], usize), ExecErrorKind> {
        let c = self.class;
        let r = &c.remap_components;
        let w = st.set_remap_components;
        check_reserved(c.mthd.set_remap_components, w, r.defined_mask())?;

        // COMPONENT_SIZE and NUM_DST_COMPONENTS hold the count minus one. NUM_SRC_COMPONENTS
        // only matters for SRC_* components, which are rejected below.
        // CAST: both fields are 2 bits wide, so the values are at most 4.
        let size = r.component_size.get(w) as usize + 1;
        // CAST: as above.
        let count = r.num_dst_components.get(w) as usize + 1;

        let mut element = [0u8; MAX_ELEMENT];
        let mut slots = element.iter_mut();
        for (field, name) in r.dst().into_iter().zip(REMAP_DST_NAMES).take(count) {
            let value = field.get(w);
            let constant = match value {
                remap_dst::CONST_A => st.set_remap_const_a,
                remap_dst::CONST_B => st.set_remap_const_b,
                remap_dst::SRC_X
                | remap_dst::SRC_Y
                | remap_dst::SRC_Z
                | remap_dst::SRC_W
                | remap_dst::NO_WRITE => return Err(unsupported(name, value)),
                _ => return Err(undefined(name, value)),
            };
            // A component of N bytes takes the N low bytes of the constant. The bytes go first
            // in `zip`, which stops at their end without taking another slot.
            let bytes = constant.to_le_bytes().into_iter().take(size);
            for (byte, slot) in bytes.zip(slots.by_ref()) {
                *slot = byte;
            }
        }

        Ok((element, size * count))
    }

    /// Returns an error unless `lines` lines of `len` bytes, `pitch` bytes apart from `addr`,
    /// lie within the addresses the class can express.
    fn check_range(
        &self,
        addr: u64,
        lines: u32,
        pitch: u32,
        len: u64,
    ) -> Result<(), ExecErrorKind> {
        let end = u64::from(lines.saturating_sub(1))
            .checked_mul(u64::from(pitch))
            .and_then(|span| span.checked_add(len))
            .and_then(|span| span.checked_add(addr))
            .ok_or(ExecErrorKind::AddressOverflow)?;
        if end > 1u64 << self.class.address_bits() {
            return Err(ExecErrorKind::AddressOverflow);
        }
        Ok(())
    }
}

/// Returns the address in the `upper` field of `upper_word` (written to `upper_method`) and in
/// `lower_word`.
fn offset(
    upper: Field,
    upper_method: u32,
    upper_word: u32,
    lower_word: u32,
) -> Result<u64, ExecErrorKind> {
    check_reserved(upper_method, upper_word, upper.mask())?;
    Ok((u64::from(upper.get(upper_word)) << 32) | u64::from(lower_word))
}

/// Returns an [`ExecErrorKind::Unsupported`] error.
fn unsupported(field: &'static str, value: u32) -> ExecErrorKind {
    ExecErrorKind::Unsupported { field, value }
}

/// Returns an [`ExecErrorKind::UndefinedValue`] error.
fn undefined(field: &'static str, value: u32) -> ExecErrorKind {
    ExecErrorKind::UndefinedValue { field, value }
}

/// Returns the `count` data dwords of the header at `at`.
fn data_of(push: &[u32], at: usize, count: u32) -> Result<&[u32], ExecError> {
    // CAST: `DMA_METHOD_COUNT` is 13 bits wide, so `count` fits in `usize`.
    let needed = count as usize;
    let first = at + 1;
    push.get(first..first + needed).ok_or(ExecError {
        dword: at,
        kind: ExecErrorKind::Truncated {
            needed,
            left: push.len().saturating_sub(first),
        },
    })
}

/// Checks that every header of `push` is one the interpreter accepts and that its data is
/// all there.
fn check_framing(push: &[u32]) -> Result<(), ExecError> {
    let mut at = 0;
    while let Some(&word) = push.get(at) {
        at += match header::decode(word) {
            None => {
                return Err(ExecError {
                    dword: at,
                    kind: ExecErrorKind::BadHeader(word),
                })
            }
            Some(Header::Nop | Header::Immediate { .. }) => 1,
            Some(Header::Methods { count, .. }) => 1 + data_of(push, at, count)?.len(),
        };
    }
    Ok(())
}
