public import Foundation
public import GuanhuaiCore

/// What became of one SMS after its provider accepted it, as its delivery receipt says.
public enum SMSReceiptState: String, Sendable, CaseIterable {
    /// Accepted by the provider; no report yet.
    case accepted
    /// The phone got it (阿里云 SendStatus 3, 腾讯云 SUCCESS).
    case delivered
    /// The carrier could not deliver it (空号, 停机, …), with the provider's code.
    case undelivered
    /// No report 72 hours after sending.
    case unknown

    /// How 组织部's staff call it (status, metrics help).
    public var words: String {
        switch self {
        case .accepted: "等待回执"
        case .delivered: "已送达"
        case .undelivered: "未送达"
        case .unknown: "无回执"
        }
    }
}

/// One SMS the provider accepted and has not reported on yet: what a poll asks about.
public struct AcceptedSMS: Sendable, Equatable {
    public var outbox: Int64
    public var channel: String
    /// The provider's id for the message (阿里云 BizId, 腾讯云 SerialNo).
    public var messageID: String
    /// The outbox row's payload (the number is in it; a poll by number needs it).
    public var payload: Data
    public var submittedAt: Int64

    public init(outbox: Int64, channel: String, messageID: String, payload: Data, submittedAt: Int64) {
        self.outbox = outbox
        self.channel = channel
        self.messageID = messageID
        self.payload = payload
        self.submittedAt = submittedAt
    }
}

/// What recording a set of reports did.
public struct SMSReceiptOutcome: Sendable, Equatable {
    /// Receipts that moved out of `accepted`.
    public var delivered = 0
    public var undelivered = 0
    /// Reports that changed nothing: a duplicate, a later report for a settled message, an id never sent.
    public var ignored = 0
    /// Fallback mails released (now pending) because their SMS was undelivered.
    public var released: [Int64] = []

    public init() {}
}

/// The receipt rules, one place for both engines: a report moves only an `accepted` receipt, so a duplicate, an
/// out-of-order second report or a report for an id guanhuai never sent changes nothing, and a receipt never creates
/// a row. Undelivered releases the fallback mail held for that SMS (once: it is released only from `held`);
/// delivered withdraws it. 72 hours without a report is `unknown`, and the fallback is withdrawn.
public enum SMSReceiptRules {
    /// A message with no report this long after sending is `unknown`.
    public static let reportWindow: Int64 = 72 * 3600
    /// Polls ask about messages accepted this recently (the providers keep reports for a day or more).
    public static let pollWindow: Int64 = 86400

    /// The state a report moves a receipt in `current` to; nil: the report changes nothing.
    public static func next(_ current: SMSReceiptState, _ report: SMSReport) -> SMSReceiptState? {
        guard current == .accepted else { return nil }
        return report.delivered ? .delivered : .undelivered
    }

    /// What becomes of the mail held as the fallback of an SMS whose receipt is now `state`: released (due) when the
    /// SMS was not delivered, or was refused at sending; withdrawn when it was delivered, or when no report came in
    /// time; nil while a report is awaited. The one rule the reports, the expiry, a refused send and a restore follow
    /// on both engines; each turns it into its statement (`heldUpdate`).
    public static func fallback(after state: SMSReceiptState) -> Fallback? {
        switch state {
        case .accepted: nil
        case .undelivered: .release
        case .delivered, .unknown: .withdraw
        }
    }

    public enum Fallback: Sendable, Equatable {
        case release, withdraw

        /// The held row's new state.
        public var state: String { self == .release ? "pending" : "withdrawn" }
    }

    /// The move as SQL: the row held for the SMS in outbox row (parameter 2) takes the fallback's state and attempt
    /// time (parameter 1: when it is due, NULL for a withdrawal), only while it is still held, so it moves once; its
    /// id is returned. `placeholder(n)` writes the engine's n-th parameter (`?` or `$n`).
    public static func heldUpdate(_ fallback: Fallback, placeholder: (Int) -> String) -> String {
        """
        UPDATE outbox SET state = '\(fallback.state)', nextAttemptAt = \(placeholder(1))
        WHERE heldFor = (SELECT idempotencyKey FROM outbox WHERE id = \(placeholder(2))) AND state = 'held' RETURNING id
        """
    }

    /// Parameter 1 of `heldUpdate`: when a released fallback is due; none for a withdrawal.
    public static func heldDue(_ fallback: Fallback, _ due: Int64) -> Int64? { fallback == .release ? due : nil }

    // MARK: Whose turn it is to poll

    /// The `setting` row that holds when a channel's receipts were last polled, by any instance.
    public static func turnKey(channel: String) -> String { "sms-receipt-poll:" + channel }

    /// The poll of a channel is taken when the last one, by whichever instance, began at or before this: one
    /// instance polls per period however many run (阿里云's QuerySendDetails is one request per message, and
    /// 腾讯云's PullSmsSendStatus hands each report out once). A tenth of the period is left for two instances'
    /// clocks and wake-ups not being exact; when the instance that polled stops, another takes the next turn.
    public static func turnTaken(lastPolledAt: Int64?, now: Int64, every: Int64) -> Bool {
        guard let last = lastPolledAt else { return true }
        return last <= turnCutoff(now: now, every: every) || last > turnFuture(now: now, every: every)
    }

    /// Whether a poll at `now` asks about a message accepted at `submittedAt`, where the provider is asked per
    /// message (阿里云 QuerySendDetails: one request each). Asked 5 minutes after sending, then at 10, 20, 40 minutes
    /// and so on, doubling, while the poll window lasts: the round whose last period holds one of those ages asks.
    /// A message whose report never comes costs 9 requests in its day, not one a period (288 at 5 minutes). A
    /// round that comes late can pass over an age; the next one doubled is asked.
    public static func asks(submittedAt: Int64, now: Int64, every: Int64) -> Bool {
        let age = now - submittedAt
        guard age >= firstAsk else { return false }
        let from = age - every
        var point = firstAsk
        while point <= age {
            if point > from { return true }
            point *= 2
        }
        return false
    }

    /// The first ask about a message, this long after sending.
    public static let firstAsk: Int64 = 300

    /// `turnTaken` as the stores' compare-and-set states it: the row's time at or before this,
    public static func turnCutoff(now: Int64, every: Int64) -> Int64 { now - every + max(1, every / 10) }
    /// or after this (a time stored in the future: a clock that was set back; the turn is given up rather than held).
    public static func turnFuture(now: Int64, every: Int64) -> Int64 { now + every }
}

/// What the receipt poller and `status` need of a store.
public protocol SMSReceiptStore: Sendable {
    /// Receipts still `accepted` on one channel, submitted at or after `since`, oldest first.
    func acceptedSMS(channel: String, since: Int64) async throws(StoreError) -> [AcceptedSMS]
    /// Applies reports by `SMSReceiptRules`, each receipt and its fallback in one transaction.
    func recordSMSReports(channel: String, _ reports: [SMSReport], now: Int64) async throws(StoreError) -> SMSReceiptOutcome
    /// Receipts accepted before `before` become `unknown`, and every fallback still held from before then is withdrawn.
    @discardableResult
    func expireSMSReceipts(before: Int64) async throws(StoreError) -> Int
    /// Receipts by state.
    func smsReceiptCounts() async throws(StoreError) -> [SMSReceiptState: Int]
    /// Receipts by channel and state (SMS and 钉钉's 工作通知 apart).
    func receiptCounts() async throws(StoreError) -> [String: [SMSReceiptState: Int]]
    /// Takes the turn to poll a channel's receipts (`SMSReceiptRules.turnTaken`), by compare-and-set on its
    /// `setting` row: of instances asking at once, one gets true.
    func takePollTurn(channel: String, now: Int64, every: Int64) async throws(StoreError) -> Bool
    /// Rows of these channels sent since `since`, oldest first (the SMS per-number limits are seeded from them at
    /// start, so a restart does not reset them).
    func sent(channels: [String], since: Int64) async throws(StoreError) -> [(channel: String, payload: Data, at: Int64)]
}
