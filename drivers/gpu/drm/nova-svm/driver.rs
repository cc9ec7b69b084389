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
    diag::DiagFiles,
    dmem::Dmem,
    file::File,
    gpu::{Gpu, CHUNK_SIZE},
    hw::{sim::SimGpu, Backend, Chip},
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
    /// Whether the probe bound the simulated GPU (`DRM_NOVA_SVM_PARAM_IS_SIMULATED`).
    pub(crate) simulated: bool,
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

/// The chip whose copy-engine class is `id`, for the `sim_ce_class` parameter.
pub(crate) fn sim_chip(id: u32) -> Result<&'static Chip> {
    crate::hw::chips::by_ce_class(id).ok_or(EINVAL)
}

/// A simulated GPU, registered as a DRM device on its faux device: the probe of the
/// simulated backend.
pub(crate) struct SimBinding {
    /// The debugfs files, removed first.
    _diag: DiagFiles,
    /// The DRM device goes away before its parent.
    _reg: drm::Registration<'static, NovaSvmDriver>,
    _drm: ARef<NovaSvmDevice>,
    /// The GPU, whose faux device `_reg` borrows.
    _sim: Arc<SimGpu>,
}

impl SimBinding {
    /// Creates a simulated `chip` with `vram_mib` MiB of VRAM and registers it.
    pub(crate) fn new(vram_mib: u32, chip: &'static Chip) -> Result<Self> {
        let vram = u64::from(vram_mib) << 20;
        // CAST: the chunk size fits u64.
        if vram == 0 || vram % CHUNK_SIZE as u64 != 0 {
            pr_err!("nova-svm: sim_vram_mib must be a nonzero multiple of 2\n");
            return Err(EINVAL);
        }
        let sim = SimGpu::new(c"nova-svm-sim", vram, chip)?;
        let backend: Arc<dyn Backend> = sim.clone();
        let gpu = Gpu::new(backend)?;
        let fdev: &faux::Device<Bound> = sim.device();
        // SAFETY: `fdev` lives in `sim`'s faux registration, which stays where it is and is
        // dropped after `_reg`, the only holder of the extended reference: `_sim` keeps it
        // alive, and the fields of `SimBinding` are dropped in declaration order.
        let fdev: &'static faux::Device<Bound> = unsafe { &*core::ptr::from_ref(fdev) };

        let diag = DiagFiles::new(gpu.clone(), c"sim")?;
        let data = try_pin_init!(NovaSvmData {
            dmem <- Dmem::new(gpu),
            simulated: true,
        }? Error);
        let drm = drm::UnregisteredDevice::<NovaSvmDriver>::new(fdev, data)?;
        // SAFETY: The registration is stored in `SimBinding` and dropped with it; it is never
        // forgotten.
        let reg = unsafe { drm::Registration::new(fdev.as_ref(), drm, (), 0)? };
        dev_info!(
            fdev.as_ref(),
            "simulated GPU: {:?}, {} MiB of VRAM, copy engine {} ({:#x}), MMU {:?}\n",
            chip.family,
            vram_mib,
            chip.ce.name,
            chip.ce.id,
            chip.mmu
        );
        Ok(Self {
            _diag: diag,
            _drm: reg.device().into(),
            _reg: reg,
            _sim: sim,
        })
    }
}

/// A simulated GPU of `chip` with `vram` bytes of VRAM, for the KUnit tests: the probe's
/// choice of backend, without a DRM device.
#[cfg(CONFIG_KUNIT)]
pub(crate) fn test_gpu(vram: u64, chip: &'static Chip) -> Result<Arc<Gpu>> {
    use core::sync::atomic::{AtomicU32, Ordering};
    // A name of its own per GPU: a test that fails leaves its GPU behind.
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let name = kernel::str::CString::try_from_fmt(fmt!("nova-svm-kunit-{n}"))?;
    let sim = SimGpu::new(&name, vram, chip)?;
    let backend: Arc<dyn Backend> = sim;
    Gpu::new(backend)
}
