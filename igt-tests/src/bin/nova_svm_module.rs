// SPDX-License-Identifier: MIT

//! IGT test binary `nova_svm_module`; see [`nova_svm_igt::suites::module`].

use std::process::ExitCode;

fn main() -> ExitCode {
    nova_svm_igt::igt::main("nova_svm_module", nova_svm_igt::suites::module::SUBTESTS)
}
