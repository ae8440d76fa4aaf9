import GuanhuaiConfig
import GuanhuaiDelivery
import GuanhuaiTestSupport
import Testing

@testable import GuanhuaiDaemon

/// What becomes of a message after a try, from a table. Policy: 60 s first, at most 3,600 s, give up after 48 h.
@Suite struct RetryPolicyTests {
    static let policy = RetryPolicy(initialSeconds: 60, maxSeconds: 3600, maxAgeSeconds: 48 * 3600)
    static let now: Int64 = 1_800_000_000

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var result: DeliveryOutcome
        var attempts = 0
        var age: Int64 = 0
        var jitter = 1.0
        var expected: RetryPolicy.Decision
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "accepted", result: .sent(receipt: "250 ok"), expected: .sent),
        Case(
            name: "first temporary failure waits the initial delay", result: .temporary("451"),
            expected: .retry(at: now + 60, reason: "451")),
        Case(
            name: "the delay doubles", result: .temporary("451"), attempts: 3,
            expected: .retry(at: now + 480, reason: "451")),
        Case(
            name: "the delay stops at the maximum", result: .temporary("451"), attempts: 10,
            expected: .retry(at: now + 3600, reason: "451")),
        Case(
            name: "a huge attempt count does not overflow", result: .temporary("451"), attempts: 5_000,
            expected: .retry(at: now + 3600, reason: "451")),
        Case(
            name: "jitter spreads it (×0.8)", result: .temporary("451"), attempts: 1, jitter: 0.8,
            expected: .retry(at: now + 96, reason: "451")),
        Case(
            name: "jitter spreads it (×1.2)", result: .temporary("451"), attempts: 1, jitter: 1.2,
            expected: .retry(at: now + 144, reason: "451")),
        Case(
            name: "still temporary just before the age limit", result: .temporary("down"),
            attempts: 20, age: 48 * 3600 - 1, expected: .retry(at: now + 3600, reason: "down")),
        Case(
            name: "temporary but too old: given up, saying so", result: .temporary("down"),
            attempts: 20, age: 48 * 3600, expected: .fail(reason: "gave up after 48 h: down")),
        Case(
            name: "permanent fails at once", result: .permanent("550 no such user"),
            expected: .fail(reason: "550 no such user")),
        Case(
            name: "the endpoint's Retry-After is longer than the backoff: it is kept",
            result: .temporary("429", retryAfter: 900), expected: .retry(at: now + 900, reason: "429")),
        Case(
            name: "a Retry-After shorter than the backoff does not shorten it",
            result: .temporary("429", retryAfter: 5), attempts: 2, expected: .retry(at: now + 240, reason: "429")),
        Case(
            name: "one recipient throttled: retried with the same backoff", result: .throttled("isv.BUSINESS_LIMIT_CONTROL"),
            attempts: 1, expected: .retry(at: now + 120, reason: "isv.BUSINESS_LIMIT_CONTROL")),
        Case(
            name: "throttled for two days: given up", result: .throttled("limit"), age: 48 * 3600,
            expected: .fail(reason: "gave up after 48 h: limit")),
        Case(name: "410 Gone fails at once", result: .endpointGone("HTTP 410 Gone"), expected: .fail(reason: "HTTP 410 Gone")),
        Case(
            name: "never offered: waits, uncharged", result: .notOffered("connection closed"),
            attempts: 2, expected: .wait),
    ]

    @Test(arguments: cases)
    func decides(_ c: Case) {
        #expect(
            RetryPolicyTests.policy.decide(
                c.result, attempts: c.attempts, age: c.age, now: RetryPolicyTests.now,
                jitter: c.jitter) == c.expected)
    }

    /// With a seeded generator the decision is reproducible, and it always lies within the jitter's bounds.
    @Test func aSeededGeneratorGivesTheSameRetryAndStaysWithinTheJitter() {
        var a = SplitMix(seed: 7)
        var b = SplitMix(seed: 7)
        for attempts in 0..<12 {
            let x = RetryPolicyTests.policy.decide(.temporary("t"), attempts: attempts, age: 0, now: 0, using: &a)
            let y = RetryPolicyTests.policy.decide(.temporary("t"), attempts: attempts, age: 0, now: 0, using: &b)
            #expect(x == y)
            guard case .retry(let at, _) = x else {
                Issue.record("not a retry: \(x)")
                continue
            }
            let base = Double(min(3600, 60 << attempts))
            #expect(Double(at) >= (base * 0.8).rounded(.down) && Double(at) <= (base * 1.2).rounded(.up))
        }
    }
}

/// Two instances on one database share a robot's window: each sends within half of it.
@Suite struct SharedRateWindowTests {
    @Test func twoInstancesEachTakeHalfOfARobotsWindow() throws {
        let dir = try Scratch()
        let secret = try dir.write("secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n")
        let whole = try ChannelSpec(url: "webhook+https://robot.example.edu.cn/hook?secret_file=\(secret)&rate_per_minute=20")
        guard case .webhook(let spec) = whole else { throw TestSetupError("not a webhook") }
        let hook = WebhookChannel(name: "robot", spec: spec, secrets: try whole.secrets(name: "robot", environment: [:]))
        let limits = DeliveryLimits()
        limits.instances.withLock { $0 = 2 }
        let now: Int64 = 1_800_000_000
        for _ in 0..<10 { #expect(limits.reserve(hook, now: now) == nil) }
        let next = try #require(limits.reserve(hook, now: now), "the 11th message in the minute waits")
        #expect(next > now && next <= now + 60)
        let alone = DeliveryLimits()
        for _ in 0..<20 { #expect(alone.reserve(hook, now: now) == nil) }
        #expect(alone.reserve(hook, now: now) != nil)
    }
}
