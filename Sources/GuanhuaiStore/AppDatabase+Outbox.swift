public import Foundation
import GRDB
public import GuanhuaiCore

extension AppDatabase {
    static let processedKey = "scheduler.processed_through"

    /// The instant up to which send times have been turned into outbox rows (nil before the first run).
    public func processedThrough() throws(StoreError) -> Int64? {
        try read { db in
            try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = ?", arguments: [AppDatabase.processedKey])
                .flatMap { Int64($0) }
        }
    }

    /// Puts the messages of every send time up to `through` in the outbox and records `through`, in one
    /// transaction: a crash leaves either both or neither. A key already there is not added again.
    @discardableResult
    public func enqueue(
        _ messages: [NewOutboxMessage], processedThrough through: Int64, now: Int64,
        noticed: [ClosedNotice] = []
    ) throws(StoreError) -> Int {
        try write { db in try AppDatabase.enqueue(db, messages, through: through, now: now, noticed: noticed) }
    }

    /// The same, only if the mark is still `after` (`OutboxStore`'s compare-and-set); nil when it moved.
    @discardableResult
    public func enqueue(
        _ messages: [NewOutboxMessage], after: Int64?, through: Int64, now: Int64, noticed: [ClosedNotice]
    ) throws(StoreError) -> Int? {
        try write { db in
            let mark = try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = ?", arguments: [AppDatabase.processedKey])
                .flatMap { Int64($0) }
            guard mark == after else { return nil }
            return try AppDatabase.enqueue(db, messages, through: through, now: now, noticed: noticed)
        }
    }

    static func enqueue(_ db: Database, _ messages: [NewOutboxMessage], through: Int64, now: Int64, noticed: [ClosedNotice]) throws -> Int {
        var added = 0
        let statement = try db.makeStatement(
            sql: """
                INSERT OR IGNORE INTO outbox (idempotencyKey, recipient, channel, payload, state, attempts, nextAttemptAt, createdAt, heldFor)
                VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)
                """)
        let item = try db.makeStatement(sql: "INSERT OR IGNORE INTO outboxItem (outbox, occurrence, kind, label) VALUES (?, ?, ?, ?)")
        for m in messages {
            let held = m.heldFor != nil
            try statement.execute(arguments: [
                m.idempotencyKey, m.recipient, m.channel.name, m.payload, held ? "held" : "pending", held ? nil : now, now, m.heldFor,
            ])
            guard db.changesCount > 0 else { continue }
            added += 1
            let id = db.lastInsertedRowID
            for i in m.items { try item.execute(arguments: [id, i.occurrence, i.kind, i.label]) }
        }
        let notice = try db.makeStatement(sql: "INSERT OR IGNORE INTO closedNotice (recipient, occurrence, at) VALUES (?, ?, ?)")
        for n in noticed { try notice.execute(arguments: [n.recipient, n.occurrence, now]) }
        try db.execute(
            sql: "INSERT OR REPLACE INTO setting (key, value) VALUES (?, ?)",
            arguments: [AppDatabase.processedKey, String(through)])
        return added
    }

    /// Pending rows whose time has come, oldest first.
    /// A row about something since done is not due: the scheduler's step withdraws it or writes it again without
    /// what is done (`settleDone`), and only then can it go.
    public func dueOutbox(now: Int64, limit: Int = 500) throws(StoreError) -> [OutboxRow] {
        try read { db in
            try OutboxRow.fetchAll(
                db,
                sql: """
                    SELECT * FROM outbox o WHERE o.state = 'pending' AND o.nextAttemptAt <= ?
                    AND NOT EXISTS (SELECT 1 FROM outboxItem i JOIN completion c ON c.occurrence = i.occurrence WHERE i.outbox = o.id)
                    ORDER BY o.id LIMIT ?
                    """, arguments: [now, limit])
        }
    }

    /// Pending rows about something since done. Those about nothing still open are withdrawn here (their ids are
    /// returned in `withdrawn`); those with some items still open are returned in `partly`, to be written again.
    public func settleDone() throws(StoreError) -> (withdrawn: [Int64], partly: [OutboxRow]) {
        let sql = """
            SELECT o.id AS id, COUNT(*) AS total, SUM(c.occurrence IS NOT NULL) AS done
            FROM outbox o JOIN outboxItem i ON i.outbox = o.id LEFT JOIN completion c ON c.occurrence = i.occurrence
            WHERE o.state = 'pending' GROUP BY o.id HAVING done > 0
            """
        // Read first: most passes have nothing to settle, and then take no write lock.
        guard try read({ db in try Row.fetchOne(db, sql: sql) }) != nil else { return ([], []) }
        return try write { db in
            let rows = try Row.fetchAll(db, sql: sql)
            var withdrawn: [Int64] = []
            var partly: [Int64] = []
            for r in rows {
                let id: Int64 = r["id"]
                if (r["done"] as Int) == (r["total"] as Int) { withdrawn.append(id) } else { partly.append(id) }
            }
            for id in withdrawn {
                try db.execute(
                    sql: "UPDATE outbox SET state = 'withdrawn', lastError = NULL, nextAttemptAt = NULL WHERE id = ?",
                    arguments: [id])
            }
            let partRows =
                try partly.isEmpty
                ? []
                : OutboxRow.fetchAll(
                    db,
                    sql:
                        "SELECT * FROM outbox WHERE id IN (\(partly.map { _ in "?" }.joined(separator: ",")))",
                    arguments: StatementArguments(partly))
            return (withdrawn, partRows)
        }
    }

    /// Writes a pending row again (its items since done left out); withdraws it when `payload` is nil.
    public func rewrite(_ id: Int64, payload: Data?, items: [NewOutboxMessage.Item]) throws(StoreError) {
        try write { db in
            guard let payload else {
                try db.execute(
                    sql: "UPDATE outbox SET state = 'withdrawn', nextAttemptAt = NULL WHERE id = ? AND state = 'pending'",
                    arguments: [id])
                return
            }
            try db.execute(sql: "UPDATE outbox SET payload = ? WHERE id = ? AND state = 'pending'", arguments: [payload, id])
            try db.execute(sql: "DELETE FROM outboxItem WHERE outbox = ?", arguments: [id])
            for i in items {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO outboxItem (outbox, occurrence, kind, label) VALUES (?, ?, ?, ?)",
                    arguments: [id, i.occurrence, i.kind, i.label])
            }
        }
    }

    /// Escalations these recipients were sent about occurrences since done and not yet told of.
    public func closedNotices(for recipients: Set<String>) throws(StoreError) -> [String: [ClosedNotice]] {
        try read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT o.recipient AS recipient, i.occurrence AS occurrence, i.label AS label, c.date AS date,
                        c.byPerson AS byPerson
                    FROM outboxItem i JOIN outbox o ON o.id = i.outbox JOIN completion c ON c.occurrence = i.occurrence
                    WHERE i.kind = 'escalation' AND o.state = 'sent' AND c.outcome = 'done'
                        AND NOT EXISTS (SELECT 1 FROM closedNotice n WHERE n.recipient = o.recipient AND n.occurrence = i.occurrence)
                    ORDER BY c.date, i.occurrence
                    """)
            var out: [String: [ClosedNotice]] = [:]
            var seen = Set<String>()
            for r in rows {
                let recipient: String = r["recipient"]
                guard recipients.contains(recipient) else { continue }
                let occurrence: String = r["occurrence"]
                guard seen.insert(recipient + "\u{1f}" + occurrence).inserted else { continue }
                out[recipient, default: []].append(
                    ClosedNotice(
                        recipient: recipient, occurrence: occurrence,
                        label: r["label"], date: r["date"], by: r["byPerson"]))
            }
            return out
        }
    }

    /// What a row is about: its occurrences, in the digest's order.
    public func outboxItems(of id: Int64) throws(StoreError) -> [String] {
        try outboxItemKinds(of: id).map(\.occurrence)
    }

    public func outboxItemKinds(of id: Int64) throws(StoreError) -> [(occurrence: String, kind: String)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT occurrence, kind FROM outboxItem WHERE outbox = ? ORDER BY rowid", arguments: [id])
                .map { ($0["occurrence"], $0["kind"]) }
        }
    }

    /// Every row about an occurrence, oldest first.
    public func outboxRows(about occurrence: String) throws(StoreError) -> [OutboxRow] {
        try read { db in
            try OutboxRow.fetchAll(
                db,
                sql: """
                    SELECT o.* FROM outbox o JOIN outboxItem i ON i.outbox = o.id WHERE i.occurrence = ? ORDER BY o.id
                    """, arguments: [occurrence])
        }
    }

    /// When the next pending row is due, if any.
    public func nextOutboxAttempt() throws(StoreError) -> Int64? {
        try read { db in try Int64.fetchOne(db, sql: "SELECT MIN(nextAttemptAt) FROM outbox WHERE state = 'pending'") }
    }

    public func markSent(_ id: Int64, at: Int64, tracking: String? = nil) throws(StoreError) {
        try write { db in
            try db.execute(
                sql: "UPDATE outbox SET state = 'sent', sentAt = ?, attempts = attempts + 1, lastError = NULL WHERE id = ?",
                arguments: [at, id])
            if let tracking {
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO smsReceipt (outbox, channel, messageID, state, submittedAt)
                        SELECT id, channel, ?, 'accepted', ? FROM outbox WHERE id = ?
                        """, arguments: [tracking, at, id])
            } else {
                // Known delivered as it was sent (a 钉钉 task already processed): a mail held as its fallback is not needed.
                _ = try AppDatabase.moveFallback(db, of: id, SMSReceiptRules.fallback(after: .delivered)!, due: 0)
            }
        }
    }

    public func markRetry(_ id: Int64, at next: Int64, error: String) throws(StoreError) {
        try write { db in
            try db.execute(
                sql: "UPDATE outbox SET attempts = attempts + 1, nextAttemptAt = ?, lastError = ? WHERE id = ?",
                arguments: [next, error, id])
        }
    }

    public func markFailed(_ id: Int64, error: String) throws(StoreError) {
        try write { db in
            try db.execute(
                sql: "UPDATE outbox SET state = 'failed', attempts = attempts + 1, nextAttemptAt = NULL, lastError = ? WHERE id = ?",
                arguments: [error, id])
            // Refused at sending: it will never arrive, as if undelivered; the fallback is due at once.
            _ = try AppDatabase.moveFallback(db, of: id, SMSReceiptRules.fallback(after: .undelivered)!, due: 0)
        }
    }

    /// Holds a row back until `until` without counting an attempt: the endpoint's rate limit, or an endpoint that
    /// just failed for the row before it.
    public func deferOutbox(_ ids: [Int64], until: Int64) throws(StoreError) {
        guard !ids.isEmpty else { return }
        try write { db in
            for id in ids {
                try db.execute(sql: "UPDATE outbox SET nextAttemptAt = ? WHERE id = ? AND state = 'pending'", arguments: [until, id])
            }
        }
    }

    /// After the clock went back: no pending row waits past `notAfter` (its wait was computed on the later clock).
    /// Returns how many rows were moved.
    @discardableResult
    public func clampPendingAttempts(notAfter: Int64) throws(StoreError) -> Int {
        try write { db in
            try db.execute(
                sql: "UPDATE outbox SET nextAttemptAt = ? WHERE state = 'pending' AND nextAttemptAt > ?",
                arguments: [notAfter, notAfter])
            return db.changesCount
        }
    }

    public typealias DisabledEndpoint = GuanhuaiStore.DisabledEndpoint

    public func disableEndpoint(channel: String, endpoint: String, at: Int64, reason: String) throws(StoreError) {
        try write { db in
            try DisabledEndpoint(channel: channel, endpoint: endpoint, since: at, reason: reason).save(db)
        }
    }

    public func disabledEndpoints() throws(StoreError) -> [DisabledEndpoint] {
        try read { db in try DisabledEndpoint.order(Column("channel")).fetchAll(db) }
    }

    /// Re-enables a channel disabled by a 410; returns whether it was disabled. Its failed rows stay failed.
    @discardableResult
    public func enableEndpoint(channel: String) throws(StoreError) -> Bool {
        try write { db in try DisabledEndpoint.deleteOne(db, key: channel) }
    }

    public func outboxCounts() throws(StoreError) -> (pending: Int, sent: Int, failed: Int) {
        try read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")
            var c = (pending: 0, sent: 0, failed: 0)
            for r in rows {
                let n: Int = r["n"]
                switch OutboxState(rawValue: r["state"]) {
                case .pending: c.pending = n
                case .sent: c.sent = n
                case .failed, nil: c.failed += n
                case .withdrawn, .held: break
                }
            }
            return c
        }
    }

    /// Rows per channel and state (metrics), and the time of the last message sent (nil: none yet).
    public func outboxByChannel() throws(StoreError) -> (counts: [(channel: String, state: String, count: Int)], lastSent: Int64?) {
        try read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT channel, state, COUNT(*) AS n FROM outbox GROUP BY channel, state ORDER BY channel, state")
            let last = try Int64.fetchOne(db, sql: "SELECT MAX(sentAt) FROM outbox WHERE state = 'sent'")
            return (rows.map { (channel: $0["channel"], state: $0["state"], count: $0["n"]) }, last)
        }
    }

    /// Rows that failed, or are being retried after a failure, since `since`.
    public func outboxProblems(since: Int64) throws(StoreError) -> [OutboxRow] {
        try read { db in
            try OutboxRow.fetchAll(
                db,
                sql: """
                    SELECT * FROM outbox WHERE lastError IS NOT NULL AND createdAt >= ? ORDER BY id
                    """, arguments: [since])
        }
    }

    public func outbox() throws(StoreError) -> [OutboxRow] {
        try read { db in try OutboxRow.fetchAll(db, sql: "SELECT * FROM outbox ORDER BY id") }
    }

    /// Grows with every change the CLI records (imports, events, completions all write an audit row), so the
    /// daemon re-plans only when something changed. (SQLite's data_version is per connection; a pool has several.)
    public func changeGeneration() throws(StoreError) -> Int64 {
        try read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM audit") ?? 0 }
    }

    /// The changes after generation `since` (an audit row id): each one's action, and for an event recorded, the
    /// member it is about. What the scheduler needs to plan only what a change touched.
    /// An action this version does not know (written by a later one) is nil: the scheduler then plans everything.
    public func changes(since: Int64) throws(StoreError) -> [(action: AuditAction?, member: String?)] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT a.action, e.member FROM audit a
                    LEFT JOIN event e ON a.action = ? AND e.id = a.target
                    WHERE a.id > ? ORDER BY a.id
                    """, arguments: [AuditAction.eventAdd.rawValue, since]
            ).map { (action: AuditAction(rawValue: $0[0]), member: $0[1]) }
        }
    }
}
