public import Foundation
import GRDB
public import GuanhuaiCore

/// SMS delivery receipts on SQLite (`SMSReceiptStore`; the rules are `SMSReceiptRules`).
extension AppDatabase {
    public func acceptedSMS(channel: String, since: Int64) throws(StoreError) -> [AcceptedSMS] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT r.outbox, r.channel, r.messageID, o.payload, r.submittedAt FROM smsReceipt r JOIN outbox o ON o.id = r.outbox
                    WHERE r.channel = ? AND r.state = 'accepted' AND r.submittedAt >= ? ORDER BY r.submittedAt, r.outbox
                    """, arguments: [channel, since]
            ).map { AcceptedSMS(outbox: $0[0], channel: $0[1], messageID: $0[2], payload: $0[3], submittedAt: $0[4]) }
        }
    }

    public func recordSMSReports(channel: String, _ reports: [SMSReport], now: Int64) throws(StoreError) -> SMSReceiptOutcome {
        try write { db in
            var out = SMSReceiptOutcome()
            for report in reports {
                let current = try Row.fetchOne(
                    db, sql: "SELECT outbox, state FROM smsReceipt WHERE channel = ? AND messageID = ?", arguments: [channel, report.messageID])
                guard let current, let state = SMSReceiptState(rawValue: current["state"]), let next = SMSReceiptRules.next(state, report) else {
                    out.ignored += 1
                    continue
                }
                let outbox: Int64 = current["outbox"]
                try db.execute(
                    sql: "UPDATE smsReceipt SET state = ?, code = ?, reportedAt = ? WHERE outbox = ? AND state = 'accepted'",
                    arguments: [next.rawValue, report.code, report.at ?? now, outbox])
                if next == .delivered { out.delivered += 1 } else { out.undelivered += 1 }
                if let f = SMSReceiptRules.fallback(after: next) {
                    let moved = try AppDatabase.moveFallback(db, of: outbox, f, due: now)
                    if f == .release { out.released += moved }
                }
            }
            return out
        }
    }

    /// The fallback held for a row moved as `SMSReceiptRules.fallback` says (released rows due at `due`): returns its
    /// id when there was one still held.
    static func moveFallback(_ db: Database, of id: Int64, _ f: SMSReceiptRules.Fallback, due: Int64) throws -> [Int64] {
        try Int64.fetchAll(
            db, sql: SMSReceiptRules.heldUpdate(f, placeholder: { _ in "?" }), arguments: [SMSReceiptRules.heldDue(f, due), id])
    }

    @discardableResult
    public func expireSMSReceipts(before: Int64) throws(StoreError) -> Int {
        try write { db in
            try db.execute(sql: "UPDATE smsReceipt SET state = 'unknown' WHERE state = 'accepted' AND submittedAt < ?", arguments: [before])
            let n = db.changesCount
            try db.execute(
                sql: "UPDATE outbox SET state = '\(SMSReceiptRules.fallback(after: .unknown)!.state)' WHERE state = 'held' AND createdAt < ?",
                arguments: [before])
            return n
        }
    }

    public func takePollTurn(channel: String, now: Int64, every: Int64) throws(StoreError) -> Bool {
        try write { db in
            // `SMSReceiptRules.turnTaken` as one compare-and-set: the row is written only when the turn is due.
            try db.execute(
                sql: """
                    INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value
                    WHERE CAST(setting.value AS INTEGER) <= ? OR CAST(setting.value AS INTEGER) > ?
                    """,
                arguments: [
                    SMSReceiptRules.turnKey(channel: channel), String(now), SMSReceiptRules.turnCutoff(now: now, every: every),
                    SMSReceiptRules.turnFuture(now: now, every: every),
                ])
            return db.changesCount == 1
        }
    }

    public func smsReceiptCounts() throws(StoreError) -> [SMSReceiptState: Int] {
        try read { db in
            var out: [SMSReceiptState: Int] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) FROM smsReceipt GROUP BY state") {
                if let s = SMSReceiptState(rawValue: r[0]) { out[s] = r[1] }
            }
            return out
        }
    }

    public func receiptCounts() throws(StoreError) -> [String: [SMSReceiptState: Int]] {
        try read { db in
            var out: [String: [SMSReceiptState: Int]] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT channel, state, COUNT(*) FROM smsReceipt GROUP BY channel, state") {
                if let s = SMSReceiptState(rawValue: r[1]) { out[r[0], default: [:]][s] = r[2] }
            }
            return out
        }
    }

    public func sent(channels: [String], since: Int64) throws(StoreError) -> [(channel: String, payload: Data, at: Int64)] {
        guard !channels.isEmpty else { return [] }
        return try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT channel, payload, sentAt FROM outbox
                    WHERE state = 'sent' AND sentAt >= ? AND channel IN (\(channels.map { _ in "?" }.joined(separator: ",")))
                    ORDER BY sentAt
                    """, arguments: StatementArguments([since] as [any DatabaseValueConvertible] + channels)
            ).map { ($0[0], $0[1], $0[2]) }
        }
    }
}
