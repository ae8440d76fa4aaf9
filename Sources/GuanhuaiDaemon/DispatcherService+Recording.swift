import Foundation
import GuanhuaiConfig
import GuanhuaiDelivery
import GuanhuaiStore
import Logging
import ServiceLifecycle
import Systemd

/// Recording what each message's outcome means, as the retry policy decides: the dispatcher's one write per message.
extension DispatcherService {
    /// One message answered inside a batch: a 410 disables the channel first; the outcome is recorded (or kept while
    /// the store refuses it); a temporary failure holds the rest where the channel says so.
    func answer<C: DeliveryChannel>(
        _ channel: C, _ row: OutboxRow, _ outcome: DeliveryOutcome, index i: Int, pass: PassState, db: any OutboxStore,
        policy: Configuration.DeliveryPolicy
    ) async {
        if case .notOffered = outcome { return }
        if case .endpointGone(let why) = outcome, let endpoint = channel.endpoint {
            pass.disable(Self.goneWords(channel.name))
            do {
                try await db.disableEndpoint(channel: channel.name, endpoint: endpoint, at: clock.now(), reason: why)
            } catch {
                logger.error("cannot record that channel \(channel.name) is disabled: \(error)")
            }
            logger.critical(
                "channel \(channel.name) is disabled: \(why). Fix the receiver or the url, then `guanhuai enable-channel \(channel.name)`",
                metadata: ["GUANHUAI_CHANNEL": "\(channel.name)", "MESSAGE_ID": "\(MessageID.endpointDisabled)"])
        }
        let recorded = await recordOrKeep(row, outcome, db: db, policy: policy).outcome
        pass.answered(i, recorded)
        if case .temporary = outcome, channel.temporaryFailureHoldsTheRest {
            pass.hold(until: recorded.retryAt ?? clock.now() + Int64(policy.retryInitialSeconds))
        }
    }

    /// Records what could not be recorded before; throws (ending the pass) while the store still refuses.
    func flushUnrecorded(db: any OutboxStore, policy: Configuration.DeliveryPolicy) async throws {
        for (row, outcome) in unrecorded.all() {
            _ = try await record(row, outcome, db: db, policy: policy)
            unrecorded.remove(row.id)
        }
    }

    /// Records an outcome, or keeps it in memory when the store refuses it (then `recorded` is false).
    func recordOrKeep(
        _ row: OutboxRow, _ outcome: DeliveryOutcome, db: any OutboxStore,
        policy: Configuration.DeliveryPolicy
    ) async -> (recorded: Bool, outcome: Recorded) {
        do {
            return (true, try await record(row, outcome, db: db, policy: policy))
        } catch {
            unrecorded.keep(row, outcome)
            logger.error(
                "cannot record the result of outbox row \(row.id) (\(error)); it is kept in memory and nothing more is sent until the database takes it")
            return (false, Recorded())
        }
    }

    /// Records one result as the retry policy decides.
    func record(
        _ row: OutboxRow, _ outcome: DeliveryOutcome, db: any OutboxStore,
        policy: Configuration.DeliveryPolicy
    ) async throws -> Recorded {
        let now = clock.now()
        let meta: Logger.Metadata = [
            "GUANHUAI_CHANNEL": "\(row.channel)", "GUANHUAI_RECIPIENT": "\(row.recipient)",
            "GUANHUAI_OUTBOX": "\(row.id)",
        ]
        var random = SystemRandomNumberGenerator()
        switch RetryPolicy(policy).decide(outcome, attempts: row.attempts, age: now - row.createdAt, now: now, using: &random) {
        case .sent:
            var tracking: String?
            if case .sent(_, let id) = outcome { tracking = id }
            try await db.markSent(row.id, at: now, tracking: tracking)
            runtime.metrics.delivered(channel: row.channel.name, result: "sent")
            logger.info("reminder sent", metadata: meta.merging(["MESSAGE_ID": "\(MessageID.reminderSent)"]) { $1 })
            return Recorded()
        case .wait:
            return Recorded()
        case .retry(let at, let why):
            try await db.markRetry(row.id, at: at, error: why)
            runtime.metrics.delivered(channel: row.channel.name, result: "retry")
            logger.warning(
                "delivery failed, will retry in \(at - now) s: \(why)",
                metadata: meta.merging(["MESSAGE_ID": "\(MessageID.deliveryRetry)"]) { $1 })
            return Recorded(failure: "\(row.channel): \(why)", retryAt: at)
        case .fail(let why):
            try await db.markFailed(row.id, error: why)
            runtime.metrics.delivered(channel: row.channel.name, result: "failed")
            logger.error(
                "delivery failed for good: \(why)",
                metadata: meta.merging(["MESSAGE_ID": "\(MessageID.deliveryFailed)"]) { $1 })
            return Recorded(failure: "\(row.channel): \(why)")
        }
    }
}
