#!/usr/bin/env bash
# `guanhuai backup` and `guanhuai restore` as an operator runs them, on a generated committee of N members (organisation
# and roster imported): the median of RUNS runs each, with the database's size. Release build (or GUANHUAI=binary).
#
#     bash Benchmarks/backup-benchmark.sh [N] [RUNS]        (defaults: 100000 5)
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/committee.sh
n=${1:-100000}
runs=${2:-5}
imported_committee "$n"
db="$work/state/guanhuai.sqlite"
echo "database: $(du -m "$db" | cut -f1) MB ($n members)"
mkdir "$work/copies"
measure "$runs" "guanhuai backup, $n members" "$bin" backup "${c[@]}" "$work/copies"
copy=$(ls "$work"/copies/*.sqlite | head -1)
measure "$runs" "guanhuai restore, $n members" "$bin" restore "${c[@]}" "$copy"
