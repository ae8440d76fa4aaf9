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
            if !channels.isEmpty {
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
            let accepted = try await db.acceptedSMS(channel: channel.name, since: now - SMSReceiptRules.pollWindow)
            let pending = accepted.compactMap { a -> SMSChannel.Pending? in
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
