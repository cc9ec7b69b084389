#!/bin/sh
# Migration throughput, for `cargo xtask bench` (not in the default suite
# set: see vm::ON_REQUEST). nova_svm_bench (igt-tests/, packed under /igt)
# times SVM_BIND migrations of nova-svm to VRAM and back next to test_hmm's
# MIGRATE_TO_DEV/MIGRATE_TO_SYS and a memcpy of the same size, for
# anonymous 4 KiB pages and 2 MiB folios and for the page cache of a tmpfs
# file (/tmp) and an ext4 file (the disk init mounts, HMM_EXT4_DIR), and
# prints a table.
#
# Speed is never a failure: the bench fails only when a migration fails or
# a round trip changes the data. nova_svm gets 256 MiB of simulated VRAM,
# room for the bench's 64 MiB buffers without eviction; the 256 MiB ext4
# disk holds the 64 MiB file.
vram_mib=256
echo "TAP version 13"
echo "1..6"
n=0
failed=0

tap_prefix=bench
. /suites/lib/tap.sh

out=$(modprobe test_hmm 2>&1)
result $? modprobe-test_hmm "$out"
out=$(modprobe nova_svm sim_vram_mib=$vram_mib 2>&1)
result $? "modprobe-nova_svm" "$out"

# Without the ext4 disk the bench would leave the ext4 rows out.
if [ -n "$HMM_EXT4_DIR" ]; then
	result 0 ext4-mounted ""
else
	result 1 ext4-mounted "HMM_EXT4_DIR is unset: init did not mount the ext4 disk"
fi

# The bench's own output goes straight to the log, as it runs.
/igt/nova_svm_bench </dev/null 2>&1
result $? nova_svm_bench ""
# Where the time went: the kernel channel's fence waits and the GPU's busy time.
sed 's/^/# nova_svm stats: /' /sys/kernel/debug/nova_svm/sim/stats 2>/dev/null

out=$(modprobe -r nova_svm 2>&1)
result $? unload-nova_svm "$out"
out=$(rmmod test_hmm 2>&1)
result $? unload-test_hmm "$out"
exit $failed
