// SPDX-License-Identifier: MIT

//! IGT test binary `nova_svm_negative`; see [`nova_svm_igt::suites::negative`].

use std::process::ExitCode;

fn main() -> ExitCode {
    nova_svm_igt::igt::main(
        "nova_svm_negative",
        nova_svm_igt::suites::negative::SUBTESTS,
    )
}
