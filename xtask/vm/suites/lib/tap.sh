# TAP helpers for the suite scripts (sourced; not a suite of its own, as
# only the .sh files directly in suites/ are).
#
# A script sets tap_prefix (the suite's name), n=0 and failed=0, then
# reports each step with
#   result STATUS NAME OUTPUT
# which prints OUTPUT as "# " lines and one TAP line, "<tap_prefix>.NAME".
result() {
	n=$((n + 1))
	[ -n "$3" ] && echo "$3" | sed 's/^/# /'
	if [ "$1" = 0 ]; then
		echo "ok $n $tap_prefix.$2"
	else
		echo "not ok $n $tap_prefix.$2 # exit status $1"
		failed=1
	fi
}
