// SPDX-License-Identifier: MIT

//! IGT test binary `nova_svm_channel`; see [`nova_svm_igt::suites::channel`].

use std::process::ExitCode;

fn main() -> ExitCode {
    nova_svm_igt::igt::main("nova_svm_channel", nova_svm_igt::suites::channel::SUBTESTS)
}
