#!/bin/sh
# nova-svm's IGT tests (igt-tests/, packed under /igt) against nova_svm.ko
# on the simulated GPU. Each subtest runs as its own process with
# --run-subtest, under a time limit; the results are printed as TAP, with
# each subtest's output before its result as "# " lines.
#
# The module is loaded with 64 MiB of simulated VRAM (32 chunks of 2 MiB):
# enough for every subtest, small enough that `evict` overcommits it
# quickly. nova_svm_module unloads and reloads it with the same size; the
# suite unloads it at the end, which must succeed with every page home.
vram_mib=64
dir=/igt
# Negative tests first (fast, no pages on the device), module unload last.
bins="nova_svm_negative nova_svm_channel nova_svm_basic nova_svm_module"
limit=120
if grep -q 'nova\.flavor=debug' /proc/cmdline; then
	limit=600
fi

echo "TAP version 13"

if [ ! -d /sys/module/nova_svm ] &&
	! grep -q 'nova_svm\.ko' "/lib/modules/$(uname -r)/modules.dep" 2>/dev/null; then
	echo "1..1"
	echo "ok 1 igt # SKIP nova_svm.ko is not in this kernel (no nova_svm in modules.dep)"
	exit 0
fi

# Loaded already (or built in, when the directory also exists): use it.
if [ ! -d /sys/module/nova_svm ]; then
	if ! out=$(modprobe nova_svm sim_vram_mib=$vram_mib 2>&1); then
		echo "1..1"
		echo "$out" | sed 's/^/# /'
		echo "not ok 1 igt.modprobe # modprobe nova_svm sim_vram_mib=$vram_mib failed"
		exit 1
	fi
fi
# The module is loaded: a subtest that finds no device fails, not skips.
export NOVA_SVM_IGT_REQUIRE_DEVICE=1
# nova_svm_module reloads the module with the VRAM it was loaded with.
export NOVA_SVM_SIM_VRAM_MIB=$vram_mib

list=/tmp/igt-subtests
: > $list
for b in $bins; do
	if ! subs=$("$dir/$b" --list-subtests </dev/null 2>&1); then
		echo "1..1"
		echo "$subs" | sed 's/^/# /'
		echo "not ok 1 igt.$b.list-subtests"
		exit 1
	fi
	for s in $subs; do
		echo "$b $s" >> $list
	done
done
# NOVA_SVM_IGT_ONLY (an extended regular expression on "binary subtest")
# runs only the subtests it matches, for a developer's quick rerun.
if [ -n "$NOVA_SVM_IGT_ONLY" ]; then
	grep -E -- "$NOVA_SVM_IGT_ONLY" $list > $list.only
	mv $list.only $list
fi
# NOVA_SVM_IGT_REPEAT=N runs the list N times over, to catch a flaky
# subtest in one boot.
if [ -n "$NOVA_SVM_IGT_REPEAT" ] && [ "$NOVA_SVM_IGT_REPEAT" -gt 1 ]; then
	i=1
	: > $list.rep
	while [ $i -le "$NOVA_SVM_IGT_REPEAT" ]; do
		cat $list >> $list.rep
		i=$((i + 1))
	done
	mv $list.rep $list
fi
# The same negative and basic subtests again as an unprivileged user
# (NOVA_SVM_IGT_UID, which the binaries take before the subtest starts) on
# the render node, with the file systems' roots writable by all; on the
# normal kernel only, to keep the debug run's time. Their names begin with
# "unpriv.".
unpriv_uid=65534
if ! grep -q 'nova\.flavor=debug' /proc/cmdline; then
	for d in "$HMM_EXT4_DIR" "$HMM_XFS_DIR"; do
		[ -n "$d" ] && chmod 1777 "$d"
	done
	grep -E '^nova_svm_(negative|basic) ' $list | sed 's/^/unpriv /' > $list.unpriv
	cat $list.unpriv >> $list
	rm -f $list.unpriv
fi
total=$(($(wc -l < $list) + 1))
echo "1..$total"

n=0
failed=0
while read -r b s extra; do
	n=$((n + 1))
	uid=
	if [ "$b" = unpriv ]; then
		uid=$unpriv_uid
		b=$s
		s=$extra
		# nova_svm_module made the node again (0600, as devtmpfs does
		# without udev): open it to all, as udev's rules would.
		chmod 0666 /dev/dri/renderD* 2>/dev/null
	fi
	name="${uid:+unpriv.}$b.$s"
	# file-random-stress runs 30,000 operations while stress-ng keeps both
	# vCPUs busy: it takes 70 to 115 s on the normal kernel, so it gets more.
	sub_limit=$limit
	if [ "$s" = file-random-stress ] && [ "$sub_limit" -lt 300 ]; then
		sub_limit=300
	fi
	out=$(NOVA_SVM_IGT_UID=$uid timeout -s KILL "$sub_limit" "$dir/$b" --run-subtest "$s" </dev/null 2>&1)
	rc=$?
	echo "$out" | sed 's/^/# /'
	case $rc in
	0)
		echo "ok $n $name"
		;;
	77)
		reason=$(echo "$out" | sed -n 's/^Test requirement not met: //p' | head -n 1)
		echo "ok $n $name # SKIP ${reason:-the subtest gave no reason}"
		;;
	137)
		failed=1
		echo "not ok $n $name # killed after ${sub_limit}s"
		;;
	*)
		failed=1
		echo "not ok $n $name # exit status $rc"
		;;
	esac
done < $list

# Unloading brings every page home; it must work after all the subtests.
n=$((n + 1))
if [ ! -e /sys/module/nova_svm/initstate ]; then
	echo "ok $n igt.unload # SKIP nova_svm is built into the kernel"
elif out=$(modprobe -r nova_svm 2>&1); then
	echo "ok $n igt.unload"
else
	echo "$out" | sed 's/^/# /'
	echo "# refcnt: $(cat /sys/module/nova_svm/refcnt 2>/dev/null)"
	echo "not ok $n igt.unload"
	failed=1
fi
exit $failed
