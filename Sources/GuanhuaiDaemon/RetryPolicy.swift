public import GuanhuaiConfig
public import GuanhuaiDelivery

/// What becomes of a message after one try: a pure decision, tested from a table; the dispatcher carries it out.
public struct RetryPolicy: Sendable, Equatable {
    public var initialSeconds: Int
    public var maxSeconds: Int
    public var maxAgeSeconds: Int64

    public enum Decision: Sendable, Equatable {
        case sent
        /// Try again at this time (UTC seconds); the attempt counts.
        case retry(at: Int64, reason: String)
        /// Give up, saying why.
        case fail(reason: String)
        /// Never offered: no attempt counted; it waits for the retry of the message that failed before it.
        case wait
    }

    public init(initialSeconds: Int, maxSeconds: Int, maxAgeSeconds: Int64) {
        self.initialSeconds = initialSeconds
        self.maxSeconds = maxSeconds
        self.maxAgeSeconds = maxAgeSeconds
    }

    public init(_ p: Configuration.DeliveryPolicy) {
        self.init(initialSeconds: p.retryInitialSeconds, maxSeconds: p.retryMaxSeconds, maxAgeSeconds: Int64(p.maxAgeHours) * 3600)
    }

    /// - attempts: tries already counted before this one; age: seconds since the message was queued;
    ///   jitter: a number in 0.8…1.2 (injected, so tests can fix it).
    public func decide(_ outcome: DeliveryOutcome, attempts: Int, age: Int64, now: Int64, jitter: Double) -> Decision {
        switch outcome {
        case .sent: return .sent
        case .notOffered: return .wait
        case .permanent(let why), .endpointGone(let why): return .fail(reason: why)
        case .temporary(let why, _) where age >= maxAgeSeconds, .throttled(let why) where age >= maxAgeSeconds:
            return .fail(reason: "gave up after \(maxAgeSeconds / 3600) h: \(why)")
        case .temporary(let why, let retryAfter):
            return .retry(at: now + max(delay(attempts: attempts, jitter: jitter), retryAfter ?? 0), reason: why)
        case .throttled(let why):
            return .retry(at: now + delay(attempts: attempts, jitter: jitter), reason: why)
        }
    }

    /// The same, drawing the jitter (0.8…1.2) from `generator`: the system's in the daemon, a seeded one in tests.
    public func decide(
        _ outcome: DeliveryOutcome, attempts: Int, age: Int64, now: Int64,
        using generator: inout some RandomNumberGenerator
    ) -> Decision {
        decide(outcome, attempts: attempts, age: age, now: now, jitter: Double.random(in: 0.8...1.2, using: &generator))
    }

    /// Exponential from `initialSeconds`, capped at `maxSeconds`, with jitter; at least a second.
    public func delay(attempts: Int, jitter: Double) -> Int64 {
        let exponent = Double(min(attempts, 62))
        let base = min(Double(maxSeconds), Double(initialSeconds) * (exponent > 30 ? .infinity : pow2(exponent)))
        return max(1, Int64((base * jitter).rounded()))
    }

    private func pow2(_ e: Double) -> Double { Double(1 << Int(e)) }
}
