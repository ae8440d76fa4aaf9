#!/usr/bin/env bash
# Work-app benchmark (release build): COUNT 企业微信 应用消息 (a digest's 模板卡片, one person each) sent through
# WorkAppChannel as the dispatcher sends them (the channel's in_flight at once, 4 by default), to a local nginx
# answering as 企业微信's gettoken and message/send do; the same one at a time (in_flight = 1); then curl posting the
# same bodies COUNT times over one keep-alive connection (a --config file). Issue 32 asks for at least 95 % of curl's
# rate, and no token fetch beyond the first. The stand-in has no rate limit, so the channel is run without its pace
# (per_minute = 0).
#
#     bash Benchmarks/workapp-benchmark.sh [COUNT] [RUNS]
#
# WRAP="perf record -g -o F --" profiles the channel's runs.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
runs=${2:-3}
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get -y -qq --fix-broken install >/dev/null && apt-get install -y -qq nginx-light >/dev/null
fi
PATH=$PATH:/usr/sbin
swift build -c release --product WebhookBenchmark >/dev/null
bin=.build/release/WebhookBenchmark
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 1024; }
http {
    access_log $work/access.log;
    client_body_temp_path $work;
    keepalive_requests 1000000;
    default_type application/json;
    server {
        listen 127.0.0.1:$port;
        location = /cgi-bin/gettoken { return 200 '{"errcode":0,"errmsg":"ok","access_token":"bench-token","expires_in":7200}'; }
        location = /cgi-bin/message/send { return 200 '{"errcode":0,"errmsg":"ok","invaliduser":"","msgid":"m"}'; }
    }
}
CONF
taskset -c 1 nginx -c "$work/nginx.conf" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
sleep 0.5
echo "bench-secret" > "$work/secret"
python3 Benchmarks/workapp_card.py "$work"
python3 - "$work" "$port" "$n" <<'PY'
import sys
work, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
block = (f'url = "http://127.0.0.1:{port}/cgi-bin/message/send?access_token=bench-token"\nrequest = "POST"\noutput = "/dev/null"\n'
         f'header = "Content-Type: application/json; charset=utf-8"\ndata-binary = "@{work}/body.json"\n')
open(f"{work}/curl.conf", "w").write("next\n".join([block] * n))
PY
ours=()
single=()
theirs=()
for _ in $(seq "$runs"); do
    : > "$work/access.log"
    out=$(taskset -c 0 ${WRAP:-} "$bin" workapp "$port" "$n" "$work/card.json" "$work/secret")
    echo "$out"
    ours+=("$(echo "$out" | sed -n 's/.*: \([0-9]*\)\/s.*/\1/p')")
    tokens=$(grep -c 'GET /cgi-bin/gettoken' "$work/access.log" || true)
    echo "  nginx saw $tokens gettoken for $((n + 1)) messages"
    out=$(IN_FLIGHT=1 taskset -c 0 "$bin" workapp "$port" "$n" "$work/card.json" "$work/secret")
    echo "$out"
    single+=("$(echo "$out" | sed -n 's/.*: \([0-9]*\)\/s.*/\1/p')")
    t0=$(date +%s.%N)
    taskset -c 0 curl -s --no-progress-meter --config "$work/curl.conf" 2>/dev/null
    t1=$(date +%s.%N)
    rate=$(echo "$n / ($t1 - $t0)" | bc -l)
    printf 'curl: %d POSTs of %d bytes over one connection in %.2f s: %.0f/s\n' "$n" "$(stat -c %s "$work/body.json")" "$(echo "$t1 - $t0" | bc -l)" "$rate"
    theirs+=("$(printf '%.0f' "$rate")")
done
python3 - "${ours[*]}" "${single[*]}" "${theirs[*]}" <<'PY'
import statistics, sys
a, one, b = ([float(x) for x in arg.split()] for arg in sys.argv[1:4])
m = statistics.median
print(f"median of {len(a)}: guanhuai {m(a):.0f}/s as the dispatcher sends ({100 * m(a) / m(b):.0f} % of curl), "
      f"{m(one):.0f}/s one at a time ({100 * m(one) / m(b):.0f} %); curl over one connection {m(b):.0f}/s")
PY
