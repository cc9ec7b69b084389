#!/bin/sh
# Upstream mm selftests of large folio splits: anonymous, shmem and page
# cache THPs split through debugfs (on the xfs disk too, when it mounted),
# and a split racing with faults. Each prints its own TAP plan; this
# script gives one plan for both and numbers their results in turn.
# xtask builds them (MM_SELFTESTS in xtask/src/kernel.rs): keep the
# two lists the same.
cd /tests || exit 1
rc=0
out=/tmp/mm-selftests.out
: > "$out"
for t in split_huge_page_test folio_split_race_test; do
	if [ "$t" = split_huge_page_test ] && [ -n "$HMM_XFS_DIR" ]; then
		set -- "$HMM_XFS_DIR"
	else
		set --
	fi
	echo "# $t $*"
	./"$t" "$@" > /tmp/"$t".log 2>&1
	r=$?
	sed 's/^/# /' /tmp/"$t".log
	grep -E '^(not )?ok [0-9]+ ' /tmp/"$t".log |
		sed -E "s/^((not )?ok [0-9]+ )/\1$t: /" >> "$out"
	if [ $r -ne 0 ]; then
		rc=1
		# What it printed last, and the memory it had, go before its
		# result, so that xtask shows them with the failure.
		tail -n 8 /tmp/"$t".log | sed 's/^/# /' >> "$out"
		grep -E '^(MemFree|AnonHugePages|Unevictable|Mlocked):' /proc/meminfo |
			sed 's/^/# /' >> "$out"
		echo "not ok 0 $t: exit status $r" >> "$out"
	fi
done
echo "TAP version 13"
echo "1..$(grep -cE '^(not )?ok [0-9]+ ' "$out")"
awk '/^(not )?ok [0-9]+ / { n++; sub(/^(not )?ok [0-9]+ /, ($1 == "not" ? "not ok " : "ok ") n " mm.") } { print }' "$out"
exit $rc
