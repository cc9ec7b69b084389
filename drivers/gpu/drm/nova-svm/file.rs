// SPDX-License-Identifier: GPL-2.0

//! Open files and their ioctls.
//!
//! Each handler checks every field of its argument first ([`crate::args`]), then finds the
//! file's SVM context and checks that the caller's address space is the context's, then calls
//! into [`crate::svm`].

use kernel::{
    device::Bound,
    drm::{self, Registered},
    faux,
    mm::MmWithUser,
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    sync::Mutex,
    uapi,
};

use crate::{
    args::{self, Invalid},
    dmem::CHUNK_SIZE,
    driver::{NovaSvmDevice, NovaSvmDriver},
    migrate::{CopyOp, Target},
    svm::Svm,
};

/// An open file of the device.
#[pin_data]
pub(crate) struct File {
    /// The SVM context, once `SVM_INIT` created it.
    #[pin]
    svm: Mutex<Option<Pin<KBox<Svm>>>>,
}

impl drm::file::DriverFile for File {
    type Driver = NovaSvmDriver;

    fn open(_dev: &NovaSvmDevice) -> Result<Pin<KBox<Self>>> {
        KBox::pin_init(
            pin_init!(File {
                svm <- new_mutex!(None, "nova_svm::File::svm"),
            }),
            GFP_KERNEL,
        )
    }
}

/// The page size as the argument checks take it.
// CAST: the page size fits u64.
const PAGE: u64 = PAGE_SIZE as u64;

/// Logs why an argument is invalid and returns `EINVAL`.
fn invalid(dev: &NovaSvmDevice<Registered>, ioctl: &str, why: Invalid) -> Error {
    let fdev: &faux::Device<Bound> = dev.as_ref();
    dev_dbg!(fdev.as_ref(), "{}: invalid argument: {:?}\n", ioctl, why);
    EINVAL
}

/// Runs `f` with the file's SVM context and the caller's mm, which must be the context's.
fn with_svm<R>(
    file: &drm::File<File>,
    f: impl FnOnce(&Svm, &MmWithUser) -> Result<R>,
) -> Result<R> {
    let inner = file.inner();
    let guard = inner.svm.lock();
    let svm = guard.as_ref().ok_or(ENOENT)?;
    let task = kernel::current!();
    let mm = task.mm().ok_or(EPERM)?;
    svm.check_mm(mm)?;
    f(svm, mm)
}

impl File {
    /// `DRM_IOCTL_NOVA_SVM_GETPARAM`.
    pub(crate) fn get_param(
        dev: &NovaSvmDevice<Registered>,
        _reg_data: &(),
        req: &mut uapi::drm_nova_svm_getparam,
        _file: &drm::File<File>,
    ) -> Result<u32> {
        args::zero(req.pad.into(), "pad").map_err(|w| invalid(dev, "GETPARAM", w))?;
        let chip = dev.dmem.gpu().backend().chip();
        req.value = match req.param {
            uapi::drm_nova_svm_param_DRM_NOVA_SVM_PARAM_VRAM_SIZE => dev.dmem.size(),
            // CAST: the chunk size fits u64.
            uapi::drm_nova_svm_param_DRM_NOVA_SVM_PARAM_CHUNK_SIZE => CHUNK_SIZE as u64,
            uapi::drm_nova_svm_param_DRM_NOVA_SVM_PARAM_CE_CLASS => chip.ce.id.into(),
            uapi::drm_nova_svm_param_DRM_NOVA_SVM_PARAM_IS_SIMULATED => dev.simulated.into(),
            _ => return Err(invalid(dev, "GETPARAM", Invalid::Unknown("param"))),
        };
        Ok(0)
    }

    /// `DRM_IOCTL_NOVA_SVM_SVM_INIT`.
    pub(crate) fn svm_init(
        dev: &NovaSvmDevice<Registered>,
        _reg_data: &(),
        req: &mut uapi::drm_nova_svm_svm_init,
        file: &drm::File<File>,
    ) -> Result<u32> {
        let window = args::svm_init(req.unmanaged_addr, req.unmanaged_size, PAGE)
            .map_err(|w| invalid(dev, "SVM_INIT", w))?;
        let task = kernel::current!();
        let mm = task.mm().ok_or(EINVAL)?;
        if window.end > mm.task_size() {
            return Err(invalid(
                dev,
                "SVM_INIT",
                Invalid::BadRange("unmanaged_size"),
            ));
        }
        let inner = file.inner();
        let mut guard = inner.svm.lock();
        if guard.is_some() {
            return Err(EBUSY);
        }
        *guard = Some(KBox::pin_init(Svm::new(mm, window), GFP_KERNEL)?);
        Ok(0)
    }

    /// `DRM_IOCTL_NOVA_SVM_SVM_BIND`.
    pub(crate) fn svm_bind(
        dev: &NovaSvmDevice<Registered>,
        _reg_data: &(),
        req: &mut uapi::drm_nova_svm_svm_bind,
        file: &drm::File<File>,
    ) -> Result<u32> {
        req.result = 0;
        let bind = args::svm_bind(
            &args::BindArgs {
                header: req.header,
                va_start: req.va_start,
                va_end: req.va_end,
                stride: req.stride,
                reserved0: req.reserved0,
                reserved1: req.reserved1,
            },
            PAGE,
        )
        .map_err(|w| invalid(dev, "SVM_BIND", w))?;
        // CAST: the range came from u64 values.
        (req.va_start, req.va_end) = (bind.range.start as u64, bind.range.end as u64);
        let target = if bind.to_vram {
            Target::Vram
        } else {
            Target::System
        };
        let moved = with_svm(file, |svm, mm| {
            svm.check_range(&bind.range)
                .map_err(|_| invalid(dev, "SVM_BIND", Invalid::BadRange("va_end")))?;
            svm.migrate(&dev.dmem, mm, bind.range.clone(), target)
        })?;
        // CAST: a page count fits u64.
        req.result = moved as u64;
        Ok(0)
    }

    /// `DRM_IOCTL_NOVA_SVM_DEVICE_COPY`.
    pub(crate) fn device_copy(
        dev: &NovaSvmDevice<Registered>,
        _reg_data: &(),
        req: &mut uapi::drm_nova_svm_device_copy,
        file: &drm::File<File>,
    ) -> Result<u32> {
        req.result = 0;
        let copy = args::device_copy(
            &args::CopyArgs {
                dst: req.dst,
                src: req.src,
                size: req.size,
                flags: req.flags,
                pattern: req.pattern,
                reserved0: req.reserved0,
                reserved1: req.reserved1,
            },
            PAGE,
        )
        .map_err(|w| invalid(dev, "DEVICE_COPY", w))?;
        let mut done = 0;
        let ret = with_svm(file, |svm, _mm| {
            svm.check_range(&copy.dst)
                .map_err(|_| invalid(dev, "DEVICE_COPY", Invalid::BadRange("dst")))?;
            let op = match &copy.kind {
                args::CopyKind::Copy { src } => {
                    svm.check_range(src)
                        .map_err(|_| invalid(dev, "DEVICE_COPY", Invalid::BadRange("src")))?;
                    CopyOp::From(src.start)
                }
                args::CopyKind::Fill(pattern) => CopyOp::Fill(*pattern),
            };
            let len = copy.dst.end - copy.dst.start;
            svm.device_copy(&dev.dmem, copy.dst.start, op, len, &mut done)
        });
        // CAST: a byte count fits u64.
        req.result = done as u64;
        ret.map(|()| 0)
    }
}
