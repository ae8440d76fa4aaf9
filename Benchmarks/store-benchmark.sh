#!/usr/bin/env bash
# Store benchmark (release build): importing a 100,000-row roster, and one branch secretary's agenda on the
# resulting 100,000-member database.
#
#     bash Benchmarks/store-benchmark.sh [MEMBERS]
#
# The organisation is generated at the size such a roster implies: 60 党总支 with 50 党支部 each (3,000 branches,
# about 33 members per branch), on the default rule catalog.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
. Benchmarks/committee.sh
scratch_committee "$n"
now() { date +%s.%N; }
$bin import orgs "${c[@]}" >/dev/null
t0=$(now); $bin import roster "${c[@]}"; t1=$(now)
printf 'import roster, %d rows into an empty database: %.2f s\n' "$n" "$(echo "$t1 - $t0" | bc)"
t0=$(now); $bin import roster "${c[@]}" >/dev/null; t1=$(now)
printf 'import roster again (all unchanged): %.2f s\n' "$(echo "$t1 - $t0" | bc)"
runs=10
t0=$(now)
for _ in $(seq $runs); do $bin agenda --person S7-3 --now 2027-03-01 "${c[@]}" >/dev/null; done
t1=$(now)
printf 'agenda --person (a branch secretary), %d members on the database: %.0f ms per run (mean of %d, whole process)\n' \
    "$n" "$(echo "($t1 - $t0) * 1000 / $runs" | bc -l)" "$runs"
t0=$(now); $bin agenda --person GS7 --now 2027-03-01 "${c[@]}" >/dev/null; t1=$(now)
printf 'agenda --person (a 党总支 secretary, 50 branches): %.0f ms\n' "$(echo "($t1 - $t0) * 1000" | bc -l)"
# 组织部 is told of everything: the median of 5, with min, max and peak RSS.
measure 5 "agenda --person ZZB (组织部: everyone)" $bin agenda --person ZZB --now 2027-03-01 "${c[@]}"
