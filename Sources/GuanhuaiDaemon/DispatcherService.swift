import Foundation
import GuanhuaiConfig
import GuanhuaiDelivery
import GuanhuaiStore
import Logging
import ServiceLifecycle
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

    /// The SMS per-number limits count what was texted in the last day before this start (from the outbox), so a
    /// restart does not let a number have its day's allowance again. Done at the first pass.
    func seedSMSLimits(_ snapshot: DeliverySnapshot) async {
        let sms = Dictionary(snapshot.channels.values.compactMap { ($0 as? SMSSender)?.sms }.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        guard !sms.isEmpty else { return }
        do {
            for (name, payload, at) in try await snapshot.database.sent(channels: Array(sms.keys).sorted(), since: clock.now() - 86400) {
                guard let channel = sms[name], case .sms(let phone, _, _) = OutboxPayload.decode(payload) else { continue }
                _ = limits.reserveSMS(channel, phone: phone, now: at)
            }
        } catch {
            logger.warning("the SMS per-number limits start empty: the texts of the last day could not be read (\(error))")
        }
    }

    /// One pass over the due rows. A batch in flight is finished even during a graceful shutdown. Channels are sent
    /// to side by side, so a slow endpoint does not hold up the mail.
    func dispatchDue() async throws {
        // One snapshot for the whole pass: a reload while it runs is used from the next pass on.
        let snapshot = await runtime.deliverySnapshot()
        let db = snapshot.database
        let policy = snapshot.policy
        limits.instances.withLock { $0 = policy.instances }
        if limits.firstPass() { await seedSMSLimits(snapshot) }
        var failure: String?
        try await flushUnrecorded(db: db, policy: policy)
        while !Task.isCancelled {
            let rows = try await db.dueOutbox(now: clock.now())
            if rows.isEmpty { break }
            let disabled = Dictionary(try await db.disabledEndpoints().map { ($0.channel, $0) }, uniquingKeysWith: { a, _ in a })
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
            try await flushUnrecorded(db: db, policy: policy)
            if Task.isShuttingDownGracefully { break }
        }
        let counts = try await db.outboxCounts()
        await runtime.noteDispatch(queued: counts.pending, failure: failure, disabled: try db.disabledEndpoints().map(\.channel))
        await runtime.publishStatus()
    }

    /// Sends one channel's due rows; returns the last failure, for STATUS=.
    func dispatch(
        channel: OutboxChannel, _ group: [OutboxRow], _ snapshot: DeliverySnapshot,
        disabled: DisabledEndpoint?
    ) async throws -> String? {
        let (db, policy) = (snapshot.database, snapshot.policy)
        guard case .named(let name) = channel else {
            return try await deliver(JournalSender(), group, db: db, policy: policy, gone: nil)
        }
        guard let c = snapshot.channels[name] else {
            var failure: String?
            for row in group {
                failure = try await record(row, .permanent("no channel \"\(name)\" in the configuration"), db: db, policy: policy).failure
            }
            return failure
        }
        return try await deliver(c, group, db: db, policy: policy, gone: try goneMessage(c, disabled: disabled, db: db))
    }

    /// A channel disabled by a 410 from its endpoint: why each of its messages fails, or nil when it is enabled. The
    /// operator pointed the channel at another endpoint since: the 410 was about the old one, and the channel is
    /// enabled again.
    func goneMessage(_ channel: some DeliveryChannel, disabled: DisabledEndpoint?, db: any OutboxStore) async throws -> String? {
        guard let disabled else { return nil }
        guard disabled.endpoint == channel.endpoint else {
            try await db.enableEndpoint(channel: channel.name)
            logger.notice(
                "channel \(channel.name) has a new endpoint; it is enabled again (it was disabled since \(disabled.since))",
                metadata: ["GUANHUAI_CHANNEL": "\(channel.name)"])
            return nil
        }
        return Self.goneWords(channel.name)
    }

    static func goneWords(_ channel: String) -> String {
        "channel \(channel) is disabled: its endpoint answered 410 Gone; `guanhuai enable-channel \(channel)` re-enables it"
    }

    /// The one delivery loop, for every channel. Each row is recorded as it is answered. Before the batch goes, a
    /// limit of ours holds a message back, uncharged: alone when it is its recipient's limit, with the rest when it is
    /// the endpoint's. Stopping, or the store refusing results, leaves the rest due and uncharged. After a temporary
    /// failure (where the channel says it holds the rest) the rest are not offered; what was not offered waits for
    /// the retry of the one that failed before it rather than time out one by one. After a 410 the channel is
    /// disabled, an alert raised, and the rest fail saying how to re-enable it.
    func deliver<C: DeliveryChannel>(
        _ channel: C, _ group: [OutboxRow], db: any OutboxStore,
        policy: Configuration.DeliveryPolicy, gone disabled: String?
    ) async throws -> String? {
        var failure: String?
        let meta: Logger.Metadata = ["GUANHUAI_CHANNEL": "\(channel.name)"]
        var batch: [Outgoing<C.Message>] = []
        let now = clock.now()
        gate: for (i, row) in group.enumerated() {
            if let disabled {
                failure = try await record(row, .permanent(disabled), db: db, policy: policy).failure
                continue
            }
            guard let message = channel.message(OutboxPayload.decode(row.payload)) else {
                failure = try await record(row, .permanent("the outbox row's payload cannot be read"), db: db, policy: policy).failure
                continue
            }
            switch channel.wait(message, row: row, now: now, limits: limits) {
            case .this(let until, let why):
                try await db.deferOutbox([row.id], until: until)
                logger.info(
                    "a message waits \(until - now) s for \(why)",
                    metadata: meta.merging(["GUANHUAI_RECIPIENT": "\(row.recipient)"]) { $1 })
            case .rest(let until, let why):
                let rest = group[i...].map(\.id)
                try await db.deferOutbox(rest, until: until)
                logger.info("\(rest.count) messages wait \(until - now) s for \(why)", metadata: meta)
                break gate
            case nil:
                batch.append(Outgoing(row: row, message: message))
            }
        }
        if batch.isEmpty { return failure }
        let pass = PassState()
        let unrecorded = unrecorded
        let batchRows = batch.map(\.row)
        // Several instances: a message whose claim is about to lapse is not begun (another may take it over and send
        // it too); it is left for the next claim. Its absence from `answered` leaves it due.
        let sendBy = db.sendBy(batchRows.map(\.id))
        await channel.deliver(
            batch, clock: clock, logger: logger, limits: limits,
            shouldStop: {
                Task.isShuttingDownGracefully || !unrecorded.isEmpty || pass.holding || sendBy.map { ContinuousClock.now >= $0 } == true
            },
            answered: { i, outcome in await answer(channel, batchRows[i], outcome, index: i, pass: pass, db: db, policy: policy) })
        let state = pass.state
        if let f = state.failure { failure = f }
        let left = batchRows.indices.filter { !state.answered.contains($0) }.map { batchRows[$0] }
        if let sendBy, ContinuousClock.now >= sendBy, !left.isEmpty, state.gone == nil, state.retryAt == nil {
            logger.notice(
                "\(left.count) messages were not sent before their claim on them ran short; they are sent at the next claim, by this instance or another",
                metadata: meta)
        }
        if let gone = state.gone {
            for row in left { failure = try await record(row, .permanent(gone), db: db, policy: policy).failure }
        } else if let until = state.retryAt, !left.isEmpty {
            // Never offered: they wait, uncharged, for the retry of the one that failed before them. When the batch
            // ended for a stop, they stay due for the next start.
            try await db.deferOutbox(left.map(\.id), until: until)
        }
        return failure
    }
}
