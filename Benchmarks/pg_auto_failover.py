#!/usr/bin/env python3
"""Failover under load with pg_auto_failover doing the failing over, as production would.

A monitor and two data nodes (Debian's postgresql-15-auto-failover, its defaults: synchronous replication, health
checks every 5 s, a node unhealthy after 20 s), two guanhuaid (release build) on a generated committee sending to
aiosmtpd, and N times: the primary node killed with SIGKILL (its keeper and its postgres), the monitor promoting the
secondary, the killed node started again (it rejoins as the secondary, pg_rewind included). Reported: messages lost
(must be 0), duplicates (at most 1 per kill), and from each kill the time to

  - the promotion (the secondary reports itself primary to the monitor), and
  - the first message whose result is recorded on the new primary,

so what dominates the second is said by the first. Root only (the servers run as `postgres`).

    python3 Benchmarks/pg_auto_failover.py [FAILOVERS] [MEMBERS]     (defaults: 100, 2000)

GUANHUAID overrides the binary (default .build/release/guanhuaid, built if missing); SMTP_DELAY the seconds aiosmtpd
takes per message (default 0.3: two instances then send about 6 a second, and 100 failovers find mail going)."""
import calendar, os, re, shutil, signal, statistics, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
failovers = int(sys.argv[1]) if len(sys.argv) > 1 else 100
members = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
if os.geteuid() != 0:
    sys.exit("run as root: the database servers run as the postgres user")
bindir = "/usr/lib/postgresql/15/bin"
if not shutil.which("pg_autoctl"):
    subprocess.run(["apt-get", "install", "-y", "postgresql-15-auto-failover", "pg-auto-failover-cli"], check=True)
daemon = os.environ.get("GUANHUAID") or os.path.join(root, ".build/release/guanhuaid")
if not os.path.exists(daemon):
    subprocess.run(["swift", "build", "-c", "release", "--product", "guanhuaid"], cwd=root, check=True)
python = os.path.join(root, ".venv/bin/python")

work = tempfile.mkdtemp(prefix="guanhuai-paf-")
shutil.chown(work, "postgres", "postgres")
os.chmod(work, 0o755)
env = dict(os.environ, XDG_CONFIG_HOME=f"{work}/xdg/config", XDG_DATA_HOME=f"{work}/xdg/data", XDG_RUNTIME_DIR=f"{work}/xdg/run",
           PG_CONFIG=f"{bindir}/pg_config")
procs = []


def as_pg(args, **kw):
    return subprocess.run(["runuser", "-u", "postgres", "--", *args], env=env, cwd="/", **kw)


def keeper(pgdata, log):
    p = subprocess.Popen(["runuser", "-u", "postgres", "--", "pg_autoctl", "run", "--pgdata", pgdata], env=env, cwd="/",
                         stdout=open(log, "a"), stderr=subprocess.STDOUT, start_new_session=True)
    procs.append(p)
    return p


def state():
    out = as_pg(["pg_autoctl", "show", "state", "--pgdata", f"{work}/monitor"], capture_output=True, text=True).stdout
    rows = {}
    for line in out.splitlines():
        cols = [c.strip() for c in line.split("|")]
        if len(cols) == 7 and cols[0] in ("a", "b"):
            rows[cols[0]] = (cols[5], cols[6])  # reported, assigned
    return rows


def psql(sql):
    r = subprocess.run([f"{bindir}/psql", "-At", "-c", sql,
                        "postgresql://postgres@localhost:56101,localhost:56102/guanhuai?target_session_attrs=read-write&connect_timeout=2"],
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def cleanup(*_):
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
    subprocess.run(["pkill", "-9", "-f", work])
    if not os.environ.get("KEEP"):
        shutil.rmtree(work, ignore_errors=True)


try:
    for d in ("config", "data", "run"):
        os.makedirs(f"{work}/xdg/{d}")
    for d in ("xdg", "xdg/config", "xdg/data", "xdg/run"):
        shutil.chown(f"{work}/{d}", "postgres", "postgres")
    common = ["--hostname", "localhost", "--auth", "trust", "--no-ssl", "--pgctl", f"{bindir}/pg_ctl"]
    as_pg(["pg_autoctl", "create", "monitor", "--pgdata", f"{work}/monitor", "--pgport", "56100", *common],
          check=True, capture_output=True)
    keeper(f"{work}/monitor", f"{work}/monitor.log")
    time.sleep(3)
    monitor = "postgres://autoctl_node@localhost:56100/pg_auto_failover?sslmode=prefer"
    keepers = {}
    for name, port in (("a", 56101), ("b", 56102)):
        as_pg(["pg_autoctl", "create", "postgres", "--pgdata", f"{work}/{name}", "--pgport", str(port), "--name", name,
               "--dbname", "guanhuai", "--monitor", monitor, *common], check=True, capture_output=True)
        keepers[name] = keeper(f"{work}/{name}", f"{work}/{name}.log")
        time.sleep(2)
    deadline = time.time() + 120
    while time.time() < deadline and sorted(v[0] for v in state().values()) != ["primary", "secondary"]:
        time.sleep(1)
    print("pg_auto_failover:", state(), flush=True)

    # The committee, the mail server, the two instances.
    subprocess.run([sys.executable, f"{root}/Benchmarks/make_committee.py", work, str(members)], check=True)
    shutil.copy(f"{root}/Config/rules.toml", work)
    shutil.copytree(f"{root}/Config/templates", f"{work}/templates")
    maildir = f"{work}/mail"
    os.makedirs(maildir)
    smtp = subprocess.Popen([python, f"{root}/Tests/GuanhuaiDeliveryTests/Servers/smtp_server.py", "--maildir", maildir,
                             "--delay", os.environ.get("SMTP_DELAY", "0.3")], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    procs.append(smtp)
    port = int(smtp.stdout.readline().split()[1])
    with open(f"{work}/config.toml", "w") as f:
        f.write(f"""[guanhuai]
time_zone = "Asia/Shanghai"
[files]
rules = "rules.toml"
organization = "organization.toml"
roster = "roster.csv"
[database]
url = "postgresql://postgres@localhost:56101,localhost:56102/guanhuai?connect_timeout=2"
claim_seconds = 60
instances = 2
[channels.mail]
type = "smtp"
host = "127.0.0.1"
port = {port}
security = "none"
from = "guanhuai@example.edu.cn"
[delivery]
retry_initial_seconds = 1
retry_max_seconds = 5
""")
    clock = f"{work}/clock"
    # The big send times of the generated committee (every branch secretary), one after another as each is sent.
    sends = ["2027-06-01", "2027-06-04", "2027-06-08", "2027-07-01", "2027-07-04", "2027-07-08", "2027-07-15"]
    send_index = 0

    def set_clock(day):
        t = calendar.timegm(time.strptime(day + " 00:29:55", "%Y-%m-%d %H:%M:%S"))  # 08:29:55 in Beijing
        with open(clock, "w") as f:
            f.write(f"{t}\n")

    set_clock(sends[0])
    denv = {"PATH": "/usr/bin:/bin", "HOME": work, "GUANHUAI_TEST_CLOCK_FILE": clock}
    for name in ("g1", "g2"):
        procs.append(subprocess.Popen([daemon, "--config", f"{work}/config.toml"], env=denv,
                                      stdout=subprocess.DEVNULL, stderr=open(f"{work}/{name}.log", "w"), start_new_session=True))

    def sent():
        v = psql("SELECT count(*) FROM outbox WHERE state = 'sent'")
        return int(v) if v else None

    def pending():
        v = psql("SELECT count(*) FROM outbox WHERE state = 'pending'")
        return int(v) if v else None

    while (sent() or 0) < 50:
        time.sleep(0.5)
    promotions, recoveries = [], []
    for k in range(failovers):
        if (pending() or 0) < 300 and send_index + 1 < len(sends):
            send_index += 1
            set_clock(sends[send_index])
            while (pending() or 0) < 300:
                time.sleep(0.5)
        st = state()
        primary = next(n for n, v in st.items() if v[0] == "primary")
        other = "b" if primary == "a" else "a"
        with open(f"{work}/{primary}/postmaster.pid") as f:
            pm = int(f.readline())
        t0 = time.monotonic()
        os.killpg(keepers[primary].pid, signal.SIGKILL)
        subprocess.run(["pkill", "-9", "-P", str(pm)])
        os.kill(pm, signal.SIGKILL)
        promoted = None
        before = None
        while time.monotonic() - t0 < 180:
            s = state()
            if promoted is None and s.get(other, ("",))[0] in ("primary", "wait_primary"):
                promoted = time.monotonic() - t0
            if promoted is not None and before is None:
                before = sent()
            elif promoted is not None:
                n = sent()
                if n is not None and before is not None and n > before:
                    recoveries.append(time.monotonic() - t0)
                    break
            time.sleep(0.2)
        promotions.append(promoted)
        # The killed node comes back as the secondary.
        while True:
            try:
                os.kill(pm, 0)
                time.sleep(0.05)
            except OSError:
                break
        keepers[primary] = keeper(f"{work}/{primary}", f"{work}/{primary}.log")
        deadline = time.time() + 180
        while time.time() < deadline and sorted(v[0] for v in state().values()) != ["primary", "secondary"]:
            time.sleep(0.5)
        print(f"failover {k + 1}: promoted after {promoted if promoted is None else round(promoted, 1)} s, "
              f"first result on the new primary after {round(recoveries[-1], 1) if len(recoveries) > k else None} s", flush=True)

    # Everything sent: then compare what arrived with the outbox.
    deadline = time.time() + 600
    while time.time() < deadline and (pending() != 0):
        time.sleep(1)
    rows = int(psql("SELECT count(*) FROM outbox WHERE channel = 'mail'"))
    ids = []
    for name in os.listdir(maildir):
        if name.endswith(".eml"):
            with open(os.path.join(maildir, name), "rb") as f:
                m = re.search(rb"^Message-ID:\s*(\S+)", f.read(20000), re.M | re.I)
                if m:
                    ids.append(m.group(1))
    unique = set(ids)
    ok = [p for p in promotions if p is not None]
    print(f"failovers: {failovers}; mail rows {rows}; received {len(ids)}; lost {rows - len(unique)}; duplicates {len(ids) - len(unique)}")
    if ok:
        print(f"kill → promoted: median {statistics.median(ok):.1f} s, max {max(ok):.1f} s")
    if recoveries:
        print(f"kill → first result on the new primary: median {statistics.median(recoveries):.1f} s, max {max(recoveries):.1f} s "
              f"({len(recoveries)} of {failovers})")
finally:
    cleanup()
