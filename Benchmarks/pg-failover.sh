#!/usr/bin/env bash
# Failover under load, on one machine: a primary and a synchronous standby (PostgreSQL 15 in temporary
# directories), two senders claiming from one outbox, the primary killed with SIGKILL and the standby promoted
# with pg_ctl promote, N times (the old primary rejoins with pg_rewind each time and the roles swap). Prints lost
# messages (must be 0), duplicates, and the time from each kill to the first result recorded on the new primary.
#   Benchmarks/pg-failover.sh [N]     (default 100; make test runs 3)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
swift build --build-tests >/dev/null
GUANHUAI_PG_FAILOVERS=$n .build/debug/guanhuaiPackageTests.xctest --testing-library swift-testing \
    --filter PostgresOutboxFailoverTests 2>&1 | grep -E 'outbox failovers|✔|✘'
