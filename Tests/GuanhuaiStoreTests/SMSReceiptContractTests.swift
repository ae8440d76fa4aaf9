import Foundation
import GuanhuaiCore
import GuanhuaiStore
import GuanhuaiTestSupport
import Testing

/// SMS delivery receipts, asked of each store (SQLite, PostgreSQL, PgBouncer) through the protocol alone: a report
/// moves only an accepted receipt, never creates one, releases the held fallback once, and 72 hours of silence is
/// `unknown`.
@Suite struct SMSReceiptContractTests {
    static let t0: Int64 = 1_800_000_000

    @Test(arguments: StoreMaker.all)
    func receiptsAreIdempotentAndReleaseTheFallbackOnce(_ maker: StoreMaker) async throws {
        let dir = try Scratch()
        let store = try await maker.make(dir)
        func sms(_ key: String) -> NewOutboxMessage {
            NewOutboxMessage(idempotencyKey: key, recipient: "M001", channel: "sms", payload: Data(key.utf8))
        }
        func mail(_ key: String, for sms: String) -> NewOutboxMessage {
            NewOutboxMessage(idempotencyKey: key, recipient: "M001", channel: "mail", payload: Data(key.utf8), heldFor: sms)
        }
        try await store.enqueue(
            [
                sms("a/sms"), mail("a/mail", for: "a/sms"), sms("b/sms"), mail("b/mail", for: "b/sms"), sms("c/sms"), sms("d/sms"),
                mail("d/mail", for: "d/sms"),
            ],
            after: nil, through: Self.t0, now: Self.t0, noticed: [])
        // Held rows are not due, and not counted as queued.
        let due = try await store.dueOutbox(now: Self.t0)
        #expect(due.map(\.idempotencyKey) == ["a/sms", "b/sms", "c/sms", "d/sms"])
        #expect(try await store.outboxCounts() == (pending: 4, sent: 0, failed: 0))
        let id = Dictionary(uniqueKeysWithValues: due.map { ($0.idempotencyKey, $0.id) })
        try await store.markSent(id["a/sms"]!, at: Self.t0 + 1, tracking: "A^0")
        try await store.markSent(id["b/sms"]!, at: Self.t0 + 1, tracking: "B^0")
        try await store.markSent(id["c/sms"]!, at: Self.t0 + 1, tracking: "C^0")
        // Refused by the provider at sending: the fallback is due at once (below, with B's).
        try await store.markFailed(id["d/sms"]!, error: "isv.MOBILE_NUMBER_ILLEGAL")
        #expect(try await store.outboxCounts() == (pending: 1, sent: 3, failed: 1))
        #expect(try await store.acceptedSMS(channel: "sms", since: Self.t0).map(\.messageID) == ["A^0", "B^0", "C^0"])

        let reports = [
            SMSReport(messageID: "A^0", delivered: true, code: "DELIVERED", at: Self.t0 + 5),
            SMSReport(messageID: "B^0", delivered: false, code: "MK:0001", at: Self.t0 + 6),
            SMSReport(messageID: "B^0", delivered: false, code: "MK:0001", at: Self.t0 + 6),  // twice
            SMSReport(messageID: "never-sent", delivered: true, code: "DELIVERED", at: nil),  // a stranger
        ]
        let first = try await store.recordSMSReports(channel: "sms", reports, now: Self.t0 + 10)
        #expect(first.delivered == 1 && first.undelivered == 1 && first.ignored == 2 && first.released.count == 1, "\(first)")
        // The same reports again, and a contrary late one: nothing moves, nothing is released twice.
        let again = try await store.recordSMSReports(
            channel: "sms", reports + [SMSReport(messageID: "A^0", delivered: false, code: "UNDELIV", at: nil)], now: Self.t0 + 20)
        #expect(again.delivered == 0 && again.undelivered == 0 && again.ignored == 5 && again.released.isEmpty, "\(again)")
        // B's fallback is due; A's was withdrawn; C waits.
        #expect(try await store.dueOutbox(now: Self.t0 + 20).map(\.idempotencyKey) == ["b/mail", "d/mail"])
        #expect(try await store.smsReceiptCounts() == [.delivered: 1, .undelivered: 1, .accepted: 1])
        #expect(try await store.acceptedSMS(channel: "sms", since: Self.t0).map(\.messageID) == ["C^0"])
        // No report in time (72 hours in the daemon, `before` = now − SMSReceiptRules.reportWindow): unknown.
        #expect(try await store.expireSMSReceipts(before: Self.t0) == 0)
        #expect(try await store.expireSMSReceipts(before: Self.t0 + 2) == 1)
        #expect(try await store.smsReceiptCounts() == [.delivered: 1, .undelivered: 1, .unknown: 1])
        // What was texted, for the per-number limits after a restart.
        #expect(try await store.sent(channels: ["sms"], since: Self.t0).count == 3)
        #expect(try await store.sent(channels: ["mail"], since: Self.t0).isEmpty)
    }

    /// 钉钉's 工作通知 share the receipts (a task not processed at sending is asked about later), and are counted apart
    /// by channel. A message known delivered as it was sent (no tracking) has the mail held for it withdrawn then.
    @Test(arguments: StoreMaker.all)
    func aMessageKnownDeliveredAtSendingWithdrawsItsHeldMailAndCountsAreByChannel(_ maker: StoreMaker) async throws {
        let dir = try Scratch()
        let store = try await maker.make(dir)
        func row(_ key: String, _ channel: String, heldFor: String? = nil) -> NewOutboxMessage {
            NewOutboxMessage(idempotencyKey: key, recipient: "M001", channel: .named(channel), payload: Data(key.utf8), heldFor: heldFor)
        }
        try await store.enqueue(
            [
                row("a/ding", "ding"), row("a/mail", "mail", heldFor: "a/ding"), row("b/ding", "ding"), row("b/mail", "mail", heldFor: "b/ding"),
                row("c/sms", "sms"),
            ],
            after: nil, through: Self.t0, now: Self.t0, noticed: [])
        let id = Dictionary(uniqueKeysWithValues: try await store.dueOutbox(now: Self.t0).map { ($0.idempotencyKey, $0.id) })
        try await store.markSent(id["a/ding"]!, at: Self.t0 + 1, tracking: nil)
        try await store.markSent(id["b/ding"]!, at: Self.t0 + 1, tracking: "7001")
        try await store.markSent(id["c/sms"]!, at: Self.t0 + 1, tracking: "C^0")
        let _ = try await store.recordSMSReports(
            channel: "ding", [SMSReport(messageID: "7001", delivered: false, code: "invalid", at: nil)], now: Self.t0 + 300)
        // a's mail withdrawn as a was recorded; b's released by the later report.
        #expect(try await store.dueOutbox(now: Self.t0 + 300).map(\.idempotencyKey) == ["b/mail"])
        #expect(try await store.receiptCounts() == ["ding": [.undelivered: 1], "sms": [.accepted: 1]])
        #expect(try await store.smsReceiptCounts() == [.undelivered: 1, .accepted: 1])
    }

    /// Two instances polling one provider: the turn to poll a channel is taken by one asker per period
    /// (`SMSReceiptRules.turnTaken`), by compare-and-set in the database, and is taken again when the period is over
    /// or the stored time is in the future (a clock set back).
    @Test(arguments: StoreMaker.all)
    func oneInstanceAtATimePollsAChannel(_ maker: StoreMaker) async throws {
        let dir = try Scratch()
        let store = try await maker.make(dir)
        let t0 = Self.t0
        var last: Int64?
        for (now, expected) in [(t0, true), (t0, false), (t0 + 100, false), (t0 + 269, false), (t0 + 270, true), (t0 + 300, false)] {
            #expect(SMSReceiptRules.turnTaken(lastPolledAt: last, now: now, every: 300) == expected, "the rule at \(now - t0)")
            #expect(try await store.takePollTurn(channel: "sms", now: now, every: 300) == expected, "\(maker.name) at \(now - t0)")
            if expected { last = now }
        }
        // Another channel has a turn of its own.
        #expect(try await store.takePollTurn(channel: "sms-tencent", now: t0 + 300, every: 300))
        // Eight askers at once (the pool's connections, on PostgreSQL): one gets it.
        let taken = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 { group.addTask { try await store.takePollTurn(channel: "sms", now: t0 + 600, every: 300) } }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(taken == 1, "\(maker.name): \(taken) of 8 took the same turn")
        // The clock set back a day: the time stored is in the future, and the turn is taken rather than waited for.
        #expect(try await store.takePollTurn(channel: "sms", now: t0 - 86400, every: 300))
        #expect(try await !store.takePollTurn(channel: "sms", now: t0 - 86400 + 10, every: 300))
    }
}

/// `guanhuai restore` of a backup taken before an SMS's receipt came: the replaced database's receipt is carried
/// over with its row, and the fallback the backup still held follows it (released once, for undelivered).
@Suite struct SMSReceiptRestoreTests {
    @Test func aRestoreCarriesTheReceiptsAndReleasesTheFallbackOnce() throws {
        let dir = try Scratch()
        let t0: Int64 = 1_800_000_000
        try FileManager.default.createDirectory(at: dir.url.appendingPathComponent("state"), withIntermediateDirectories: true)
        let db = try AppDatabase(path: dir.databasePath)
        try db.enqueue(
            [
                NewOutboxMessage(idempotencyKey: "g/sms", recipient: "M001", channel: "sms", payload: Data("{}".utf8)),
                NewOutboxMessage(idempotencyKey: "g/mail", recipient: "M001", channel: "mail", payload: Data("{}".utf8), heldFor: "g/sms"),
            ], processedThrough: t0, now: t0)
        let backup = dir.url.appendingPathComponent("before.sqlite").path
        _ = try db.backup(to: backup, now: t0)
        // After the backup: texted, then reported undelivered; the fallback released but not yet sent.
        let sms = try #require(try db.outbox().first { $0.idempotencyKey == "g/sms" })
        try db.markSent(sms.id, at: t0 + 1, tracking: "X^0")
        _ = try db.recordSMSReports(channel: "sms", [SMSReport(messageID: "X^0", delivered: false, code: "MK:0001", at: t0 + 5)], now: t0 + 10)

        _ = try AppDatabase.restore(from: backup, into: dir.databasePath, now: t0 + 20, stamp: "r")
        let restored = try AppDatabase(path: dir.databasePath)
        #expect(try restored.smsReceiptCounts() == [.undelivered: 1])
        let rows = try restored.outbox()
        #expect(rows.first { $0.idempotencyKey == "g/sms" }?.state == .sent)
        #expect(rows.first { $0.idempotencyKey == "g/mail" }?.state == .pending, "\(rows)")
        #expect(try restored.dueOutbox(now: t0 + 20).map(\.idempotencyKey) == ["g/mail"])
    }

    /// 阿里云 is asked about a message at 5, 10, 20, 40 … minutes: over a day of rounds every 5 minutes, 9 times,
    /// each at one of those ages, never twice for one.
    @Test func aMessageIsAskedAboutAtDoublingAges() {
        let asked = stride(from: Int64(0), through: 86400, by: 300).filter { SMSReceiptRules.asks(submittedAt: 0, now: $0, every: 300) }
        #expect(asked == [300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 76800])
        // Rounds every 7 minutes, not aligned with those ages: still once per age, in the round just after it.
        let late = stride(from: Int64(0), through: 86400, by: 420).filter { SMSReceiptRules.asks(submittedAt: 0, now: $0, every: 420) }
        #expect(late == [420, 840, 1260, 2520, 5040, 9660, 19320, 38640, 76860])
    }
}
