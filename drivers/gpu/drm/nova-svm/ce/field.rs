// SPDX-License-Identifier: GPL-2.0

//! Bit fields of method data, spelled `hi:lo` as in NVIDIA's class headers.

/// A bit field `hi:lo` of a 32-bit method data word, as NVIDIA's class headers write it
/// (for example `NVC6B5_LAUNCH_DMA_SEMAPHORE_TYPE 4:3` is `Field::new(4, 3)`).
///
/// A `Field` is only built in the `const` class tables; [`Field::is_valid`] is checked for
/// every table by the host tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Field {
    /// Most significant bit, inclusive.
    hi: u32,
    /// Least significant bit, inclusive.
    lo: u32,
}

impl Field {
    /// Creates the field `hi:lo`.
    pub(crate) const fn new(hi: u32, lo: u32) -> Self {
        Self { hi, lo }
    }

    /// Creates the one-bit field `bit:bit`.
    pub(crate) const fn bit(bit: u32) -> Self {
        Self { hi: bit, lo: bit }
    }

    /// Returns the most significant bit of the field.
    pub(crate) const fn hi(self) -> u32 {
        self.hi
    }

    /// Returns the least significant bit of the field.
    pub(crate) const fn lo(self) -> u32 {
        self.lo
    }

    /// Returns whether `hi:lo` describes bits of a 32-bit word (`lo <= hi <= 31`).
    pub(crate) const fn is_valid(self) -> bool {
        self.lo <= self.hi && self.hi < 32
    }

    /// Returns the number of bits in the field.
    pub(crate) const fn width(self) -> u32 {
        self.hi - self.lo + 1
    }

    /// Returns the largest value the field holds.
    pub(crate) const fn max(self) -> u32 {
        u32::MAX >> (32 - self.width())
    }

    /// Returns the mask of the field's bits within the word.
    pub(crate) const fn mask(self) -> u32 {
        self.max() << self.lo
    }

    /// Returns whether `value` fits in the field.
    pub(crate) const fn fits(self, value: u32) -> bool {
        value <= self.max()
    }

    /// Returns `value` placed in the field. Bits of `value` that do not fit are dropped, so
    /// callers check [`Field::fits`] first where the value is not a constant.
    pub(crate) const fn val(self, value: u32) -> u32 {
        (value & self.max()) << self.lo
    }

    /// Returns the field's value in `word`.
    pub(crate) const fn get(self, word: u32) -> u32 {
        (word >> self.lo) & self.max()
    }
}
