import Foundation
import GRDB
import GuanhuaiCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What a backup file says of itself (its table `guanhuai_backup`, which a restore drops).
public struct BackupInfo: Sendable, Equatable {
    /// When it was taken (Unix seconds).
    public var takenAt: Int64
    /// The guanhuai that took it.
    public var version: String
    /// The last schema migration it has ("v5").
    public var schema: String
    /// The database it was taken from.
    public var source: String
}

/// What a restore did, for the operator.
public struct RestoreReport: Sendable, Equatable {
    public var info: BackupInfo
    /// Where the database that was replaced is kept (nil when there was none).
    public var keptAt: String?
    /// Messages queued after the backup was taken, carried into the restored database by key with their items:
    /// the sent ones so that they are not sent again, the waiting ones so that they still go.
    public var messagesCarriedOver: Int
    /// Messages the backup had still waiting that the replaced database had sent or given up on, now marked so.
    public var messagesSettled: Int
    /// Completions, events and progress notes the replaced database has and the backup does not: they are in the
    /// kept copy, not in the restored one.
    public var completionsOnlyInReplaced: Int
    public var eventsOnlyInReplaced: Int
}

extension AppDatabase {
    /// The schema's migrations, oldest first ("v1"…).
    public static var schemaVersions: [String] { migrator.migrations }

    /// Writes a consistent copy of the database to `file` while others read and write it: SQLite's online backup
    /// (one read transaction), into a new file that is 0600, self-contained (no -wal), checked with
    /// `PRAGMA integrity_check` and stamped with the guanhuai version and the schema. `file` must not exist; the copy
    /// appears there whole or not at all.
    public func backup(to file: String, now: Int64) throws(StoreError) -> BackupInfo {
        guard !FileManager.default.fileExists(atPath: file) else {
            throw .rejected("\(file) exists already; nothing was written — name a new file, or remove it first")
        }
        let part = file + ".part"
        Self.removeDatabaseFiles(part)
        let previous = umask(0o077)
        defer { umask(previous) }
        do {
            let schema = try writer.read { db in try Self.migrator.appliedIdentifiers(db).sorted(by: Self.schemaOrder).last ?? "" }
            let info = BackupInfo(takenAt: now, version: GuanhuaiVersion.string, schema: schema, source: label)
            do {
                let copy = try DatabaseQueue(path: part)
                try writer.backup(to: copy)
                try copy.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA journal_mode = DELETE")
                    try db.execute(sql: "CREATE TABLE guanhuai_backup (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                    for (k, v) in [
                        ("taken_at", String(info.takenAt)), ("version", info.version), ("schema", info.schema), ("source", info.source),
                    ] {
                        try db.execute(sql: "INSERT INTO guanhuai_backup (key, value) VALUES (?, ?)", arguments: [k, v])
                    }
                    let check = try String.fetchAll(db, sql: "PRAGMA integrity_check")
                    guard check == ["ok"] else {
                        throw StoreError.failed(path: file, reason: "the copy failed SQLite's integrity check: \(check.prefix(3).joined(separator: "; "))")
                    }
                }
                try copy.close()
            }
            try Self.syncFile(part)
            chmod(part, 0o600)
            guard rename(part, file) == 0 else { throw StoreError.failed(path: file, reason: String(cString: strerror(errno))) }
            try Self.syncFile(URL(fileURLWithPath: file).deletingLastPathComponent().path)
            return info
        } catch {
            Self.removeDatabaseFiles(part)
            throw StoreError(error, path: file)
        }
    }

    /// Reads a backup's stamp after checking the file whole (`PRAGMA integrity_check`), and refuses one whose
    /// schema this guanhuai does not know (taken by a newer version).
    public static func inspectBackup(_ file: String) throws(StoreError) -> BackupInfo {
        guard FileManager.default.fileExists(atPath: file) else {
            throw .cannotOpen(path: file, reason: "there is no such file")
        }
        do {
            var config = Configuration()
            config.readonly = true
            let queue = try DatabaseQueue(path: file, configuration: config)
            defer { try? queue.close() }
            return try queue.read { db in
                guard try db.tableExists("guanhuai_backup") else {
                    throw StoreError.rejected("\(file) is not a backup made by `guanhuai backup`; nothing was changed")
                }
                let check = try String.fetchAll(db, sql: "PRAGMA integrity_check")
                guard check == ["ok"] else {
                    throw StoreError.rejected(
                        "\(file) is damaged (SQLite's integrity check: \(check.prefix(3).joined(separator: "; "))); nothing was changed — use an older backup")
                }
                let values = Dictionary(
                    try Row.fetchAll(db, sql: "SELECT key, value FROM guanhuai_backup").map { ($0["key"] as String, $0["value"] as String) },
                    uniquingKeysWith: { a, _ in a })
                let info = BackupInfo(
                    takenAt: Int64(values["taken_at"] ?? "") ?? 0, version: values["version"] ?? "?", schema: values["schema"] ?? "?",
                    source: values["source"] ?? "?")
                if try migrator.hasBeenSuperseded(db) || !schemaVersions.contains(info.schema) {
                    throw StoreError.rejected(
                        "\(file) was taken by guanhuai \(info.version) (schema \(info.schema)), newer than this one (\(GuanhuaiVersion.string), schema \(schemaVersions.last ?? "")); nothing was changed — restore it with that version or a later one"
                    )
                }
                return info
            }
        } catch {
            throw StoreError(error, path: file)
        }
    }

    /// Replaces the database at `path` with the backup `file`; guanhuaid must be stopped (the caller checks
    /// `serviceHolder`). The database replaced is first copied, whole and checked, to `path.replaced-STAMP`.
    ///
    /// The messages the replaced database queued after the backup was taken are carried over by their outbox key,
    /// with the scheduler's mark, so that none is sent again to someone who already got it and none queued is lost: a
    /// key the backup lacks is inserted as it stands (a waiting one without its claim); a key the backup has still
    /// waiting takes the ending the replaced database recorded. Recorded work
    /// (completions, events) is not merged: the report counts what only the replaced copy has.
    public static func restore(from file: String, into path: String, now: Int64, stamp: String) throws(StoreError) -> RestoreReport {
        let info = try inspectBackup(file)
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var report = RestoreReport(
            info: info, keptAt: nil, messagesCarriedOver: 0, messagesSettled: 0, completionsOnlyInReplaced: 0, eventsOnlyInReplaced: 0)
        var replaced:
            (
                outbox: TableCopy, items: TableCopy, notices: TableCopy, receipts: TableCopy, mark: Int64?, completions: Set<String>,
                events: Set<String>
            )?
        if FileManager.default.fileExists(atPath: path) {
            let live = try AppDatabase(path: path)
            var kept = "\(path).replaced-\(stamp)"
            var n = 2
            while FileManager.default.fileExists(atPath: kept) {  // two restores in one second
                kept = "\(path).replaced-\(stamp)-\(n)"
                n += 1
            }
            _ = try live.backup(to: kept, now: now)
            report.keptAt = kept
            replaced = try live.read { db in
                (
                    try TableCopy.read(db, "outbox", where: nil),
                    try TableCopy.read(db, "outboxItem", where: nil),
                    try TableCopy.read(db, "closedNotice", where: nil),
                    try TableCopy.read(db, "smsReceipt", where: nil),
                    try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = ?", arguments: [processedKey]).flatMap { Int64($0) },
                    Set(try String.fetchAll(db, sql: "SELECT occurrence FROM completion")),
                    Set(try String.fetchAll(db, sql: "SELECT id FROM event"))
                )
            }
            do { try live.writer.close() } catch { throw StoreError(error, path: path) }
        }
        let part = path + ".restoring"
        removeDatabaseFiles(part)
        defer { unlink(part + ".lock") }  // AppDatabase's setup lock for the file being restored
        do {
            do {
                var config = Configuration()
                config.readonly = true
                let source = try DatabaseQueue(path: file, configuration: config)
                let target = try DatabaseQueue(path: part)
                try source.backup(to: target)
                try target.writeWithoutTransaction { db in
                    try db.execute(sql: "DROP TABLE guanhuai_backup")
                    try db.execute(sql: "PRAGMA journal_mode = WAL")
                }
                try target.close()
                try source.close()
            }
            // Brought to this version's schema (a backup from an older one), then reconciled.
            let restored = try AppDatabase(path: part)
            if let r = replaced {
                let (carried, settled, completions, events) = try restored.write { db in
                    try reconcile(
                        db, outbox: r.outbox, items: r.items, notices: r.notices, receipts: r.receipts, mark: r.mark, completions: r.completions,
                        events: r.events)
                }
                report.messagesCarriedOver = carried
                report.messagesSettled = settled
                report.completionsOnlyInReplaced = completions
                report.eventsOnlyInReplaced = events
            }
            let carried = report.messagesCarriedOver
            try restored.write { db in
                var a = AuditRecord(
                    id: nil, at: now, actor: "guanhuai restore", action: "restore", target: info.source,
                    summary:
                        "restored the backup taken at \(Date(timeIntervalSince1970: Double(info.takenAt)).ISO8601Format()) by guanhuai \(info.version); \(carried) messages queued since carried over"
                )
                try a.insert(db)
            }
            try restored.writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            try restored.writer.close()
            for suffix in ["-wal", "-shm"] {
                unlink(path + suffix)
                unlink(part + suffix)
            }
            guard rename(part, path) == 0 else { throw StoreError.failed(path: path, reason: String(cString: strerror(errno))) }
            try syncFile(directory)
            handOver(path: path, directory: directory)
            return report
        } catch {
            removeDatabaseFiles(part)
            throw StoreError(error, path: path)
        }
    }

    /// Carries the replaced database's ended messages into the restored one (see `restore`). Returns the rows
    /// inserted or settled, the rows of those settled, and the completions and events only the replaced one has.
    static func reconcile(
        _ db: Database, outbox: TableCopy, items: TableCopy, notices: TableCopy, receipts: TableCopy, mark: Int64?, completions: Set<String>,
        events: Set<String>
    ) throws -> (Int, Int, Int, Int) {
        // Where each of the replaced database's rows is in the restored one (its SMS receipts follow it there).
        var movedTo: [Int64: Int64] = [:]
        let key = outbox.columns.firstIndex(of: "idempotencyKey")!
        let id = outbox.columns.firstIndex(of: "id")!
        let itemOutbox = items.columns.firstIndex(of: "outbox")!
        var itemsByOutbox: [Int64: [[CopyValue]]] = [:]
        for row in items.rows { if case .integer(let o) = row[itemOutbox] { itemsByOutbox[o, default: []].append(row) } }
        var carried = 0
        var settled = 0
        let state = outbox.columns.firstIndex(of: "state")!
        let claims = ["claimToken", "claimedBy", "claimedUntil"].compactMap { outbox.columns.firstIndex(of: $0) }
        for var row in outbox.rows {
            guard case .text(let k) = row[key], case .integer(let oldID) = row[id] else { continue }
            let ended = row[state] == .text("sent") || row[state] == .text("failed")
            if !ended { for c in claims { row[c] = .null } }
            let existing = try Row.fetchOne(db, sql: "SELECT id, state FROM outbox WHERE idempotencyKey = ?", arguments: [k])
            if let existing {
                movedTo[oldID] = existing["id"]
                let restoredState: String = existing["state"]
                guard ended, restoredState != "sent" && restoredState != "failed" else { continue }
                // The backup still had it waiting: it ends as it ended, and no claim survives.
                let assignments = outbox.columns.indices.filter { $0 != id && $0 != key }
                try db.execute(
                    sql: "UPDATE outbox SET \(assignments.map { "\(outbox.columns[$0]) = ?" }.joined(separator: ", ")) WHERE id = ?",
                    arguments: StatementArguments(assignments.map { row[$0].databaseValue } + [existing["id"] as Int64]))
                settled += 1
                continue
            }
            // A message the backup never had: inserted under a new id, with its items.
            let columns = outbox.columns.indices.filter { $0 != id }
            try db.execute(
                sql:
                    "INSERT INTO outbox (\(columns.map { outbox.columns[$0] }.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))",
                arguments: StatementArguments(columns.map { row[$0].databaseValue }))
            let newID = db.lastInsertedRowID
            movedTo[oldID] = newID
            for item in itemsByOutbox[oldID] ?? [] {
                var values = item.map(\.databaseValue)
                values[itemOutbox] = newID.databaseValue
                try db.execute(
                    sql:
                        "INSERT OR IGNORE INTO outboxItem (\(items.columns.joined(separator: ", "))) VALUES (\(items.columns.map { _ in "?" }.joined(separator: ", ")))",
                    arguments: StatementArguments(values))
            }
            carried += 1
        }
        // An SMS's receipt: carried with its row; a report the replaced database had wins over a receipt the backup
        // still had waiting (`SMSReceiptRules`: only an accepted receipt moves).
        if let outboxColumn = receipts.columns.firstIndex(of: "outbox") {
            let settable = ["state", "code", "reportedAt"].filter { receipts.columns.contains($0) }
            for var row in receipts.rows {
                guard case .integer(let old) = row[outboxColumn], let new = movedTo[old] else { continue }
                row[outboxColumn] = .integer(new)
                try db.execute(
                    sql: """
                        INSERT INTO smsReceipt (\(receipts.columns.joined(separator: ", "))) VALUES (\(receipts.columns.map { _ in "?" }.joined(separator: ", ")))
                        ON CONFLICT(outbox) DO UPDATE SET \(settable.map { "\($0) = excluded.\($0)" }.joined(separator: ", "))
                        WHERE smsReceipt.state = 'accepted'
                        """, arguments: StatementArguments(row.map(\.databaseValue)))
            }
            // A fallback the backup still holds follows its SMS's receipt as the replaced database had it, by the rule
            // the reports follow (`SMSReceiptRules.fallback`; a released one is due at once).
            let moves = SMSReceiptState.allCases.compactMap { s in SMSReceiptRules.fallback(after: s).map { (s, $0) } }
            try db.execute(
                sql: """
                    UPDATE outbox SET state = CASE r.state \(moves.map { "WHEN '\($0.0.rawValue)' THEN '\($0.1.state)'" }.joined(separator: " ")) END,
                        nextAttemptAt = CASE r.state \(moves.filter { $0.1 == .release }.map { "WHEN '\($0.0.rawValue)' THEN 0" }.joined(separator: " ")) END
                    FROM smsReceipt r JOIN outbox s ON s.id = r.outbox
                    WHERE outbox.state = 'held' AND outbox.heldFor = s.idempotencyKey
                        AND r.state IN (\(moves.map { "'\($0.0.rawValue)'" }.joined(separator: ", ")))
                    """)
        }
        for row in notices.rows {
            try db.execute(
                sql:
                    "INSERT OR IGNORE INTO closedNotice (\(notices.columns.joined(separator: ", "))) VALUES (\(notices.columns.map { _ in "?" }.joined(separator: ", ")))",
                arguments: StatementArguments(row.map(\.databaseValue)))
        }
        // The scheduler's mark never goes back past what was queued and sent: the send times in between are done.
        if let mark {
            let current = try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = ?", arguments: [processedKey]).flatMap { Int64($0) }
            if current.map({ $0 < mark }) ?? true {
                try db.execute(
                    sql: "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    arguments: [processedKey, String(mark)])
            }
        }
        let restoredCompletions = Set(try String.fetchAll(db, sql: "SELECT occurrence FROM completion"))
        let restoredEvents = Set(try String.fetchAll(db, sql: "SELECT id FROM event"))
        return (carried, settled, completions.subtracting(restoredCompletions).count, events.subtracting(restoredEvents).count)
    }

    /// Migration ids in order ("v2" before "v10").
    static func schemaOrder(_ a: String, _ b: String) -> Bool {
        (schemaVersions.firstIndex(of: a) ?? Int.max) < (schemaVersions.firstIndex(of: b) ?? Int.max)
    }

    static func removeDatabaseFiles(_ path: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { unlink(path + suffix) }
    }

    static func syncFile(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError.failed(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        _ = fsync(fd)
    }

    // MARK: The service's hold on its database

    /// The locks this process holds, by database path (a reload asks again for the same one).
    private static let held = Mutex<[String: Int32]>([:])

    /// guanhuaid holds this for as long as it runs on the database at `path`: a second guanhuaid on the same file is
    /// refused (two schedulers on one SQLite file would each queue the same send times), and `guanhuai restore`
    /// knows the service is running.
    public static func holdServiceLock(path: String) throws(StoreError) {
        let result: StoreError? = held.withLock { held in
            if held[path] != nil { return nil }
            let fd = open(path + ".service", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return .cannotOpen(path: path + ".service", reason: String(cString: strerror(errno))) }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                close(fd)
                return .rejected(
                    "another guanhuaid is running on \(path)\(serviceHolder(path).map { " (pid \($0))" } ?? ""); one SQLite database has one guanhuaid — stop the other, or use PostgreSQL for two (docs/postgresql.md)"
                )
            }
            _ = ftruncate(fd, 0)
            let pid = "\(getpid())\n"
            _ = pid.withCString { Glibc.write(fd, $0, strlen($0)) }
            held[path] = fd
            return nil
        }
        if let result { throw result }
        handOver(path: path, directory: URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    /// The pid of the guanhuaid that holds the database at `path`, or nil when none does.
    public static func serviceHolder(_ path: String) -> Int32? {
        let fd = open(path + ".service", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = Glibc.read(fd, &buffer, 31)
        return n > 0 ? Int32(String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 : 0
    }
}

extension TableCopy {
    /// One table's rows matching `condition`, in the order of its key.
    static func read(_ db: Database, _ table: String, where condition: String?) throws -> TableCopy {
        let orderBy = tables.first { $0.name == table }?.orderBy ?? "rowid"
        let columns = try db.columns(in: table).map(\.name)
        let rows = try Row.fetchAll(
            db, sql: "SELECT \(columns.joined(separator: ", ")) FROM \(table)\(condition.map { " WHERE \($0)" } ?? "") ORDER BY \(orderBy)")
        return TableCopy(table: table, columns: columns, rows: rows.map { $0.databaseValues.map(CopyValue.init) })
    }
}

extension CopyValue {
    init(_ v: DatabaseValue) {
        switch v.storage {
        case .null: self = .null
        case .int64(let i): self = .integer(i)
        case .double(let d): self = .real(d)
        case .string(let s): self = .text(s)
        case .blob(let b): self = .blob(b)
        }
    }

    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let i): i.databaseValue
        case .real(let d): d.databaseValue
        case .text(let s): s.databaseValue
        case .blob(let b): b.databaseValue
        }
    }
}

extension AppDatabase {
    /// An empty database with the schema as migration `version` left it: for the fixtures of each schema the upgrade
    /// tests keep (Tests/GuanhuaiStoreTests/Fixtures/schema).
    public static func emptySchema(at path: String, through version: String) throws(StoreError) {
        guard schemaVersions.contains(version) else { throw .rejected("no schema version \(version)") }
        do {
            let queue = try DatabaseQueue(path: path)
            try migrator.migrate(queue, upTo: version)
            try queue.close()
        } catch {
            throw StoreError(error, path: path)
        }
    }
}
