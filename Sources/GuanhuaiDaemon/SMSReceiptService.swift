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
/// provider is asked once per period, not once per instance.
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
            // Pushed receipts need the 72-hour expiry too (the pushes themselves arrive on the web listener).
            if !channels.isEmpty || Self.pushed(snapshot) {
                do { try await pollOnce(channels, db: snapshot.database) } catch {
                    logger.error("SMS receipts could not be recorded: \(error)")
                }
            }
            // With no channel polling, look again in an hour: an idle daemon stays idle (a reload rings the bell, so a
            // channel it adds is polled at once).
            let every = channels.compactMap(\.spec.receiptPollSeconds).min() ?? 3600
            await bell.wait(timeout: .seconds(every), on: sleeper)
        }
    }

    /// One round now, on the configuration loaded (tests drive the service with it).
    func pollNow() async throws {
        let snapshot = await runtime.deliverySnapshot()
        try await pollOnce(Self.polled(snapshot), db: snapshot.database)
    }

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
    func pollOnce(_ channels: [SMSChannel], db: any OutboxStore) async throws {
        let now = clock.now()
        var released = 0
        for channel in channels {
            // One instance polls a channel per period, however many run on one database (`SMSReceiptRules.turnTaken`).
            let every = Int64(channel.spec.receiptPollSeconds ?? 300)
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
            guard !reports.isEmpty else { continue }
            let outcome = try await db.recordSMSReports(channel: channel.name, reports, now: now)
            released += outcome.released.count
            logger.info(
                "SMS receipts: \(outcome.delivered) delivered, \(outcome.undelivered) undelivered (\(outcome.released.count) fallback mails released), \(outcome.ignored) reports changed nothing",
                metadata: ["GUANHUAI_CHANNEL": "\(channel.name)"])
        }
        let expired = try await db.expireSMSReceipts(before: now - SMSReceiptRules.reportWindow)
        if expired > 0 { logger.notice("SMS receipts: \(expired) messages had no report in 72 hours and are marked unknown") }
        if released > 0 { dispatcherBell.ring() }
    }
}
