#!/usr/bin/env bash
# Web benchmark (release build, wrk from Debian): a branch secretary's 「我的待办」 and an item's confirmation page,
# served by guanhuaid on a 100,000-member database, each for 20 s over 16 keep-alive connections, three times;
# the medians of p50, p99 and requests/s are printed. ENGINES names the stores to measure side by side in one run:
# `sqlite` (the default), `postgresql` (PostgreSQL 15 in a temporary directory, the committee imported into it), or
# both ("sqlite postgresql"): the same committee and configuration, differing only in [database].
#
#     [ENGINES="sqlite postgresql"] bash Benchmarks/web-benchmark.sh [MEMBERS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
secs=${2:-20}
work=$(mktemp -d)
trap 'kill $daemon 2>/dev/null || true; stop_postgres; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
daemon=
echo "work: $work" >&2
swift build -c release --product guanhuai >/dev/null
swift build -c release --product guanhuaid >/dev/null
bin=.build/release
. Benchmarks/committee.sh
head -c 48 /dev/urandom | base64 >"$work/web-key"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
committee "$work" "$n" "[routing]
journal = false
[web]
listen = \"127.0.0.1:$port\"
public_url = \"http://127.0.0.1:$port\"
web_key_credential = \"web-key\""
export CREDENTIALS_DIRECTORY=$work
for engine in ${ENGINES:-sqlite}; do
echo "== $engine"
c=(--config "$work/config.toml")
if [ "$engine" = postgresql ]; then
    [ -n "${pgdir:-}" ] || start_postgres
    sed "s|^path = \"state/guanhuai.sqlite\"|url = \"$(pg_database web)\"|" "$work/config.toml" > "$work/config-pg.toml"
    c=(--config "$work/config-pg.toml")
fi
$bin/guanhuai import orgs "${c[@]}" >/dev/null
$bin/guanhuai import roster "${c[@]}" >/dev/null
: > "$work/daemon.log"
$bin/guanhuaid "${c[@]}" 2>"$work/daemon.log" &
daemon=$!
for _ in $(seq 600); do grep -q "web pages listening" "$work/daemon.log" && break; sleep 0.1; done
agenda=$($bin/guanhuai web link S7-3 "${c[@]}")
curl -s -o "$work/agenda.html" "$agenda"
item=$(grep -o -m1 'href="/i/[^"]*/done"' "$work/agenda.html" | sed 's/href="//; s/"$//' || true)
[ -n "$item" ] || { echo "no open item on the agenda" >&2; exit 1; }
items=$(grep -c '<section class="card' "$work/agenda.html" || true)
echo "S7-3's agenda: $items open items; $n members on the database"
# A page's first view after a change is rendered from the database; later views of the same link come from the
# per-person cache until something is recorded. The cold figure: the first view of ten other secretaries' agendas.
cold=()
for b in $(seq 1 10); do
    link=$($bin/guanhuai web link "S3-$b" "${c[@]}")
    cold+=("$(curl -s -o /dev/null -w '%{time_total}' "$link")")
done
python3 -c 'import statistics, sys; v=[float(x)*1000 for x in sys.argv[1:]]; print(f"first view of an agenda (10 secretaries, nothing cached): median {statistics.median(v):.1f} ms, max {max(v):.1f} ms")' "${cold[@]}"
run() {  # run NAME URL
    local p50s=() p99s=() rps=()
    for _ in 1 2 3; do
        out=$(taskset -c 1 wrk -t1 -c16 -d"${secs}s" --latency "$2")
        p50s+=("$(echo "$out" | awk '$1 == "50%" {print $2}')")
        p99s+=("$(echo "$out" | awk '$1 == "99%" {print $2}')")
        rps+=("$(echo "$out" | awk '/Requests\/sec/ {print $2}')")
    done
    python3 - "$1" "${p50s[*]}" "${p99s[*]}" "${rps[*]}" <<'PY'
import statistics, sys
def ms(v):
    for unit, f in (("us", 0.001), ("ms", 1), ("s", 1000)):
        if v.endswith(unit) and (unit != "s" or not v.endswith(("us", "ms"))):
            return float(v[: -len(unit)]) * f
name, p50, p99, rps = sys.argv[1], *[a.split() for a in sys.argv[2:]]
print(f"{name}: p50 {statistics.median(map(ms, p50)):.1f} ms, p99 {statistics.median(map(ms, p99)):.1f} ms, "
      f"{statistics.median(map(float, rps)):.0f} requests/s (median of 3; p99 runs: {', '.join(p99)}; rps runs: {', '.join(rps)})")
PY
}
run "我的待办 (GET /me/…)" "$agenda"
run "confirmation page (GET /i/…/done)" "http://127.0.0.1:$port$item"
# Calendar feeds polled by many calendars at once: 200 connections, a 2 s timeout (issue 28 measured 组织部's feed
# this way). The branch secretary's feed, and 组织部's (the most a feed carries: 90 days ahead, the latest overdue).
feed_run() {  # feed_run PERSON
    local feed events
    feed=$(curl -s "$($bin/guanhuai web link "$1" "${c[@]}")" | grep -o 'value="http[^"]*\.ics"' | sed 's/value="//; s/"$//')
    events=$(curl -s "$feed" | grep -c '^BEGIN:VEVENT' || true)
    for _ in 1 2 3; do
        taskset -c 1 wrk -t1 -c200 -d"${secs}s" --timeout 2s --latency "$feed" |
            awk -v who="$1" -v e="$events" '/Requests\/sec/ {r=$2} $1 == "99%" {p=$2} /timeout/ {t=$NF} END {printf "%s feed (%s events), 200 connections: %s requests/s, p99 %s, timeouts %s\n", who, e, r, p, (t == "" ? 0 : t)}'
    done
}
feed_run S7-3
feed_run ZZB
kill $daemon
wait $daemon 2>/dev/null || true
daemon=
done
