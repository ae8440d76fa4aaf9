#!/usr/bin/env bash
# Webhook benchmark (release build): COUNT signed Standard Webhooks POSTs of a rendered digest to a local nginx that
# answers 204, one after another over keep-alive (from a task on Swift's pool, as the dispatcher sends, and again with
# the run on the client's loop); then curl posting the same body COUNT times in one process
# (a --config file: one connection, reused), and curl --parallel (up to 50 connections) for scale.
#
#     bash Benchmarks/webhook-benchmark.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get -y -qq --fix-broken install >/dev/null && apt-get install -y -qq nginx-light >/dev/null
fi
PATH=$PATH:/usr/sbin
bin=${WEBHOOK_BENCHMARK_BIN:-.build/release/WebhookBenchmark}  # another build of it, to compare two versions
[ -n "${WEBHOOK_BENCHMARK_BIN:-}" ] || swift build -c release --product WebhookBenchmark >/dev/null
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work;
    keepalive_requests 1000000;
    server { listen 127.0.0.1:$port; location / { return 204; } }
}
CONF
taskset -c 1 nginx -c "$work/nginx.conf" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
sleep 0.5
# A digest body as the daemon stores it: the example's largest digest, about 3 kB of JSON.
python3 - "$work/body.json" <<'PY'
import json, sys
items = [{"due": "2027-07-01", "kind": "advance", "occurrence": f"july-first-visit:2027:M{i:03}", "responsible": {"id": "M001", "name": "周海燕"},
          "rule": "july-first-visit", "status": "pending", "subject": {"id": f"M{i:03}", "name": "某某某"}, "title": "七一走访慰问",
          "unit": "wenxueyuan-jiaoshi", "window_start": "2027-06-01"} for i in range(12)]
body = {"data": {"items": items, "late": False, "recipient": {"id": "M001", "name": "周海燕"}, "send_at": "2027-06-01T08:30:00+08:00"},
        "timestamp": "2027-06-01T08:30:00+08:00", "type": "reminder.digest"}
open(sys.argv[1], "w").write(json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
PY
echo "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" > "$work/secret"
${WRAP:-} taskset -c 0 "$bin" "$port" "$n" "$work/body.json" "$work/secret"
# The same sends with the whole run on the client's event loop: the channel alone, without the hand-over between the
# dispatcher's task and the loop at each send (which the dispatcher keeps: it writes each result to SQLite first).
ON_LOOP=1 ${WRAP:-} taskset -c 0 "$bin" "$port" "$n" "$work/body.json" "$work/secret"
# curl: the same body and headers, COUNT requests from one process. Each block of a --config file is one transfer
# (options do not carry over a "next"), so every block repeats them.
python3 - "$work" "$port" "$n" <<'PY'
import sys
work, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
block = (f'url = "http://127.0.0.1:{port}/hook"\nrequest = "POST"\noutput = "/dev/null"\n'
         'header = "Content-Type: application/json; charset=utf-8"\nheader = "webhook-id: digest:M001:1811975400:bench"\n'
         'header = "webhook-timestamp: 1811975400"\nheader = "webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="\n'
         f'data-binary = "@{work}/body.json"\n')
open(f"{work}/curl.conf", "w").write("next\n".join([block] * n))
PY
for mode in sequential parallel; do
    extra=()
    [ "$mode" = parallel ] && extra=(--parallel --parallel-max 50)
    t0=$(date +%s.%N)
    taskset -c 0 curl -s --no-progress-meter "${extra[@]}" --config "$work/curl.conf" 2>/dev/null
    t1=$(date +%s.%N)
    printf 'curl (%s): %d POSTs of %d bytes in %.2f s: %.0f/s\n' "$mode" "$n" "$(stat -c %s "$work/body.json")" \
        "$(echo "$t1 - $t0" | bc -l)" "$(echo "$n / ($t1 - $t0)" | bc -l)"
done
