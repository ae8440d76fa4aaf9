public import Foundation

/// A PostgreSQL 15 server of the test's own: `initdb` and `pg_ctl` in a temporary directory, listening on a Unix
/// socket there only (no TCP, no system service). Run as the `postgres` user when the tests run as root, since the
/// server refuses root. Stopped when the test process exits.
public final class PostgresServer: Sendable {
    public let directory: String
    public let port: Int
    /// The data directory (`DIR/data`, or `DIR/data-PORT` for a standby made from another server).
    public let dataDirectory: String
    /// `DIR/.s.PGSQL.PORT`'s directory, for a URL: `postgresql://postgres@%2F…/db`.
    public var socketDirectory: String { directory }

    public static let binDirectory = "/usr/lib/postgresql/15/bin"

    /// Why the PostgreSQL tests cannot run here, or nil when they can. Under CI=true a missing server is a failure,
    /// not a skip (see `PostgresServer.required`).
    public static let unavailable: String? = {
        guard FileManager.default.isExecutableFile(atPath: binDirectory + "/postgres") else {
            return "PostgreSQL 15 is not installed (Debian: postgresql-15; Tools/install-deps installs it)"
        }
        if getuid() == 0, getpwnam("postgres") == nil { return "there is no postgres user to run the server as" }
        return nil
    }()

    /// Whether the PostgreSQL tests run: where the server is installed, and always under CI=true.
    public static var enabled: Bool { unavailable == nil || ProcessInfo.processInfo.environment["CI"] == "true" }

    /// One server for the whole test process, started on first use; each test makes its own database in it.
    public static let shared: PostgresServer? = {
        guard unavailable == nil else { return nil }
        return try? PostgresServer()
    }()

    public init(port: Int = Int.random(in: 40000...49000), extraConfig: String = "") throws {
        self.port = port
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("guanhuai-pg-\(UUID().uuidString.prefix(8))").path
        directory = dir
        dataDirectory = dir + "/data"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if getuid() == 0 {
            let pw = getpwnam("postgres")!.pointee
            chown(dir, pw.pw_uid, pw.pw_gid)
        }
        try Self.run("initdb", ["-D", dir + "/data", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "-k"])
        let conf = """
            listen_addresses = ''
            unix_socket_directories = '\(dir)'
            port = \(port)
            fsync = off
            synchronous_commit = off
            full_page_writes = off
            max_connections = 400
            wal_level = replica
            max_wal_senders = 5
            wal_keep_size = 128MB
            wal_log_hints = on
            \(extraConfig)
            """
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/data/postgresql.conf"))
        handle.seekToEndOfFile()
        handle.write(Data(("\n" + conf + "\n").utf8))
        try handle.close()
        try start()
    }

    /// A streaming standby of `primary` (pg_basebackup -R), in the same directory, on its own port, started.
    public init(standbyOf primary: PostgresServer, port: Int) throws {
        directory = primary.directory
        self.port = port
        dataDirectory = primary.directory + "/data-\(port)"
        try Self.run(
            "pg_basebackup", ["-h", directory, "-p", String(primary.port), "-U", "postgres", "-D", dataDirectory, "-R", "-X", "stream", "-c", "fast"])
        try start()
    }

    /// Starts (again) the server of this data directory.
    public func start() throws {
        try Self.run("pg_ctl", ["-D", dataDirectory, "-o", "-p \(port)", "-l", dataDirectory + ".log", "-w", "-t", "60", "start"])
        let path = dataDirectory
        Self.started.withLock { if !$0.contains(path) { $0.append(path) } }
        if Self.registered.withLock({ r in
            defer { r = true }
            return !r
        }) {
            atexit { PostgresServer.stopAll() }
        }
    }

    private static let started = LockedList()
    private static let registered = LockedFlag()

    /// Stops every server this process started (at exit).
    public static func stopAll() {
        for data in started.withLock({ $0 }) {
            try? run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
            try? FileManager.default.removeItem(atPath: (data as NSString).deletingLastPathComponent)
        }
    }

    public func stop() {
        try? Self.run("pg_ctl", ["-D", dataDirectory, "-m", "immediate", "-w", "stop"])
    }

    /// The postmaster's process id (the first line of postmaster.pid).
    public var pid: pid_t? {
        (try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8))?.split(separator: "\n").first.flatMap { pid_t($0) }
    }

    /// Sends a signal to the postmaster and every process of its group (SIGKILL: the server dies; SIGSTOP: it
    /// hangs with its sockets open; SIGCONT: it resumes).
    public func signal(_ sig: Int32) {
        guard let pid else { return }
        let group = getpgid(pid)
        // pg_ctl starts the postmaster in a session of its own; never signal a group that is not its own.
        if group == pid { kill(-group, sig) } else { kill(pid, sig) }
    }

    /// `promote()` off Swift's cooperative threads (two on this machine): a test must not starve the code it watches.
    public func promoted() async throws {
        try await withCheckedThrowingContinuation { (k: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async {
                do {
                    try self.promote()
                    k.resume()
                } catch { k.resume(throwing: error) }
            }
        }
    }

    /// The timeline this server writes or replays on.
    public func timeline() throws -> Int {
        Int(try psql("SELECT timeline_id FROM pg_control_checkpoint()")) ?? 0
    }

    /// Brings a dead former primary back as a synchronous standby of `primary` (the notes' harness): a CHECKPOINT
    /// on the new primary first (pg_rewind reads the timeline from it), wait until the old postmaster is gone,
    /// pg_rewind, start, and wait until it streams on the new primary's timeline (`received_tli`, not only the
    /// state: a diverged standby also reports 'streaming').
    public func rejoin(standbyOf primary: PostgresServer, oldPID: pid_t?) throws {

        try primary.psql("CHECKPOINT")
        if let oldPID { while kill(oldPID, 0) == 0 { usleep(10_000) } }
        try? FileManager.default.removeItem(atPath: dataDirectory + "/postmaster.pid")
        try Self.run(
            "pg_rewind", ["-D", dataDirectory, "--source-server=host=\(primary.directory) port=\(primary.port) user=postgres", "-R"])
        try start()
        let target = try primary.timeline()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let tli = (try? psql("SELECT received_tli FROM pg_stat_wal_receiver WHERE status = 'streaming'")) ?? ""
            if Int(tli) == target { break }
            usleep(50_000)
        }
        try primary.psql("ALTER SYSTEM SET synchronous_standby_names = '*'")
        try primary.psql("SELECT pg_reload_conf()")
    }

    /// Promotes a standby and waits until it takes writes; replication to others becomes asynchronous.
    public func promote() throws {
        try Self.run("pg_ctl", ["-D", dataDirectory, "-w", "-t", "60", "promote"])
        try psql("ALTER SYSTEM SET synchronous_standby_names = ''")
        try psql("SELECT pg_reload_conf()")
    }

    /// A new, empty database; returns its URL (user postgres, over the socket).
    public func createDatabase(_ given: String? = nil) throws -> String {
        let name = given ?? "t" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try psql("CREATE DATABASE \(name)")
        return url(database: name)
    }

    public func url(database: String) -> String {
        "postgresql://postgres@\(directory.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!):\(port)/\(database)"
    }

    /// Runs SQL with psql; returns its unaligned output.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        try Self.run("psql", ["-h", directory, "-p", String(port), "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
    }

    /// Runs a PostgreSQL tool (as the postgres user when root) and returns its output. posix_spawn and waitpid, not
    /// Foundation's Process: the server `pg_ctl start` leaves behind inherited what Process waits on, and the wait
    /// never ended.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        try run(path: binDirectory + "/" + tool, arguments)
    }

    @discardableResult
    static func run(path tool: String, _ arguments: [String]) throws -> String {
        // From / (the postgres user may not enter the test's directory), through a shell that changes there.
        let argv =
            ["/bin/sh", "-c", "cd / && exec \"$@\"", "sh"] + (getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : [])
            + [tool] + arguments
        let outPath = FileManager.default.temporaryDirectory.appendingPathComponent("pg-out-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for a in cArgs { free(a) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ)
        guard code == 0 else { throw PostgresServerError(message: "cannot start \(argv[0]): \(String(cString: strerror(code)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = ((try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let exited = (status & 0x7f) == 0 && ((status >> 8) & 0xff) == 0
        guard exited else {
            throw PostgresServerError(message: "\(tool) \(arguments.joined(separator: " ")) failed (status \(status)): \(text)")
        }
        return text
    }
}

public struct PostgresServerError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}

final class LockedList: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func withLock<T>(_ body: (inout [String]) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&items)
    }
}

final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func withLock<T>(_ body: (inout Bool) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

/// A primary and a synchronous standby in temporary directories, and the URL listing both (the failover tests').
public struct PostgresPair: Sendable {
    public var primary: PostgresServer
    public var standby: PostgresServer
    public var url: String

    public init() throws {
        let base = Int.random(in: 40000...48000)
        // Synchronous replication for real: a commit returns only once the standby has it.
        primary = try PostgresServer(port: base, extraConfig: "synchronous_commit = on\nfull_page_writes = on")
        try primary.psql("CREATE DATABASE guanhuai")
        standby = try PostgresServer(standbyOf: primary, port: base + 1)
        try primary.psql("ALTER SYSTEM SET synchronous_standby_names = '*'")
        try primary.psql("SELECT pg_reload_conf()")
        let dir = primary.directory.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        url = "postgresql://postgres@\(dir):\(primary.port),\(dir):\(standby.port)/guanhuai?connect_timeout=2"
    }
}

/// PgBouncer in transaction mode in front of a test server, on a Unix socket beside it: server connections are
/// shared between clients transaction by transaction, so a client that kept session state would break.
public final class PgBouncer: Sendable {
    public let server: PostgresServer
    public let port: Int

    public static let path = "/usr/sbin/pgbouncer"

    /// One for the whole test process, in front of `PostgresServer.shared`.
    public static let shared: PgBouncer? = {
        guard let server = PostgresServer.shared, FileManager.default.isExecutableFile(atPath: path) else { return nil }
        return try? PgBouncer(server: server)
    }()

    public init(server: PostgresServer, port: Int = Int.random(in: 49001...49999)) throws {
        self.server = server
        self.port = port
        let dir = server.directory
        let ini = """
            [databases]
            * = host=\(dir) port=\(server.port)
            [pgbouncer]
            listen_addr =
            unix_socket_dir = \(dir)
            listen_port = \(port)
            auth_type = trust
            auth_file = \(dir)/userlist.txt
            pool_mode = transaction
            max_client_conn = 500
            default_pool_size = 10
            logfile = \(dir)/pgbouncer.log
            pidfile = \(dir)/pgbouncer.pid

            """
        try Data(ini.utf8).write(to: URL(fileURLWithPath: dir + "/pgbouncer.ini"))
        try Data("\"postgres\" \"\"\n".utf8).write(to: URL(fileURLWithPath: dir + "/userlist.txt"))
        if getuid() == 0, let pw = getpwnam("postgres")?.pointee {
            for f in ["pgbouncer.ini", "userlist.txt"] { chown(dir + "/" + f, pw.pw_uid, pw.pw_gid) }
        }
        try PostgresServer.run(path: Self.path, ["-d", dir + "/pgbouncer.ini"])
        let socket = "\(dir)/.s.PGSQL.\(port)"
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: socket) || !FileManager.default.fileExists(atPath: dir + "/pgbouncer.pid") {
            usleep(20_000)
        }
        if let text = try? String(contentsOfFile: dir + "/pgbouncer.pid", encoding: .utf8) {
            let pid = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if Self.running.withLock({ list in
                defer { list.append(pid) }
                return list.isEmpty
            }) {
                // SIGKILL: pgbouncer inherits the test process's blocked signals (its mask survives the spawn), so a
                // SIGTERM stays pending for ever and each run left its pgbouncers behind. A test's pooler has no
                // state to save.
                atexit { for p in PgBouncer.running.withLock({ $0 }) { pid_t(p).map { _ = kill($0, SIGKILL) } } }
            }
        }
    }

    static let running = LockedList()

    /// The URL of a database on the server, through PgBouncer.
    public func url(database: String) -> String {
        "postgresql://postgres@\(server.directory.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!):\(port)/\(database)"
    }
}

/// Runs blocking work (a server tool, `psql`) on a Dispatch thread rather than one of Swift's cooperative threads
/// (two on this machine): a test that blocks them for seconds starves every other test's timers and tasks.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (k: CheckedContinuation<T, any Error>) in
        DispatchQueue.global().async {
            do { k.resume(returning: try body()) } catch { k.resume(throwing: error) }
        }
    }
}

extension PostgresServer {
    /// `shared`, started off the cooperative threads.
    public static func sharedServer() async throws -> PostgresServer {
        guard let s = try await offThePool({ PostgresServer.shared }) else {
            throw PostgresServerError(message: unavailable ?? "the test PostgreSQL server did not start")
        }
        return s
    }

    /// A new database, made off the cooperative threads; returns its URL.
    public func newDatabase() async throws -> String {
        try await offThePool { try self.createDatabase() }
    }
}
