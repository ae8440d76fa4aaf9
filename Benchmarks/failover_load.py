"""Failover under load, whatever does the failing over: the part pg_auto_failover.py and patroni_failover.py share.

Two guanhuaid (release build) on a generated committee send to aiosmtpd through a two-node PostgreSQL cluster that a
`Cluster` runs; N times the primary node is killed with SIGKILL (its HA agent and its postgres), the cluster promotes
the other node, and the killed node is started again (it rejoins as the standby). Reported: messages lost (must be
0), duplicates (at most 1 per kill), and from each kill the time to

  - the promotion (the other node says it is the primary), and
  - the first message whose result is recorded on the new primary,

so what dominates the second is said by the first. Root only (the servers run as `postgres`).

A Cluster has: `start()`, `url` (the libpq multi-host URL of both nodes, database guanhuai), `roles()` ({node:
role}, role "primary" or something else; a node that does not answer is left out), `kill(node)` (SIGKILL to the
node's agent and postgres; returns once both are gone), `restart(node)` and `stop()`.
"""
import calendar, os, re, shutil, signal, statistics, subprocess, sys, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
bindir = "/usr/lib/postgresql/15/bin"


def run(cluster, work, failovers, members):
    daemon = os.environ.get("GUANHUAID") or os.path.join(root, ".build/release/guanhuaid")
    if not os.path.exists(daemon):
        subprocess.run(["swift", "build", "-c", "release", "--product", "guanhuaid"], cwd=root, check=True)
    python = os.path.join(root, ".venv/bin/python")
    procs = []

    def psql(sql):
        r = subprocess.run([f"{bindir}/psql", "-At", "-c", sql, cluster.url + "?target_session_attrs=read-write&connect_timeout=2"],
                           capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else None

    def count(state):
        v = psql(f"SELECT count(*) FROM outbox WHERE state = '{state}'")
        return int(v) if v else None

    try:
        cluster.start()
        print("cluster:", cluster.roles(), flush=True)
        # The committee, the mail server, the two instances.
        subprocess.run([sys.executable, f"{root}/Benchmarks/make_committee.py", work, str(members)], check=True)
        shutil.copy(f"{root}/Config/rules.toml", work)
        shutil.copytree(f"{root}/Config/templates", f"{work}/templates")
        maildir = f"{work}/mail"
        os.makedirs(maildir)
        smtp = subprocess.Popen([python, f"{root}/Tests/GuanhuaiDeliveryTests/Servers/smtp_server.py", "--maildir", maildir,
                                 "--delay", os.environ.get("SMTP_DELAY", "0.3")], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                start_new_session=True)
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
url = "{cluster.url}?connect_timeout=2"
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
        while (count("sent") or 0) < 50:
            time.sleep(0.5)
        promotions, recoveries = [], []
        for k in range(failovers):
            if (count("pending") or 0) < 300 and send_index + 1 < len(sends):
                send_index += 1
                set_clock(sends[send_index])
                while (count("pending") or 0) < 300:
                    time.sleep(0.5)
            roles = cluster.roles()
            primary = next(n for n, r in roles.items() if r == "primary")
            other = next(n for n in cluster.nodes if n != primary)
            t0 = time.monotonic()
            cluster.kill(primary)
            promoted = before = None
            while time.monotonic() - t0 < 180:
                if promoted is None and cluster.roles().get(other) == "primary":
                    promoted = time.monotonic() - t0
                if promoted is not None and before is None:
                    before = count("sent")
                elif promoted is not None:
                    n = count("sent")
                    if n is not None and before is not None and n > before:
                        recoveries.append(time.monotonic() - t0)
                        break
                time.sleep(0.2)
            promotions.append(promoted)
            # The killed node comes back as the standby.
            cluster.restart(primary)
            deadline = time.time() + 180
            while time.time() < deadline and not cluster.healthy():
                time.sleep(0.5)
            print(f"failover {k + 1}: promoted after {promoted if promoted is None else round(promoted, 1)} s, "
                  f"first result on the new primary after {round(recoveries[-1], 1) if len(recoveries) > k else None} s", flush=True)

        # Everything sent: then compare what arrived with the outbox.
        deadline = time.time() + 600
        while time.time() < deadline and count("pending") != 0:
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
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
        cluster.stop()
        subprocess.run(["pkill", "-9", "-f", work])
        if not os.environ.get("KEEP"):
            shutil.rmtree(work, ignore_errors=True)


def kill_postmaster(datadir):
    """SIGKILL to a node's postgres (the postmaster and its children), returning once it is gone."""
    try:
        with open(f"{datadir}/postmaster.pid") as f:
            pm = int(f.readline())
    except (OSError, ValueError):
        return
    subprocess.run(["pkill", "-9", "-P", str(pm)])
    try:
        os.kill(pm, signal.SIGKILL)
    except OSError:
        return
    while True:
        try:
            os.kill(pm, 0)
            time.sleep(0.05)
        except OSError:
            return
