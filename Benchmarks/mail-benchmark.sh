#!/usr/bin/env bash
# Mail benchmark (release build): 10,000 rendered digests delivered by guanhuai's SMTP client to postfix's
# smtp-sink, and in the same run postfix's smtp-source sending as many messages of the same size to the same sink.
#
#     bash Benchmarks/mail-benchmark.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
if ! command -v smtp-sink >/dev/null && [ ! -x /usr/sbin/smtp-sink ]; then
    # postfix brings smtp-sink and smtp-source; "No configuration" keeps it from setting up a mail system.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get -y -qq --fix-broken install >/dev/null && apt-get install -y -qq postfix >/dev/null
fi
PATH=$PATH:/usr/sbin
swift build -c release --product MailBenchmark >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
smtp-sink -u nobody 127.0.0.1:$port 256 &
sink=$!
trap 'kill $sink 2>/dev/null || true' EXIT
sleep 0.5
out=$(taskset -c 0 .build/release/MailBenchmark "$port" "$n")
echo "$out" | grep -v '^size'
size=$(echo "$out" | sed -n 's/^size //p')
t0=$(date +%s.%N)
taskset -c 0 smtp-source -d -s 1 -m "$n" -l "$size" -f guanhuai@example.edu.cn -t b@example.edu.cn 127.0.0.1:$port
t1=$(date +%s.%N)
printf 'smtp-source: %d messages of %d bytes over one connection in %.2f s: %.0f messages/s\n' "$n" "$size" \
    "$(echo "$t1 - $t0" | bc -l)" "$(echo "$n / ($t1 - $t0)" | bc -l)"
