public import Foundation
public import GuanhuaiCalendar
public import GuanhuaiConfig
public import GuanhuaiCore
public import GuanhuaiStore
public import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// The store on PostgreSQL, for a committee on its IT department's replicated database and for several guanhuaid on
/// one database. It answers as `AppDatabase` does (the contract tests hold both to the same answers); what differs is
/// what several instances need:
///
/// - The processed mark moves by compare-and-set with the rows it queues (`enqueue(after:)` locks the mark's row), so
///   two schedulers never queue one send time twice, and every row is unique by its key.
/// - `dueOutbox` claims the rows it returns with `FOR UPDATE SKIP LOCKED`: a random claim token, the instance's name,
///   and a deadline on the database's clock (`now()`), never the instance's. A claim past its deadline (its instance
///   died mid-send) is taken over. A result is recorded only while the token is still the row's, so a row taken over
///   is recorded by whoever sent it last; a message goes twice at most when an instance dies between the send and
///   its record. A token, not an attempt counter, because a failover can roll a counter back.
/// - Audited writes take a transaction-scoped lock first, so audit ids commit in order and `changeGeneration` (the
///   highest id) never skips a change.
public final class PostgresStore: OutboxStore, RecordStore, Sendable {
    public let client: PrimaryClient
    let logger: Logger
    /// This instance's name in `claimedBy` (host name and process id): `status` shows who holds what.
    public let instance: String
    /// How long a claim holds before another instance may take the row over.
    public let claimSeconds: Int64
    /// At most this many rows are claimed at a time: the instances share a send time's messages, and one that dies
    /// holds back no more than these until its claims expire.
    public let claimBatch: Int
    /// The token each row this instance holds was claimed with, and when this instance stops sending it (`sendBy`).
    let claims = Mutex<[Int64: (token: String, sendBy: ContinuousClock.Instant)]>([:])

    /// Connects (finding the primary) and migrates.
    public init(
        url: DatabaseURL, password: String?, logger: Logger, instance: String? = nil, claimSeconds: Int64 = 300,
        claimBatch: Int = 50, transactionTimeout: Duration = .seconds(20), retryFor: Duration = .seconds(45)
    ) async throws(StoreError) {
        client = PrimaryClient(url: url, password: password, logger: logger, transactionTimeout: transactionTimeout, retryFor: retryFor)
        self.logger = logger
        self.instance = instance ?? PostgresStore.defaultInstanceName()
        self.claimSeconds = claimSeconds
        self.claimBatch = claimBatch
        try await PostgresSchema.migrate(client, logger: logger)
    }

    public static func defaultInstanceName() -> String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    }

    public func close() async { await client.close() }

    func write<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T) async throws(StoreError) -> T {
        let logger = self.logger
        return try await client.transaction { conn in try await body(conn, logger) }
    }

    /// How long one bulk transaction (an import, a copy) may take: a million members' roster is one transaction.
    static let bulkTimeout: Duration = .seconds(1800)

    /// A transaction that writes in bulk, allowed `bulkTimeout`.
    func bulk<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T) async throws(StoreError) -> T {
        let logger = self.logger
        return try await client.transaction(timeout: Self.bulkTimeout) { conn in try await body(conn, logger) }
    }

    /// Runs on one connection outside a transaction: each statement commits by itself (a read, or one update that
    /// needs no BEGIN and COMMIT round trips around it).
    func statement<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T) async throws(StoreError) -> T {
        let logger = self.logger
        return try await client.connection { conn in try await body(conn, logger) }
    }

    static let processedKey = "scheduler.processed_through"

    // MARK: The scheduler's

    public func processedThrough() async throws(StoreError) -> Int64? {
        try await statement { conn, logger in
            for try await v in try await conn.query("SELECT value FROM setting WHERE key = \(Self.processedKey)", logger: logger).decode(String.self) {
                return Int64(v)
            }
            return nil
        }
    }

    @discardableResult
    public func enqueue(_ messages: [NewOutboxMessage], after: Int64?, through: Int64, now: Int64, noticed: [ClosedNotice])
        async throws(StoreError) -> Int?
    {
        let added: Int? = try await write { conn, logger in
            // The mark's row is locked for the transaction (created locked when there is none): a second scheduler
            // waits here, then reads the mark this one moved, and stops.
            try await conn.query(
                "INSERT INTO setting (key, value) VALUES (\(Self.processedKey), '') ON CONFLICT (key) DO NOTHING", logger: logger)
            var mark: Int64?
            for try await v in try await conn.query(
                "SELECT value FROM setting WHERE key = \(Self.processedKey) FOR UPDATE", logger: logger
            ).decode(String.self) { mark = Int64(v) }
            guard mark == after else { return nil as Int? }
            let added = try await Self.insert(messages, now: now, conn, logger)
            for n in noticed {
                try await conn.query(
                    """
                    INSERT INTO closedNotice (recipient, occurrence, at) VALUES (\(n.recipient), \(n.occurrence), \(now))
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
            try await conn.query("UPDATE setting SET value = \(String(through)) WHERE key = \(Self.processedKey)", logger: logger)
            return added
        }
        // Thousands of new pending rows: the planner learns of them now rather than at autovacuum's next look, so the
        // claims that follow walk the index (`dueOutbox`). Best effort: without it the claims are slower, not wrong.
        if let added, added >= Self.analyzeAfter {
            do { _ = try await statement { conn, logger in try await conn.query("ANALYZE outbox", logger: logger) } } catch {
                logger.debug("the outbox's statistics were not refreshed: \(error)")
            }
        }
        return added
    }

    /// How many rows one enqueue must add before the outbox's statistics are refreshed.
    static let analyzeAfter = 500

    /// Inserts the rows (a key already there is skipped) and their items, in batches of one statement each.
    static func insert(_ messages: [NewOutboxMessage], now: Int64, _ conn: PostgresConnection, _ logger: Logger) async throws -> Int {
        var added = 0
        var start = 0
        while start < messages.count {
            let batch = messages[start..<min(start + 500, messages.count)]
            start += batch.count
            let keys = batch.map(\.idempotencyKey)
            let recipients = batch.map(\.recipient)
            let channels = batch.map(\.channel.name)
            let payloads = batch.map { ByteBuffer(bytes: $0.payload) }
            // A held fallback names the SMS it waits for; '' (no array of optionals to bind) is an ordinary row.
            let held = batch.map { $0.heldFor ?? "" }
            var ids: [String: Int64] = [:]
            let rows = try await conn.query(
                """
                INSERT INTO outbox (idempotencyKey, recipient, channel, payload, state, attempts, nextAttemptAt, createdAt, heldFor)
                SELECT k, r, c, p, CASE WHEN h = '' THEN 'pending' ELSE 'held' END, 0, CASE WHEN h = '' THEN \(now) END, \(now),
                    NULLIF(h, '')
                FROM unnest(\(keys)::text[], \(recipients)::text[], \(channels)::text[], \(payloads)::bytea[], \(held)::text[])
                    AS m(k, r, c, p, h)
                ON CONFLICT (idempotencyKey) DO NOTHING
                RETURNING id, idempotencyKey
                """, logger: logger)
            for try await (id, key) in rows.decode((Int64, String).self) { ids[key] = id }
            added += ids.count
            var itemOutbox: [Int64] = []
            var itemOccurrence: [String] = []
            var itemKind: [String] = []
            var itemLabel: [String] = []
            for m in batch {
                guard let id = ids[m.idempotencyKey] else { continue }
                for i in m.items {
                    itemOutbox.append(id)
                    itemOccurrence.append(i.occurrence)
                    itemKind.append(i.kind)
                    itemLabel.append(i.label)
                }
            }
            if !itemOutbox.isEmpty {
                try await conn.query(
                    """
                    INSERT INTO outboxItem (outbox, occurrence, kind, label)
                    SELECT * FROM unnest(\(itemOutbox)::bigint[], \(itemOccurrence)::text[], \(itemKind)::text[], \(itemLabel)::text[])
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
        }
        return added
    }

    static let settleQuery: PostgresQuery = """
        SELECT o.id, COUNT(*), COUNT(c.occurrence)
        FROM outbox o JOIN outboxItem i ON i.outbox = o.id LEFT JOIN completion c ON c.occurrence = i.occurrence
        WHERE o.state = 'pending' AND (o.claimedUntil IS NULL OR o.claimedUntil < extract(epoch FROM now())::bigint)
        GROUP BY o.id HAVING COUNT(c.occurrence) > 0
        """

    public func settleDone() async throws(StoreError) -> (withdrawn: [Int64], partly: [OutboxRow]) {
        // Read first: most passes have nothing to settle, and then lock nothing.
        let any = try await statement { conn, logger in
            for try await _ in try await conn.query(Self.settleQuery, logger: logger) { return true }
            return false
        }
        guard any else { return ([], []) }
        return try await write { conn, logger in
            var withdrawn: [Int64] = []
            var partly: [Int64] = []
            for try await (id, total, done) in try await conn.query(Self.settleQuery, logger: logger).decode((Int64, Int64, Int64).self) {
                if done == total { withdrawn.append(id) } else { partly.append(id) }
            }
            if !withdrawn.isEmpty {
                try await conn.query(
                    "UPDATE outbox SET state = 'withdrawn', lastError = NULL, nextAttemptAt = NULL WHERE id = ANY(\(withdrawn))", logger: logger)
            }
            let rows = partly.isEmpty ? [] : try await Self.rows("WHERE id = ANY(\(partly)) ORDER BY id", conn, logger)
            return (withdrawn.sorted(), rows)
        }
    }

    public func rewrite(_ id: Int64, payload: Data?, items: [NewOutboxMessage.Item]) async throws(StoreError) {
        try await write { conn, logger in
            guard let payload else {
                try await conn.query(
                    "UPDATE outbox SET state = 'withdrawn', nextAttemptAt = NULL WHERE id = \(id) AND state = 'pending'", logger: logger)
                return
            }
            try await conn.query("UPDATE outbox SET payload = \(payload) WHERE id = \(id) AND state = 'pending'", logger: logger)
            try await conn.query("DELETE FROM outboxItem WHERE outbox = \(id)", logger: logger)
            for i in items {
                try await conn.query(
                    """
                    INSERT INTO outboxItem (outbox, occurrence, kind, label) VALUES (\(id), \(i.occurrence), \(i.kind), \(i.label))
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
        }
    }

    public func closedNotices(for recipients: Set<String>) async throws(StoreError) -> [String: [ClosedNotice]] {
        guard !recipients.isEmpty else { return [:] }
        let wanted = recipients.sorted()
        return try await statement { conn, logger in
            let rows = try await conn.query(
                """
                SELECT DISTINCT o.recipient, i.occurrence, i.label, c.date, c.byPerson
                FROM outboxItem i JOIN outbox o ON o.id = i.outbox JOIN completion c ON c.occurrence = i.occurrence
                WHERE i.kind = 'escalation' AND o.state = 'sent' AND c.outcome = 'done' AND o.recipient = ANY(\(wanted))
                    AND NOT EXISTS (SELECT 1 FROM closedNotice n WHERE n.recipient = o.recipient AND n.occurrence = i.occurrence)
                ORDER BY c.date, i.occurrence
                """, logger: logger)
            var out: [String: [ClosedNotice]] = [:]
            var seen = Set<String>()
            for try await (recipient, occurrence, label, date, by) in rows.decode((String, String, String, String, String?).self) {
                guard seen.insert(recipient + "\u{1f}" + occurrence).inserted else { continue }
                out[recipient, default: []].append(ClosedNotice(recipient: recipient, occurrence: occurrence, label: label, date: date, by: by))
            }
            return out
        }
    }

    @discardableResult
    public func clampPendingAttempts(notAfter: Int64) async throws(StoreError) -> Int {
        try await write { conn, logger in
            var n = 0
            for try await _ in try await conn.query(
                "UPDATE outbox SET nextAttemptAt = \(notAfter) WHERE state = 'pending' AND nextAttemptAt > \(notAfter) RETURNING id",
                logger: logger)
            { n += 1 }
            return n
        }
    }

    public func changeGeneration() async throws(StoreError) -> Int64 {
        try await statement { conn, logger in
            for try await v in try await conn.query("SELECT COALESCE(MAX(id), 0)::bigint FROM audit", logger: logger).decode(Int64.self) {
                return v
            }
            return 0
        }
    }

    public func changes(since: Int64) async throws(StoreError) -> [(action: AuditAction?, member: String?)] {
        try await statement { conn, logger in
            var out: [(action: AuditAction?, member: String?)] = []
            let rows = try await conn.query(
                """
                SELECT a.action, e.member FROM audit a LEFT JOIN event e ON a.action = \(AuditAction.eventAdd.rawValue) AND e.id = a.target
                WHERE a.id > \(since) ORDER BY a.id
                """, logger: logger)
            for try await (action, member) in rows.decode((String, String?).self) { out.append((AuditAction(rawValue: action), member)) }
            return out
        }
    }

    // MARK: The dispatcher's

    static let columnNames = [
        "id", "idempotencyKey", "recipient", "channel", "payload", "state", "attempts", "nextAttemptAt", "lastError", "sentAt", "createdAt",
    ]
    static let columns = columnNames.joined(separator: ", ")

    static func rows(_ tail: PostgresQuery, _ conn: PostgresConnection, _ logger: Logger) async throws -> [OutboxRow] {
        try await decodeRows(try await conn.query(PostgresQuery(unsafeSQL: "SELECT \(columns) FROM outbox " + tail.sql, binds: tail.binds), logger: logger))
    }

    static func decodeRows(_ rows: PostgresRowSequence) async throws -> [OutboxRow] {
        var out: [OutboxRow] = []
        for try await (id, key, recipient, channel, payload, state, attempts, next, error, sent, created) in rows.decode(
            (Int64, String, String, String, Data, String, Int64, Int64?, String?, Int64?, Int64).self)
        {
            out.append(
                OutboxRow(
                    id: id, idempotencyKey: key, recipient: recipient, channel: OutboxChannel(channel), payload: payload,
                    state: OutboxState(rawValue: state) ?? .failed, attempts: Int(attempts), nextAttemptAt: next, lastError: error,
                    sentAt: sent, createdAt: created))
        }
        return out
    }

    /// Claims the due rows for this instance (see the type's comment) and returns them, oldest first.
    ///
    /// The plan walks `outbox_pending` in id order and stops at the batch's last row: the completion check is a
    /// subquery per row (`NOT (SELECT EXISTS …)`, which the planner cannot turn into a join over every message's
    /// items), and `enqueue` refreshes the statistics after queueing many rows, so the planner does not take a send
    /// time's thousands of new rows for a few and sort them all (25 ms a claim at 10,000 pending rows, measured;
    /// 1 ms walking the index).
    public func dueOutbox(now: Int64, limit: Int) async throws(StoreError) -> [OutboxRow] {
        let token = UUID().uuidString
        // Taken before the claim is asked for, so at or before the database's `now()` in it: the claim lapses no
        // sooner than `claimSeconds` after this. A fifth of the claim is left for the send and its result (a failover
        // can hold a result for seconds); a message not begun by then is left for whoever claims it next.
        let sendBy = ContinuousClock.now + .seconds(claimSeconds - max(1, claimSeconds / 5))
        let instance = self.instance
        let seconds = claimSeconds
        let batch = claimBatch
        let rows = try await write { conn, logger in
            try await Self.decodeRows(
                try await conn.query(
                    PostgresQuery(
                        unsafeSQL: """
                            WITH due AS (
                                SELECT o.id FROM outbox o
                                WHERE o.state = 'pending' AND o.nextAttemptAt <= $1
                                    AND (o.claimedUntil IS NULL OR o.claimedUntil < extract(epoch FROM now())::bigint)
                                    AND NOT (SELECT EXISTS (SELECT 1 FROM outboxItem i JOIN completion c ON c.occurrence = i.occurrence WHERE i.outbox = o.id))
                                ORDER BY o.id LIMIT $2 FOR UPDATE OF o SKIP LOCKED)
                            UPDATE outbox o SET claimToken = $3, claimedBy = $4, claimedUntil = extract(epoch FROM now())::bigint + $5
                            FROM due WHERE o.id = due.id
                            RETURNING \(Self.columnNames.map { "o." + $0 }.joined(separator: ", "))
                            """,
                        binds: try Self.binds(now, Int64(min(limit, batch)), token, instance, seconds)), logger: logger))
        }
        claims.withLock { held in for r in rows { held[r.id] = (token, sendBy) } }
        return rows.sorted { $0.id < $1.id }
    }

    static func binds(_ values: any PostgresThrowingDynamicTypeEncodable...) throws -> PostgresBindings {
        var b = PostgresBindings(capacity: values.count)
        for v in values { try b.append(v) }
        return b
    }

    /// The token this instance claimed a row with, forgotten once its result is recorded.
    func token(_ id: Int64, release: Bool = true) -> String {
        claims.withLock { held in (release ? held.removeValue(forKey: id)?.token : held[id]?.token) ?? "" }
    }

    public func sendBy(_ ids: [Int64]) -> ContinuousClock.Instant? {
        claims.withLock { held in ids.compactMap { held[$0]?.sendBy }.min() }
    }

    public func nextOutboxAttempt() async throws(StoreError) -> Int64? {
        try await statement { conn, logger in
            for try await v in try await conn.query("SELECT MIN(nextAttemptAt) FROM outbox WHERE state = 'pending'", logger: logger).decode(
                Int64?.self)
            { return v }
            return nil
        }
    }

    /// Runs a result's update on the row only while this instance's claim token is still the row's.
    func settle(_ id: Int64, _ update: String, then: String? = nil, _ values: any PostgresThrowingDynamicTypeEncodable...)
        async throws(StoreError)
    {
        // The token is forgotten only once the result is written: a result the store refused now is offered again.
        let token = token(id, release: false)
        var binds = PostgresBindings()
        do {
            for v in values { try binds.append(v) }
            binds.append(id)
            binds.append(token)
        } catch { throw .failed(path: client.url.description, reason: "\(error)") }
        let n = values.count
        // `then`: a statement on the settled row (`s`), in the same statement and so atomic with the result.
        let settled =
            "UPDATE outbox SET \(update), claimToken = NULL, claimedUntil = NULL WHERE id = $\(n + 1) AND claimToken = $\(n + 2) RETURNING id, idempotencyKey, channel"
        let query = PostgresQuery(
            unsafeSQL: then.map { "WITH s AS (\(settled)), t AS (\($0)) SELECT id FROM s" } ?? settled, binds: binds)
        // One statement, atomic by itself: no BEGIN and COMMIT round trips around it, and on the connection held
        // for such statements (`PrimaryClient.quick`). The rows are read on the connection's loop (`get()`), not
        // through an async sequence.
        let logger = self.logger
        let matched = try await client.quick { conn in
            let result: PostgresQueryResult = try await conn.query(query, logger: logger).get()
            return !result.rows.isEmpty
        }
        _ = self.token(id)
        if !matched {
            logger.warning(
                "a result was not recorded by this write: another instance took the row over after this one's claim expired (it will send it again), or the database answered late and the write was made again",
                metadata: ["outbox_id": "\(id)"])
        }
    }

    public func markSent(_ id: Int64, at: Int64, tracking: String? = nil) async throws(StoreError) {
        guard let tracking else {
            // Known delivered as it was sent (a 钉钉 task already processed): a mail held as its fallback is not needed.
            return try await settle(
                id, "state = 'sent', sentAt = $1, attempts = attempts + 1, lastError = NULL",
                then: "UPDATE outbox SET state = 'withdrawn' FROM s WHERE outbox.heldFor = s.idempotencyKey AND outbox.state = 'held'", at)
        }
        try await settle(
            id, "state = 'sent', sentAt = $1, attempts = attempts + 1, lastError = NULL",
            then:
                "INSERT INTO smsReceipt (outbox, channel, messageID, state, submittedAt) SELECT id, channel, $2, 'accepted', $1 FROM s ON CONFLICT DO NOTHING",
            at, tracking)
    }

    public func markRetry(_ id: Int64, at next: Int64, error: String) async throws(StoreError) {
        try await settle(id, "attempts = attempts + 1, nextAttemptAt = $1, lastError = $2", next, error)
    }

    public func markFailed(_ id: Int64, error: String) async throws(StoreError) {
        try await settle(
            id, "state = 'failed', attempts = attempts + 1, nextAttemptAt = NULL, lastError = $1",
            then: "UPDATE outbox SET state = 'pending', nextAttemptAt = 0 FROM s WHERE outbox.heldFor = s.idempotencyKey AND outbox.state = 'held'",
            error)
    }

    public func deferOutbox(_ ids: [Int64], until: Int64) async throws(StoreError) {
        guard !ids.isEmpty else { return }
        let tokens = ids.map { token($0, release: false) }
        _ = try await write { conn, logger in
            try await conn.query(
                """
                UPDATE outbox o SET nextAttemptAt = \(until), claimToken = NULL, claimedUntil = NULL
                FROM unnest(\(ids)::bigint[], \(tokens)::text[]) AS d(id, token)
                WHERE o.id = d.id AND o.state = 'pending' AND o.claimToken = d.token
                """, logger: logger)
        }
        for id in ids { _ = token(id) }
    }

    public func disableEndpoint(channel: String, endpoint: String, at: Int64, reason: String) async throws(StoreError) {
        _ = try await write { conn, logger in
            try await conn.query(
                """
                INSERT INTO disabledEndpoint (channel, endpoint, since, reason) VALUES (\(channel), \(endpoint), \(at), \(reason))
                ON CONFLICT (channel) DO UPDATE SET endpoint = excluded.endpoint, since = excluded.since, reason = excluded.reason
                """, logger: logger)
        }
    }

    public func disabledEndpoints() async throws(StoreError) -> [DisabledEndpoint] {
        try await statement { conn, logger in
            var out: [DisabledEndpoint] = []
            for try await (c, e, s, r) in try await conn.query(
                "SELECT channel, endpoint, since, reason FROM disabledEndpoint ORDER BY channel", logger: logger
            ).decode((String, String, Int64, String).self) { out.append(DisabledEndpoint(channel: c, endpoint: e, since: s, reason: r)) }
            return out
        }
    }

    @discardableResult
    public func enableEndpoint(channel: String) async throws(StoreError) -> Bool {
        try await write { conn, logger in
            for try await _ in try await conn.query("DELETE FROM disabledEndpoint WHERE channel = \(channel) RETURNING channel", logger: logger) {
                return true
            }
            return false
        }
    }

    public func outboxCounts() async throws(StoreError) -> (pending: Int, sent: Int, failed: Int) {
        try await statement { conn, logger in
            var c = (pending: 0, sent: 0, failed: 0)
            for try await (state, n) in try await conn.query("SELECT state, COUNT(*) FROM outbox GROUP BY state", logger: logger).decode(
                (String, Int64).self)
            {
                switch OutboxState(rawValue: state) {
                case .pending: c.pending = Int(n)
                case .sent: c.sent = Int(n)
                case .failed, nil: c.failed += Int(n)
                case .withdrawn, .held: break
                }
            }
            return c
        }
    }

    public func outboxByChannel() async throws(StoreError) -> (counts: [(channel: String, state: String, count: Int)], lastSent: Int64?) {
        try await statement { conn, logger in
            var counts: [(channel: String, state: String, count: Int)] = []
            for try await (c, s, n) in try await conn.query(
                "SELECT channel, state, COUNT(*) FROM outbox GROUP BY channel, state ORDER BY channel, state", logger: logger
            ).decode((String, String, Int64).self) { counts.append((c, s, Int(n))) }
            var last: Int64?
            for try await v in try await conn.query("SELECT MAX(sentAt) FROM outbox WHERE state = 'sent'", logger: logger).decode(Int64?.self) {
                last = v
            }
            return (counts, last)
        }
    }

    /// Who holds claims now, by instance, judged on the database's clock (`status`, /metrics).
    public func claimsByInstance() async throws(StoreError) -> [(instance: String, rows: Int)] {
        try await statement { conn, logger in
            var out: [(instance: String, rows: Int)] = []
            for try await (who, n) in try await conn.query(
                """
                SELECT claimedBy, COUNT(*) FROM outbox WHERE state = 'pending' AND claimedUntil >= extract(epoch FROM now())::bigint
                GROUP BY claimedBy ORDER BY claimedBy
                """, logger: logger
            ).decode((String, Int64).self) { out.append((who, Int(n))) }
            return out
        }
    }

    // MARK: Recording

    static func audit(_ conn: PostgresConnection, _ logger: Logger, _ actor: Actor, _ action: AuditAction, _ target: String, _ summary: String)
        async throws
    {
        try await conn.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.auditLockKey))", logger: logger)
        try await conn.query(
            """
            INSERT INTO audit (at, actor, action, target, summary) VALUES (\(actor.now), \(actor.name), \(action.rawValue), \(target), \(summary))
            """, logger: logger)
    }

    /// Inserts one completion unless one is on record; returns what to audit it as, or nil.
    static func insertCompletion(_ conn: PostgresConnection, _ logger: Logger, _ c: Completion, _ actor: Actor) async throws -> AuditAction? {
        let (outcome, reason) = StoreRules.outcome(c)
        let rows = try await conn.query(
            """
            INSERT INTO completion (occurrence, date, byPerson, note, outcome, reason, recordedAt, recordedBy, amountFen)
            VALUES (\(c.occurrence), \(c.date.description), \(c.by), \(c.note), \(outcome.rawValue), \(reason), \(actor.now), \(actor.name),
                \(c.amountFen.map(Int64.init)))
            ON CONFLICT (occurrence) DO NOTHING RETURNING occurrence
            """, logger: logger)
        for try await _ in rows { return outcome }
        return nil
    }

    @discardableResult
    public func record(_ c: Completion, actor: Actor) async throws(StoreError) -> Bool {
        try await write { conn, logger in
            guard let outcome = try await Self.insertCompletion(conn, logger, c, actor) else { return false }
            try await Self.audit(conn, logger, actor, outcome, c.occurrence, StoreRules.completionSummary(c, actor: actor))
            return true
        }
    }

    @discardableResult
    public func recordAll(_ cs: [Completion], actor: Actor, action: AuditAction, target: String) async throws(StoreError) -> Int {
        // A 台账 imported whole can be many thousands of rows: one bulk transaction.
        try await bulk { conn, logger in
            var n = 0
            for c in cs where try await Self.insertCompletion(conn, logger, c, actor) != nil { n += 1 }
            try await Self.audit(conn, logger, actor, action, target, StoreRules.bulkSummary(cs, recorded: n))
            return n
        }
    }

    public func addEvent(
        member: PersonID, kind: EventKind, date: CivilDate, ends: CivilDate?, target: PersonID?, note: String?,
        today: CivilDate, knownMembers: Set<PersonID>, knownPeople: Set<PersonID>, actor: Actor
    ) async throws(StoreError) -> Event {
        try StoreRules.checkEvent(
            kind: kind, date: date, ends: ends, target: target, today: today, knownMembers: knownMembers, knownPeople: knownPeople)
        let onFile = knownMembers.contains(member)
        let added: Event? = try await write { conn, logger in
            var stored = false
            for try await _ in try await conn.query("SELECT 1 FROM member WHERE id = \(member)", logger: logger) { stored = true }
            guard stored || onFile else { return nil }
            var seq: Int64 = 0
            for try await s in try await conn.query(
                """
                INSERT INTO event (id, member, kind, date, ends, target, note, recordedAt, recordedBy)
                VALUES ('pending-' || gen_random_uuid(), \(member), \(kind.rawValue), \(date.description), \(ends?.description), \(target),
                    \(note), \(actor.now), \(actor.name))
                RETURNING seq
                """, logger: logger
            ).decode(Int64.self) { seq = s }
            let id = "E\(seq)"
            try await conn.query("UPDATE event SET id = \(id) WHERE seq = \(seq)", logger: logger)
            try await Self.audit(conn, logger, actor, .eventAdd, id, StoreRules.eventSummary(kind: kind, member: member, date: date))
            return Event(id: id, member: member, kind: kind, date: date, ends: ends, target: target, note: note)
        }
        guard let added else { throw StoreRules.unknownMember(member) }
        return added
    }
}
