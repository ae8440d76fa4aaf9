import GuanhuaiDelivery
import GuanhuaiStore
import Synchronization

/// Results that could not be written to the store yet (see DispatcherService.unrecorded).
final class UnrecordedResults: Sendable {
    private let rows = Mutex<[Int64: (OutboxRow, DeliveryOutcome)]>([:])

    func keep(_ row: OutboxRow, _ outcome: DeliveryOutcome) { rows.withLock { $0[row.id] = (row, outcome) } }
    func remove(_ id: Int64) { _ = rows.withLock { $0.removeValue(forKey: id) } }
    func all() -> [(OutboxRow, DeliveryOutcome)] { rows.withLock { $0.values.sorted { $0.0.id < $1.0.id } } }
    var isEmpty: Bool { rows.withLock { $0.isEmpty } }
}

/// What recording a result wrote: a failure description for STATUS=, and the time of the retry if one was set.
struct Recorded: Sendable {
    var failure: String?
    var retryAt: Int64?
}

/// What one batch's answers decided, as they come in (from the channel's task): which messages were answered, the
/// last failure, the first retry time, and whether the rest are held (a temporary failure) or fail (a 410).
final class PassState: Sendable {
    struct State {
        var answered: Set<Int> = []
        var failure: String?
        var retryAt: Int64?
        var holding = false
        var gone: String?
    }

    private let value = Mutex(State())
    var state: State { value.withLock { $0 } }
    var holding: Bool { value.withLock { $0.holding || $0.gone != nil } }

    func answered(_ i: Int, _ recorded: Recorded) {
        value.withLock {
            $0.answered.insert(i)
            if let f = recorded.failure { $0.failure = f }
            if let at = recorded.retryAt { $0.retryAt = $0.retryAt ?? at }
        }
    }

    func hold(until: Int64) {
        value.withLock {
            $0.holding = true
            $0.retryAt = $0.retryAt ?? until
        }
    }
    func disable(_ why: String) { value.withLock { $0.gone = why } }
}

/// Per-endpoint rate windows and per-number SMS limits, kept across reloads (an endpoint's limit does not reset
/// with the configuration). In memory: after a restart the provider's own limit answers (a temporary failure,
/// retried) until these fill again.
final class DeliveryLimits: Sendable {
    private let windows = Mutex<[String: RateWindow]>([:])
    private let numbers = Mutex<[String: SMSNumberLimit]>([:])
    private let paces = Mutex<[String: SendPace]>([:])
    /// How many instances share each endpoint (`[database] instances`), set at each dispatcher pass.
    let instances = Mutex(1)
    /// Whether the SMS limits have been seeded from the store (once, at the first pass after start).
    let seeded = Mutex(false)

    /// True the first time only.
    func firstPass() -> Bool {
        seeded.withLock { s in
            defer { s = true }
            return !s
        }
    }

    /// This instance's share of a robot's window: `rate_per_minute / instances`, at least 1.
    func share(of rate: Int) -> Int { max(1, rate / instances.withLock { $0 }) }

    /// nil: send now. Otherwise the time the endpoint takes the next message.
    func reserve(_ channel: WebhookChannel, now: Int64) -> Int64? {
        guard let rate = channel.spec.ratePerMinute else { return nil }
        let limit = share(of: rate)
        return windows.withLock { windows in
            var w = windows[channel.endpoint] ?? RateWindow(limit: limit)
            if w.limit != limit { w = RateWindow(limit: limit) }
            let r = w.reserve(now: now)
            windows[channel.endpoint] = w
            return r
        }
    }

    /// When a work app's next message may start, that start taken: `every` after the one before (kept across reloads,
    /// by the application's endpoint).
    func paceSlot(_ key: String, every: Duration) -> ContinuousClock.Instant {
        paces.withLock { $0[key, default: SendPace()].take(now: .now, every: every) }
    }

    /// nil: text the number now. Otherwise when its next message may go.
    func reserveSMS(_ channel: SMSChannel, phone: String, now: Int64) -> Int64? {
        let key = channel.name + "\u{1F}" + phone
        return numbers.withLock { numbers in
            var limit =
                numbers[key]
                ?? SMSNumberLimit(perMinute: channel.spec.perMinute, perHour: channel.spec.perHour, perDay: channel.spec.perDay)
            let r = limit.reserve(now: now)
            numbers[key] = limit
            return r
        }
    }
}
