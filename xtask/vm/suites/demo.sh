#!/bin/sh
# The demo of `cargo xtask run` (not in the default suite set: see
# vm::ON_REQUEST): nova_svm on a simulated GPU with 64 MiB of VRAM, and
# nova_svm_demo (igt-tests/, packed under /igt), which runs one SVM
# workload step by step and checks each step: anonymous memory, then a file
# on the ext4 disk that init mounts (HMM_EXT4_DIR), which the demo unmounts
# and mounts again to read what the device wrote back from the disk.
vram_mib=64
echo "TAP version 13"
echo "1..4"
n=0
failed=0

tap_prefix=demo
. /suites/lib/tap.sh

out=$(modprobe nova_svm sim_vram_mib=$vram_mib 2>&1)
result $? "modprobe-nova_svm-sim_vram_mib=$vram_mib" "$out"

# Without the ext4 disk the demo would leave its file part out.
if [ -n "$HMM_EXT4_DIR" ]; then
	result 0 ext4-mounted ""
else
	result 1 ext4-mounted "HMM_EXT4_DIR is unset: init did not mount the ext4 disk"
fi

/igt/nova_svm_demo </dev/null 2>&1
result $? nova_svm_demo ""

# Unloading must find every page home.
out=$(modprobe -r nova_svm 2>&1)
result $? unload "$out"
exit $failed
