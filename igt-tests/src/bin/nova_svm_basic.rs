// SPDX-License-Identifier: MIT

//! IGT test binary `nova_svm_basic`; see [`nova_svm_igt::suites::basic`].

use std::process::ExitCode;

fn main() -> ExitCode {
    nova_svm_igt::igt::main("nova_svm_basic", nova_svm_igt::suites::basic::SUBTESTS)
}
