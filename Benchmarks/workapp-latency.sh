#!/usr/bin/env bash
# Work-app messages where each answer takes a round trip (release build): COUNT 企业微信 应用消息 through
# WorkAppChannel to work_app_server.py answering each send after DELAY seconds (as the provider across the Internet
# might), one at a time and as the dispatcher sends (in_flight = 4), alternately, RUNS times each.
#
#     bash Benchmarks/workapp-latency.sh [COUNT] [DELAY] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-300}
delay=${2:-0.03}
runs=${3:-2}
swift build -c release --product WebhookBenchmark >/dev/null
bin=.build/release/WebhookBenchmark
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 Tests/GuanhuaiDeliveryTests/Servers/work_app_server.py --log "$work/log.jsonl" --corpid ww-bench --secret bench-secret \
    --send-delay "$delay" --port "$port" >/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
echo "bench-secret" > "$work/secret"
# The six-line 模板卡片 of workapp-benchmark.sh, which the stand-in checks against the documented rules.
python3 Benchmarks/workapp_card.py "$work"
sleep 1
for _ in $(seq "$runs"); do
    for width in 1 4; do IN_FLIGHT=$width "$bin" workapp "$port" "$n" "$work/card.json" "$work/secret"; done
done
python3 - "$work/log.jsonl" <<'PY'
import json, sys
sends = [r for r in map(json.loads, open(sys.argv[1])) if r.get("kind") == "send"]
print(f"the stand-in: {len(sends)} sends, at most {max(r.get('in_flight', 0) for r in sends)} answered at once")
PY
