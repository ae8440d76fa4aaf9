#!/usr/bin/env bash
# Report benchmark (release build): `guanhuai report --year` on the generated 100,000-member committee, the whole
# process, as table, workbook and JSON Lines, and `guanhuai plan --format json` for the same year beside them; RUNS
# runs each (default 5), the median time with min and max, and the largest peak RSS printed.
#
#     bash Benchmarks/report-benchmark.sh [MEMBERS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
runs=${2:-5}
. Benchmarks/committee.sh
imported_committee "$n"
measure "$runs" "report --year 2027 (table), $n members" $bin report --year 2027 --now 2027-12-31 "${c[@]}"
measure "$runs" "report --year 2027 --format xlsx" $bin report --year 2027 --now 2027-12-31 --format xlsx --output "$work/r.xlsx" "${c[@]}"
measure "$runs" "plan --format json, one year, $n members" $bin plan --from 2027-01-01 --to 2027-12-31 --now 2027-12-31 --format json "${c[@]}"
measure "$runs" "report --year 2027 --format json --by person --unit g7" $bin report --year 2027 --now 2027-12-31 --format json --by person --unit g7 "${c[@]}"
