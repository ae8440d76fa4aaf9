#!/usr/bin/env bash
# Runs a command beside a real systemd-journald of its own (../shared/systemd.md, recipe 2), then writes what the
# journal holds as JSON lines to OUT.
#     with_journald.sh OUT COMMAND...
# The command's stderr is a journal stream (systemd-cat) and $JOURNAL_STREAM names it, as systemd would set it.
set -euo pipefail
out=$1
shift
exec unshare --mount --propagation private bash -euo pipefail -c '
    out=$1; shift
    mount -t tmpfs tmpfs /run
    mkdir -p /run/systemd/journal /run/log/journal
    /lib/systemd/systemd-journald &
    journald=$!
    for _ in $(seq 100); do [ -S /run/systemd/journal/stdout ] && break; sleep 0.05; done
    systemd-cat -t guanhuaid bash -c '\''export JOURNAL_STREAM=$(stat -L -c "%d:%i" /proc/self/fd/2); exec "$@"'\'' bash "$@" || true
    sleep 0.5
    journalctl -D /run/log/journal -o json --no-pager > "$out"
    kill $journald
' bash "$out" "$@"
