#!/usr/bin/env bash
# Dispatch benchmark (release build): guanhuaid sending COUNT queued mails (default 10,000 rendered digests of the
# example committee) to postfix's smtp-sink, timed from the first message sent to the last, on three stores in one
# run: one guanhuaid on SQLite (the reference), one on PostgreSQL, and two on the same PostgreSQL database sharing
# the rows by claims (issue 30: two instances must send at least the single SQLite instance's rate).
# MailBenchmark fill queues the rows; the daemons' test clock stands at 04:00, an hour with no send time, so they
# only dispatch. Each configuration runs RUNS times (default 3) on a fresh database; medians are printed.
#
#     bash Benchmarks/dispatch-benchmark.sh [COUNT] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
runs=${2:-3}
if ! command -v smtp-sink >/dev/null && [ ! -x /usr/sbin/smtp-sink ]; then
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get -y -qq --fix-broken install >/dev/null && apt-get install -y -qq postfix >/dev/null
fi
PATH=$PATH:/usr/sbin
. Benchmarks/committee.sh
work=$(mktemp -d)
daemons=()
sink=
trap 'for d in "${daemons[@]}"; do kill $d 2>/dev/null || true; done; [ -z "$sink" ] || kill $sink 2>/dev/null || true; stop_postgres; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
echo "work: $work" >&2
for p in guanhuai guanhuaid MailBenchmark; do swift build -c release --product $p >/dev/null; done
bin=.build/release
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
smtp-sink -u nobody 127.0.0.1:$port 256 &
sink=$!
committee "$work" 2000 "[channels.mail]
type = \"smtp\"
host = \"127.0.0.1\"
port = $port
security = \"none\"
from = \"guanhuai@example.edu.cn\"
[routing]
journal = false"
start_postgres
echo 1811822400 > "$work/clock"  # 2027-06-01 04:00 Beijing: no send time for hours
# run LABEL INSTANCES STORE-KIND: a fresh store, COUNT mails queued, INSTANCES guanhuaid started; prints seconds
# from the first mail sent to the last.
run() {
    local label=$1 instances=$2 kind=$3 cfg=$work/config-$1.toml store
    case $kind in
        sqlite)
            rm -rf "$work/state-$label"
            sed "s|^path = \"state/guanhuai.sqlite\"|path = \"state-$label/guanhuai.sqlite\"|" "$work/config.toml" > "$cfg"
            store="sqlite:$work/state-$label/guanhuai.sqlite"
            client() { sqlite3 -batch "$work/state-$label/guanhuai.sqlite"; } ;;
        postgresql)
            local db="d$RANDOM$RANDOM"
            store=$(pg_database "$db")
            sed "s|^path = \"state/guanhuai.sqlite\"|url = \"$store\"|" "$work/config.toml" > "$cfg"
            client() { as_pg $PG/psql -h "$pgdir" -p "$pgport" -U postgres -d "$db" -Atq; } ;;
    esac
    $bin/guanhuai import orgs --config "$cfg" >/dev/null
    $bin/guanhuai import roster --config "$cfg" >/dev/null
    $bin/MailBenchmark fill "$store" "$n" >/dev/null
    daemons=()
    for i in $(seq "$instances"); do
        GUANHUAI_TEST_CLOCK_FILE=$work/clock $bin/guanhuaid --config "$cfg" 2>>"$work/daemon-$label.log" &
        daemons+=($!)
    done
    # One client for the whole run, asked every 20 ms: a new psql (and a new server process) per look cost the
    # machine a fifth of its CPU and slowed what was measured, PostgreSQL most.
    coproc Q { client 2>&1; }
    local first="" last="" left now
    while :; do
        echo "SELECT count(*) FROM outbox WHERE state <> 'sent';" >&"${Q[1]}"
        read -r left <&"${Q[0]}"
        now=$EPOCHREALTIME
        [ -n "$first" ] || [ "$left" = "$n" ] || first=$now
        if [ "$left" = 0 ]; then last=$now; break; fi
        sleep 0.02
    done
    exec {Q[1]}>&-
    wait "$Q_PID" 2>/dev/null || true
    for d in "${daemons[@]}"; do kill $d; wait $d 2>/dev/null || true; done
    daemons=()
    echo "$first $last" | awk '{print $2 - $1}'
}
for config in "sqlite 1 sqlite" "postgresql 1 postgresql" "postgresql-two 2 postgresql"; do
    set -- $config
    times=()
    for _ in $(seq "$runs"); do times+=("$(run "$1" "$2" "$3")"); done
    python3 - "$1" "$2" "$n" "${times[@]}" <<'PY'
import statistics, sys
label, instances, n, times = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), [float(t) for t in sys.argv[4:]]
m = statistics.median(times)
print(f"{label} ({instances} guanhuaid): {n} mails in median {m:.2f} s = {n / m:.0f} mails/s "
      f"(runs: {', '.join(f'{t:.2f}' for t in times)} s)")
PY
done
