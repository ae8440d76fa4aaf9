#!/usr/bin/env bash
# SQLite beside PostgreSQL in one run (release build), on a generated committee of N members (default 100,000):
#   - guanhuai db copy, SQLite → PostgreSQL and back, the whole command (median of 3, each into a new database);
#   - the store's operations on both engines (StoreEngineBenchmark): planning's read of the whole committee,
#     queueing 10,000 messages, claiming and recording 2,000;
#   - the whole commands on either store: plan --format json, 组织部's and a branch secretary's agenda, report --year.
# PostgreSQL 15 runs in a temporary directory with its default durability (fsync, synchronous_commit on), reached
# over its Unix socket, as the `postgres` user when run as root.
#     bash Benchmarks/pg-store-benchmark.sh [MEMBERS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
. Benchmarks/committee.sh
imported_committee "$n"
swift build -c release --product StoreEngineBenchmark >/dev/null
PG=/usr/lib/postgresql/15/bin
as_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
pgdir=$(mktemp -d)
[ "$(id -u)" != 0 ] || chown postgres: "$pgdir"
port=$((40000 + RANDOM % 9000))
as_pg $PG/initdb -D "$pgdir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
printf "listen_addresses = ''\nunix_socket_directories = '%s'\nport = %d\n" "$pgdir" "$port" >> "$pgdir/data/postgresql.conf"
as_pg $PG/pg_ctl -D "$pgdir/data" -l "$pgdir/log" -w start >/dev/null
trap 'as_pg $PG/pg_ctl -D "$pgdir/data" -m fast -w stop >/dev/null; rm -rf "$pgdir"; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
enc=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$pgdir")
url() { echo "postgresql://postgres@$enc:$port/$1"; }
for i in 1 2 3; do as_pg $PG/psql -h "$pgdir" -p "$port" -U postgres -qc "CREATE DATABASE copy$i"; done
echo "committee: $n members; PostgreSQL $($PG/postgres --version | awk '{print $3}')"
python3 - "$bin" "$work/state/guanhuai.sqlite" "$(url copy)" "$work" <<'PY'
import statistics, subprocess, sys, time
bin, sqlite, url, work = sys.argv[1:5]
def run(args):
    t = time.perf_counter()
    subprocess.run([bin, "db", "copy", *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t
there = [run(["--from", "sqlite:" + sqlite, "--to", f"{url}{i}"]) for i in (1, 2, 3)]
back = [run(["--from", f"{url}1", "--to", f"sqlite:{work}/back{i}/guanhuai.sqlite"]) for i in (1, 2, 3)]
print(f"db copy SQLite → PostgreSQL: median {statistics.median(there):.2f} s of 3 (min {min(there):.2f}, max {max(there):.2f})")
print(f"db copy PostgreSQL → SQLite: median {statistics.median(back):.2f} s of 3 (min {min(back):.2f}, max {max(back):.2f})")
PY
.build/release/StoreEngineBenchmark "$work/state/guanhuai.sqlite" "$(url copy1)" 5
# The whole commands on either store, side by side in this run (median of 3 each): the same committee, the
# configuration differing only in [database] (the SQLite file, or `url` of the copy on PostgreSQL).
sed "s|^path = \"state/guanhuai.sqlite\"|url = \"$(url copy1)\"|" "$work/config.toml" > "$work/config-pg.toml"
year=(--from 2027-01-01 --to 2027-12-31 --now 2027-12-31)
for engine in sqlite postgresql; do
    cfg=(--config "$work/config.toml")
    [ "$engine" = sqlite ] || cfg=(--config "$work/config-pg.toml")
    measure 3 "$engine: plan --format json, one year" $bin plan "${year[@]}" --format json "${cfg[@]}"
    measure 3 "$engine: agenda --person ZZB (组织部)" $bin agenda --person ZZB --now 2027-03-01 "${cfg[@]}"
    measure 3 "$engine: agenda --person S7-3 (a branch secretary)" $bin agenda --person S7-3 --now 2027-03-01 "${cfg[@]}"
    measure 3 "$engine: report --year 2027" $bin report --year 2027 --now 2027-12-31 "${cfg[@]}"
done
# guanhuai import roster on either store, the whole command: into an empty store (every member added), then the
# same file again (every member compared, none written). Median of 3, each into a new database.
for i in 1 2 3; do as_pg $PG/psql -h "$pgdir" -p "$port" -U postgres -qc "CREATE DATABASE import$i"; done
python3 - "$bin" "$work" "$(url import)" <<'PY'
import re, statistics, subprocess, sys, time
bin, work, url = sys.argv[1:4]
base = open(f"{work}/config.toml").read()
def config(i, engine):
    path = f"{work}/config-import-{engine}{i}.toml"
    store = f'path = "import-{i}/guanhuai.sqlite"' if engine == "sqlite" else f'url = "{url}{i}"'
    open(path, "w").write(re.sub(r'^path = .*$', store, base, flags=re.M))
    return path
def timed(args):
    t = time.perf_counter()
    subprocess.run([bin, *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t
for engine in ("sqlite", "postgresql"):
    first, again = [], []
    for i in (1, 2, 3):
        cfg = config(i, engine)
        subprocess.run([bin, "import", "orgs", "--config", cfg], check=True, stdout=subprocess.DEVNULL)
        first.append(timed(["import", "roster", "--config", cfg]))
        again.append(timed(["import", "roster", "--config", cfg]))
    for label, t in (("into an empty store", first), ("again, nothing changed", again)):
        print(f"{engine}: import roster {label}: median {statistics.median(t):.2f} s of 3 (min {min(t):.2f}, max {max(t):.2f})")
PY
