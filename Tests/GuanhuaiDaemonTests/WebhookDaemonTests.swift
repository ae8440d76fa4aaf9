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

final class ManualClock: WallClock {
    let value: Mutex<Int64>
    init(_ t: Int64) { value = Mutex(t) }
    func now() -> Int64 { value.withLock { $0 } }
    func set(_ t: Int64) { value.withLock { $0 = t } }
}

/// webhook_server.py: verifies signatures as each vendor documents them and logs each request as a JSON line.
func webhookServer(log: URL) throws -> ServerProcess { try ServerProcess([webhookServerScript, "--log", log.path]) }

func requests(_ log: URL) -> [[String: Any]] { loggedRequests(log) }

@Suite(.serialized) struct WebhookDaemonTests {
    @Test func aRobotGetsAtMostItsRateAndTheRestWaitInTheOutboxUncounted() async throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        let log = dir.url.appendingPathComponent("requests.jsonl")
        let server = try webhookServer(log: log)
        _ = try dir.write("wecom-key", "wecom-key-1")
        _ = try dir.write("whsec", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        try appendTOML(
            """

            [channels.robot]
            type = "wecom"
            url = "http://127.0.0.1:\(server.port)/cgi-bin/webhook/send"
            key_credential = "wecom-key"
            rate_per_minute = 5

            [channels.hook]
            type = "webhook"
            url = "http://127.0.0.1:\(server.port)/gone"
            secret_credential = "whsec"

            """, to: config)
        let env = ["CREDENTIALS_DIRECTORY": dir.url.path]
        let t0: Int64 = 1_800_000_000
        let clock = ManualClock(t0)
        let daemon = try await builtDaemon(config: config, environment: env, wall: clock)
        let runtime = daemon.runtime
        let loaded = await runtime.loaded
        let db = try loaded.sqlite
        let robot = WebhookMessages.robot(try #require(loaded.webhookChannels["robot"]).spec, text: "【关怀提醒】测试", mention: nil)[0]
        var rows = (1...8).map {
            NewOutboxMessage(idempotencyKey: "k\($0)", recipient: "M001", channel: "robot", payload: OutboxPayload.webhook(body: Data(robot)).encoded())
        }
        rows += (1...2).map {
            NewOutboxMessage(idempotencyKey: "h\($0)", recipient: "M001", channel: "hook", payload: OutboxPayload.webhook(body: Data("{}".utf8)).encoded())
        }
        _ = try db.enqueue(rows, processedThrough: t0, now: t0)
        try await daemon.dispatchOnce()

        let robotRequests = { requests(log).filter { ($0["path"] as? String) == "/cgi-bin/webhook/send" } }
        #expect(robotRequests().count == 5)
        let waiting = try db.outbox().filter { $0.channel == "robot" && $0.state == .pending }
        #expect(waiting.count == 3)
        #expect(waiting.allSatisfy { $0.attempts == 0 && $0.nextAttemptAt == t0 + 60 })
        // 410: the first call disables the channel; the second message is not sent and fails, saying why.
        #expect(requests(log).filter { ($0["path"] as? String) == "/gone" }.count == 1)
        let hooks = try db.outbox().filter { $0.channel == "hook" }
        #expect(hooks.allSatisfy { $0.state == .failed })
        #expect(hooks.last?.lastError?.contains("enable-channel hook") == true)
        #expect(try db.disabledEndpoints().map(\.channel) == ["hook"])
        #expect(await runtime.statusText.contains("DISABLED (410 Gone): hook"))

        clock.set(t0 + 59)
        try await daemon.dispatchOnce()
        #expect(robotRequests().count == 5)
        clock.set(t0 + 60)
        try await daemon.dispatchOnce()
        #expect(robotRequests().count == 8)
        #expect(try db.outbox().filter { $0.channel == "robot" }.allSatisfy { $0.state == .sent && $0.attempts == 1 })

        // The CLI re-enables it.
        let enabled = try runCLI(["enable-channel", "hook", "--config", config])
        #expect(enabled.status == 0, "\(enabled.stderr)")
        #expect(try db.disabledEndpoints().isEmpty)

        // Gone again; then the operator points the channel elsewhere and reloads: it is enabled by itself.
        func enqueueHook(_ key: String, at t: Int64) throws {
            _ = try db.enqueue(
                [
                    NewOutboxMessage(
                        idempotencyKey: key, recipient: "M001", channel: "hook",
                        payload: OutboxPayload.webhook(body: Data("{}".utf8)).encoded())
                ], processedThrough: t, now: t)
        }
        try enqueueHook("h3", at: t0 + 61)
        clock.set(t0 + 61)
        try await daemon.dispatchOnce()
        #expect(try db.disabledEndpoints().map(\.channel) == ["hook"])
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "/gone\"", with: "/hook\"").utf8).write(to: URL(fileURLWithPath: config))
        try await runtime.reload()
        try enqueueHook("h4", at: t0 + 62)
        clock.set(t0 + 62)
        try await daemon.dispatchOnce()
        #expect(try db.disabledEndpoints().isEmpty)
        let delivered = requests(log).filter { ($0["path"] as? String) == "/hook" }
        #expect(delivered.count == 1 && delivered.first?["verified"] as? Bool == true)
        #expect((delivered.first?["headers"] as? [String: String])?["webhook-id"] == "h4")
        withExtendedLifetime(server) {}
    }

    @Test func theDaemonPostsEachDigestToTheWebhookAndEachUnitsItemsToItsRobot() async throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("hooks-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: log) }
        let server = try webhookServer(log: log)
        let committee = Example.config.organization.committee.id
        let rig = try Rig { text in
            text + """

                [channels.robot]
                type = "dingtalk"
                url = "http://127.0.0.1:\(server.port)/robot/send"
                access_token_credential = "ding-token"
                secret_credential = "ding-secret"
                rate_per_minute = 0

                [channels.hook]
                type = "webhook"
                url = "http://127.0.0.1:\(server.port)/hook"
                secret_credential = "whsec"

                [routing]
                email = "mail"
                webhooks = ["hook"]

                [routing.units]
                "\(committee)" = "robot"

                """
        }
        _ = try rig.dir.write("ding-token", "ding-token-1")
        _ = try rig.dir.write("ding-secret", "SECdingtalk-secret")
        _ = try rig.dir.write("whsec", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let smtp = try rig.smtp()
        try setClock(rig.clock, EndToEndTests.start)
        let daemon = try rig.daemon()
        defer { daemon.signal(SIGKILL) }

        let input = Example.config.planInput()
        let occ = Planner(input).plan(
            PlanQuery(
                from: date("2027-05-01"), to: date("2027-07-31"), now: EndToEndTests.sendTime))
        let digests = Digest.collect(occ, after: EndToEndTests.start, through: EndToEndTests.sendTime)
        let chatDigests = digests.filter { $0.items.contains { $0.kind != .greeting } }
        #expect(!digests.isEmpty && !chatDigests.isEmpty)
        let arrived = await eventually(30) {
            let r = requests(log)
            return r.filter { $0["path"] as? String == "/hook" }.count == digests.count
                && r.filter { $0["path"] as? String == "/robot/send" }.count >= chatDigests.count
        }
        #expect(arrived, "\(requests(log).count) requests; daemon: \(daemon.stderr.suffix(2000))")
        let all = requests(log)
        #expect(all.allSatisfy { $0["verified"] as? Bool == true })
        let ids = Set(all.filter { $0["path"] as? String == "/hook" }.map { ($0["headers"] as! [String: String])["webhook-id"]! })
        #expect(ids == Set(digests.map { $0.idempotencyKey(channel: "hook") }))
        let contacts = Dictionary(input.members.map { ($0.id, $0.mobile) }, uniquingKeysWith: { a, _ in a })
            .merging(input.organization.people.mapValues(\.mobile)) { $1 }
        var mentioned = 0
        for r in all where r["path"] as? String == "/robot/send" {
            let msg = try #require(JSONSerialization.jsonObject(with: Data((r["body"] as! String).utf8)) as? [String: Any])
            let content = (msg["text"] as! [String: Any])["content"] as! String
            #expect(content.hasPrefix("【关怀提醒】") || content.hasPrefix("("))
            let mobiles = (msg["at"] as! [String: Any])["atMobiles"] as! [String]
            #expect(mobiles.allSatisfy { m in contacts.values.contains(m) })
            if !mobiles.isEmpty { mentioned += 1 }
        }
        #expect(mentioned > 0, "no robot message mentions anyone")
        // Nothing is sent twice after a restart.
        daemon.signal(SIGTERM)
        #expect(await daemon.waitExit(timeout: 20) == 0)
        let again = try rig.daemon("again", environment: ["GUANHUAI_LOG_LEVEL": "debug"])
        // Both loops have been round once (planned, found nothing new, dispatched nothing) and gone to sleep.
        #expect(
            try await eventually(20) { again.stderr.contains("scheduler sleeps") && again.stderr.contains("dispatcher sleeps") },
            "\(again.stderr)")
        again.signal(SIGTERM)
        #expect(await again.waitExit(timeout: 20) == 0)
        #expect(requests(log).count == all.count)
        withExtendedLifetime(smtp) {}
        withExtendedLifetime(server) {}
    }
}

func date(_ s: String) -> CivilDate { CivilDate(parsing: s)! }
