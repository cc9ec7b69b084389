// SPDX-License-Identifier: MIT

//! The device under test: finding it, its parameters, and checked
//! wrappers of the ioctls that the functional subtests use.

use std::io;
use std::ops::Range;

use nova_svm_uapi::{BindTarget, Device, DeviceCopy, Param};

use crate::check::{check_eq_with, describe, fail, skip, OrFail};
use crate::igt::TestResult;
use crate::mem::{page_size, Region};

/// The debugfs directory of the simulated GPU (root only).
pub const SIM_DEBUGFS: &str = "/sys/kernel/debug/nova_svm/sim";

/// The reason every subtest gives when there is no device.
pub const NO_DEVICE: &str = "no nova-svm device (load nova_svm with sim_vram_mib=N)";

/// When this environment variable is `1`, a missing device fails the
/// subtests instead of skipping them. The VM suite sets it after loading
/// the module, so that a driver that loads but registers no device cannot
/// pass as "all skipped".
pub const REQUIRE_DEVICE_ENV: &str = "NOVA_SVM_IGT_REQUIRE_DEVICE";

/// What a missing device means for a subtest: a skip, or a failure when
/// [`REQUIRE_DEVICE_ENV`] is set.
pub fn no_device(detail: Option<&io::Error>, required: bool) -> crate::igt::Stop {
    let mut msg = NO_DEVICE.to_string();
    if let Some(e) = detail.filter(|e| e.kind() != io::ErrorKind::NotFound) {
        msg.push_str(&format!(": {}", describe(e)));
    }
    if required {
        fail(format!(
            "{msg}, but {REQUIRE_DEVICE_ENV}=1 says the module is loaded"
        ))
    } else {
        skip(msg)
    }
}

fn device_required() -> bool {
    std::env::var(REQUIRE_DEVICE_ENV).is_ok_and(|v| v == "1")
}

/// Opens the nova-svm render node: the first `/dev/dri/renderD*` whose
/// driver name (DRM_IOCTL_VERSION) is "nova-svm".
pub fn open_device() -> TestResult<Device> {
    Device::open_render_node().map_err(|e| no_device(Some(&e), device_required()))
}

/// An open device with its parameters.
#[derive(Debug)]
pub struct Env {
    /// The open render node.
    pub dev: Device,
    /// The base page size.
    pub page: u64,
    /// DRM_NOVA_SVM_PARAM_VRAM_SIZE.
    pub vram_size: u64,
    /// DRM_NOVA_SVM_PARAM_CHUNK_SIZE.
    pub chunk_size: u64,
}

impl Env {
    /// Opens the device (skipping without one) and reads its parameters.
    /// The file has no SVM context yet.
    pub fn open() -> TestResult<Self> {
        let dev = open_device()?;
        let vram_size = dev
            .getparam(Param::VramSize)
            .or_fail("GETPARAM(VRAM_SIZE)")?;
        let chunk_size = dev
            .getparam(Param::ChunkSize)
            .or_fail("GETPARAM(CHUNK_SIZE)")?;
        crate::check!(
            vram_size > 0 && chunk_size > 0,
            "device parameters: VRAM_SIZE {vram_size:#x} and CHUNK_SIZE {chunk_size:#x} must be nonzero"
        );
        Ok(Self {
            dev,
            page: page_size(),
            vram_size,
            chunk_size,
        })
    }

    /// [`Env::open`] plus SVM_INIT with no unmanaged window.
    pub fn init() -> TestResult<Self> {
        let env = Self::open()?;
        env.dev.svm_init(0, 0).or_fail("SVM_INIT(0, 0)")?;
        Ok(env)
    }

    /// Pages of VRAM.
    pub fn vram_pages(&self) -> u64 {
        self.vram_size / self.page
    }

    /// A page count that overflows VRAM: a quarter more than it holds, and
    /// at least a chunk more.
    pub fn pages_beyond_vram(&self) -> u64 {
        let vram = self.vram_pages();
        vram + (vram / 4).max(self.chunk_size / self.page)
    }

    /// SVM_BIND MIGRATE of `range` to `target`; returns the pages moved.
    ///
    /// Like the other helpers here, it allocates nothing unless it fails.
    pub fn migrate(&self, what: &str, range: Range<u64>, target: BindTarget) -> TestResult<u64> {
        let r = self
            .dev
            .svm_bind_migrate(range.clone(), target, 0)
            .or_fail_with(|| {
                format!(
                    "{what}: SVM_BIND MIGRATE to {target:?} of [{:#x}, {:#x})",
                    range.start, range.end
                )
            })?;
        Ok(r.pages_moved)
    }

    /// Migrates `range` to VRAM and checks that exactly `want` pages moved.
    pub fn to_vram(&self, what: &str, range: Range<u64>, want: u64) -> TestResult {
        let got = self.migrate(what, range.clone(), BindTarget::GpuVram)?;
        check_eq_with(got, want, || {
            format!(
                "{what}: pages moved to VRAM from [{:#x}, {:#x})",
                range.start, range.end
            )
        })
    }

    /// Migrates `range` to system memory and checks that exactly `want`
    /// pages moved.
    pub fn to_system(&self, what: &str, range: Range<u64>, want: u64) -> TestResult {
        let got = self.migrate(what, range.clone(), BindTarget::System)?;
        check_eq_with(got, want, || {
            format!(
                "{what}: pages moved to system memory from [{:#x}, {:#x})",
                range.start, range.end
            )
        })
    }

    /// DEVICE_COPY of `len` bytes from address `src` to offset `dst_off` of
    /// `dst`; checks that `result` reports the whole size.
    pub fn copy(&self, what: &str, dst: &Region, dst_off: u64, src: u64, len: u64) -> TestResult {
        let d = dst.sub(dst_off, len);
        let mut arg = DeviceCopy::copy(d.start, src, len);
        // SAFETY: `[d.start, d.start + len)` lies in `dst`, memory this
        // process owns that is reached only through `Region`'s atomics,
        // never through references; the source is only read.
        let r = unsafe { self.dev.ioctl_unchecked(&mut arg) };
        r.or_fail_with(|| {
            format!(
                "{what}: DEVICE_COPY of {len:#x} bytes from {src:#x} to {:#x}",
                d.start
            )
        })?;
        check_eq_with(arg.result, len, || format!("{what}: DEVICE_COPY result"))
    }

    /// DEVICE_COPY fill of `len` bytes at offset `off` of `dst` with
    /// `pattern`; checks that `result` reports the whole size.
    pub fn fill(&self, what: &str, dst: &Region, off: u64, len: u64, pattern: u32) -> TestResult {
        let d = dst.sub(off, len);
        let mut arg = DeviceCopy::fill(d.start, len, pattern);
        // SAFETY: As in `copy`: the destination lies in `dst`.
        let r = unsafe { self.dev.ioctl_unchecked(&mut arg) };
        r.or_fail_with(|| {
            format!(
                "{what}: DEVICE_COPY FILL with {pattern:#x} of {len:#x} bytes at {:#x}",
                d.start
            )
        })?;
        check_eq_with(arg.result, len, || {
            format!("{what}: DEVICE_COPY FILL result")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::igt::Stop;

    #[test]
    fn missing_device_skips_or_fails() {
        assert_eq!(no_device(None, false), Stop::Skip(NO_DEVICE.into()));
        let nf = io::Error::new(io::ErrorKind::NotFound, "no render node");
        assert_eq!(no_device(Some(&nf), false), Stop::Skip(NO_DEVICE.into()));
        let acc = io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(
            no_device(Some(&acc), false),
            Stop::Skip(format!("{NO_DEVICE}: EACCES (Permission denied)"))
        );
        match no_device(None, true) {
            Stop::Fail(m) => assert!(m.starts_with(NO_DEVICE) && m.contains(REQUIRE_DEVICE_ENV)),
            s => panic!("{s:?}"),
        }
    }
}
