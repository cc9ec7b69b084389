#!/bin/sh
# Upstream hmm-tests against a dmirror driver: the C test_hmm (the default)
# or the module named by $1 (rust_dmirror, for the hmm-rust suite).
mod=${1:-test_hmm}
# Huge pages for the hugetlbfs tests (anon_write_hugetlbfs, compound).
echo 16 > /proc/sys/vm/nr_hugepages
modprobe "$mod" || { echo "Bail out! cannot load $mod"; exit 1; }
cd /tests || exit 1
if grep -q 'nova\.flavor=debug' /proc/cmdline; then
	# benchmark_thp_migration has a 120 s limit of its own. Under KASAN
	# and lockdep in TCG it measures the checkers and overruns it; it runs
	# on the normal kernel, and is reported here as skipped.
	./hmm-tests -T benchmark_thp_migration
	rc=$?
	echo "TAP version 13"
	echo "1..2"
	n=0
	for v in private coherent; do
		n=$((n + 1))
		echo "ok $n hmm.hmm_device_$v.benchmark_thp_migration # SKIP timing benchmark, runs on the normal kernel"
	done
else
	./hmm-tests
	rc=$?
fi
rmmod "$mod" || { echo "Bail out! cannot unload $mod"; exit 1; }
exit $rc
