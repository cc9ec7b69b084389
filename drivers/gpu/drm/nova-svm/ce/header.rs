// SPDX-License-Identifier: GPL-2.0

//! Host push-buffer method headers.
//!
//! A push buffer is a stream of dwords. A method header names a subchannel, a method offset
//! and how the dwords after it are delivered; methods below [`HOST_METHOD_LIMIT`] go to the
//! channel (host) class itself, the rest to the object bound to the subchannel by
//! `SET_OBJECT`.
//!
//! The format is the `NVC36F_DMA_*` one of `clc36f.h` (VOLTA_CHANNEL_GPFIFO_A, read in
//! NVIDIA/open-gpu-kernel-modules `kernel-open/nvidia-uvm/clc36f.h`); Fermi's `cl906f.h`
//! (in nouveau, `drivers/gpu/drm/nouveau/include/nvhw/class/cl906f.h`) defines the same
//! fields, and nouveau's `PUSH_MTHD` builds incrementing headers from them.

use super::field::Field;

/// `NVC36F_NUMBER_OF_SUBCHANNELS`.
pub(crate) const NUMBER_OF_SUBCHANNELS: u8 = 8;

/// `NVC36F_DMA_METHOD_ADDRESS`: the method offset divided by four.
pub(crate) const DMA_METHOD_ADDRESS: Field = Field::new(11, 0);
/// `NVC36F_DMA_METHOD_SUBCHANNEL`.
pub(crate) const DMA_METHOD_SUBCHANNEL: Field = Field::new(15, 13);
/// `NVC36F_DMA_METHOD_COUNT`: the number of data dwords that follow the header.
pub(crate) const DMA_METHOD_COUNT: Field = Field::new(28, 16);
/// `NVC36F_DMA_IMMD_DATA`: the data of an immediate-data header.
pub(crate) const DMA_IMMD_DATA: Field = Field::new(28, 16);
/// `NVC36F_DMA_SEC_OP`: the header's operation.
pub(crate) const DMA_SEC_OP: Field = Field::new(31, 29);
/// `NVC36F_DMA_NOP`: a dword of zero is a no-operation.
pub(crate) const DMA_NOP: u32 = 0x0000_0000;

/// Values of `NVC36F_DMA_SEC_OP`.
pub(crate) mod sec_op {
    /// `GRP0_USE_TERT`: the tertiary opcode (sub-device masks) decides.
    pub(crate) const GRP0_USE_TERT: u32 = 0x0;
    /// `INC_METHOD`: data dword `i` goes to method `offset + 4 * i`.
    pub(crate) const INC_METHOD: u32 = 0x1;
    /// `GRP2_USE_TERT`.
    pub(crate) const GRP2_USE_TERT: u32 = 0x2;
    /// `NON_INC_METHOD`: every data dword goes to the same method.
    pub(crate) const NON_INC_METHOD: u32 = 0x3;
    /// `IMMD_DATA_METHOD`: the 13-bit data is in the header itself.
    pub(crate) const IMMD_DATA_METHOD: u32 = 0x4;
    /// `ONE_INC`: the first data dword goes to the method, the rest to the next one.
    pub(crate) const ONE_INC: u32 = 0x5;
    /// `RESERVED6`.
    pub(crate) const RESERVED6: u32 = 0x6;
    /// `END_PB_SEGMENT`.
    pub(crate) const END_PB_SEGMENT: u32 = 0x7;
}

/// `NVC36F_SET_OBJECT`: binds a class to the subchannel.
pub(crate) const SET_OBJECT: u32 = 0x0000;
/// `NVC36F_SET_OBJECT_NVCLASS`.
pub(crate) const SET_OBJECT_NVCLASS: Field = Field::new(15, 0);
/// `NVC36F_SET_OBJECT_ENGINE`.
pub(crate) const SET_OBJECT_ENGINE: Field = Field::new(20, 16);

/// Methods below this offset belong to the host (channel) class: `clc36f.h` and `clc86f.h`
/// define host methods from `0x0000` to `0x00ff`, and every copy-engine class starts with
/// `NOP` at `0x0100`.
pub(crate) const HOST_METHOD_LIMIT: u32 = 0x0100;

/// How the data dwords after a header map to methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `SEC_OP_INC_METHOD`.
    Inc,
    /// `SEC_OP_NON_INC_METHOD`.
    NonInc,
    /// `SEC_OP_ONE_INC`.
    OneInc,
}

impl Kind {
    /// Returns the method that data dword `index` of a header for `method` goes to.
    pub(crate) const fn method(self, method: u32, index: u32) -> u32 {
        match self {
            Kind::Inc => method + 4 * index,
            Kind::NonInc => method,
            Kind::OneInc if index == 0 => method,
            Kind::OneInc => method + 4,
        }
    }
}

/// A decoded push-buffer dword that starts a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Header {
    /// `NVC36F_DMA_NOP`.
    Nop,
    /// A header followed by `count` data dwords.
    Methods {
        /// How the data dwords map to methods.
        kind: Kind,
        /// Subchannel, below [`NUMBER_OF_SUBCHANNELS`].
        subchannel: u8,
        /// Method offset in bytes.
        method: u32,
        /// Number of data dwords, at least one.
        count: u32,
    },
    /// `SEC_OP_IMMD_DATA_METHOD`: one method write carried in the header.
    Immediate {
        /// Subchannel, below [`NUMBER_OF_SUBCHANNELS`].
        subchannel: u8,
        /// Method offset in bytes.
        method: u32,
        /// The 13-bit method data.
        data: u32,
    },
}

/// Bit 12 lies between `METHOD_ADDRESS` and `METHOD_SUBCHANNEL` and is not part of any field
/// of the current header formats.
const UNDEFINED_BITS: u32 = 1 << 12;

/// Returns the incrementing-method header (`SEC_OP_INC_METHOD`) for `count` data dwords to
/// `method` and the methods after it on `subchannel`, or `None` if an argument does not fit
/// its field, `method` is not dword aligned or `count` is zero.
pub(crate) const fn inc_method(subchannel: u8, method: u32, count: u32) -> Option<u32> {
    // CAST: widening u8 to u32, lossless (`u32::from` is not const).
    let subchannel = subchannel as u32;

    if method % 4 != 0
        || !DMA_METHOD_ADDRESS.fits(method / 4)
        || !DMA_METHOD_SUBCHANNEL.fits(subchannel)
        || count == 0
        || !DMA_METHOD_COUNT.fits(count)
    {
        return None;
    }

    Some(
        DMA_SEC_OP.val(sec_op::INC_METHOD)
            | DMA_METHOD_COUNT.val(count)
            | DMA_METHOD_SUBCHANNEL.val(subchannel)
            | DMA_METHOD_ADDRESS.val(method / 4),
    )
}

/// Decodes the header dword `word`, or returns `None` for a dword this driver does not
/// accept as a header: the sub-device-mask and end-of-segment operations, `RESERVED6`, a
/// method header with a count of zero, or undefined bits set.
pub(crate) fn decode(word: u32) -> Option<Header> {
    if word == DMA_NOP {
        return Some(Header::Nop);
    }
    if word & UNDEFINED_BITS != 0 {
        return None;
    }

    // CAST: the field is 3 bits wide, the value fits in u8.
    let subchannel = DMA_METHOD_SUBCHANNEL.get(word) as u8;
    let method = DMA_METHOD_ADDRESS.get(word) * 4;
    let kind = match DMA_SEC_OP.get(word) {
        sec_op::INC_METHOD => Kind::Inc,
        sec_op::NON_INC_METHOD => Kind::NonInc,
        sec_op::ONE_INC => Kind::OneInc,
        sec_op::IMMD_DATA_METHOD => {
            return Some(Header::Immediate {
                subchannel,
                method,
                data: DMA_IMMD_DATA.get(word),
            })
        }
        _ => return None,
    };

    let count = DMA_METHOD_COUNT.get(word);
    if count == 0 {
        return None;
    }

    Some(Header::Methods {
        kind,
        subchannel,
        method,
        count,
    })
}
