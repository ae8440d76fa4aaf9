import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiStore
import GuanhuaiTestSupport
import Logging
import Testing

@testable import GuanhuaiDaemon

/// SMS delivery receipts end to end in the daemon, against sms_server.py (which answers 阿里云 QuerySendDetails and
/// 腾讯云 PullSmsSendStatus, signed and verified as the sends are) and aiosmtpd: two members are greeted by SMS
/// instead of mail; the provider reports one delivered and one undelivered (空号). The second falls back to mail,
/// once, and `status` shows both.
@Suite(.serialized) struct SMSReceiptTests {
    static let smsServer = Example.root.appendingPathComponent("Tests/GuanhuaiDeliveryTests/Servers/sms_server.py").path

    static func channel(_ provider: String, port: Int) -> String {
        provider == "aliyun"
            ? """
            [channels.sms]
            type = "sms"
            provider = "aliyun"
            url = "http://127.0.0.1:\(port)/"
            access_key_id_credential = "sms-id"
            access_key_secret_credential = "sms-secret"
            sign_name = "示范大学党委"
            templates.greeting = { id = "SMS_G", params = { name = "recipient" } }
            """
            : """
            [channels.sms]
            type = "sms"
            provider = "tencent"
            url = "http://127.0.0.1:\(port)/"
            secret_id_credential = "sms-id"
            secret_key_credential = "sms-secret"
            sdk_app_id = "1400000001"
            sign_name = "示范大学党委"
            templates.greeting = { id = "1", params = ["recipient"] }
            """
    }

    @Test(arguments: ["aliyun", "tencent"])
    func anUndeliveredGreetingFallsBackToMailOnce(provider: String) async throws {
        let dir = try Scratch()
        let maildir = dir.url.appendingPathComponent("mail")
        try FileManager.default.createDirectory(at: maildir, withIntermediateDirectories: true)
        let smtp = try ServerProcess([smtpServerScript, "--maildir", maildir.path])
        let log = dir.url.appendingPathComponent("sms.jsonl")
        let server = try ServerProcess([Self.smsServer, "--log", log.path])
        let (config, env) = try dir.exampleCopy(
            routing: "email = \"mail\"\njournal = false\ngreeting_sms = \"sms\"",
            channels: """
                [channels.mail]
                type = "smtp"
                host = "127.0.0.1"
                port = \(smtp.port)
                security = "none"
                from = "guanhuai@example.edu.cn"

                \(Self.channel(provider, port: server.port))
                """,
            credentials: provider == "aliyun"
                ? ["sms-id": "LTAItest-id", "sms-secret": "aliyun-test-secret"] : ["sms-id": "AKIDtest-id", "sms-secret": "tencent-test-secret"])
        let clock = ManualClock(0)
        let daemon = try await builtDaemon(config: config, environment: env, wall: clock)
        let loaded = await daemon.runtime.loaded
        let input = try await loaded.workspace.planInput()
        let contacts = DigestRouter.contacts(input)
        let occ = Planner(input).plan(
            PlanQuery(from: CivilDate(2027, 1, 1)!, to: CivilDate(2027, 12, 31)!, now: Example.noon("2027-01-01"), rules: ["political-birthday"]))
        let greeted = occ.filter { o in
            o.subject.flatMap { contacts[$0]?.email } != nil && o.reminders.contains { $0.kind == .greeting }
        }.prefix(2)
        try #require(greeted.count == 2)
        // The first number is delivered; the second (…0003) is 空号 at the carrier.
        var rows: [NewOutboxMessage] = []
        var last: Int64 = 0
        var undeliveredTo = ""
        for (o, phone) in zip(greeted, ["13900000005", "13900000003"]) {
            let r = try #require(o.reminders.first { $0.kind == .greeting })
            let d = try #require(Digest.collect([o], after: r.at - 1, through: r.at).first { $0.recipient == o.subject })
            var contact = try #require(contacts[o.subject!])
            contact.sms = phone
            if phone.hasSuffix("0003") { undeliveredTo = contact.email ?? "" }
            rows += loaded.router.route(d, context: RenderContext(input: input), contact: contact, journal: false, now: r.at).rows
            last = max(last, r.at)
        }
        // Each greeting: the SMS, and its mail rendered now and held.
        #expect(rows.map(\.channel.name).sorted() == ["mail", "mail", "sms", "sms"])
        #expect(rows.filter { $0.channel == "mail" }.allSatisfy { $0.heldFor != nil })
        let db = try loaded.sqlite
        _ = try db.enqueue(rows, processedThrough: last, now: last)
        clock.set(last)
        try await daemon.dispatchOnce()
        var outbox = try db.outbox()
        #expect(outbox.filter { $0.channel == "sms" }.allSatisfy { $0.state == .sent }, "\(outbox)")
        #expect(outbox.filter { $0.channel == "mail" }.allSatisfy { $0.state == .held }, "\(outbox)")
        #expect(try db.smsReceiptCounts() == [.accepted: 2])

        let poller = SMSReceiptService(
            runtime: daemon.runtime, clock: clock, sleeper: ContinuousClock(), dispatcherBell: Doorbell(), logger: Logger(label: "t"))
        // 阿里云 says 等待回执 the first time it is asked; 腾讯云 hands out both reports, one twice, and one for an id
        // never sent. Three rounds: every report is in, and repeating changes nothing.
        for minutes in [5, 10, 15] {
            clock.set(last + Int64(minutes) * 60)
            try await poller.pollNow()
            try await daemon.dispatchOnce()
        }
        #expect(try db.smsReceiptCounts() == [.delivered: 1, .undelivered: 1])
        let polls = loggedRequests(log).filter { $0["action"] != nil }
        #expect(!polls.isEmpty && polls.allSatisfy { $0["verified"] as? Bool == true }, "\(polls)")
        #expect(await eventually { (try? stored(maildir).count) == 1 }, "exactly the undelivered greeting's mail")
        try await Task.sleep(for: .milliseconds(300))
        let mails = try stored(maildir)
        #expect(mails.count == 1 && mails.first.map { ((try? String(contentsOf: $0, encoding: .utf8)) ?? "").contains(undeliveredTo) } == true)
        outbox = try db.outbox()
        #expect(outbox.filter { $0.channel == "mail" }.map(\.state).sorted { $0.rawValue < $1.rawValue } == [.sent, .withdrawn], "\(outbox)")

        // status says what the receipts said.
        var e = env
        e["PATH"] = "/usr/bin:/bin"
        e["LANG"] = "C.UTF-8"
        let status = try runCLI(["status", "--config", config], environment: e)
        #expect(status.stdout.contains("SMS receipts: 1 delivered, 1 undelivered"), "\(status.stdout)\(status.stderr)")
        // And /metrics, from the same counts.
        let page = MetricsSnapshot(
            generation: 0, outbox: [], lastSent: nil, smsReceipts: try db.smsReceiptCounts(), obligations: [:]
        ).text(daemon.runtime.metrics.registry)
        #expect(page.contains(#"guanhuai_sms_receipts{state="delivered"} 1"#) && page.contains(#"guanhuai_sms_receipts{state="undelivered"} 1"#), "\(page)")
        withExtendedLifetime((smtp, server)) {}
    }
}
