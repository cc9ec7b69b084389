// SPDX-License-Identifier: MIT

//! `nova_svm_fuzz`: the seeded ioctl fuzzer of `cargo xtask fuzz`; see
//! [`nova_svm_igt::fuzz`]. Exit status 0 when the run held, 1 on a failure
//! (with the seed and the last calls), 77 when there is no device.

use std::process::ExitCode;

use nova_svm_igt::igt::Stop;

fn main() -> ExitCode {
    match nova_svm_igt::igt::catch(nova_svm_igt::fuzz::run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Stop::Skip(why)) => {
            println!("Test requirement not met: {why}");
            ExitCode::from(77)
        }
        Err(Stop::Fail(why)) => {
            println!("nova_svm_fuzz: FAIL: {why}");
            ExitCode::FAILURE
        }
    }
}
