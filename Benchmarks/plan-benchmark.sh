#!/usr/bin/env bash
# Plan benchmark (release build): `guanhuai plan` for one year on a generated committee of MEMBERS imported into
# SQLite, as JSON Lines and as the table, the whole process, RUNS runs each (default 5): median with min and max, and
# the peak RSS. The performance issue's headline: 100,000 members in ≤ 2 s and ≤ 300 MB, 1,000,000 in ≤ 20 s and
# ≤ 1 GB.
#
#     bash Benchmarks/plan-benchmark.sh [MEMBERS] [RUNS]      (defaults: 100000 5)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
runs=${2:-5}
. Benchmarks/committee.sh
imported_committee "$n"
year=(--from 2027-01-01 --to 2027-12-31 --now 2027-12-31)
lines=$($bin plan "${year[@]}" --format json "${c[@]}" | wc -l)
measure "$runs" "plan --format json, one year, $n members ($lines lines)" $bin plan "${year[@]}" --format json "${c[@]}"
measure "$runs" "plan --format table, the same year" $bin plan "${year[@]}" "${c[@]}"
