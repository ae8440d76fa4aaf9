import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiStore
import GuanhuaiTestSupport
import Logging
import Synchronization
import Systemd
import Testing

@testable import GuanhuaiDaemon

/// Every line a logger was given, with its metadata.
final class CapturedLog: Sendable {
    let lines = Mutex<[String]>([])
    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            log.lines.withLock { $0.append("\(event.level) \(event.message) \(all)") }
        }
    }

    var logger: Logger { Logger(label: "captured") { _ in Handler(log: self) } }
}

/// SMS end to end inside the daemon: the router's rows, the outbox, the dispatcher, against sms_server.py (which
/// verifies each 阿里云 signature independently and throttles numbers ending 0001 twice).
@Suite(.serialized) struct SMSDaemonTests {
    struct Setup {
        var daemon: Daemon
        var loaded: Loaded
        /// The daemon's wall time: set by each test.
        var clock: ManualClock
        var config: String
        var log: URL
        var server: ServerProcess
    }

    static func setUp(_ dir: borrowing Scratch, logger: Logger = Logger(label: "t")) async throws -> Setup {
        let config = try dir.exampleCopy()
        let log = dir.url.appendingPathComponent("sms.jsonl")
        let server = try ServerProcess([
            Example.root.appendingPathComponent("Tests/GuanhuaiDeliveryTests/Servers/sms_server.py").path,
            "--log", log.path,
        ])
        _ = try dir.write("sms-id", "LTAItest-id")
        _ = try dir.write("sms-secret", "aliyun-test-secret")
        try appendTOML(
            """

            [channels.sms]
            type = "sms"
            provider = "aliyun"
            url = "http://127.0.0.1:\(server.port)/"
            access_key_id_credential = "sms-id"
            access_key_secret_credential = "sms-secret"
            sign_name = "示范大学党委"
            templates.greeting = { id = "SMS_G", params = { name = "recipient", years = "years" } }
            templates.due = { id = "SMS_D", params = { who = "recipient", what = "title", day = "due" } }
            templates.overdue = { id = "SMS_O", params = { who = "recipient", what = "title", day = "due" } }

            [routing]
            greeting_sms = "sms"
            sms_fallback = "sms"

            """, to: config)
        let env = ["CREDENTIALS_DIRECTORY": dir.url.path]
        let clock = ManualClock(0)
        let daemon = try await builtDaemon(config: config, environment: env, wall: clock, logger: logger)
        return Setup(daemon: daemon, loaded: await daemon.runtime.loaded, clock: clock, config: config, log: log, server: server)
    }

    /// M001 (mobile …0001) is greeted on the day by SMS, not mail: the provider throttles twice, the outbox retries,
    /// and the third try goes through. One message, with the template's parameters, and nothing lost.
    @Test func aGreetingGoesBySMSOnTheDayAndThrottlingIsRetried() async throws {
        let dir = try Scratch()
        let captured = CapturedLog()
        let s = try await Self.setUp(dir, logger: captured.logger)
        let input = try await s.loaded.workspace.planInput()
        let occ = Planner(input).plan(
            PlanQuery(
                from: CivilDate(2027, 2, 1)!, to: CivilDate(2027, 2, 28)!,
                now: Example.noon("2027-01-01"), rules: ["political-birthday"]))
        let o = try #require(occ.first { $0.subject == "M001" })
        let r = try #require(o.reminders.first { $0.kind == .greeting })
        #expect(r.localDate.description == "2027-02-14")
        let d = try #require(Digest.collect([o], after: r.at - 1, through: r.at).first { $0.recipient == "M001" })
        var context = RenderContext(input: input)
        context.note = { _ in "不应出现的备注" }
        let routed = s.loaded.router.route(d, context: context, contact: DigestRouter.contacts(input)["M001"], journal: false, now: r.at)
        #expect(routed.rows.count == 1, "the SMS replaces the mail: \(routed.rows.map(\.channel))")
        let db = try s.loaded.sqlite
        _ = try db.enqueue(routed.rows, processedThrough: r.at, now: r.at)
        _ = try db.enqueue(routed.rows, processedThrough: r.at, now: r.at)  // once: the same key is not queued twice
        let clock = s.clock
        clock.set(r.at)
        // A retry may also wait for the number's own limit (1 a minute): deferred, not charged.
        for _ in 0..<10 {
            try await s.daemon.dispatchOnce()
            guard let row = try db.outbox().first, row.state == .pending, let next = row.nextAttemptAt else { break }
            #expect(row.lastError?.contains("isv.BUSINESS_LIMIT_CONTROL") == true, "\(row)")
            clock.set(max(next, clock.now() + 1))
        }
        let rows = try db.outbox()
        #expect(rows.count == 1 && rows[0].state == .sent && rows[0].attempts == 3, "\(rows)")
        let requests = loggedRequests(s.log)
        #expect(requests.count == 3 && requests.allSatisfy { $0["verified"] as? Bool == true }, "\(requests)")
        #expect(requests.map { $0["answer"] as? String } == ["throttled", "throttled", "ok"])
        let sent = try #require(requests.last)
        #expect(sent["phone"] as? String == "13900000001" && sent["template"] as? String == "SMS_G")
        let params = try #require(sent["params"] as? [String: String])
        #expect(params["name"] == "周海燕" && params["years"] == "37", "\(params)")
        #expect(!requests.contains { "\($0)".contains("不应出现") }, "a note never reaches an SMS")
        // The log tells of the throttling and the delivery, and never of the keys.
        #expect(captured.text.contains("isv.BUSINESS_LIMIT_CONTROL") && captured.text.contains("reminder sent"), "\(captured.text)")
        #expect(!captured.text.contains("aliyun-test-secret") && !captured.text.contains("LTAItest-id"), "\(captured.text)")
        #expect(!(try db.outbox()).contains { ($0.lastError ?? "").contains("aliyun-test-secret") })
        withExtendedLifetime(s.server) {}
    }

    /// Routing to an SMS channel without the template it needs is refused where it is written, not met with silence.
    @Test func routingNeedsTheTemplatesItSends() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        _ = try dir.write("sms-id", "LTAItest-id")
        _ = try dir.write("sms-secret", "aliyun-test-secret")
        try appendTOML(
            """

            [channels.sms]
            type = "sms"
            provider = "tencent"
            secret_id_credential = "sms-id"
            secret_key_credential = "sms-secret"
            sdk_app_id = "1400000001"
            sign_name = "示范大学党委"
            templates.due = { id = "1", params = ["recipient", "title"] }

            [routing]
            greeting_sms = "sms"

            """, to: config)
        var env = ProcessInfo.processInfo.environment
        env["CREDENTIALS_DIRECTORY"] = dir.url.path
        env["LANG"] = "C.UTF-8"
        let r = try runCLI(["check", "--config", config], environment: env)
        let said = r.stdout + r.stderr
        #expect(r.status == 2 && said.contains("[routing], greeting_sms") && said.contains("no templates.greeting"), "\(said)")
    }

    /// Three messages to one number at once: one goes, two wait a minute in the outbox, uncharged.
    @Test func theNumberLimitHoldsInTheOutbox() async throws {
        let dir = try Scratch()
        let s = try await Self.setUp(dir)
        let db = try s.loaded.sqlite
        let t0: Int64 = 1_800_000_000
        let rows = (1...3).map {
            NewOutboxMessage(
                idempotencyKey: "s\($0)", recipient: "M005", channel: "sms",
                payload: OutboxPayload.sms(phone: "13800138000", template: "SMS_D", params: [.init("who", "某某")]).encoded())
        }
        _ = try db.enqueue(rows, processedThrough: t0, now: t0)
        let clock = s.clock
        clock.set(t0)
        try await s.daemon.dispatchOnce()
        #expect(loggedRequests(s.log).count == 1)
        let waiting = try db.outbox().filter { $0.state == .pending }
        #expect(waiting.count == 2 && waiting.allSatisfy { $0.attempts == 0 && $0.nextAttemptAt == t0 + 60 }, "\(waiting)")
        clock.set(t0 + 60)
        try await s.daemon.dispatchOnce()
        #expect(loggedRequests(s.log).count == 2)
        clock.set(t0 + 120)
        try await s.daemon.dispatchOnce()
        let all = try db.outbox()
        #expect(loggedRequests(s.log).count == 3 && all.allSatisfy { $0.state == .sent })
        withExtendedLifetime(s.server) {}
    }

    /// The number's limits survive a restart: a new daemon on the same database counts what the last one texted in
    /// the last day, so the second message still waits its minute.
    @Test func theNumberLimitSurvivesARestart() async throws {
        let dir = try Scratch()
        let s = try await Self.setUp(dir)
        let db = try s.loaded.sqlite
        let t0: Int64 = 1_800_000_000
        let rows = (1...2).map {
            NewOutboxMessage(
                idempotencyKey: "r\($0)", recipient: "M005", channel: "sms",
                payload: OutboxPayload.sms(phone: "13800138000", template: "SMS_D", params: [.init("who", "某某")]).encoded())
        }
        _ = try db.enqueue([rows[0]], processedThrough: t0, now: t0)
        s.clock.set(t0)
        try await s.daemon.dispatchOnce()
        #expect(loggedRequests(s.log).count == 1)
        // guanhuaid restarts ten seconds later with the second message queued.
        _ = try db.enqueue([rows[1]], processedThrough: t0 + 10, now: t0 + 10)
        let clock = ManualClock(t0 + 10)
        let again = try await builtDaemon(config: s.config, environment: ["CREDENTIALS_DIRECTORY": dir.url.path], wall: clock)
        try await again.dispatchOnce()
        #expect(loggedRequests(s.log).count == 1, "the restart did not give the number its minute again")
        let waiting = try #require(try db.outbox().first { $0.idempotencyKey == "r2" })
        #expect(waiting.state == .pending && waiting.attempts == 0 && waiting.nextAttemptAt == t0 + 60, "\(waiting)")
        clock.set(t0 + 60)
        try await again.dispatchOnce()
        #expect(loggedRequests(s.log).count == 2)
        withExtendedLifetime(s.server) {}
    }

    /// The due-day reminder goes by SMS only to someone without an e-mail address; a member who opted out
    /// (短信 = 否) is greeted by mail.
    @Test func smsFallsBackOnlyWithoutMailAndRespectsTheOptOut() async throws {
        let dir = try Scratch()
        let s = try await Self.setUp(dir)
        var input = try await s.loaded.workspace.planInput()
        let occ = Planner(input).plan(
            PlanQuery(
                from: CivilDate(2027, 1, 1)!, to: CivilDate(2027, 12, 31)!,
                now: Example.noon("2027-01-01")))
        let o = try #require(occ.first { $0.reminders.contains { $0.kind == .due } && $0.responsible.hasPrefix("M") })
        let r = try #require(o.reminders.first { $0.kind == .due })
        let d = try #require(Digest.collect([o], after: r.at - 1, through: r.at).first { $0.recipient == o.responsible })
        let context = RenderContext(input: input)
        let router = s.loaded.router
        let withMail = DigestRouter.Contact(email: "x@example.edu.cn", chat: ChatContact(mobile: "13800138000"), sms: "13800138000")
        #expect(!router.route(d, context: context, contact: withMail, journal: false, now: r.at).rows.contains { $0.channel == "sms" })
        var noMail = withMail
        noMail.email = nil
        let texted = router.route(d, context: context, contact: noMail, journal: false, now: r.at).rows
        let row = try #require(texted.first { $0.channel == "sms" })
        guard case .sms(_, let template, let params)? = OutboxPayload.decode(row.payload) else {
            Issue.record("not an SMS")
            return
        }
        #expect(template == "SMS_D" && params.map(\.name) == ["day", "what", "who"])
        // Opted out: no SMS number, so the greeting goes by mail.
        let i = try #require(input.members.firstIndex { $0.id == "M001" })
        input.members[i].smsOptOut = true
        #expect(DigestRouter.contacts(input)["M001"]?.sms == nil)
        #expect(DigestRouter.contacts(input)["M002"]?.sms == "13900000002")
        // check reads the keys and says who is greeted by SMS.
        var env = ProcessInfo.processInfo.environment
        env["CREDENTIALS_DIRECTORY"] = dir.url.path
        env["LANG"] = "C.UTF-8"
        let check = try runCLI(["check", "--config", s.config], environment: env)
        #expect(check.stdout.contains("political-birthday greetings by SMS (sms) to 37 of 37 members"), "\(check.stdout)")
        #expect(!check.stdout.contains("aliyun-test-secret"))
        withExtendedLifetime(s.server) {}
    }
}
