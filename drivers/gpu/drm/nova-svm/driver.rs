// SPDX-License-Identifier: GPL-2.0

//! The DRM driver and the simulated GPU's device.

use kernel::{
    device::{Bound, DeviceContext},
    drm::{self, gem, ioctl},
    faux,
    prelude::*,
    sync::{aref::ARef, Arc},
};

use crate::{
    ce::class::{CeClass, Generation},
    dmem::{Backend, Dmem, CHUNK_SIZE},
    file::File,
    gpu::{Job, PushMem},
    hw::sim::SimGpu,
};

/// The DRM driver of nova-svm.
pub(crate) struct NovaSvmDriver;

/// The DRM device of nova-svm.
pub(crate) type NovaSvmDevice<Ctx = drm::Normal> = drm::Device<NovaSvmDriver, Ctx>;

/// What the DRM device owns: the device memory, and through it the GPU.
#[pin_data]
pub(crate) struct NovaSvmData {
    /// Device memory; its owner identity is the address of this pinned object.
    #[pin]
    pub(crate) dmem: Dmem,
}

/// nova-svm has no buffer objects: all of its memory is process memory. The DRM core still
/// wants a GEM object type.
#[pin_data]
pub(crate) struct NoObject {}

impl gem::DriverObject for NoObject {
    type Driver = NovaSvmDriver;
    type Args = ();

    fn new(_dev: &NovaSvmDevice, _size: usize, _args: ()) -> impl PinInit<Self, Error> {
        try_pin_init!(NoObject {})
    }
}

const INFO: drm::DriverInfo = drm::DriverInfo {
    major: 0,
    minor: 1,
    patchlevel: 0,
    name: c"nova-svm",
    desc: c"Shared virtual memory for NVIDIA GPUs",
};

#[vtable]
impl drm::Driver for NovaSvmDriver {
    type Data = NovaSvmData;
    type RegistrationData<'a> = ();
    type File = File;
    type Object = gem::Object<NoObject>;
    type ParentDevice<Ctx: DeviceContext> = faux::Device<Ctx>;

    const INFO: drm::DriverInfo = INFO;
    const FEAT_RENDER: bool = true;

    kernel::declare_drm_ioctls! {
        (NOVA_SVM_GETPARAM, drm_nova_svm_getparam, ioctl::RENDER_ALLOW, File::get_param),
        (NOVA_SVM_SVM_INIT, drm_nova_svm_svm_init, ioctl::RENDER_ALLOW, File::svm_init),
        (NOVA_SVM_SVM_BIND, drm_nova_svm_svm_bind, ioctl::RENDER_ALLOW, File::svm_bind),
        (NOVA_SVM_DEVICE_COPY, drm_nova_svm_device_copy, ioctl::RENDER_ALLOW, File::device_copy),
    }
}

/// The copy-engine class of `id`, for the `sim_ce_class` parameter.
pub(crate) fn sim_class(id: u32) -> Result<&'static CeClass> {
    Generation::from_class(id)
        .map(Generation::ce_class)
        .ok_or(EINVAL)
}

/// A simulated GPU, registered as a DRM device on a faux device.
pub(crate) struct SimBinding {
    /// Dropped first: the DRM device goes away before its parent.
    _reg: drm::Registration<'static, NovaSvmDriver>,
    _drm: ARef<NovaSvmDevice>,
    /// Boxed, so that its address, which `_reg` borrows, is stable.
    _faux: KBox<faux::Registration>,
}

impl SimBinding {
    /// Creates a simulated GPU with `vram_mib` MiB of VRAM and a copy engine of `class`.
    pub(crate) fn new(vram_mib: u32, class: &'static CeClass) -> Result<Self> {
        let vram = u64::from(vram_mib) << 20;
        // CAST: the chunk size fits u64.
        if vram == 0 || vram % CHUNK_SIZE as u64 != 0 {
            pr_err!("nova-svm: sim_vram_mib must be a nonzero multiple of 2\n");
            return Err(EINVAL);
        }
        let gpu = Arc::pin_init(SimGpu::new(vram, class), GFP_KERNEL)?;
        bind_channel(&gpu)?;

        let faux = KBox::new(faux::Registration::new(c"nova-svm-sim", None)?, GFP_KERNEL)?;
        let fdev: &faux::Device<Bound> = (*faux).as_ref();
        // SAFETY: `fdev` lives in `faux`, a box whose contents do not move and which is
        // dropped after `_reg`, the only holder of the extended reference (the fields of
        // `SimBinding` are dropped in declaration order).
        let fdev: &'static faux::Device<Bound> = unsafe { &*core::ptr::from_ref(fdev) };

        let data = try_pin_init!(NovaSvmData {
            dmem <- Dmem::new(Backend::Sim(gpu.clone())),
        }? Error);
        let drm = drm::UnregisteredDevice::<NovaSvmDriver>::new(fdev, data)?;
        // SAFETY: The registration is stored in `SimBinding` and dropped with it; it is never
        // forgotten.
        let reg = unsafe { drm::Registration::new(fdev.as_ref(), drm, (), 0)? };
        dev_info!(
            fdev.as_ref(),
            "simulated GPU: {} MiB of VRAM, copy engine {} ({:#x})\n",
            vram_mib,
            class.name,
            class.id
        );
        Ok(Self {
            _drm: reg.device().into(),
            _reg: reg,
            _faux: faux,
        })
    }
}

/// Binds the copy-engine class to the channel's subchannel, once before any job.
fn bind_channel(gpu: &SimGpu) -> Result {
    struct NoPages;
    impl crate::gpu::SysPages for NoPages {
        fn read(&self, _i: usize, _out: &mut [u8]) -> Result {
            Err(EINVAL)
        }
        fn write(&self, _i: usize, _data: &[u8]) -> Result {
            Err(EINVAL)
        }
    }
    let mut mem = PushMem::new()?;
    let mut job = Job::new(gpu, &NoPages, &mut mem);
    job.bind_object()?;
    job.finish()
}
