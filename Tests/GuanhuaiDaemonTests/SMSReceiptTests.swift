import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiStore
import GuanhuaiTestSupport
import GuanhuaiWeb
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

    /// The first `count` political-birthday greetings of 2027 to members with an e-mail address, each routed with the
    /// member's contact as `adjust` sets it (given the greeting's place): the rows, and when the last greeting is due.
    static func routedGreetings(_ loaded: Loaded, count: Int, adjust: (Int, inout DigestRouter.Contact) -> Void) async throws
        -> (rows: [NewOutboxMessage], last: Int64)
    {
        let input = try await loaded.workspace.planInput()
        let contacts = DigestRouter.contacts(input)
        let occ = Planner(input).plan(
            PlanQuery(from: CivilDate(2027, 1, 1)!, to: CivilDate(2027, 12, 31)!, now: Example.noon("2027-01-01"), rules: ["political-birthday"]))
        let greeted = occ.filter { o in
            o.subject.flatMap { contacts[$0]?.email } != nil && o.reminders.contains { $0.kind == .greeting }
        }.prefix(count)
        try #require(greeted.count == count)
        var rows: [NewOutboxMessage] = []
        var last: Int64 = 0
        for (i, o) in greeted.enumerated() {
            let r = try #require(o.reminders.first { $0.kind == .greeting })
            let d = try #require(Digest.collect([o], after: r.at - 1, through: r.at).first { $0.recipient == o.subject })
            var contact = try #require(contacts[o.subject!])
            adjust(i, &contact)
            rows += loaded.router.route(d, context: RenderContext(input: input), contact: contact, journal: false, now: r.at).rows
            last = max(last, r.at)
        }
        return (rows, last)
    }

    /// Two greetings sent by SMS through sms_server.py, the second to a number that is 空号 at the carrier; each
    /// greeting's mail is held as its fallback. `extra`: more TOML for the SMS channel (its receipts setting), and
    /// `web`: a [web] table on that port.
    final class Sent: @unchecked Sendable {
        let dir: Scratch
        let maildir: URL
        let smtp: ServerProcess
        let server: ServerProcess
        let log: URL
        let config: String
        let env: [String: String]
        let clock: ManualClock
        let daemon: Daemon
        let db: AppDatabase
        let last: Int64
        let undeliveredTo: String

        init(
            dir: consuming Scratch, maildir: URL, smtp: ServerProcess, server: ServerProcess, log: URL, config: String, env: [String: String],
            clock: ManualClock, daemon: Daemon, db: AppDatabase, last: Int64, undeliveredTo: String
        ) {
            self.dir = dir
            (self.maildir, self.smtp, self.server, self.log, self.config, self.env) = (maildir, smtp, server, log, config, env)
            (self.clock, self.daemon, self.db, self.last, self.undeliveredTo) = (clock, daemon, db, last, undeliveredTo)
        }
    }

    static func twoGreetingsSent(provider: String, extra: String = "", web: Int? = nil, credentials more: [String: String] = [:]) async throws -> Sent {
        let dir = try Scratch()
        let maildir = dir.url.appendingPathComponent("mail")
        try FileManager.default.createDirectory(at: maildir, withIntermediateDirectories: true)
        let smtp = try ServerProcess([smtpServerScript, "--maildir", maildir.path])
        let log = dir.url.appendingPathComponent("sms.jsonl")
        let server = try ServerProcess([Self.smsServer, "--log", log.path])
        let (config, env) = try dir.exampleCopy(
            routing: "email = \"mail\"\njournal = false\ngreeting_sms = \"sms\"",
            channels: """
                \(mailChannel(port: smtp.port))

                \(Self.channel(provider, port: server.port))
                \(extra)
                \(web.map { "\n[web]\nlisten = \"127.0.0.1:\($0)\"\npublic_url = \"http://127.0.0.1:\($0)\"\nweb_key_credential = \"web-key\"\n" } ?? "")
                """,
            credentials: (provider == "aliyun"
                ? ["sms-id": "LTAItest-id", "sms-secret": "aliyun-test-secret"] : ["sms-id": "AKIDtest-id", "sms-secret": "tencent-test-secret"])
                .merging(more) { $1 })
        let clock = ManualClock(0)
        let daemon = try await builtDaemon(config: config, environment: env, wall: clock)
        let loaded = await daemon.runtime.loaded
        // The first number is delivered; the second (…0003) is 空号 at the carrier.
        var undeliveredTo = ""
        let (rows, last) = try await Self.routedGreetings(loaded, count: 2) { i, contact in
            contact.sms = ["13900000005", "13900000003"][i]
            if i == 1 { undeliveredTo = contact.email ?? "" }
        }
        // Each greeting: the SMS, and its mail rendered now and held.
        #expect(rows.map(\.channel.name).sorted() == ["mail", "mail", "sms", "sms"])
        #expect(rows.filter { $0.channel == "mail" }.allSatisfy { $0.heldFor != nil })
        let db = try loaded.sqlite
        _ = try db.enqueue(rows, processedThrough: last, now: last)
        clock.set(last)
        try await daemon.dispatchOnce()
        let outbox = try db.outbox()
        #expect(outbox.filter { $0.channel == "sms" }.allSatisfy { $0.state == .sent }, "\(outbox)")
        #expect(outbox.filter { $0.channel == "mail" }.allSatisfy { $0.state == .held }, "\(outbox)")
        #expect(try db.smsReceiptCounts() == [.accepted: 2])
        return Sent(
            dir: dir, maildir: maildir, smtp: smtp, server: server, log: log, config: config, env: env, clock: clock, daemon: daemon, db: db,
            last: last, undeliveredTo: undeliveredTo)
    }

    @Test(arguments: ["aliyun", "tencent"])
    func anUndeliveredGreetingFallsBackToMailOnce(provider: String) async throws {
        let sent = try await Self.twoGreetingsSent(provider: provider)
        let (maildir, smtp, server, log, config, env) = (sent.maildir, sent.smtp, sent.server, sent.log, sent.config, sent.env)
        let (clock, daemon, db, last, undeliveredTo) = (sent.clock, sent.daemon, sent.db, sent.last, sent.undeliveredTo)

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
        let outbox = try db.outbox()
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

    /// 钉钉's 工作通知 is asynchronous: a task 钉钉 has not processed when the message is sent names nobody in its send
    /// result. Someone reached only by the app (仅应用) gets their mail rendered and held; the task is asked about
    /// again (as an SMS receipt is), and the person found invalid then gets the mail, once. Someone reached at once
    /// has theirs withdrawn as the message is recorded. `status` says what 钉钉 said, apart from the SMS receipts.
    @Test func aDingtalkNoticeFoundUnreachableLaterFallsBackToMailOnce() async throws {
        let dir = try Scratch()
        let maildir = dir.url.appendingPathComponent("mail")
        try FileManager.default.createDirectory(at: maildir, withIntermediateDirectories: true)
        let smtp = try ServerProcess([smtpServerScript, "--maildir", maildir.path])
        let log = dir.url.appendingPathComponent("apps.jsonl")
        let api = try ServerProcess([
            Example.root.appendingPathComponent("Tests/GuanhuaiDeliveryTests/Servers/work_app_server.py").path, "--log", log.path,
        ])
        let port = freePort()
        let (config, env) = try dir.exampleCopy(
            routing: "email = \"mail\"\njournal = false\nwork_app = \"ding\"",
            channels: """
                \(mailChannel(port: smtp.port))

                [channels.ding]
                type = "dingtalk-app"
                url = "http://127.0.0.1:\(api.port)"
                app_key = "ding-test-key"
                agent_id = 2000003
                app_secret_credential = "app-secret"

                [web]
                listen = "127.0.0.1:\(port)"
                public_url = "http://127.0.0.1:\(port)"
                web_key_credential = "web-key"
                """,
            credentials: ["app-secret": "dingtalk-app-test-secret\n", "web-key": webKey + "\n"])
        let clock = ManualClock(0)
        let daemon = try await builtDaemon(config: config, environment: env, wall: clock)
        let loaded = await daemon.runtime.loaded
        // 钉钉 processes the first two tasks only later (late: reached; late-nobody: not a member); the third at once.
        var mailOf: [String: String] = [:]
        let (rows, last) = try await Self.routedGreetings(loaded, count: 3) { i, contact in
            let user = ["late", "late-nobody", "now"][i]
            contact.apps.dingtalk = user
            contact.reach = .app
            mailOf[user] = contact.email
        }
        #expect(rows.map(\.channel.name).sorted() == ["ding", "ding", "ding", "mail", "mail", "mail"])
        #expect(rows.filter { $0.channel == "mail" }.allSatisfy { $0.heldFor?.contains("ding") == true }, "仅应用: each mail held for its 钉钉 message")
        let db = try loaded.sqlite
        _ = try db.enqueue(rows, processedThrough: last, now: last)
        clock.set(last)
        try await daemon.dispatchOnce()
        var outbox = try db.outbox()
        #expect(outbox.filter { $0.channel == "ding" }.allSatisfy { $0.state == .sent }, "\(outbox)")
        #expect(outbox.filter { $0.channel == "mail" }.map(\.state.rawValue).sorted() == ["held", "held", "withdrawn"], "reached at once: no mail")
        #expect(try db.smsReceiptCounts() == [.accepted: 2], "two tasks to ask about again")

        let poller = SMSReceiptService(
            runtime: daemon.runtime, clock: clock, sleeper: ContinuousClock(), dispatcherBell: Doorbell(), logger: Logger(label: "t"))
        // Five minutes on, 钉钉 has still not processed them: nothing changes.
        clock.set(last + 300)
        try await poller.pollNow()
        try await daemon.dispatchOnce()
        #expect(try db.smsReceiptCounts() == [.accepted: 2])
        _ = try await offThePool { try runTool("/usr/bin/curl", ["-s", "-X", "POST", "http://127.0.0.1:\(api.port)/control/settle"]) }
        for minutes in [10, 20, 30] {
            clock.set(last + Int64(minutes) * 60)
            try await poller.pollNow()
            try await daemon.dispatchOnce()
        }
        #expect(try db.smsReceiptCounts() == [.delivered: 1, .undelivered: 1])
        #expect(await eventually { (try? stored(maildir).count) == 1 }, "exactly the unreached person's mail")
        try await Task.sleep(for: .milliseconds(300))
        let mails = try stored(maildir)
        let to = try #require(mailOf["late-nobody"] ?? nil)
        #expect(mails.count == 1 && mails.first.map { ((try? String(contentsOf: $0, encoding: .utf8)) ?? "").contains(to) } == true)
        outbox = try db.outbox()
        #expect(outbox.filter { $0.channel == "mail" }.map(\.state.rawValue).sorted() == ["sent", "withdrawn", "withdrawn"], "\(outbox)")

        var e = env
        e["PATH"] = "/usr/bin:/bin"
        e["LANG"] = "C.UTF-8"
        let status = try runCLI(["status", "--config", config], environment: e)
        #expect(status.stdout.contains("钉钉 工作通知 read later: 1 reached, 1 not reached"), "\(status.stdout)\(status.stderr)")
        #expect(!status.stdout.contains("SMS receipts"), "no SMS channel, no SMS line: \(status.stdout)")
        let page = MetricsSnapshot(
            generation: 0, outbox: [], lastSent: nil, workAppResults: try db.receiptCounts(), obligations: [:]
        ).text(daemon.runtime.metrics.registry)
        #expect(page.contains(#"guanhuai_work_app_results{channel="ding",state="undelivered"} 1"#), "\(page)")
        withExtendedLifetime((smtp, api)) {}
    }

    /// receipts = "push": the provider posts its receipts to guanhuaid's pages, at an address whose last part is a
    /// credential. A wrong address is the site's 404; a body that is not the provider's JSON is refused; a database
    /// that cannot take the receipts makes the answer 503, so the provider sends them again; and the receipts,
    /// duplicated and with one for an id never sent, are recorded once: the undelivered greeting falls back to mail,
    /// once, and sending the same push again changes nothing.
    @Test(arguments: ["aliyun", "tencent"])
    func pushedReceiptsAreRecordedOnceAndAcknowledgedAfterTheCommit(provider: String) async throws {
        let port = freePort()
        let pushToken = "push-token-for-tests-0123456789abcdef"
        let sent = try await Self.twoGreetingsSent(
            provider: provider, extra: "receipts = \"push\"\nreceipt_push_token_credential = \"sms-push\"", web: port,
            credentials: ["sms-push": pushToken + "\n", "web-key": webKey + "\n"])
        let (db, daemon) = (sent.db, sent.daemon)
        // The pages as guanhuaid serves them.
        let backend = DaemonWebBackend(runtime: daemon.runtime, clock: sent.clock, schedulerBell: Doorbell(), dispatcherBell: Doorbell())
        let settings = try #require(await daemon.runtime.loaded.config.web)
        let web = WebServer.make(settings: settings, backend: backend, logger: Logger(label: "t"))
        let serving = Task { try await web.run() }
        defer { serving.cancel() }
        let base = "http://127.0.0.1:\(port)/sms-receipt"
        var up = false
        for _ in 0..<100 where !up {
            up = (try? await http("GET", "http://127.0.0.1:\(port)/"))?.status == 200
            if !up { try await Task.sleep(for: .milliseconds(50)) }
        }
        try #require(up)

        let accepted = try db.acceptedSMS(channel: "sms", since: 0)
        try #require(accepted.count == 2)
        func phone(_ a: AcceptedSMS) -> String {
            if case .sms(let phone, _, _) = OutboxPayload.decode(a.payload) { return phone }
            return ""
        }
        func receipt(_ id: String, _ phone: String, delivered ok: Bool) -> [String: Any] {
            provider == "aliyun"
                ? [
                    "phone_number": phone, "send_time": "2027-01-01 09:00:00", "report_time": "2027-01-01 09:00:05", "success": ok,
                    "err_code": ok ? "DELIVERED" : "MK:0001", "err_msg": ok ? "用户接收成功" : "空号", "sms_size": "1", "biz_id": id, "out_id": "",
                ]
                : [
                    "user_receive_time": "2027-01-01 09:00:05", "nationcode": "86", "mobile": phone, "report_status": ok ? "SUCCESS" : "FAIL",
                    "errmsg": ok ? "DELIVRD" : "MK:0001", "description": ok ? "用户短信送达成功" : "空号", "sid": id,
                ]
        }
        let receipts = accepted.map { a in receipt(a.messageID, phone(a), delivered: !phone(a).hasSuffix("0003")) }
        let undelivered = try #require(accepted.first { phone($0).hasSuffix("0003") })
        // Twice for the undelivered one, and one for an id never sent.
        let body = try JSONSerialization.data(
            withJSONObject: receipts + [
                receipt(undelivered.messageID, phone(undelivered), delivered: false), receipt("not-ours", "13900000009", delivered: true),
            ])
        let ack = provider == "aliyun" ? #"{"code":0,"msg":"接收成功"}"# : #"{"result":0,"errmsg":"OK"}"#

        // Wrong addresses: the site's 404, nothing recorded.
        #expect(try await http("POST", "\(base)/sms/wrong-token-0123456789abcdef", body: body).status == 404)
        #expect(try await http("POST", "\(base)/mail/\(pushToken)", body: body).status == 404)
        // Not the provider's JSON.
        #expect(try await http("POST", "\(base)/sms/\(pushToken)", body: Data("{\"not\": \"a list\"}".utf8)).status == 400)
        #expect(try db.smsReceiptCounts() == [.accepted: 2])

        // The database held by another writer: 503, and the provider sends again.
        // It says it holds the lock with a file, and is ended with SIGKILL: it inherits the test process's blocked
        // signals, so SIGTERM does nothing, and a pipe's EOF was seen not to come.
        let lockedMark = sent.dir.url.appendingPathComponent("locked").path
        let locker = Process()
        locker.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        locker.arguments = [
            "-c",
            "import sqlite3,sys,time; c=sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN EXCLUSIVE'); open(sys.argv[2], 'w').close(); time.sleep(600)",
            sent.dir.databasePath, lockedMark,
        ]
        try locker.run()
        defer { if locker.isRunning { kill(locker.processIdentifier, SIGKILL) } }
        try #require(await eventually { FileManager.default.fileExists(atPath: lockedMark) }, "the locking process did not take the lock")
        let refused = try await http("POST", "\(base)/sms/\(pushToken)", body: body)
        #expect(refused.status == 503 && !refused.body.contains(ack), "\(refused.status) \(refused.body)")
        kill(locker.processIdentifier, SIGKILL)
        locker.waitUntilExit()
        #expect(try db.smsReceiptCounts() == [.accepted: 2])

        // The push, then the same push again.
        for _ in 0..<2 {
            let answer = try await http("POST", "\(base)/sms/\(pushToken)", body: body)
            #expect(answer.status == 200 && answer.body == ack, "\(answer.status) \(answer.body)")
            #expect(try db.smsReceiptCounts() == [.delivered: 1, .undelivered: 1])
            try await daemon.dispatchOnce()
        }
        #expect(await eventually { (try? stored(sent.maildir).count) == 1 }, "exactly the undelivered greeting's mail")
        let mails = try stored(sent.maildir)
        #expect(mails.count == 1 && mails.first.map { ((try? String(contentsOf: $0, encoding: .utf8)) ?? "").contains(sent.undeliveredTo) } == true)
        let outbox = try db.outbox()
        #expect(outbox.filter { $0.channel == "mail" }.map(\.state).sorted { $0.rawValue < $1.rawValue } == [.sent, .withdrawn], "\(outbox)")
        // Nothing was polled: the provider pushes.
        #expect(loggedRequests(sent.log).filter { $0["action"] as? String == "QuerySendDetails" || $0["action"] as? String == "PullSmsSendStatus" }.isEmpty)
        withExtendedLifetime((sent.smtp, sent.server)) {}
    }

    /// receipts = "push" is refused where it cannot work, said where it is written.
    @Test func aPushNeedsTheWebAndAToken() throws {
        for (extra, web, token, said) in [
            ("receipts = \"push\"", true, "", "needs receipt_push_token_credential"),
            ("receipts = \"push\"\nreceipt_push_token_credential = \"sms-push\"", false, "push-token-for-tests-0123456789abcdef", "there is no [web]"),
            ("receipts = \"push\"\nreceipt_push_token_credential = \"sms-push\"", true, "short", "at least 22 letters"),
            (
                "receipts = \"poll\"\nreceipt_push_token_credential = \"sms-push\"", true, "push-token-for-tests-0123456789abcdef",
                "for receipts = \"push\" only"
            ),
        ] {
            let dir = try Scratch()
            let (config, env) = try dir.exampleCopy(
                routing: "greeting_sms = \"sms\"",
                channels: Self.channel("aliyun", port: 9) + "\n" + extra + "\n"
                    + (web ? "\n[web]\nlisten = \"127.0.0.1:8470\"\npublic_url = \"https://dj.example.edu.cn\"\nweb_key_credential = \"web-key\"\n" : ""),
                credentials: ["sms-id": "LTAItest-id", "sms-secret": "aliyun-test-secret", "sms-push": token, "web-key": webKey])
            var e = env
            e["PATH"] = "/usr/bin:/bin"
            e["LANG"] = "C.UTF-8"
            let r = try runCLI(["check", "--config", config], environment: e)
            #expect(r.status == 2 && (r.stdout + r.stderr).contains(said), "\(said): \(r.status) \(r.stdout)\(r.stderr)")
        }
    }
}
