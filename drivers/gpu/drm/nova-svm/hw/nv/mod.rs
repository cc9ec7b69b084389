// SPDX-License-Identifier: GPL-2.0

//! Real NVIDIA GPUs, through nova-core.
//!
//! nova-svm binds to the auxiliary device `nova-core.nova-svm`. Implementing
//! [`crate::hw::Backend`] on the hardware needs what nova-core does not offer to auxiliary
//! drivers yet: channels allocated through GSP-RM (with their instance blocks pointing at the
//! driver's page directory, and their work-submit tokens), BAR access to VRAM, the usermode
//! doorbell, and the fault buffer. Until it does, probing fails with `ENODEV`, and the
//! simulated GPU ([`crate::hw::sim`]) is the only backend.

use kernel::{auxiliary, device::Core, prelude::*};

/// The auxiliary driver for GPUs that nova-core drives.
pub(crate) struct NvDriver;

/// Per-device data of [`NvDriver`]; probing does not get far enough to have any.
pub(crate) struct NvDevice;

const NOVA_CORE_MODULE_NAME: &CStr = c"nova-core";
const AUXILIARY_NAME: &CStr = c"nova-svm";

kernel::auxiliary_device_table!(
    AUX_TABLE,
    <NvDriver as auxiliary::Driver>::IdInfo,
    [(
        auxiliary::DeviceId::new(NOVA_CORE_MODULE_NAME, AUXILIARY_NAME),
        ()
    )]
);

impl auxiliary::Driver for NvDriver {
    type IdInfo = ();
    type Data<'bound> = NvDevice;
    const ID_TABLE: auxiliary::IdTable<Self::IdInfo> = &AUX_TABLE;

    fn probe<'bound>(
        adev: &'bound auxiliary::Device<Core<'_>>,
        _info: &'bound Self::IdInfo,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        dev_info!(
            adev.as_ref(),
            "the hardware backend is not implemented yet; use sim_vram_mib=N for a simulated GPU\n"
        );
        Err::<NvDevice, Error>(ENODEV)
    }
}
