public import Foundation
public import GuanhuaiCore
public import GuanhuaiStore
import NIOCore
import PostgresNIO

/// SMS delivery receipts on PostgreSQL (`SMSReceiptStore`; the rules are `SMSReceiptRules`, as on SQLite). Two
/// instances polling the same receipts both apply them: the update moves only an `accepted` receipt, so the second
/// changes nothing, and a fallback is released once.
extension PostgresStore: SMSReceiptStore {
    public func acceptedSMS(channel: String, since: Int64) async throws(StoreError) -> [AcceptedSMS] {
        try await statement { conn, logger in
            var out: [AcceptedSMS] = []
            for try await (id, c, m, p, at) in try await conn.query(
                """
                SELECT r.outbox, r.channel, r.messageID, o.payload, r.submittedAt FROM smsReceipt r JOIN outbox o ON o.id = r.outbox
                WHERE r.channel = \(channel) AND r.state = 'accepted' AND r.submittedAt >= \(since) ORDER BY r.submittedAt, r.outbox
                """, logger: logger
            ).decode((Int64, String, String, Data, Int64).self) {
                out.append(AcceptedSMS(outbox: id, channel: c, messageID: m, payload: p, submittedAt: at))
            }
            return out
        }
    }

    public func recordSMSReports(channel: String, _ reports: [SMSReport], now: Int64) async throws(StoreError) -> SMSReceiptOutcome {
        try await write { conn, logger in
            var out = SMSReceiptOutcome()
            for report in reports {
                var current: (Int64, String)?
                for try await row in try await conn.query(
                    "SELECT outbox, state FROM smsReceipt WHERE channel = \(channel) AND messageID = \(report.messageID) FOR UPDATE",
                    logger: logger
                ).decode((Int64, String).self) { current = row }
                guard let (outbox, raw) = current, let state = SMSReceiptState(rawValue: raw), let next = SMSReceiptRules.next(state, report)
                else {
                    out.ignored += 1
                    continue
                }
                try await conn.query(
                    """
                    UPDATE smsReceipt SET state = \(next.rawValue), code = \(report.code), reportedAt = \(report.at ?? now)
                    WHERE outbox = \(outbox) AND state = 'accepted'
                    """, logger: logger)
                if next == .delivered { out.delivered += 1 } else { out.undelivered += 1 }
                if let f = SMSReceiptRules.fallback(after: next) {
                    var binds = PostgresBindings()
                    binds.append(SMSReceiptRules.heldDue(f, now))
                    binds.append(outbox)
                    let query = PostgresQuery(unsafeSQL: SMSReceiptRules.heldUpdate(f, placeholder: { "$\($0)" }), binds: binds)
                    for try await id in try await conn.query(query, logger: logger).decode(Int64.self) where f == .release {
                        out.released.append(id)
                    }
                }
            }
            return out
        }
    }

    @discardableResult
    public func expireSMSReceipts(before: Int64) async throws(StoreError) -> Int {
        try await write { conn, logger in
            var n = 0
            for try await _ in try await conn.query(
                "UPDATE smsReceipt SET state = 'unknown' WHERE state = 'accepted' AND submittedAt < \(before) RETURNING outbox", logger: logger
            ) { n += 1 }
            // `SMSReceiptRules.fallback(after: .unknown)`: withdrawn (a literal here: an interpolation would be a bind).
            try await conn.query("UPDATE outbox SET state = 'withdrawn' WHERE state = 'held' AND createdAt < \(before)", logger: logger)
            return n
        }
    }

    public func takePollTurn(channel: String, now: Int64, every: Int64) async throws(StoreError) -> Bool {
        let (key, value, cutoff, future) = (
            SMSReceiptRules.turnKey(channel: channel), String(now), SMSReceiptRules.turnCutoff(now: now, every: every),
            SMSReceiptRules.turnFuture(now: now, every: every)
        )
        // `SMSReceiptRules.turnTaken` as one compare-and-set: of two instances at once, the second waits on the row's
        // lock, then finds the new value and writes nothing.
        return try await statement { conn, logger in
            var taken = false
            for try await _ in try await conn.query(
                """
                INSERT INTO setting (key, value) VALUES (\(key), \(value)) ON CONFLICT (key) DO UPDATE SET value = excluded.value
                WHERE CAST(setting.value AS bigint) <= \(cutoff) OR CAST(setting.value AS bigint) > \(future) RETURNING key
                """, logger: logger
            ).decode(String.self) { taken = true }
            return taken
        }
    }

    public func smsReceiptCounts() async throws(StoreError) -> [SMSReceiptState: Int] {
        try await statement { conn, logger in
            var out: [SMSReceiptState: Int] = [:]
            for try await (s, n) in try await conn.query("SELECT state, COUNT(*) FROM smsReceipt GROUP BY state", logger: logger).decode(
                (String, Int64).self)
            {
                if let s = SMSReceiptState(rawValue: s) { out[s] = Int(n) }
            }
            return out
        }
    }

    public func receiptCounts() async throws(StoreError) -> [String: [SMSReceiptState: Int]] {
        try await statement { conn, logger in
            var out: [String: [SMSReceiptState: Int]] = [:]
            for try await (c, s, n) in try await conn.query(
                "SELECT channel, state, COUNT(*) FROM smsReceipt GROUP BY channel, state", logger: logger
            ).decode((String, String, Int64).self) {
                if let s = SMSReceiptState(rawValue: s) { out[c, default: [:]][s] = Int(n) }
            }
            return out
        }
    }

    public func sent(channels: [String], since: Int64) async throws(StoreError) -> [(channel: String, payload: Data, at: Int64)] {
        guard !channels.isEmpty else { return [] }
        return try await statement { conn, logger in
            var out: [(channel: String, payload: Data, at: Int64)] = []
            for try await (c, p, at) in try await conn.query(
                """
                SELECT channel, payload, sentAt FROM outbox
                WHERE state = 'sent' AND sentAt >= \(since) AND channel = ANY(\(channels)::text[]) ORDER BY sentAt
                """, logger: logger
            ).decode((String, Data, Int64).self) { out.append((c, p, at)) }
            return out
        }
    }
}
