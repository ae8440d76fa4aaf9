#!/usr/bin/env python3
"""Daemon benchmark (release build): start to READY=1, idle RSS, and wake-ups while idle.

    [GUANHUAID=PATH] python3 Benchmarks/daemon_benchmark.py [--members N] [--idle SECONDS] [--watchdog-usec U] [--postgresql]

Generates a committee of N members (60 党总支 × 50 党支部), imports it with the release `guanhuai`, then starts the
release `guanhuaid` with a fake service manager (NOTIFY_SOCKET) and a test clock set to an hour with no send time.
Wake-ups are the process's context switches (/proc/PID/status, all threads) over the idle window; the expected
floor is one per watchdog ping.
"""
import argparse, os, re, shutil, socket, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
a = argparse.ArgumentParser()
a.add_argument("--members", type=int, default=100000)
a.add_argument("--idle", type=int, default=120)
a.add_argument("--watchdog-usec", type=int, default=60000000)
a.add_argument("--postgresql", action="store_true", help="the store on a temporary PostgreSQL 15, not SQLite")
args = a.parse_args()

work = tempfile.mkdtemp(prefix="guanhuai-bench-")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_committee
make_committee.write(work, args.members)
shutil.copy(os.path.join(root, "Config/rules.toml"), work)
shutil.copytree(os.path.join(root, "Config/templates"), os.path.join(work, "templates"))
pg = None
if args.postgresql:
    import pg_temp
    pg = pg_temp.Server()
    store = 'url = "%s"\n' % pg.url(pg.create_database("bench"))
else:
    store = 'path = "state/guanhuai.sqlite"\n'
limit = "max_members = %d\n" % args.members if args.members > 200000 else ""
with open(os.path.join(work, "config.toml"), "w") as f:
    f.write('[guanhuai]\ntime_zone = "Asia/Shanghai"\n[files]\nrules = "rules.toml"\norganization = "organization.toml"\n'
            'roster = "roster.csv"\n' + limit + '[database]\n' + store)
# The daemon to measure: GUANHUAID= names one (the installed build: .build/install/release/guanhuaid after
# `make release`); the CLI beside it imports the committee.
daemon = os.path.abspath(os.environ.get("GUANHUAID") or os.path.join(root, ".build/release/guanhuaid"))
cli = os.path.join(os.path.dirname(daemon), "guanhuai")
cfg = os.path.join(work, "config.toml")
subprocess.run([cli, "import", "orgs", "--config", cfg], check=True, stdout=subprocess.DEVNULL)
t_import = time.monotonic()
subprocess.run([cli, "import", "roster", "--config", cfg], check=True, stdout=subprocess.DEVNULL)
print("store: %s; import roster: %.1f s" % ("PostgreSQL " + pg.version if pg else "SQLite", time.monotonic() - t_import))

sock_path = os.path.join(work, "notify.sock")
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(sock_path)
clock = os.path.join(work, "clock")
with open(clock, "w") as f:
    f.write("1811822400\n")  # 2027-06-01 04:00 Beijing: no send time for hours
env = {"PATH": "/usr/bin:/bin", "NOTIFY_SOCKET": sock_path, "WATCHDOG_USEC": str(args.watchdog_usec),
       "GUANHUAI_TEST_CLOCK_FILE": clock, "GUANHUAI_LOG_LEVEL": "debug"}
log = open(os.path.join(work, "daemon.log"), "w")
t0 = time.monotonic()
p = subprocess.Popen([daemon, "--config", cfg], env=env, stderr=log)
ready = None
pings = 0
sock.settimeout(30)
while ready is None:
    msg = sock.recv(4096).decode()
    if msg.startswith("READY=1"):
        ready = time.monotonic() - t0
print("members: %d" % args.members)
print("start to READY=1: %.0f ms" % (ready * 1000))

def status(pid):
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        for line in open("/proc/%d/task/%s/status" % (pid, tid)):
            k, _, v = line.partition(":")
            if k in ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"):
                out[k] = out.get(k, 0) + int(v.split()[0])
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:") or line.startswith("VmHWM:"):
            out[line.split(":")[0]] = int(line.split()[1])
    return out

# Let the first plan finish, then watch an idle window.
settle = time.monotonic() + 15
sock.settimeout(0.5)
while time.monotonic() < settle:
    try:
        sock.recv(4096)
    except socket.timeout:
        pass
before = status(p.pid)
def wakes():
    text = open(os.path.join(work, "daemon.log")).read()
    return text.count("scheduler sleeps"), text.count("dispatcher sleeps")
wakes_before = wakes()
t1 = time.monotonic()
while time.monotonic() - t1 < args.idle:
    try:
        if sock.recv(4096).decode() == "WATCHDOG=1":
            pings += 1
    except socket.timeout:
        pass
after = status(p.pid)
wakes_after = wakes()
elapsed = time.monotonic() - t1
switches = (after["voluntary_ctxt_switches"] - before["voluntary_ctxt_switches"]) + \
           (after["nonvoluntary_ctxt_switches"] - before["nonvoluntary_ctxt_switches"])
print("idle RSS after the first plan: %.1f MB (peak %.1f MB)" % (after["VmRSS"] / 1024, after["VmHWM"] / 1024))
# What the resident memory is: anonymous (heap, stacks) against file-backed (the binary's and libraries' pages).
roll = {}
for line in open("/proc/%d/smaps_rollup" % p.pid):
    k, _, v = line.partition(":")
    if v.strip().endswith("kB"):
        roll[k] = int(v.split()[0])
print("  of which anonymous %.1f MB, file-backed %.1f MB" % (roll.get("Anonymous", 0) / 1024, (roll.get("Rss", 0) - roll.get("Anonymous", 0)) / 1024))
# File-backed pages by file, largest first (the binary, each library).
by_file = {}
name = None
for line in open("/proc/%d/smaps" % p.pid):
    head = line.split()
    if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
        name = head[5] if len(head) > 5 and head[5].startswith("/") else None
    elif name and head[0] in ("Rss:", "Anonymous:"):
        by_file[name] = by_file.get(name, 0) + (int(head[1]) if head[0] == "Rss:" else -int(head[1]))
for f, kb in sorted(by_file.items(), key=lambda x: -x[1])[:8]:
    print("    %-40s %5.1f MB" % (os.path.basename(f), kb / 1024))
sched = wakes_after[0] - wakes_before[0]
disp = wakes_after[1] - wakes_before[1]
print("idle window %.0f s: %d watchdog pings; the scheduler woke %d times, the dispatcher %d times = %.0f wake-ups per hour"
      % (elapsed, pings, sched, disp, (sched + disp) * 3600 / elapsed))
print("process context switches (all threads): %d = %.0f per hour, of which libdispatch's worker-pool monitor is 1 per second"
      % (switches, switches * 3600 / elapsed))

# One change, as staff make it (an event recorded with the CLI): the scheduler notices at its next wake (the audit
# generation moved) and plans again. Its CPU time (utime + stime from /proc/PID/stat) and the RSS it reaches.
def cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

before_log = wakes()[0]
cpu0 = cpu_seconds(p.pid)
subprocess.run([cli, "event", "add", "P000001", "患病住院", "--date", "2026-12-01", "--config", cfg], check=True,
               stdout=subprocess.DEVNULL)
peak = 0
t2 = time.monotonic()
# The next wake replans; it ends with a "scheduler sleeps" line. RSS is sampled every 20 ms until then.
while time.monotonic() - t2 < 90:
    peak = max(peak, status(p.pid)["VmRSS"])
    if wakes()[0] > before_log:
        break
    time.sleep(0.02)
time.sleep(0.5)
cpu1 = cpu_seconds(p.pid)
print("the step after one change (an event recorded): %.2f s CPU, RSS up to %.1f MB during it, %.1f MB after"
      % (cpu1 - cpu0, max(peak, status(p.pid)["VmRSS"]) / 1024, status(p.pid)["VmRSS"] / 1024))
p.terminate()
p.wait(10)
if pg:
    pg.stop()
shutil.rmtree(work) if not os.environ.get("KEEP") else print("work: " + work)
