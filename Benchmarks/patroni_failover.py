#!/usr/bin/env python3
"""Failover under load with Patroni doing the failing over, as production would (failover_load.py runs the load and
reports).

etcd (Debian's etcd-server, one member) and two Patroni nodes (Debian's patroni) with Patroni's defaults — the leader
key lives 30 s (`ttl`), the leader renews it every 10 s (`loop_wait`) — and synchronous replication
(`synchronous_mode: true`), two guanhuaid (release build) on a generated committee sending to aiosmtpd, and N times:
the leader node killed with SIGKILL (its Patroni and its postgres), the replica taking the leader key once it expires
and promoting itself (its REST API then says so), the killed node started again (it rejoins as the replica, pg_rewind
included). Root only (the servers run as `postgres`).

    python3 Benchmarks/patroni_failover.py [FAILOVERS] [MEMBERS]     (defaults: 100, 2000)

GUANHUAID overrides the binary (default .build/release/guanhuaid, built if missing); SMTP_DELAY the seconds aiosmtpd
takes per message (default 0.3)."""
import json, os, shutil, subprocess, sys, tempfile, time, urllib.request

import failover_load

failovers = int(sys.argv[1]) if len(sys.argv) > 1 else 100
members = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
if os.geteuid() != 0:
    sys.exit("run as root: the database servers run as the postgres user")
bindir = failover_load.bindir
if not shutil.which("patroni") or not shutil.which("etcd"):
    subprocess.run(["apt-get", "install", "-y", "patroni", "etcd-server"], check=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    # The package's own etcd service is not ours: the test runs its own in the scratch directory.
    subprocess.run(["pkill", "-x", "etcd"])

PORTS = {"a": (56101, 58101), "b": (56102, 58102)}  # postgres, REST API
ETCD = 52379


class Patroni:
    nodes = ("a", "b")
    url = "postgresql://postgres@localhost:56101,localhost:56102/guanhuai"

    def __init__(self, work):
        self.work = work
        self.agents = {}
        self.etcd = None

    def spawn(self, args, log):
        return subprocess.Popen(["runuser", "-u", "postgres", "--", *args], cwd="/", stdout=open(log, "a"), stderr=subprocess.STDOUT,
                                start_new_session=True)

    def config(self, name):
        pg, rest = PORTS[name]
        work = self.work
        return f"""scope: guanhuai
name: {name}
restapi:
  listen: 127.0.0.1:{rest}
  connect_address: 127.0.0.1:{rest}
etcd3:
  hosts: 127.0.0.1:{ETCD}
bootstrap:
  dcs:
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      parameters:
        wal_log_hints: "on"
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host all all ::1/128 trust
    - host replication all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1,::1:{pg}
  connect_address: 127.0.0.1:{pg}
  data_dir: {work}/{name}
  bin_dir: {bindir}
  pgpass: {work}/pgpass-{name}
  authentication:
    superuser:
      username: postgres
      password: unused
    replication:
      username: postgres
      password: unused
    rewind:
      username: postgres
      password: unused
  parameters:
    unix_socket_directories: {work}
"""

    def agent(self, name):
        self.agents[name] = self.spawn(["patroni", f"{self.work}/{name}.yml"], f"{self.work}/{name}.log")

    def role(self, name):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORTS[name][1]}/patroni", timeout=1) as r:
                s = json.load(r)
        except Exception:
            return None
        if s.get("state") != "running":
            return s.get("state")
        return "primary" if s.get("role") in ("master", "primary") else s.get("role")

    def roles(self):
        out = {}
        for n in self.nodes:
            r = self.role(n)
            if r is not None:
                out[n] = r
        return out

    def healthy(self):
        # The replica must be the synchronous standby: only it may be promoted (synchronous_mode), so a kill before
        # then would wait for ever.
        for name in self.nodes:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{PORTS[name][1]}/cluster", timeout=1) as r:
                    members = json.load(r).get("members", [])
            except Exception:
                continue
            return sorted((m.get("role"), m.get("state")) for m in members) in (
                [("leader", "running"), ("sync_standby", "streaming")], [("leader", "running"), ("sync_standby", "running")])
        return False

    def start(self):
        work = self.work
        self.etcd = subprocess.Popen(
            ["etcd", "--name", "e", "--data-dir", f"{work}/etcd", "--listen-client-urls", f"http://127.0.0.1:{ETCD}",
             "--advertise-client-urls", f"http://127.0.0.1:{ETCD}", "--listen-peer-urls", f"http://127.0.0.1:{ETCD + 1}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{ETCD + 1}", "--initial-cluster", f"e=http://127.0.0.1:{ETCD + 1}"],
            stdout=open(f"{work}/etcd.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
        time.sleep(2)
        for name in self.nodes:
            with open(f"{work}/{name}.yml", "w") as f:
                f.write(self.config(name))
            shutil.chown(f"{work}/{name}.yml", "postgres", "postgres")
        self.agent("a")
        deadline = time.time() + 120
        while time.time() < deadline and self.role("a") != "primary":
            time.sleep(1)
        subprocess.run(["runuser", "-u", "postgres", "--", f"{bindir}/psql", "-h", "127.0.0.1", "-p", str(PORTS["a"][0]), "-U", "postgres",
                        "-qc", "CREATE DATABASE guanhuai"], cwd="/", check=True)
        self.agent("b")
        deadline = time.time() + 180
        while time.time() < deadline and not self.healthy():
            time.sleep(1)

    def kill(self, name):
        os.killpg(self.agents[name].pid, 9)
        failover_load.kill_postmaster(f"{self.work}/{name}")

    def restart(self, name):
        self.agent(name)

    def stop(self):
        for p in [*self.agents.values(), self.etcd]:
            try:
                os.killpg(p.pid, 9)
            except (OSError, AttributeError):
                pass


work = tempfile.mkdtemp(prefix="guanhuai-patroni-")
shutil.chown(work, "postgres", "postgres")
os.chmod(work, 0o755)
failover_load.run(Patroni(work), work, failovers, members)
