// SPDX-License-Identifier: GPL-2.0

//! Push-buffer builder for copy-engine work.
//!
//! [`PushBuffer`] writes incrementing-method headers and their data into a caller-provided
//! dword slice. Every operation checks its arguments and the room left first, so a failed
//! operation leaves the buffer as it was.

use super::class::{
    addr_type, data_transfer_type, flag, interrupt_type, memory_layout, remap_count, remap_dst,
    semaphore_payload_size, semaphore_type, CeClass,
};
use super::header;
use super::{lower_32_bits, upper_32_bits, PhysAddr};

/// Errors of the push-buffer builder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CeError {
    /// The push buffer has no room for the operation; nothing was written.
    BufferFull,
    /// The subchannel is not below `NVC36F_NUMBER_OF_SUBCHANNELS`.
    BadSubchannel,
    /// A length or line length of zero.
    ZeroLength,
    /// A line count of zero.
    ZeroLineCount,
    /// An address or length that is not aligned as the operation requires.
    Misaligned,
    /// A multi-line copy whose source or destination pitch is smaller than a line.
    PitchTooSmall,
    /// A range that ends past the addresses the class can express.
    AddressOutOfRange,
    /// A length that the methods cannot express.
    TooLarge,
    /// Source and destination ranges overlap in the same aperture.
    Overlap,
    /// The class lacks the feature (64-bit semaphore payloads before AMPERE_DMA_COPY_B).
    Unsupported,
    /// A method offset does not fit a method header: a broken class table.
    Encoding,
}

/// The values a push buffer last wrote to the copy engine's state methods.
///
/// The engine keeps method state between launches, so a copy that repeats a source
/// aperture, a pitch or a line length need not write it again. The cache is only valid
/// within one submission: the state is the channel's, and other submissions (or a reset)
/// change it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MethodCache {
    /// Direct mapped by method offset: `(method, value)`.
    slots: [Option<(u32, u32)>; MethodCache::SLOTS],
}

impl MethodCache {
    /// Slots of the cache: more than any one operation writes. Methods that share a slot
    /// evict each other, which only costs a method written again.
    const SLOTS: usize = 32;

    /// The slot of `method`.
    fn slot(method: u32) -> usize {
        // CAST: the modulus is below `SLOTS`.
        ((method >> 2) as usize) % Self::SLOTS
    }

    /// The value last written to `method`, if known.
    fn get(&self, method: u32) -> Option<u32> {
        match self.slots.get(Self::slot(method)).copied().flatten() {
            Some((m, v)) if m == method => Some(v),
            _ => None,
        }
    }

    /// Records that `value` was written to `method`.
    fn set(&mut self, method: u32, value: u32) {
        if let Some(s) = self.slots.get_mut(Self::slot(method)) {
            *s = Some((method, value));
        }
    }

    /// Forgets everything: the next operation writes all of its methods.
    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }
}

/// Returns whether method `b` directly follows method `a`, so that one incrementing header
/// can carry both.
fn consecutive(a: &(u32, u32), b: &(u32, u32)) -> bool {
    a.0.checked_add(4) == Some(b.0)
}

/// A push buffer for one copy-engine subchannel, writing into a caller-provided slice.
pub(crate) struct PushBuffer<'a> {
    /// The class whose methods are written.
    class: &'static CeClass,
    /// The subchannel every header names.
    subchannel: u8,
    /// The dwords; `buf[..len]` are written.
    buf: &'a mut [u32],
    /// Number of dwords written.
    ///
    /// INVARIANT: `len <= buf.len()`.
    len: usize,
}

impl<'a> PushBuffer<'a> {
    /// Creates an empty push buffer that writes methods of `class` for `subchannel` into
    /// `buf`.
    pub(crate) fn new(
        class: &'static CeClass,
        subchannel: u8,
        buf: &'a mut [u32],
    ) -> Result<Self, CeError> {
        if subchannel >= header::NUMBER_OF_SUBCHANNELS {
            return Err(CeError::BadSubchannel);
        }

        // INVARIANT: `len` is zero.
        Ok(Self {
            class,
            subchannel,
            buf,
            len: 0,
        })
    }

    /// Returns the class whose methods the buffer holds.
    pub(crate) fn class(&self) -> &'static CeClass {
        self.class
    }

    /// Returns the subchannel the buffer's headers name.
    pub(crate) fn subchannel(&self) -> u8 {
        self.subchannel
    }

    /// Returns the dwords written so far.
    pub(crate) fn as_slice(&self) -> &[u32] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// Returns the number of dwords written so far.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Returns whether nothing has been written.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Returns the number of dwords still free.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.len
    }

    /// Forgets everything written, so that the slice can be filled again.
    pub(crate) fn reset(&mut self) {
        // INVARIANT: zero is not above `buf.len()`.
        self.len = 0;
    }

    /// Binds the class to the subchannel with the host method `SET_OBJECT`. A channel does
    /// this once, before the first copy-engine method on the subchannel.
    pub(crate) fn set_object(&mut self) -> Result<(), CeError> {
        if !header::SET_OBJECT_NVCLASS.fits(self.class.id) {
            return Err(CeError::Encoding);
        }

        self.emit(&[(
            header::SET_OBJECT,
            header::SET_OBJECT_NVCLASS.val(self.class.id),
        )])
    }

    /// Copies `line_count` lines of `bytes_per_line` bytes from `src` to `dst`.
    ///
    /// Line `i` starts at `src.addr + i * pitch_in` and `dst.addr + i * pitch_out`; the
    /// pitches only matter when `line_count` is above one. The copy is `NON_PIPELINED`: it
    /// starts after the copies before it have completed.
    ///
    /// Refuses zero sizes, pitches below the line length, ranges past the class's address
    /// width, and source and destination extents (first line to last) that overlap in the same
    /// aperture: migration never needs that, and nothing here relies on what the hardware
    /// does with it.
    pub(crate) fn copy(
        &mut self,
        src: PhysAddr,
        dst: PhysAddr,
        bytes_per_line: u32,
        line_count: u32,
        pitch_in: u32,
        pitch_out: u32,
    ) -> Result<(), CeError> {
        self.copy_cached(
            None,
            src,
            dst,
            bytes_per_line,
            line_count,
            pitch_in,
            pitch_out,
        )
    }

    /// [`PushBuffer::copy`], leaving out the methods whose value `cache` says the engine has
    /// already (and recording the new values in it).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn copy_cached(
        &mut self,
        cache: Option<&mut MethodCache>,
        src: PhysAddr,
        dst: PhysAddr,
        bytes_per_line: u32,
        line_count: u32,
        pitch_in: u32,
        pitch_out: u32,
    ) -> Result<(), CeError> {
        if bytes_per_line == 0 {
            return Err(CeError::ZeroLength);
        }
        if line_count == 0 {
            return Err(CeError::ZeroLineCount);
        }

        let multi_line = line_count > 1;
        if multi_line && (pitch_in < bytes_per_line || pitch_out < bytes_per_line) {
            return Err(CeError::PitchTooSmall);
        }

        let len = u64::from(bytes_per_line);
        let src_end = self.range_end(src.addr, line_count, pitch_in, len)?;
        let dst_end = self.range_end(dst.addr, line_count, pitch_out, len)?;
        if src.aperture == dst.aperture && src.addr < dst_end && dst.addr < src_end {
            return Err(CeError::Overlap);
        }

        let c = self.class;
        let m = &c.mthd;
        let f = &c.launch_dma;
        let launch = f.data_transfer_type.val(data_transfer_type::NON_PIPELINED)
            | f.flush_enable.val(flag::FALSE)
            | f.semaphore_type.val(semaphore_type::NONE)
            | f.interrupt_type.val(interrupt_type::NONE)
            | f.src_memory_layout.val(memory_layout::PITCH)
            | f.dst_memory_layout.val(memory_layout::PITCH)
            | f.multi_line_enable
                .val(if multi_line { flag::TRUE } else { flag::FALSE })
            | f.remap_enable.val(flag::FALSE)
            | f.src_type.val(addr_type::PHYSICAL)
            | f.dst_type.val(addr_type::PHYSICAL);

        self.emit_cached(
            cache,
            &[
                (
                    m.set_src_phys_mode,
                    c.phys_mode.target.val(src.aperture.target()),
                ),
                (
                    m.set_dst_phys_mode,
                    c.phys_mode.target.val(dst.aperture.target()),
                ),
                (
                    m.offset_in_upper,
                    c.offset_in_upper_upper.val(upper_32_bits(src.addr)),
                ),
                (m.offset_in_lower, lower_32_bits(src.addr)),
                (
                    m.offset_out_upper,
                    c.offset_out_upper_upper.val(upper_32_bits(dst.addr)),
                ),
                (m.offset_out_lower, lower_32_bits(dst.addr)),
                (m.pitch_in, pitch_in),
                (m.pitch_out, pitch_out),
                (m.line_length_in, bytes_per_line),
                (m.line_count, line_count),
                (m.launch_dma, launch),
            ],
        )
    }

    /// Copies `len` bytes from GPU virtual address `src` to `dst` in the channel's address
    /// space (`SRC_TYPE` and `DST_TYPE` `VIRTUAL`): the MMU translates both. Refuses a zero
    /// length, ranges past the class's address width, and overlapping ranges.
    pub(crate) fn copy_virtual(&mut self, src: u64, dst: u64, len: u32) -> Result<(), CeError> {
        if len == 0 {
            return Err(CeError::ZeroLength);
        }
        let n = u64::from(len);
        let src_end = self.range_end(src, 1, 0, n)?;
        let dst_end = self.range_end(dst, 1, 0, n)?;
        if src < dst_end && dst < src_end {
            return Err(CeError::Overlap);
        }
        let c = self.class;
        let m = &c.mthd;
        let f = &c.launch_dma;
        let launch = f.data_transfer_type.val(data_transfer_type::NON_PIPELINED)
            | f.flush_enable.val(flag::FALSE)
            | f.semaphore_type.val(semaphore_type::NONE)
            | f.interrupt_type.val(interrupt_type::NONE)
            | f.src_memory_layout.val(memory_layout::PITCH)
            | f.dst_memory_layout.val(memory_layout::PITCH)
            | f.multi_line_enable.val(flag::FALSE)
            | f.remap_enable.val(flag::FALSE)
            | f.src_type.val(addr_type::VIRTUAL)
            | f.dst_type.val(addr_type::VIRTUAL);
        self.emit(&[
            (
                m.offset_in_upper,
                c.offset_in_upper_upper.val(upper_32_bits(src)),
            ),
            (m.offset_in_lower, lower_32_bits(src)),
            (
                m.offset_out_upper,
                c.offset_out_upper_upper.val(upper_32_bits(dst)),
            ),
            (m.offset_out_lower, lower_32_bits(dst)),
            (m.line_length_in, len),
            (m.launch_dma, launch),
        ])
    }

    /// Fills `len` bytes at `dst` with the 32-bit `value` (little endian), through the remap
    /// unit: one four-byte component taken from `SET_REMAP_CONST_A`. `dst.addr` and `len` must
    /// be multiples of four.
    pub(crate) fn clear(&mut self, dst: PhysAddr, len: u64, value: u32) -> Result<(), CeError> {
        self.clear_cached(None, dst, len, value)
    }

    /// [`PushBuffer::clear`], leaving out the methods whose value `cache` says the engine has
    /// already (and recording the new values in it).
    pub(crate) fn clear_cached(
        &mut self,
        cache: Option<&mut MethodCache>,
        dst: PhysAddr,
        len: u64,
        value: u32,
    ) -> Result<(), CeError> {
        if len == 0 {
            return Err(CeError::ZeroLength);
        }
        if dst.addr % 4 != 0 || len % 4 != 0 {
            return Err(CeError::Misaligned);
        }
        // With REMAP_ENABLE, LINE_LENGTH_IN counts elements, here of four bytes.
        let elements = u32::try_from(len / 4).map_err(|_| CeError::TooLarge)?;
        self.range_end(dst.addr, 1, 0, len)?;

        let c = self.class;
        let m = &c.mthd;
        let f = &c.launch_dma;
        let r = &c.remap_components;
        let components = r.dst_x.val(remap_dst::CONST_A)
            | r.component_size.val(remap_count::FOUR)
            | r.num_dst_components.val(remap_count::ONE);
        let launch = f.data_transfer_type.val(data_transfer_type::NON_PIPELINED)
            | f.flush_enable.val(flag::FALSE)
            | f.semaphore_type.val(semaphore_type::NONE)
            | f.interrupt_type.val(interrupt_type::NONE)
            | f.src_memory_layout.val(memory_layout::PITCH)
            | f.dst_memory_layout.val(memory_layout::PITCH)
            | f.multi_line_enable.val(flag::FALSE)
            | f.remap_enable.val(flag::TRUE)
            | f.dst_type.val(addr_type::PHYSICAL);

        self.emit_cached(
            cache,
            &[
                (
                    m.set_dst_phys_mode,
                    c.phys_mode.target.val(dst.aperture.target()),
                ),
                (m.set_remap_const_a, value),
                (m.set_remap_const_b, value),
                (m.set_remap_components, components),
                (
                    m.offset_out_upper,
                    c.offset_out_upper_upper.val(upper_32_bits(dst.addr)),
                ),
                (m.offset_out_lower, lower_32_bits(dst.addr)),
                (m.line_length_in, elements),
                (m.launch_dma, launch),
            ],
        )
    }

    /// Releases a semaphore: once the work before it has completed and been flushed
    /// (`FLUSH_ENABLE`), the copy engine writes the 32-bit `payload` at the GPU virtual
    /// address `va`, which must be four-byte aligned.
    pub(crate) fn semaphore_release(&mut self, va: u64, payload: u32) -> Result<(), CeError> {
        self.semaphore(va, u64::from(payload), false)
    }

    /// Releases a semaphore with a 64-bit `payload` at the eight-byte aligned GPU virtual
    /// address `va` (`SEMAPHORE_PAYLOAD_SIZE_TWO_WORD`, AMPERE_DMA_COPY_B and later).
    pub(crate) fn semaphore_release_64(&mut self, va: u64, payload: u64) -> Result<(), CeError> {
        self.semaphore(va, payload, true)
    }

    /// Writes a semaphore release of a one-word or, with `two_word`, two-word payload.
    fn semaphore(&mut self, va: u64, payload: u64, two_word: bool) -> Result<(), CeError> {
        let c = self.class;
        let m = &c.mthd;
        let f = &c.launch_dma;

        let (size, align) = if two_word { (8, 8) } else { (4, 4) };
        if va % align != 0 {
            return Err(CeError::Misaligned);
        }
        let end = va.checked_add(size).ok_or(CeError::AddressOutOfRange)?;
        if end > 1u64 << c.semaphore_address_bits() {
            return Err(CeError::AddressOutOfRange);
        }

        let mut launch = f.data_transfer_type.val(data_transfer_type::NONE)
            | f.flush_enable.val(flag::TRUE)
            | f.semaphore_type
                .val(semaphore_type::RELEASE_ONE_WORD_SEMAPHORE)
            | f.interrupt_type.val(interrupt_type::NONE);

        let a = (
            m.set_semaphore_a,
            c.set_semaphore_a_upper.val(upper_32_bits(va)),
        );
        let b = (m.set_semaphore_b, lower_32_bits(va));
        let lo = (m.set_semaphore_payload, lower_32_bits(payload));

        if two_word {
            let (Some(upper), Some(size_field)) =
                (m.set_semaphore_payload_upper, f.semaphore_payload_size)
            else {
                return Err(CeError::Unsupported);
            };
            launch |= size_field.val(semaphore_payload_size::TWO_WORD);
            let hi = (upper, upper_32_bits(payload));
            self.emit(&[a, b, lo, hi, (m.launch_dma, launch)])
        } else {
            if let Some(size_field) = f.semaphore_payload_size {
                launch |= size_field.val(semaphore_payload_size::ONE_WORD);
            }
            self.emit(&[a, b, lo, (m.launch_dma, launch)])
        }
    }

    /// Returns the end of the range of `lines` lines of `len` bytes, `pitch` bytes apart,
    /// starting at `addr`, if the class can address all of it.
    fn range_end(&self, addr: u64, lines: u32, pitch: u32, len: u64) -> Result<u64, CeError> {
        let end = u64::from(lines.saturating_sub(1))
            .checked_mul(u64::from(pitch))
            .and_then(|span| span.checked_add(len))
            .and_then(|span| span.checked_add(addr))
            .ok_or(CeError::AddressOutOfRange)?;

        if end > 1u64 << self.class.address_bits() {
            return Err(CeError::AddressOutOfRange);
        }
        Ok(end)
    }

    /// Writes `methods` like [`PushBuffer::emit`], but without those whose value is in
    /// `cache`, except the last (the launch); then records the values in `cache`.
    fn emit_cached(
        &mut self,
        cache: Option<&mut MethodCache>,
        methods: &[(u32, u32)],
    ) -> Result<(), CeError> {
        let Some(cache) = cache else {
            return self.emit(methods);
        };
        let mut kept = [(0u32, 0u32); MethodCache::SLOTS];
        let mut n = 0;
        let last = methods.len().saturating_sub(1);
        for (i, &(mthd, data)) in methods.iter().enumerate() {
            if i != last && cache.get(mthd) == Some(data) {
                continue;
            }
            *kept.get_mut(n).ok_or(CeError::Encoding)? = (mthd, data);
            n += 1;
        }
        self.emit(kept.get(..n).ok_or(CeError::Encoding)?)?;
        for &(mthd, data) in methods.iter().take(last) {
            cache.set(mthd, data);
        }
        Ok(())
    }

    /// Writes `methods`, a list of (method offset, data) pairs, with one incrementing header
    /// per run of consecutive methods. Writes nothing unless all of it fits.
    fn emit(&mut self, methods: &[(u32, u32)]) -> Result<(), CeError> {
        let mut need = 0;
        for run in methods.chunk_by(consecutive) {
            run_header(self.subchannel, run)?;
            need += 1 + run.len();
        }

        let start = self.len;
        let out = start
            .checked_add(need)
            .and_then(|end| self.buf.get_mut(start..end))
            .ok_or(CeError::BufferFull)?;

        let mut slots = out.iter_mut();
        for run in methods.chunk_by(consecutive) {
            let hdr = run_header(self.subchannel, run)?;
            let words = core::iter::once(hdr).chain(run.iter().map(|&(_, data)| data));
            // `words` goes first: `zip` stops at its end without taking another slot.
            for (word, slot) in words.zip(slots.by_ref()) {
                *slot = word;
            }
        }

        // INVARIANT: `buf.get_mut(start..start + need)` succeeded, so the new length is not
        // above `buf.len()`.
        self.len = start + need;
        Ok(())
    }
}

/// Returns the incrementing header for `run`, a run of consecutive methods on `subchannel`.
fn run_header(subchannel: u8, run: &[(u32, u32)]) -> Result<u32, CeError> {
    let first = run.first().ok_or(CeError::Encoding)?;
    let count = u32::try_from(run.len()).map_err(|_| CeError::Encoding)?;
    header::inc_method(subchannel, first.0, count).ok_or(CeError::Encoding)
}
