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
# The same six-line 模板卡片 as workapp-benchmark.sh, which the stand-in checks against the documented rules.
python3 - "$work" <<'PY'
import json, sys
link = "https://guanhuai.example.edu.cn/i/" + "A" * 120
lines = [{"keyname": "逾期提醒", "value": f"七一走访慰问（某某某{i}）07-01", "type": 1, "url": f"{link}{i}/done"} for i in range(6)]
card = {"msgtype": "template_card", "template_card": {
    "card_type": "text_notice", "source": {"desc": "关怀提醒"},
    "main_title": {"title": "6 项关怀事项待办理", "desc": "周海燕同志 · 2027-06-01"},
    "sub_title_text": "其中 6 项已逾期。点事项登记办结，点卡片看全部待办。", "horizontal_content_list": lines,
    "jump_list": [{"type": 1, "title": "我的待办", "url": "https://guanhuai.example.edu.cn/me/" + "B" * 120}],
    "card_action": {"type": 1, "url": "https://guanhuai.example.edu.cn/me/" + "B" * 120}}}
open(f"{sys.argv[1]}/card.json", "w").write(json.dumps(card, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
PY
sleep 1
for _ in $(seq "$runs"); do
    for width in 1 4; do IN_FLIGHT=$width "$bin" workapp "$port" "$n" "$work/card.json" "$work/secret"; done
done
python3 - "$work/log.jsonl" <<'PY'
import json, sys
sends = [r for r in map(json.loads, open(sys.argv[1])) if r.get("kind") == "send"]
print(f"the stand-in: {len(sends)} sends, at most {max(r.get('in_flight', 0) for r in sends)} answered at once")
PY
