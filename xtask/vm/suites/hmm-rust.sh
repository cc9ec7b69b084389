#!/bin/sh
# The same, unmodified hmm-tests binary against the Rust dmirror sample
# (samples/rust/rust_dmirror.rs), which offers the same device nodes.
exec /suites/hmm.sh rust_dmirror
