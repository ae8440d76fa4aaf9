import Foundation
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiStore
import GuanhuaiTestSupport
import Logging
import Systemd
import Testing

@testable import GuanhuaiDaemon

/// Every send time missed while the daemon was down goes out once, with all its items, whatever the outage's length.
@Suite struct OutageTests {
    /// A copy of the example whose every digest also goes to a generic webhook: its JSON lists the items.
    static func runtime(_ dir: borrowing Scratch) async throws -> Runtime {
        let (config, env) = try dir.exampleCopy(
            routing: "webhooks = [\"hook\"]\njournal = false",
            channels: """
                [channels.hook]
                type = "webhook"
                url = "http://127.0.0.1:9/hook"
                secret_credential = "whsec"
                """,
            credentials: ["whsec": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
        return try await builtDaemon(config: config, environment: env).runtime
    }

    /// Idempotency key → the digest's (occurrence, kind) pairs.
    static func digests(_ db: AppDatabase) throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        for row in try db.outbox() {
            guard case .webhook(let body) = OutboxPayload.decode(row.payload),
                let json = try JSONSerialization.jsonObject(with: body) as? [String: Any],
                let data = json["data"] as? [String: Any], let items = data["items"] as? [[String: Any]]
            else { continue }
            out[row.idempotencyKey] = items.map { "\($0["occurrence"] ?? "")|\($0["kind"] ?? "")" }.sorted()
        }
        return out
    }

    /// 2027-07-12 09:00 in Asia/Shanghai: the issue's reproduction starts here, before the day-14 escalations of 06-30.
    static let start = Example.noon("2027-07-12") - 3 * 3600

    @Test(arguments: [1, 3, 7, 30, 100])
    func everyMissedSendTimeGoesOutOnceWithAllItsItems(outageDays: Int) async throws {
        let end = OutageTests.start + Int64(outageDays) * 86400

        // The daemon that never stopped: one step at every send time.
        let ref = try Scratch()
        let running = try await OutageTests.runtime(ref)
        var t = OutageTests.start
        _ = try await running.schedule(now: t)
        while true {
            let (_, next) = try await running.schedule(now: t)
            guard let next, next <= end else { break }
            t = next
        }
        _ = try await running.schedule(now: end)
        // A greeting more than late_greeting_days (7) late is not sent at all: the restarted daemon drops those.
        let expected = try OutageTests.digests(await running.sqlite).filter { key, items in
            let at = Int64(key.split(separator: ":")[2])!
            return !(items.allSatisfy { $0.hasSuffix("|greeting") } && end - at > 7 * 86400)
        }

        // The daemon that was down from the start to the end.
        let dir = try Scratch()
        let down = try await OutageTests.runtime(dir)
        _ = try await down.schedule(now: OutageTests.start)
        _ = try await down.schedule(now: end)
        let got = try OutageTests.digests(await down.sqlite)

        #expect(expected.count > 0)
        #expect(Set(got.keys) == Set(expected.keys), "missing: \(Set(expected.keys).subtracting(got.keys).sorted().prefix(5))")
        for (key, items) in expected { #expect(got[key] == items, "\(key)") }
        if outageDays == 7 {
            // The issue's case: the 14-day escalations of items due 06-30, at 07-14 08:30.
            let at = Example.noon("2027-07-14") - 3 * 3600 - 1800
            #expect(got.keys.contains { $0.contains(":\(at):") })
        }
    }

    /// A retry computed on the later clock would wait the whole jump longer once the clock goes back; it is brought
    /// within `retry_max_seconds` of the new present, and nothing is enqueued twice.
    @Test func aClockThatGoesBackTwoDaysHoldsNoRetryBeyondTheMaximum() async throws {
        let dir = try Scratch()
        let runtime = try await OutageTests.runtime(dir)
        let later = OutageTests.start + 3 * 86400
        _ = try await runtime.schedule(now: OutageTests.start)
        _ = try await runtime.schedule(now: later)
        let db = try await runtime.sqlite
        let pending = try db.outbox().filter { $0.state == .pending }
        #expect(!pending.isEmpty)
        try db.deferOutbox(pending.map(\.id), until: later + 3600)  // the first attempts failed on the later clock
        let back = later - 2 * 86400
        _ = try await runtime.schedule(now: back)
        let after = try db.outbox()
        #expect(after.count == pending.count)
        #expect(Set(after.map(\.idempotencyKey)).count == after.count)
        let max = Int64(await runtime.loaded.config.delivery.retryMaxSeconds)
        #expect(after.filter { $0.state == .pending }.allSatisfy { $0.nextAttemptAt! <= back + max })
        // Forward again: the same send times are not enqueued a second time.
        _ = try await runtime.schedule(now: later)
        #expect(try db.outbox().count == after.count)
    }
}
