import Foundation
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiStore
import Logging
import ServiceLifecycle

/// Asks the SMS providers what became of the messages they accepted (polling, the default: campus intranets are
/// rarely reachable from outside, so the providers' pushes cannot arrive). Every `receipt_poll_seconds` it asks
/// about each channel's receipts still `accepted` from the last day, records what the providers report (by
/// `SMSReceiptRules`: a duplicate, a late second report or an id never sent changes nothing), marks `unknown` what
/// has had no report for 72 hours, and wakes the dispatcher when an undelivered SMS released its fallback mail.
/// With several instances on one PostgreSQL, each channel's poll is taken in turn through the database, so the
/// provider is asked once per period, not once per instance. 钉钉's 工作通知 are asked about the same way: a task 钉钉
/// had not processed when the message was sent is asked about again (getsendresult, at 5, 10, 20 … minutes), and
/// the person found invalid, forbidden or failed is recorded as undelivered, releasing their held mail.
struct SMSReceiptService<Sleep: Clock>: Service where Sleep.Duration == Duration {
    let runtime: Runtime
    let clock: any WallClock
    let sleeper: Sleep
    let bell = Doorbell()
    let dispatcherBell: Doorbell
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let snapshot = await runtime.deliverySnapshot()
            let channels = Self.polled(snapshot)
            let apps = Self.dingtalk(snapshot)
            // Pushed receipts need the 72-hour expiry too (the pushes themselves arrive on the web listener).
            if !channels.isEmpty || !apps.isEmpty || Self.pushed(snapshot) {
                do { try await pollOnce(channels, apps: apps, db: snapshot.database) } catch {
                    logger.error("SMS receipts could not be recorded: \(error)")
                }
            }
            // With no channel polling, look again in an hour: an idle daemon stays idle (a reload rings the bell, so a
            // channel it adds is polled at once).
            let every = (channels.compactMap(\.spec.receiptPollSeconds) + (apps.isEmpty ? [] : [Int(Self.dingtalkEvery)])).min() ?? 3600
            await bell.wait(timeout: .seconds(every), on: sleeper)
        }
    }

    /// One round now, on the configuration loaded (tests drive the service with it).
    func pollNow() async throws {
        let snapshot = await runtime.deliverySnapshot()
        try await pollOnce(Self.polled(snapshot), apps: Self.dingtalk(snapshot), db: snapshot.database)
    }

    /// The 钉钉 work-app channels, whose tasks not processed at sending are asked about later.
    static func dingtalk(_ snapshot: DeliverySnapshot) -> [WorkAppChannel] {
        snapshot.channels.values.compactMap { ($0 as? WorkAppSender)?.app }.filter { $0.spec.app == .dingtalk }.sorted { $0.name < $1.name }
    }

    /// How often 钉钉's pending tasks are looked at (each asked at 5, 10, 20 … minutes after sending).
    static var dingtalkEvery: Int64 { 300 }

    /// Whether an SMS channel takes its receipts by push.
    static func pushed(_ snapshot: DeliverySnapshot) -> Bool {
        snapshot.channels.values.contains { ($0 as? SMSSender)?.sms.receiptPushToken != nil }
    }

    /// The SMS channels that poll for receipts.
    static func polled(_ snapshot: DeliverySnapshot) -> [SMSChannel] {
        snapshot.channels.values.compactMap { ($0 as? SMSSender)?.sms }.filter { $0.spec.receiptPollSeconds != nil }
            .sorted { $0.name < $1.name }
    }

    /// One round: each channel polled, what is too old made unknown.
    func pollOnce(_ channels: [SMSChannel], apps: [WorkAppChannel] = [], db: any OutboxStore) async throws {
        let now = clock.now()
        var released = 0
        for app in apps {
            let every = Self.dingtalkEvery
            // Most rounds have no task to ask about: read first, and take the turn (a write) only when there is one.
            let due = try await db.acceptedSMS(channel: app.name, since: now - SMSReceiptRules.pollWindow)
                .filter { SMSReceiptRules.asks(submittedAt: $0.submittedAt, now: now, every: every) }
            guard !due.isEmpty, try await db.takePollTurn(channel: app.name, now: now, every: every) else { continue }
            var reports: [SMSReport] = []
            for a in due {
                guard case .workApp(let user, _) = OutboxPayload.decode(a.payload) else { continue }
                switch await app.dingtalkReport(task: a.messageID, user: user, now: now) {
                case .success(let report?): reports.append(report)
                case .success(nil): continue
                case .failure(let e):
                    logger.warning(
                        "钉钉 did not say what became of a 工作通知 (\(e.message)); asking again at a later round",
                        metadata: ["GUANHUAI_CHANNEL": "\(app.name)"])
                }
            }
            released += try await record(reports, channel: app.name, db: db, now: now) { o in
                "钉钉 工作通知 results: \(o.delivered) reached, \(o.undelivered) not (\(o.released.count) fallback mails released)"
            }
        }
        for channel in channels {
            // One instance polls a channel per period, however many run on one database (`SMSReceiptRules.turnTaken`).
            guard let seconds = channel.spec.receiptPollSeconds else { continue }
            let every = Int64(seconds)
            guard try await db.takePollTurn(channel: channel.name, now: now, every: every) else { continue }
            let accepted = try await db.acceptedSMS(channel: channel.name, since: now - SMSReceiptRules.pollWindow)
            // 阿里云 is asked per message, backing off (`SMSReceiptRules.asks`); 腾讯云 hands out every report in one call.
            let perMessage = channel.spec.provider == .aliyun
            let pending = accepted.compactMap { a -> SMSChannel.Pending? in
                if perMessage, !SMSReceiptRules.asks(submittedAt: a.submittedAt, now: now, every: every) { return nil }
                guard case .sms(let phone, _, _) = OutboxPayload.decode(a.payload) else { return nil }
                return SMSChannel.Pending(messageID: a.messageID, phone: phone, submittedAt: a.submittedAt)
            }
            guard !pending.isEmpty else { continue }
            let (reports, failure) = await channel.poll(pending, now: now)
            if let failure {
                logger.warning(
                    "SMS receipts: the provider did not answer a poll (\(failure)); asking again at the next one",
                    metadata: ["GUANHUAI_CHANNEL": "\(channel.name)"])
            }
            released += try await record(reports, channel: channel.name, db: db, now: now) { o in
                "SMS receipts: \(o.delivered) delivered, \(o.undelivered) undelivered (\(o.released.count) fallback mails released), \(o.ignored) reports changed nothing"
            }
        }
        let expired = try await db.expireSMSReceipts(before: now - SMSReceiptRules.reportWindow)
        if expired > 0 { logger.notice("SMS receipts: \(expired) messages had no report in 72 hours and are marked unknown") }
        if released > 0 { dispatcherBell.ring() }
    }

    /// One channel's reports recorded (SMS receipts or 钉钉's results alike), and what they did said in the journal;
    /// returns how many fallback mails they released.
    func record(_ reports: [SMSReport], channel: String, db: any OutboxStore, now: Int64, words: (SMSReceiptOutcome) -> String)
        async throws -> Int
    {
        guard !reports.isEmpty else { return 0 }
        let outcome = try await db.recordSMSReports(channel: channel, reports, now: now)
        logger.info("\(words(outcome))", metadata: ["GUANHUAI_CHANNEL": "\(channel)"])
        return outcome.released.count
    }
}
