public import Foundation
public import GuanhuaiCalendar
public import GuanhuaiCore
public import GuanhuaiStore
import Logging
import PostgresNIO

/// What the pages and the operator's commands keep and read (`WebStore`), as `AppDatabase+Web` does on SQLite.
extension PostgresStore: WebStore {
    public func linkGeneration(of person: PersonID) async throws(StoreError) -> Int {
        try await statement { conn, logger in
            for try await g in try await conn.query("SELECT generation FROM linkGeneration WHERE person = \(person)", logger: logger)
                .decode(Int64.self)
            { return Int(g) }
            return 0
        }
    }

    public func linkGenerations() async throws(StoreError) -> [PersonID: Int] {
        try await statement { conn, logger in
            var out: [PersonID: Int] = [:]
            for try await (p, g) in try await conn.query("SELECT person, generation FROM linkGeneration", logger: logger)
                .decode((String, Int64).self)
            { out[p] = Int(g) }
            return out
        }
    }

    @discardableResult
    public func revokeLinks(of person: PersonID, actor: Actor) async throws(StoreError) -> Int {
        try await write { conn, logger in
            var generation = 1
            for try await g in try await conn.query(
                """
                INSERT INTO linkGeneration (person, generation, revokedAt) VALUES (\(person), 1, \(actor.now))
                ON CONFLICT (person) DO UPDATE SET generation = linkGeneration.generation + 1, revokedAt = EXCLUDED.revokedAt
                RETURNING generation
                """, logger: logger
            ).decode(Int64.self) { generation = Int(g) }
            try await Self.audit(conn, logger, actor, .webRevoke, person, "every link sent to \(person) revoked")
            return generation
        }
    }

    public func addProgressNote(
        occurrence: String, person: PersonID, date: CivilDate, note: String, nonce: String, actor: Actor
    ) async throws(StoreError) -> Bool {
        try await write { conn, logger in
            var inserted = false
            for try await _ in try await conn.query(
                """
                INSERT INTO progressNote (occurrence, person, date, note, nonce, recordedAt)
                VALUES (\(occurrence), \(person), \(date.description), \(note), \(nonce), \(actor.now))
                ON CONFLICT (nonce) DO NOTHING RETURNING id
                """, logger: logger)
            { inserted = true }
            guard inserted else { return false }
            try await Self.audit(
                conn, logger, actor, .progress, occurrence, "progress noted, dated \(date)" + (actor.via.map { " via \($0)" } ?? ""))
            return true
        }
    }

    public func progressNotes(occurrence: String) async throws(StoreError) -> [ProgressNote] {
        try await statement { conn, logger in
            var out: [ProgressNote] = []
            for try await (person, date, note, at) in try await conn.query(
                "SELECT person, date, note, recordedAt FROM progressNote WHERE occurrence = \(occurrence) ORDER BY id", logger: logger
            ).decode((String, String, String, Int64).self) {
                if let d = CivilDate(parsing: date) { out.append(ProgressNote(person: person, date: d, note: note, recordedAt: at)) }
            }
            return out
        }
    }

    public func recordedCompletion(for occurrence: String) async throws(StoreError) -> RecordedCompletion? {
        try await statement { conn, logger in
            for try await (occurrence, date, by, note, outcome, reason, at, recordedBy, amount) in try await conn.query(
                """
                SELECT occurrence, date, byPerson, note, outcome, reason, recordedAt, recordedBy, amountFen FROM completion
                WHERE occurrence = \(occurrence)
                """, logger: logger
            ).decode((String, String, String?, String?, String, String?, Int64, String, Int64?).self) {
                let r = CompletionRecord(
                    occurrence: occurrence, date: date, byPerson: by, note: note, outcome: outcome, reason: reason, recordedAt: at,
                    recordedBy: recordedBy, amountFen: amount.map { Int($0) })
                guard let c = r.completion else { return nil }
                return RecordedCompletion(completion: c, recordedAt: at, recordedBy: recordedBy)
            }
            return nil
        }
    }

    public func members(idOrName given: String) async throws(StoreError) -> [(id: String, name: String)] {
        try await statement { conn, logger in
            var out: [(id: String, name: String)] = []
            for try await (id, name) in try await conn.query(
                "SELECT id, name FROM member WHERE id = \(given) OR name = \(given) ORDER BY id", logger: logger
            ).decode((String, String).self) { out.append((id, name)) }
            return out
        }
    }

    public func outboxProblems(since: Int64) async throws(StoreError) -> [OutboxRow] {
        try await statement { conn, logger in
            try await Self.rows("WHERE lastError IS NOT NULL AND createdAt >= \(since) ORDER BY id", conn, logger)
        }
    }
}

/// What `guanhuai status` and /metrics say about the database: the primary in use and its timeline (raised by every
/// promotion), which instance holds claims on how many messages, and the moves of the primary this process saw.
public struct DatabaseState: Sendable {
    public var host: String?
    public var timeline: Int?
    public var claims: [(instance: String, rows: Int)]
    /// Moves of the primary seen by this process (its first connection is not one), and when the last was.
    public var failoversSeen: Int
    public var lastFailover: Date?
}

extension PostgresStore {
    public func state() async throws(StoreError) -> DatabaseState {
        let claims = try await claimsByInstance()
        let timeline = try await statement { conn, logger in
            for try await t in try await conn.query("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)", logger: logger)
                .decode(String.self)
            { return Int(t, radix: 16) }
            return nil
        }
        let moves = await client.moves
        return DatabaseState(
            host: await client.host, timeline: timeline, claims: claims, failoversSeen: max(0, moves.count - 1),
            lastFailover: moves.count > 1 ? moves.last?.at : nil)
    }
}
