#!/usr/bin/env python3
"""Failover under load with pg_auto_failover doing the failing over, as production would (failover_load.py runs the
load and reports).

A monitor and two data nodes (Debian's postgresql-15-auto-failover, its defaults: synchronous replication, health
checks every 5 s, a node unhealthy after 20 s), two guanhuaid (release build) on a generated committee sending to
aiosmtpd, and N times: the primary node killed with SIGKILL (its keeper and its postgres), the monitor promoting the
secondary (it reports itself primary to the monitor), the killed node started again (it rejoins as the secondary,
pg_rewind included). Root only (the servers run as `postgres`).

    python3 Benchmarks/pg_auto_failover.py [FAILOVERS] [MEMBERS]     (defaults: 100, 2000)

FAST=1 shortens pg_auto_failover's own waits, the trade-off an IT department may choose: on the monitor a node is
unhealthy after 10 s (`pgautofailover.node_considered_unhealthy_timeout`, default 20 s) and a lost primary is given
12 s to demote itself (`primary_demote_timeout`, default 30 s); each keeper demotes its primary after 10 s without the
monitor and the standby (`timeout.network_partition_timeout`, default 20 s), kept below the monitor's 12 s so that
two primaries never take writes.

GUANHUAID overrides the binary (default .build/release/guanhuaid, built if missing); SMTP_DELAY the seconds aiosmtpd
takes per message (default 0.3: two instances then send about 6 a second, and 100 failovers find mail going)."""
import os, shutil, subprocess, sys, tempfile, time

import failover_load

failovers = int(sys.argv[1]) if len(sys.argv) > 1 else 100
members = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
if os.geteuid() != 0:
    sys.exit("run as root: the database servers run as the postgres user")
bindir = failover_load.bindir
if not shutil.which("pg_autoctl"):
    subprocess.run(["apt-get", "install", "-y", "postgresql-15-auto-failover", "pg-auto-failover-cli"], check=True)


class AutoFailover:
    nodes = ("a", "b")
    url = "postgresql://postgres@localhost:56101,localhost:56102/guanhuai"

    def __init__(self, work):
        self.work = work
        self.keepers = {}
        self.env = dict(os.environ, XDG_CONFIG_HOME=f"{work}/xdg/config", XDG_DATA_HOME=f"{work}/xdg/data",
                        XDG_RUNTIME_DIR=f"{work}/xdg/run", PG_CONFIG=f"{bindir}/pg_config")

    def as_pg(self, args, **kw):
        return subprocess.run(["runuser", "-u", "postgres", "--", *args], env=self.env, cwd="/", **kw)

    def keeper(self, name):
        p = subprocess.Popen(["runuser", "-u", "postgres", "--", "pg_autoctl", "run", "--pgdata", f"{self.work}/{name}"], env=self.env,
                             cwd="/", stdout=open(f"{self.work}/{name}.log", "a"), stderr=subprocess.STDOUT, start_new_session=True)
        self.keepers[name] = p

    def state(self):
        out = self.as_pg(["pg_autoctl", "show", "state", "--pgdata", f"{self.work}/monitor"], capture_output=True, text=True).stdout
        rows = {}
        for line in out.splitlines():
            cols = [c.strip() for c in line.split("|")]
            if len(cols) == 7 and cols[0] in self.nodes:
                rows[cols[0]] = (cols[5], cols[6])  # reported, assigned
        return rows

    def roles(self):
        # The promoted secondary reports wait_primary until the old primary is back as its secondary.
        return {n: "primary" if v[0] in ("primary", "wait_primary") else v[0] for n, v in self.state().items()}

    def healthy(self):
        return sorted(v[0] for v in self.state().values()) == ["primary", "secondary"]

    def start(self):
        work = self.work
        for d in ("config", "data", "run"):
            os.makedirs(f"{work}/xdg/{d}")
        for d in ("xdg", "xdg/config", "xdg/data", "xdg/run"):
            shutil.chown(f"{work}/{d}", "postgres", "postgres")
        common = ["--hostname", "localhost", "--auth", "trust", "--no-ssl", "--pgctl", f"{bindir}/pg_ctl"]
        self.as_pg(["pg_autoctl", "create", "monitor", "--pgdata", f"{work}/monitor", "--pgport", "56100", *common],
                   check=True, capture_output=True)
        self.keeper("monitor")
        time.sleep(3)
        fast = bool(os.environ.get("FAST"))
        if fast:
            monitor_sql = [f"{bindir}/psql", "-h", "localhost", "-p", "56100", "-U", "postgres", "-d", "pg_auto_failover", "-qc"]
            for name, value in (("node_considered_unhealthy_timeout", 10000), ("primary_demote_timeout", 12000)):
                subprocess.run(monitor_sql + [f"ALTER SYSTEM SET pgautofailover.{name} TO {value}"], check=True)
            subprocess.run(monitor_sql + ["SELECT pg_reload_conf()"], check=True, stdout=subprocess.DEVNULL)
        monitor = "postgres://autoctl_node@localhost:56100/pg_auto_failover?sslmode=prefer"
        for name, port in (("a", 56101), ("b", 56102)):
            self.as_pg(["pg_autoctl", "create", "postgres", "--pgdata", f"{work}/{name}", "--pgport", str(port), "--name", name,
                        "--dbname", "guanhuai", "--monitor", monitor, *common], check=True, capture_output=True)
            if fast:
                self.as_pg(["pg_autoctl", "config", "set", "--pgdata", f"{work}/{name}", "timeout.network_partition_timeout", "10"],
                           check=True, capture_output=True)
            self.keeper(name)
            time.sleep(2)
        deadline = time.time() + 120
        while time.time() < deadline and not self.healthy():
            time.sleep(1)

    def kill(self, name):
        os.killpg(self.keepers[name].pid, 9)
        failover_load.kill_postmaster(f"{self.work}/{name}")

    def restart(self, name):
        self.keeper(name)

    def stop(self):
        for p in list(self.keepers.values()):
            try:
                os.killpg(p.pid, 9)
            except OSError:
                pass


work = tempfile.mkdtemp(prefix="guanhuai-paf-")
shutil.chown(work, "postgres", "postgres")
os.chmod(work, 0o755)
failover_load.run(AutoFailover(work), work, failovers, members)
