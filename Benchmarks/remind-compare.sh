#!/usr/bin/env bash
# guanhuai against Remind (Debian's `remind`, the anchor system for dated reminders) on the same anniversaries:
# every member's political birthday (入党纪念日) of a generated committee, for one year, in one run of this script.
#
#     bash Benchmarks/remind-compare.sh [MEMBERS] [RUNS]      (defaults: 100000 5)
#
# guanhuai: `guanhuai plan --rule political-birthday` for the year, whole process, on the imported database.
# Remind:   the same anniversaries written as `REM <month> <day> MSG <name> 政治生日` lines, `remind -s12` (a
#           year's simple calendar, one line per reminder) from 1 January. Both write to /dev/null. The median of RUNS
#           runs each, with min and max, and the ratio of the medians.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
runs=${2:-5}
year=2027
if ! command -v remind >/dev/null; then
    apt-get update -qq && apt-get -y -qq --fix-broken install >/dev/null && apt-get -y -qq install remind >/dev/null
fi
. Benchmarks/committee.sh
imported_committee "$n"
# The anniversaries as REM lines: a member's political birthday is the day they joined (入党日期).
python3 - "$work/roster.csv" "$work/birthdays.rem" <<'PY'
import csv, sys
months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
with open(sys.argv[1], encoding="utf-8") as f, open(sys.argv[2], "w", encoding="utf-8") as out:
    for row in csv.DictReader(f):
        y, m, d = (int(x) for x in row["入党日期"].split("-"))
        # 29 February joiners: Remind skips the day in common years, as guanhuai's window still holds the month.
        out.write(f"REM {months[m - 1]} {d} MSG {row['编号']} {row['姓名']} 政治生日\n")
PY
python3 - "$runs" "$n" \
    "$bin plan ${c[*]} --rule political-birthday --from $year-01-01 --to $year-12-31 --now $year-01-01" \
    "remind -s12 $work/birthdays.rem 1 Jan $year" <<'PY'
import os, shlex, statistics, subprocess, sys, time
runs, n = int(sys.argv[1]), int(sys.argv[2])
def measure(cmd):
    times, lines = [], 0
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.run(shlex.split(cmd), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t)
        lines = p.stdout.count(b"\n")
    return statistics.median(times), min(times), max(times), lines
g = measure(sys.argv[3])
r = measure(sys.argv[4])
print(f"{n} members, political birthdays of one year, median of {runs} (min–max)")
print(f"guanhuai plan --rule political-birthday: {g[0]:.3f} s ({g[1]:.3f}–{g[2]:.3f}), {g[3]} lines")
print(f"remind -s12:                             {r[0]:.3f} s ({r[1]:.3f}–{r[2]:.3f}), {r[3]} lines")
print(f"guanhuai is {r[0] / g[0]:.1f}x remind")
PY
