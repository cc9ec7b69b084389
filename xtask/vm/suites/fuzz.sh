#!/bin/sh
# The seeded ioctl fuzzer (igt-tests/src/fuzz.rs, packed as
# /igt/nova_svm_fuzz) against nova_svm on a simulated GPU with 64 MiB of
# VRAM. Every boot runs a slice of NOVA_SVM_FUZZ_CALLS calls (20,000 unless
# set; `cargo xtask fuzz --calls N --seed S` sets both). The fuzzer prints
# its seed; NOVA_SVM_FUZZ_SEED repeats a run. Without one the slice uses a
# fixed seed, so that every `cargo xtask test` makes the same calls (the
# chaos thread's timing still varies); `cargo xtask fuzz` draws a new seed
# for each run. The module must unload afterwards with every page home.
: "${NOVA_SVM_FUZZ_SEED:=0x5eed16}"
export NOVA_SVM_FUZZ_SEED
vram_mib=64
echo "TAP version 13"
echo "1..3"
n=0
failed=0

tap_prefix=fuzz
. /suites/lib/tap.sh

out=$(modprobe nova_svm sim_vram_mib=$vram_mib 2>&1)
result $? "modprobe-nova_svm-sim_vram_mib=$vram_mib" "$out"

# Streamed, so that a long run shows its progress; the status comes back
# through a file, as a pipe loses it.
{
	/igt/nova_svm_fuzz </dev/null 2>&1
	echo $? > /tmp/fuzz.rc
} | tee /tmp/fuzz.out | sed 's/^/# /'
rc=$(cat /tmp/fuzz.rc 2>/dev/null || echo 1)
n=$((n + 1))
if [ "$rc" = 77 ]; then
	echo "ok $n fuzz.nova_svm_fuzz # SKIP $(sed -n 's/^Test requirement not met: //p' /tmp/fuzz.out | head -n 1)"
elif [ "$rc" = 0 ]; then
	echo "ok $n fuzz.nova_svm_fuzz"
else
	echo "not ok $n fuzz.nova_svm_fuzz # exit status $rc"
	failed=1
fi

out=$(modprobe -r nova_svm 2>&1)
result $? unload "$out"
exit $failed
