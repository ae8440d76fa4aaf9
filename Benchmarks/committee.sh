# Sourced by the benchmarks: a generated committee in a scratch folder, at the size a roster of N members implies
# (60 党总支 with 50 党支部 each, about 33 members per branch), on the default rule catalog; and `measure`, which
# times a whole command.
#
#     committee WORK N [EXTRA-CONFIG]   writes WORK/{organization.toml,roster.csv,rules.toml,templates,config.toml}
#     scratch_committee N               the same in a new scratch folder, with the release `guanhuai` built (or $GUANHUAI): sets work,
#                                       bin and c (the --config arguments); the folder goes on exit unless KEEP is set
#     imported_committee N              scratch_committee, with the organisation and the roster imported
#     measure RUNS LABEL COMMAND…       runs it RUNS times, stdout to /dev/null: median, min, max, largest peak RSS
committee() {
    local work=$1 n=$2 extra=${3:-}
    # Past the default roster limit (200,000), raised for the benchmark, as an operator would.
    local limit=""
    [ "$n" -le 200000 ] || limit="max_members = $n"
    python3 Benchmarks/make_committee.py "$work" "$n"
    cp Config/rules.toml "$work/"
    cp -r Config/templates "$work/"
    cat > "$work/config.toml" <<CONF
[guanhuai]
time_zone = "Asia/Shanghai"
[files]
rules = "rules.toml"
organization = "organization.toml"
roster = "roster.csv"
$limit
[database]
path = "state/guanhuai.sqlite"
$extra
CONF
}

scratch_committee() {
    work=$(mktemp -d)
    trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
    echo "work: $work" >&2
    # GUANHUAI names a built binary (the packaged one, .build/install/release/guanhuai); else the release build.
    if [ -n "${GUANHUAI:-}" ]; then bin=$GUANHUAI; else swift build -c release --product guanhuai >/dev/null; bin=.build/release/guanhuai; fi
    committee "$work" "$1"
    c=(--config "$work/config.toml")
}

imported_committee() {
    scratch_committee "$1"
    $bin import orgs "${c[@]}" >/dev/null
    $bin import roster "${c[@]}" >/dev/null
}

# The whole process, timed from outside, with its peak RSS from wait4's rusage.
measure() {
    python3 - "$@" <<'PY'
import os, statistics, sys, time
runs, label, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
times, rss = [], []
for _ in range(runs):
    t = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.execv(argv[0], argv)
    _, status, usage = os.wait4(pid, 0)
    times.append(time.perf_counter() - t)
    rss.append(usage.ru_maxrss / 1024)
    if status != 0:
        sys.exit(f"{label}: exit status {status}")
print(f"{label}: median {statistics.median(times):.3f} s of {runs} (min {min(times):.3f}, max {max(times):.3f}), "
      f"peak RSS {max(rss):.0f} MB")
PY
}

# PostgreSQL 15 for a benchmark, in a temporary directory with its default durability (fsync, synchronous_commit on),
# reached over its Unix socket only, run as the postgres user when the benchmark runs as root.
#     start_postgres          starts it: sets pgdir and pgport
#     pg_database NAME        creates database NAME and prints its URL
#     stop_postgres           stops it and removes it (a no-op when none was started)
PG=/usr/lib/postgresql/15/bin
as_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
start_postgres() {
    pgdir=$(mktemp -d)
    [ "$(id -u)" != 0 ] || chown postgres: "$pgdir"
    pgport=$((40000 + RANDOM % 9000))
    as_pg $PG/initdb -D "$pgdir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    printf "listen_addresses = ''\nunix_socket_directories = '%s'\nport = %d\n" "$pgdir" "$pgport" >> "$pgdir/data/postgresql.conf"
    as_pg $PG/pg_ctl -D "$pgdir/data" -l "$pgdir/log" -w start >/dev/null
}
pg_database() {
    as_pg $PG/psql -h "$pgdir" -p "$pgport" -U postgres -qc "CREATE DATABASE $1"
    echo "postgresql://postgres@$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$pgdir"):$pgport/$1"
}
stop_postgres() {
    [ -n "${pgdir:-}" ] || return 0
    as_pg $PG/pg_ctl -D "$pgdir/data" -m fast -w stop >/dev/null || true
    rm -rf "$pgdir"
    pgdir=
}
