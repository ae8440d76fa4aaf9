"""PostgreSQL 15 in a temporary directory for a benchmark: initdb, its default durability (fsync, synchronous_commit
on), reached over its Unix socket only, run as the `postgres` user when the benchmark runs as root.

    import pg_temp
    pg = pg_temp.Server()
    url = pg.url(pg.create_database("bench"))
    ...
    pg.stop()
"""
import os, random, shutil, subprocess, tempfile, urllib.parse

BIN = "/usr/lib/postgresql/15/bin"


class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="guanhuai-pg-")
        self.root = os.getuid() == 0
        if self.root:
            shutil.chown(self.dir, "postgres", "postgres")
        self.port = 40000 + random.randrange(9000)
        self._as_pg([BIN + "/initdb", "-D", self.dir + "/data", "-U", "postgres", "--auth=trust", "-E", "UTF8",
                     "--locale=C.UTF-8"])
        with open(self.dir + "/data/postgresql.conf", "a") as f:
            f.write("listen_addresses = ''\nunix_socket_directories = '%s'\nport = %d\n" % (self.dir, self.port))
        self._as_pg([BIN + "/pg_ctl", "-D", self.dir + "/data", "-l", self.dir + "/log", "-w", "start"])
        self.version = subprocess.run([BIN + "/postgres", "--version"], capture_output=True, text=True).stdout.split()[-1]

    def _as_pg(self, argv):
        if self.root:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd="/")

    def create_database(self, name):
        self._as_pg([BIN + "/psql", "-h", self.dir, "-p", str(self.port), "-U", "postgres", "-qc", "CREATE DATABASE " + name])
        return name

    def url(self, database):
        return "postgresql://postgres@%s:%d/%s" % (urllib.parse.quote(self.dir, safe=""), self.port, database)

    def stop(self):
        self._as_pg([BIN + "/pg_ctl", "-D", self.dir + "/data", "-m", "fast", "-w", "stop"])
        shutil.rmtree(self.dir, ignore_errors=True)
