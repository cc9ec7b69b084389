#!/bin/sh
# C test_hmm against the Rust dmirror, for `cargo xtask bench` (not in the
# default suite set: see vm::ON_REQUEST). hmm-tests' benchmark_thp_migration
# runs $rounds times against each module, alternating, so that both see
# the same machine, and each round swaps which module goes first, so that
# neither always runs right after the other; xtask takes each row's median
# over the rounds.
#
# Speed is never a failure: a round fails only when the benchmark does
# (a migration failed).
rounds=${NOVA_HMM_BENCH_ROUNDS:-5}
echo "TAP version 13"
echo "1..$((rounds * 2))"
n=0
failed=0

tap_prefix=hmm-bench
. /suites/lib/tap.sh

cd /tests || exit 1
r=1
while [ $r -le $rounds ]; do
	if [ $((r % 2)) -eq 1 ]; then
		mods="test_hmm rust_dmirror"
	else
		mods="rust_dmirror test_hmm"
	fi
	for mod in $mods; do
		echo "# NOVA-HMM-BENCH round=$r module=$mod"
		if modprobe "$mod"; then
			# As TAP comments: the benchmark prints TAP lines of its own.
			./hmm-tests -r hmm.hmm_device_private.benchmark_thp_migration \
				>/tmp/hmm-bench.out 2>&1
			rc=$?
			sed 's/^/# /' /tmp/hmm-bench.out
			rmmod "$mod" || rc=1
		else
			rc=1
		fi
		result $rc "round$r-$mod" ""
	done
	r=$((r + 1))
done
exit $failed
