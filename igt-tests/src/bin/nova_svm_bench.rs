// SPDX-License-Identifier: MIT

//! `nova_svm_bench`, the migration benchmark that `cargo xtask bench` runs
//! in the VM; see [`nova_svm_igt::bench`].

use std::process::ExitCode;

use nova_svm_igt::bench::{self, Config};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match Config::parse(&args) {
        Ok(Some(cfg)) => bench::run(cfg),
        Ok(None) => {
            println!("{}", bench::USAGE);
            0
        }
        Err(e) => {
            eprintln!("nova_svm_bench: {e}\n\n{}", bench::USAGE);
            2
        }
    };
    // CAST: the statuses are 0, 1 and 2.
    ExitCode::from(code as u8)
}
