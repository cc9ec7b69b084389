// SPDX-License-Identifier: GPL-2.0

//! nova-svm: shared virtual memory (SVM) for NVIDIA GPUs.
//!
//! A process shares its address space with the GPU: `SVM_BIND` moves its pages to VRAM, a CPU
//! touch brings them back, and the copy engine moves the data both ways. The driver binds to
//! nova-core's auxiliary device on real hardware ([`hw::nv`]), and, with `sim_vram_mib=N`, to a
//! simulated GPU whose channels, MMU and copy engine execute the same GPFIFO entries, page
//! tables and push buffers in software ([`hw::sim`]).

mod args;
// The class tables are complete per NVIDIA's headers (the host tests check every entry);
// the driver uses the methods it needs.
#[allow(dead_code)]
mod ce;
mod chan;
mod diag;
mod dmem;
mod driver;
mod file;
mod gpu;
// As `ce`: the hardware definitions are complete.
#[allow(dead_code)]
mod host;
mod hw;
mod instmem;
#[cfg(CONFIG_KUNIT)]
mod kunit;
mod migrate;
#[allow(dead_code)]
mod mmu;
mod svm;
mod vmm;

use kernel::{auxiliary, driver::Registration, prelude::*};

use crate::{driver::SimBinding, hw::nv::NvDriver};

module! {
    type: NovaSvmModule,
    name: "nova_svm",
    authors: ["nova-svm developers"],
    description: "Shared virtual memory for NVIDIA GPUs",
    license: "GPL v2",
    params: {
        sim_vram_mib: u32 {
            default: 0,
            description: "VRAM of a simulated GPU in MiB (a multiple of 2); 0 for none",
        },
        sim_ce_class: u32 {
            default: 0xc8b5,
            description: "Copy-engine class of the simulated GPU, which picks its chip: 0xc5b5 (Turing), 0xc6b5 (GA100), 0xc7b5 (GA10x, Ada), 0xc8b5 (Hopper), 0xc9b5 (GB10x), 0xcab5 (GB20x)",
        },
    },
}

/// The module: the simulated GPU, if asked for, and the driver for nova-core's devices.
#[pin_data]
struct NovaSvmModule {
    sim: Option<SimBinding>,
    #[pin]
    _nv: Registration<auxiliary::Adapter<NvDriver>>,
}

impl kernel::InPlaceModule for NovaSvmModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let sim = (|| -> Result<Option<SimBinding>> {
            let mib = module_parameters::sim_vram_mib.value();
            if mib == 0 {
                return Ok(None);
            }
            let chip =
                driver::sim_chip(module_parameters::sim_ce_class.value()).inspect_err(|_| {
                    pr_err!("nova-svm: sim_ce_class is not the class of a known chip\n")
                })?;
            SimBinding::new(mib, chip).map(Some)
        })();
        try_pin_init!(Self {
            sim: sim?,
            _nv <- Registration::new(c"nova_svm", module),
        })
    }
}
