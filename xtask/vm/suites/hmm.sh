#!/bin/sh
# Upstream hmm-tests against the C test_hmm driver.
# Huge pages for the hugetlbfs tests (anon_write_hugetlbfs, compound).
echo 16 > /proc/sys/vm/nr_hugepages
modprobe test_hmm || { echo "Bail out! cannot load test_hmm"; exit 1; }
cd /tests && ./hmm-tests
rc=$?
rmmod test_hmm || { echo "Bail out! cannot unload test_hmm"; exit 1; }
exit $rc
