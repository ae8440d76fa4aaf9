import Foundation
import GRDB
import GRDBSQLite
import GuanhuaiCore

#if canImport(Glibc)
    import Glibc
    import GuanhuaiSystem
#endif

/// The embedded SQLite database shared by the daemon and the command-line tool (GRDB's DatabaseSharing.md):
/// a `DatabasePool` in persistent WAL mode, a busy timeout so writers wait for each other instead of failing, and
/// write transactions that GRDB opens IMMEDIATE so they never overlap.
public struct AppDatabase: Sendable {
    let writer: any DatabaseWriter
    public let path: String?

    /// Opens (creating when needed) the database at `path`: the directory 0700, the files 0600.
    public init(path: String, busyTimeout: Double = 5) throws(StoreError) {
        self.path = path
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            if !FileManager.default.fileExists(atPath: directory) {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
        } catch {
            throw .cannotOpen(path: path, reason: "cannot create the directory \(directory)")
        }
        // Nothing the tool writes is world-readable: the database and its -wal and -shm companions.
        let previous = umask(0o077)
        defer { umask(previous) }
        // Setup (creating the file, migrating) is serialised between processes with a lock file, as Apple's
        // NSFileCoordinator does in GRDB's guide; Linux has no NSFileCoordinator.
        var lock = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if lock < 0 { lock = open(path + ".lock", O_RDONLY | O_CLOEXEC) }  // flock needs no write access
        guard lock >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(lock) }
        do {
            try SystemError.check("flock") { flock(lock, LOCK_EX) }
        } catch {
            throw .cannotOpen(path: path, reason: "cannot lock \(path).lock: \(error)")
        }
        defer { flock(lock, LOCK_UN) }

        var config = Configuration()
        config.busyMode = .timeout(busyTimeout)
        config.prepareDatabase { db in
            if !db.configuration.readonly {
                var flag: CInt = 1
                let code = withUnsafeMutablePointer(to: &flag) { p in
                    sqlite3_file_control(db.sqliteConnection, nil, SQLITE_FCNTL_PERSIST_WAL, p)
                }
                guard code == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: code)) }
            }
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        do {
            let pool = try DatabasePool(path: path, configuration: config)
            if try pool.read(AppDatabase.migrator.hasBeenSuperseded) {
                throw StoreError.newerVersion(path: path)
            }
            try AppDatabase.migrator.migrate(pool)
            writer = pool
        } catch let e as StoreError {
            throw e
        } catch {
            throw StoreError(error, path: path)
        }
        AppDatabase.handOver(path: path, directory: directory)
    }

    /// Files this process created belong to whoever owns the state directory: the CLI run as root must not lock
    /// out guanhuaid running as its own user. They are 0600, or 0660 where the directory gives its group full access
    /// (the packaged service's 2770 /var/lib/guanhuai: the operators in the group guanhuai run the CLI on it).
    static func handOver(path: String, directory: String) {
        var dir = stat()
        guard stat(directory, &dir) == 0 else { return }
        let isRoot = getuid() == 0
        let mode = Self.fileMode(directoryMode: dir.st_mode)
        for suffix in ["", "-wal", "-shm", ".lock", ".service"] {
            var st = stat()
            guard stat(path + suffix, &st) == 0 else { continue }
            if isRoot && (st.st_uid != dir.st_uid || st.st_gid != dir.st_gid) {
                _ = chown(path + suffix, dir.st_uid, dir.st_gid)
            }
            if st.st_uid == geteuid() || isRoot { chmod(path + suffix, mode) }
        }
    }

    /// The database files' mode in a directory of this mode: the group's access only where the directory gives
    /// its group all of read, write and search.
    static func fileMode(directoryMode: mode_t) -> mode_t {
        directoryMode & 0o070 == 0o070 ? 0o660 : 0o600
    }

    /// An in-memory database, for tests and benchmarks.
    public init() throws(StoreError) {
        path = nil
        do {
            let queue = try DatabaseQueue()
            try AppDatabase.migrator.migrate(queue)
            writer = queue
        } catch {
            throw StoreError(error, path: ":memory:")
        }
    }

    /// The schema. Migrations never change once shipped: add a new one instead.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.create(table: "setting") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
            try db.create(table: "unit") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("parent", .text)
                t.column("secretary", .text)
                t.column("committee", .text).notNull()  // person ids, comma-separated
            }
            try db.create(table: "person") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("email", .text)
                t.column("mobile", .text)
                t.column("wecomUserID", .text)
                t.column("dingtalkUserID", .text)
                t.column("roles", .text).notNull()
            }
            try db.create(table: "member") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("gender", .text)
                t.column("birthDate", .text)
                t.column("joined", .text).notNull()
                t.column("fullMemberSince", .text)
                t.column("branch", .text).notNull().indexed()
                t.column("email", .text)
                t.column("mobile", .text)
                t.column("tags", .text).notNull()
                t.column("status", .text).notNull()
                t.column("statusDate", .text)
            }
            try db.create(table: "relation") { t in
                t.column("kind", .text).notNull()
                t.column("fromPerson", .text).notNull().indexed()
                t.column("toID", .text).notNull()
                t.primaryKey(["kind", "fromPerson", "toID"])
            }
            try db.create(table: "dependant") { t in
                t.primaryKey("id", .text)
                t.column("member", .text).notNull()
                t.column("name", .text).notNull()
                t.column("birthDate", .text).notNull()
            }
            try db.create(table: "event") { t in
                t.autoIncrementedPrimaryKey("seq")
                t.column("id", .text).notNull().unique()
                t.column("member", .text).notNull().indexed()
                t.column("kind", .text).notNull()
                t.column("date", .text).notNull()
                t.column("ends", .text)
                t.column("target", .text)
                t.column("note", .text)
                t.column("recordedAt", .integer).notNull()
                t.column("recordedBy", .text).notNull()
            }
            try db.create(table: "completion") { t in
                t.primaryKey("occurrence", .text)
                t.column("date", .text).notNull()
                t.column("byPerson", .text)
                t.column("note", .text)
                t.column("outcome", .text).notNull()  // done | waived
                t.column("reason", .text)
                t.column("recordedAt", .integer).notNull()
                t.column("recordedBy", .text).notNull()
            }
            try db.create(table: "outbox") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("idempotencyKey", .text).notNull().unique()
                t.column("recipient", .text).notNull()
                t.column("channel", .text).notNull()
                t.column("payload", .blob).notNull()
                t.column("state", .text).notNull().defaults(to: "pending")  // pending | sent | failed
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("nextAttemptAt", .integer)
                t.column("lastError", .text)
                t.column("sentAt", .integer)
                t.column("createdAt", .integer).notNull()
            }
            try db.create(index: "outbox_due", on: "outbox", columns: ["state", "nextAttemptAt"])
            // Who changed what: the data is sensitive personal information. Never notes or health details.
            try db.create(table: "audit") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("at", .integer).notNull()
                t.column("actor", .text).notNull()
                t.column("action", .text).notNull()
                t.column("target", .text).notNull()
                t.column("summary", .text).notNull()
            }
        }
        // v2: endpoints disabled by a 410 get a table of their own (v1 kept them tab-joined in `setting`).
        m.registerMigration("v2") { db in
            try db.create(table: "disabledEndpoint") { t in
                t.primaryKey("channel", .text)
                t.column("endpoint", .text).notNull()
                t.column("since", .integer).notNull()
                t.column("reason", .text).notNull()
            }
            for row in try Row.fetchAll(db, sql: "SELECT key, value FROM setting WHERE key LIKE 'endpoint-gone:%'") {
                let key: String = row["key"]
                let parts = (row["value"] as String).split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
                guard parts.count == 3, let since = Int64(parts[1]) else { continue }
                try db.execute(
                    sql: "INSERT INTO disabledEndpoint (channel, endpoint, since, reason) VALUES (?, ?, ?, ?)",
                    arguments: [String(key.dropFirst("endpoint-gone:".count)), String(parts[0]), since, String(parts[2])])
            }
            try db.execute(sql: "DELETE FROM setting WHERE key LIKE 'endpoint-gone:%'")
        }
        // v3: answering from the reminder. 慰问金 on completions; which occurrences each outbox row is about (so a
        // queued reminder about something done is withdrawn, and those escalated to learn it was done); link
        // revocations per person; progress notes (登记情况).
        m.registerMigration("v3") { db in
            try db.alter(table: "completion") { t in t.add(column: "amountFen", .integer) }
            try db.create(table: "outboxItem") { t in
                t.column("outbox", .integer).notNull().references("outbox", onDelete: .cascade)
                t.column("occurrence", .text).notNull().indexed()
                t.column("kind", .text).notNull()
                t.column("label", .text).notNull()
                t.primaryKey(["outbox", "occurrence"])
            }
            try db.create(table: "closedNotice") { t in
                t.column("recipient", .text).notNull()
                t.column("occurrence", .text).notNull()
                t.column("at", .integer).notNull()
                t.primaryKey(["recipient", "occurrence"])
            }
            try db.create(table: "linkGeneration") { t in
                t.primaryKey("person", .text)
                t.column("generation", .integer).notNull()
                t.column("revokedAt", .integer).notNull()
            }
            try db.create(table: "progressNote") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("occurrence", .text).notNull().indexed()
                t.column("person", .text).notNull()
                t.column("date", .text).notNull()
                t.column("note", .text).notNull()
                t.column("nonce", .text).notNull().unique()
                t.column("recordedAt", .integer).notNull()
            }
        }
        // v4: SMS. A member may opt out (短信 = 否 on the roster).
        m.registerMigration("v4") { db in
            try db.alter(table: "member") { t in t.add(column: "smsOptOut", .boolean).notNull().defaults(to: false) }
        }
        // v5: several instances on one PostgreSQL claim the rows they send (`claimToken`, by whom, until when);
        // SQLite has the same columns so that the two schemas stay one, and a committee moves between them.
        m.registerMigration("v5") { db in
            try db.alter(table: "outbox") { t in
                t.add(column: "claimToken", .text)
                t.add(column: "claimedBy", .text)
                t.add(column: "claimedUntil", .integer)
            }
        }
        // v6: reaching each person in their work app (企业微信, 钉钉, 飞书 userids) and how they want reminders.
        m.registerMigration("v6") { db in
            try db.alter(table: "member") { t in
                t.add(column: "wecomUserID", .text)
                t.add(column: "dingtalkUserID", .text)
                t.add(column: "feishuUserID", .text)
                t.add(column: "reach", .text)
            }
            try db.alter(table: "person") { t in
                t.add(column: "feishuUserID", .text)
                t.add(column: "reach", .text)
            }
        }
        // v7: SMS delivery receipts (the provider's id, what became of the message) and the fallback mail held for
        // an SMS until its receipt says it was undelivered.
        m.registerMigration("v7") { db in
            try db.alter(table: "outbox") { t in t.add(column: "heldFor", .text) }
            try db.create(index: "outbox_on_heldFor", on: "outbox", columns: ["heldFor"])
            try db.create(table: "smsReceipt") { t in
                t.primaryKey("outbox", .integer).references("outbox", onDelete: .cascade)
                t.column("channel", .text).notNull()
                t.column("messageID", .text).notNull()
                t.column("state", .text).notNull()
                t.column("code", .text)
                t.column("submittedAt", .integer).notNull()
                t.column("reportedAt", .integer)
            }
            try db.create(index: "smsReceipt_on_message", on: "smsReceipt", columns: ["channel", "messageID"])
            try db.create(index: "smsReceipt_on_state", on: "smsReceipt", columns: ["state", "submittedAt"])
        }
        // v8: the 关怀帮扶专项资金 (X九): applications, their steps (append-only), and the fund's income.
        m.registerMigration("v8") { db in
            try db.create(table: "fundApplication") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("nonce", .text).notNull().unique()
                t.column("member", .text).notNull()
                t.column("category", .text).notNull()
                t.column("reason", .text).notNull()
                t.column("amountAskedFen", .integer).notNull()
                t.column("attachments", .text).notNull()
                t.column("family", .text).notNull()
                t.column("consent", .boolean).notNull()
                t.column("appliedBy", .text).notNull()
                t.column("appliedOn", .text).notNull()
                t.column("recordedAt", .integer).notNull()
                t.column("stage", .text).notNull()
                t.column("stageSince", .text).notNull()
                t.column("steps", .integer).notNull().defaults(to: 0)
                t.column("grantedFen", .integer)
                t.column("source", .text)
            }
            try db.create(index: "fundApplication_on_stage", on: "fundApplication", columns: ["stage"])
            try db.create(table: "fundStep") { t in
                t.column("application", .integer).notNull().references("fundApplication")
                t.column("seq", .integer).notNull()
                t.column("nonce", .text).notNull().unique()
                t.column("action", .text).notNull()
                t.column("person", .text).notNull()
                t.column("role", .text).notNull()
                t.column("date", .text).notNull()
                t.column("fromStage", .text).notNull()
                t.column("toStage", .text).notNull()
                t.column("words", .text)
                t.column("meeting", .text)
                t.column("attendees", .text)
                t.column("amountFen", .integer)
                t.column("source", .text)
                t.column("paidOn", .text)
                t.column("at", .integer).notNull()
                t.column("via", .text)
                t.primaryKey(["application", "seq"])
            }
            try db.create(table: "fundIncome") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("source", .text).notNull()
                t.column("date", .text).notNull()
                t.column("amountFen", .integer).notNull()
                t.column("note", .text)
                t.column("recordedAt", .integer).notNull()
                t.column("recordedBy", .text).notNull()
            }
            // Append-only: the audit log and the fund's steps are never changed or deleted, nor is an application
            // (a withdrawal is a state). The database itself refuses, whatever writes to it.
            for (table, what) in [("audit", "the audit log"), ("fundStep", "the steps of a fund application")] {
                for verb in ["UPDATE", "DELETE"] {
                    try db.execute(
                        sql:
                            "CREATE TRIGGER \(table)_no_\(verb.lowercased()) BEFORE \(verb) ON \(table) BEGIN SELECT RAISE(ABORT, '\(what) is append-only'); END"
                    )
                }
            }
            try db.execute(
                sql:
                    "CREATE TRIGGER fundApplication_no_delete BEFORE DELETE ON fundApplication BEGIN SELECT RAISE(ABORT, 'a fund application is never deleted; withdraw it'); END"
            )
        }
        // v9: the pending rows in id order, as on PostgreSQL, where a claim otherwise sorted every pending row.
        m.registerMigration("v9") { db in
            try db.execute(sql: "CREATE INDEX outbox_pending ON outbox (id) WHERE state = 'pending'")
        }
        return m
    }
}

/// What went wrong with the database, said so that an operator can act.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case locked(path: String)
    case newerVersion(path: String)
    case notADatabase(path: String)
    case failed(path: String, reason: String)
    /// A request that cannot be carried out: unknown member, future death, unknown occurrence, …
    case rejected(String)

    init(_ error: any Error, path: String) {
        if let e = error as? StoreError {
            self = e
        } else if let e = error as? DatabaseError {
            switch e.resultCode {
            case .SQLITE_BUSY, .SQLITE_LOCKED: self = .locked(path: path)
            case .SQLITE_NOTADB, .SQLITE_CORRUPT: self = .notADatabase(path: path)
            case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY:
                self = .cannotOpen(path: path, reason: e.message ?? "\(e.resultCode)")
            default: self = .failed(path: path, reason: e.message ?? "\(e.resultCode)")
            }
        } else {
            self = .failed(path: path, reason: "\(error)")
        }
    }

    public var description: String {
        switch self {
        case .cannotOpen(let p, let r): "cannot open the database \(p): \(r)"
        case .locked(let p):
            "the database \(p) stayed locked by another process beyond the busy timeout; nothing was written — try again, or raise [database] busy_timeout"
        case .newerVersion(let p):
            "the database \(p) was written by a newer version of guanhuai; nothing was changed — upgrade guanhuai"
        case .notADatabase(let p): "\(p) is not a guanhuai database (or it is damaged)"
        case .failed(let p, let r): "database \(p): \(r)"
        case .rejected(let why): why
        }
    }
}
