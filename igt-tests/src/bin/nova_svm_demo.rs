// SPDX-License-Identifier: MIT

//! `nova_svm_demo`, the SVM workload that `cargo xtask run` shows; see
//! [`nova_svm_igt::demo`].
//!
//! Usage: `nova_svm_demo [SIZE_MIB]` (default 32, an even number).

use std::process::ExitCode;

use nova_svm_igt::demo;

fn main() -> ExitCode {
    let arg = std::env::args().nth(1);
    let size = match arg.as_deref().map(str::parse::<u64>) {
        None => demo::DEFAULT_SIZE,
        Some(Ok(mib)) if mib > 0 && mib % 2 == 0 && mib <= 1024 => mib << 20,
        Some(_) => {
            eprintln!("usage: nova_svm_demo [SIZE_MIB] (an even number of MiB, default 32)");
            return ExitCode::from(2);
        }
    };
    // CAST: the statuses are 0 and 1.
    ExitCode::from(demo::run(size) as u8)
}
