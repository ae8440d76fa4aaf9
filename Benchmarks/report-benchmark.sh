#!/usr/bin/env bash
# Report benchmark (release build): `guanhuai report --year` on the generated 100,000-member committee, the whole
# process, as table, workbook and JSON Lines, and `guanhuai plan --format json` for the same year beside them; RUNS
# runs each (default 5), the median time and the largest peak RSS printed.
#
#     bash Benchmarks/report-benchmark.sh [MEMBERS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
runs=${2:-5}
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
echo "work: $work" >&2
swift build -c release --product guanhuai >/dev/null
bin=.build/release/guanhuai
. Benchmarks/committee.sh
committee "$work" "$n"
c=(--config "$work/config.toml")
$bin import orgs "${c[@]}" >/dev/null
$bin import roster "${c[@]}" >/dev/null
# The whole process, timed from outside, with its peak RSS from wait4's rusage.
measure() {  # measure LABEL ARGS…
    local label=$1; shift
    python3 - "$runs" "$label" "$@" <<'PY'
import os, statistics, sys, time
runs, label, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
times, rss = [], []
for _ in range(runs):
    t = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.execv(argv[0], argv)
    _, status, usage = os.wait4(pid, 0)
    times.append(time.perf_counter() - t)
    rss.append(usage.ru_maxrss / 1024)
    if status != 0:
        sys.exit(f"{label}: exit status {status}")
print(f"{label}: median {statistics.median(times):.3f} s (runs {', '.join(f'{x:.3f}' for x in times)}), peak RSS {max(rss):.0f} MB")
PY
}
measure "report --year 2027 (table), $n members" $bin report --year 2027 --now 2027-12-31 "${c[@]}"
measure "report --year 2027 --format xlsx" $bin report --year 2027 --now 2027-12-31 --format xlsx --output "$work/r.xlsx" "${c[@]}"
measure "plan --format json, one year, $n members" $bin plan --from 2027-01-01 --to 2027-12-31 --now 2027-12-31 --format json "${c[@]}"
measure "report --year 2027 --format json --by person --unit g7" $bin report --year 2027 --now 2027-12-31 --format json --by person --unit g7 "${c[@]}"
