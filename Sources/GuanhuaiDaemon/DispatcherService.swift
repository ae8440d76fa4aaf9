import Foundation
import GuanhuaiConfig
import GuanhuaiDelivery
import GuanhuaiStore
import Logging
import ServiceLifecycle
import Synchronization
import Systemd

/// Sends what the outbox holds; retries temporary failures with exponential backoff and jitter up to the
/// configured age; marks permanent failures failed and reports them.
struct DispatcherService<Sleep: Clock>: Service where Sleep.Duration == Duration {
    let runtime: Runtime
    let clock: any WallClock
    /// What the loop sleeps on: `EventLoopClock` in the daemon, a test clock in tests.
    let sleeper: Sleep
    let bell: Doorbell
    let logger: Logger
    /// Results the database would not take: kept here and recorded before anything else is sent, so a message is
    /// never sent twice because its result could not be written (disk full, a lock held past the busy timeout).
    let unrecorded = UnrecordedResults()
    /// The endpoints' rate windows and the numbers' SMS limits: the dispatcher's own, kept across reloads.
    let limits = DeliveryLimits()

    func run() async throws {
        var backoff = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var sleep = Duration.seconds(300)
            do {
                try await dispatchDue()
                backoff = 0
                if let next = try await runtime.deliverySnapshot().database.nextOutboxAttempt() {
                    sleep = min(sleep, .seconds(max(0, next - clock.now())) + .milliseconds(100))
                }
            } catch {
                // The store failed: back off (5 s, doubling to 5 min) rather than fetch the same rows again at once.
                backoff = min(backoff == 0 ? 5 : backoff * 2, 300)
                sleep = .seconds(backoff)
                logger.error("dispatching failed; trying again in \(backoff) s: \(error)")
            }
            logger.debug("dispatcher sleeps \(sleep)")
            await bell.wait(timeout: sleep, on: sleeper)
        }
    }

    /// One pass over the due rows. A batch in flight is finished even during a graceful shutdown. Channels are sent
    /// to side by side, so a slow endpoint does not hold up the mail.
    func dispatchDue() async throws {
        // One snapshot for the whole pass: a reload while it runs is used from the next pass on.
        let snapshot = await runtime.deliverySnapshot()
        let db = snapshot.database
        let policy = snapshot.policy
        var failure: String?
        try flushUnrecorded(db: db, policy: policy)
        while !Task.isCancelled {
            let rows = try db.dueOutbox(now: clock.now())
            if rows.isEmpty { break }
            let disabled = Dictionary(try db.disabledEndpoints().map { ($0.channel, $0) }, uniquingKeysWith: { a, _ in a })
            let groups = Dictionary(grouping: rows, by: \.channel).sorted(by: { $0.key < $1.key })
            let failures = try await withThrowingTaskGroup(of: String?.self) { tasks in
                for (channel, group) in groups {
                    tasks.addTask {
                        try await dispatch(channel: channel, group, snapshot, disabled: disabled[channel.name])
                    }
                }
                var out: [String] = []
                for try await f in tasks { if let f { out.append(f) } }
                return out
            }
            if let f = failures.last { failure = f }
            // A result the store would not take ends the pass: run() backs off, and it is recorded first next time.
            try flushUnrecorded(db: db, policy: policy)
            if Task.isShuttingDownGracefully { break }
        }
        let counts = try db.outboxCounts()
        await runtime.noteDispatch(queued: counts.pending, failure: failure, disabled: try db.disabledEndpoints().map(\.channel))
        await runtime.publishStatus()
    }

    /// Records what could not be recorded before; throws (ending the pass) while the store still refuses.
    func flushUnrecorded(db: AppDatabase, policy: Configuration.DeliveryPolicy) throws {
        for (row, result) in unrecorded.all() {
            _ = try record(row, result, db: db, policy: policy)
            unrecorded.remove(row.id)
        }
    }

    /// Records a result, or keeps it in memory when the store refuses it (then `recorded` is false).
    func recordOrKeep(_ row: OutboxRow, _ result: Result<String, DeliveryError>, db: AppDatabase,
        policy: Configuration.DeliveryPolicy) -> (recorded: Bool, outcome: Recorded)
    {
        do {
            return (true, try record(row, result, db: db, policy: policy))
        } catch {
            unrecorded.keep(row, result)
            logger.error("cannot record the result of outbox row \(row.id) (\(error)); it is kept in memory and nothing more is sent until the database takes it")
            return (false, Recorded())
        }
    }

    /// What recording a result wrote: a failure description for STATUS=, and the time of the retry if one was set.
    struct Recorded {
        var failure: String?
        var retryAt: Int64?
    }

    /// Sends one channel's due rows; returns the last failure, for STATUS=.
    func dispatch(channel: OutboxChannel, _ group: [OutboxRow], _ snapshot: DeliverySnapshot,
        disabled: AppDatabase.DisabledEndpoint?) async throws -> String?
    {
        let (db, policy) = (snapshot.database, snapshot.policy)
        var failure: String?
        func note(_ f: String?) { if let f { failure = f } }
        guard case .named(let name) = channel else {
            return try await sendEach(JournalSender(), group, db: db, policy: policy, gone: nil)
        }
        if let hook = snapshot.webhooks[name] {
            return try await sendEach(WebhookSender(hook: hook), group, db: db, policy: policy,
                gone: try goneMessage(hook, disabled: disabled, db: db))
        }
        if let sms = snapshot.sms[name] {
            return try await sendEach(SMSSender(sms: sms), group, db: db, policy: policy, gone: nil)
        }
        guard let mail = snapshot.mail[name] else {
            for row in group {
                note(try record(row, .failure(.permanent("no channel \"\(name)\" in the configuration")), db: db, policy: policy).failure)
            }
            return failure
        }
        // Rows and envelopes stay paired by index; a row that cannot be read fails on its own.
        var sendable: [OutboxRow] = []
        var envelopes: [MailEnvelope] = []
        for row in group {
            guard case .mail(let from, let to, let data) = OutboxPayload.decode(row.payload) else {
                note(try record(row, .failure(.permanent("the outbox row's payload cannot be read")), db: db, policy: policy).failure)
                continue
            }
            sendable.append(row)
            envelopes.append(MailEnvelope(from: from, recipients: to, data: Array(data)))
        }
        let failures = Mutex<String?>(nil)
        let waiting = Mutex<[Int64]>([])
        let retryAt = Mutex<Int64?>(nil)
        let rows = sendable
        let unrecorded = unrecorded
        await mail.transport.send(envelopes, logger: logger, shouldStop: {
            Task.isShuttingDownGracefully || !unrecorded.isEmpty
        }) { i, result in
            // Recorded as each message is answered: a crash repeats at most the one in flight.
            if case .failure(let e) = result, e.kind == .notOffered {
                waiting.withLock { $0.append(rows[i].id) }
                return
            }
            let outcome = recordOrKeep(rows[i], result, db: db, policy: policy).outcome
            if let f = outcome.failure { failures.withLock { $0 = f } }
            if let at = outcome.retryAt { retryAt.withLock { $0 = $0 ?? at } }
        }
        // Messages never offered wait, uncharged, for the retry of the one that failed before them; when the batch
        // ended for a stop, they stay due for the next start.
        if let at = retryAt.withLock({ $0 }) { try db.deferOutbox(waiting.withLock { $0 }, until: at) }
        note(failures.withLock { $0 })
        return failure
    }

    /// A webhook channel disabled by a 410 from its endpoint: why each of its messages fails, or nil when it is
    /// enabled. The operator pointed the channel at another endpoint since: the 410 was about the old one, and the
    /// channel is enabled again.
    func goneMessage(_ hook: WebhookChannel, disabled: AppDatabase.DisabledEndpoint?, db: AppDatabase) throws -> String? {
        guard let disabled else { return nil }
        guard disabled.endpoint == hook.endpoint else {
            try db.enableEndpoint(channel: hook.name)
            logger.notice("channel \(hook.name) has a new endpoint; it is enabled again (it was disabled since \(disabled.since))",
                metadata: ["GUANHUAI_CHANNEL": "\(hook.name)"])
            return nil
        }
        return Self.goneWords(hook.name)
    }

    static func goneWords(_ channel: String) -> String {
        "channel \(channel) is disabled: its endpoint answered 410 Gone; `guanhuai enable-channel \(channel)` re-enables it"
    }

    /// The one loop for channels that send one message at a time (`OneByOne`: webhooks and robots, SMS, the
    /// journal). Each row is recorded as it is answered. Stopping, or the store refusing results, leaves the rest
    /// due and uncharged. A message our own limit holds back waits in the outbox, uncharged: alone when it is its
    /// recipient's limit, with the rest when it is the endpoint's. After a temporary failure the rest wait for the
    /// same retry rather than time out one by one, except when it was that one recipient's limit at the provider.
    /// After a 410 the channel is disabled, an alert raised, and the rest fail saying how to re-enable it.
    func sendEach<C: OneByOne>(_ channel: C, _ group: [OutboxRow], db: AppDatabase, policy: Configuration.DeliveryPolicy,
        gone disabled: String?) async throws -> String?
    {
        var failure: String?
        var gone = disabled
        let meta: Logger.Metadata = ["GUANHUAI_CHANNEL": "\(channel.name)"]
        for (i, row) in group.enumerated() {
            let now = clock.now()
            if Task.isShuttingDownGracefully || !unrecorded.isEmpty { break }
            if let gone {
                failure = try record(row, .failure(.permanent(gone)), db: db, policy: policy).failure
                continue
            }
            guard let message = channel.message(OutboxPayload.decode(row.payload)) else {
                failure = try record(row, .failure(.permanent("the outbox row's payload cannot be read")), db: db, policy: policy).failure
                continue
            }
            switch channel.wait(message, row: row, now: now, limits: limits) {
            case .this(let until, let why):
                try db.deferOutbox([row.id], until: until)
                logger.info("a message waits \(until - now) s for \(why)",
                    metadata: meta.merging(["GUANHUAI_RECIPIENT": "\(row.recipient)"]) { $1 })
                continue
            case .rest(let until, let why):
                let rest = group[i...].map(\.id)
                try db.deferOutbox(rest, until: until)
                logger.info("\(rest.count) messages wait \(until - now) s for \(why)", metadata: meta)
                return failure
            case nil:
                break
            }
            let result = await channel.send(message, row: row, now: now)
            if case .failure(let e) = result, e.endpointGone, let endpoint = channel.endpoint {
                gone = Self.goneWords(channel.name)
                try db.disableEndpoint(channel: channel.name, endpoint: endpoint, at: now, reason: e.message)
                logger.critical("channel \(channel.name) is disabled: \(e.message). Fix the receiver or the url, then `guanhuai enable-channel \(channel.name)`",
                    metadata: meta.merging(["MESSAGE_ID": "\(MessageID.endpointDisabled)"]) { $1 })
            }
            let (recorded, outcome) = recordOrKeep(row, result, db: db, policy: policy)
            if let f = outcome.failure { failure = f }
            if !recorded { break }
            if case .failure(let e) = result, e.kind == .temporary, !e.recipientThrottled, i + 1 < group.count {
                try db.deferOutbox(group[(i + 1)...].map(\.id), until: outcome.retryAt ?? now + Int64(policy.retryInitialSeconds))
                break
            }
        }
        return failure
    }

    /// Records one result as the retry policy decides.
    func record(_ row: OutboxRow, _ result: Result<String, DeliveryError>, db: AppDatabase,
        policy: Configuration.DeliveryPolicy) throws -> Recorded
    {
        let now = clock.now()
        let meta: Logger.Metadata = [
            "GUANHUAI_CHANNEL": "\(row.channel)", "GUANHUAI_RECIPIENT": "\(row.recipient)",
            "GUANHUAI_OUTBOX": "\(row.id)",
        ]
        var random = SystemRandomNumberGenerator()
        switch RetryPolicy(policy).decide(result, attempts: row.attempts, age: now - row.createdAt, now: now, using: &random) {
        case .sent:
            try db.markSent(row.id, at: now)
            runtime.metrics.delivered(channel: row.channel.name, result: "sent")
            logger.info("reminder sent", metadata: meta.merging(["MESSAGE_ID": "\(MessageID.reminderSent)"]) { $1 })
            return Recorded()
        case .wait:
            return Recorded()
        case .retry(let at, let why):
            try db.markRetry(row.id, at: at, error: why)
            runtime.metrics.delivered(channel: row.channel.name, result: "retry")
            logger.warning("delivery failed, will retry in \(at - now) s: \(why)",
                metadata: meta.merging(["MESSAGE_ID": "\(MessageID.deliveryRetry)"]) { $1 })
            return Recorded(failure: "\(row.channel): \(why)", retryAt: at)
        case .fail(let why):
            try db.markFailed(row.id, error: why)
            runtime.metrics.delivered(channel: row.channel.name, result: "failed")
            logger.error("delivery failed for good: \(why)",
                metadata: meta.merging(["MESSAGE_ID": "\(MessageID.deliveryFailed)"]) { $1 })
            return Recorded(failure: "\(row.channel): \(why)")
        }
    }
}
