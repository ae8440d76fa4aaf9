import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiTestSupport
import Synchronization
import Testing

@testable import GuanhuaiDelivery

/// work_app_server.py: a stand-in for 企业微信's, 钉钉's and 飞书's token and message APIs, written from their documents,
/// that checks each card against the documented rules and records every request.
func workAppServer(log: URL, extra: [String] = []) throws -> ServerProcess {
    try ServerProcess(
        [Example.root.appendingPathComponent("Tests/GuanhuaiDeliveryTests/Servers/work_app_server.py").path, "--log", log.path] + extra)
}

/// One app as the tests reach it: its `--via` URL, its stand-in's secret, the answers that mean what.
struct TestApp: Sendable, CustomTestStringConvertible {
    var app: WorkAppSpec.App
    var secret: String
    var wrongSecretCode: String
    var testDescription: String { app.rawValue }

    static let all = [
        TestApp(app: .wecom, secret: "wecom-app-test-secret", wrongSecretCode: "40001"),
        TestApp(app: .dingtalk, secret: "dingtalk-app-test-secret", wrongSecretCode: "40089"),
        TestApp(app: .feishu, secret: "feishu-app-test-secret", wrongSecretCode: "10014"),
    ]

    func via(port: Int, dir: borrowing Scratch, secret: String? = nil, agent: Int? = nil) throws -> String {
        let file = try dir.write("\(app.rawValue)-secret", (secret ?? self.secret) + "\n")
        let base = "\(app.rawValue)+http://127.0.0.1:\(port)/?"
        switch app {
        case .wecom: return base + "corpid=ww-test-corp&agentid=\(agent ?? 1_000_002)&secret_file=\(file)"
        case .dingtalk: return base + "app_key=ding-test-key&agent_id=\(agent ?? 2_000_003)&app_secret_file=\(file)"
        case .feishu: return base + "app_id=cli_test_app&app_secret_file=\(file)"
        }
    }

    func channel(port: Int, dir: borrowing Scratch, secret: String? = nil) throws -> WorkAppChannel {
        let whole = try ChannelSpec(url: try via(port: port, dir: dir, secret: secret))
        guard case .workApp(let spec) = whole else { throw TestSetupError("not a work app") }
        return WorkAppChannel(name: app.rawValue, spec: spec, secrets: try whole.secrets(name: "w", environment: [:]), tokens: AccessTokenCache())
    }

    /// A text message in the app's form.
    func text(_ s: String) -> Data {
        let object: [String: Any] =
            app == .feishu ? ["msg_type": "text", "content": "{\"text\":\"\(s)\"}"] : ["msgtype": "text", "text": ["content": s]]
        return try! JSONSerialization.data(withJSONObject: object)
    }

    func sends(_ log: URL) -> [[String: Any]] {
        loggedRequests(log).filter { $0["kind"] as? String == "send" && $0["app"] as? String == app.rawValue.replacingOccurrences(of: "-app", with: "") }
    }
    func tokenRequests(_ log: URL) -> Int {
        loggedRequests(log).filter {
            $0["kind"] as? String == "gettoken" && $0["app"] as? String == app.rawValue.replacingOccurrences(of: "-app", with: "")
        }.count
    }
    /// The recipient a logged send was for.
    static func recipient(_ send: [String: Any]) -> String? {
        let body = send["body"] as? [String: Any]
        return (body?["touser"] ?? body?["userid_list"] ?? body?["receive_id"]) as? String
    }
}

@Suite(.serialized) struct WorkAppTests {
    /// `send-test --via …`: a token, then the message to that person; neither the secret nor the token in the output.
    /// The API's refusals are said in words an operator acts on.
    @Test(arguments: TestApp.all)
    func sendTestReachesOnePersonThroughTheApplication(_ t: TestApp) throws {
        let dir = try Scratch()
        let log = dir.url.appendingPathComponent("apps.jsonl")
        let server = try workAppServer(log: log)
        let ok = try runCLI(["send-test", "--via", try t.via(port: server.port, dir: dir), "--to", "zhouhaiyan"])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.contains("Delivered to zhouhaiyan") && ok.stdout.contains(t.app.chinese), "\(ok.stdout)")
        let sent = try #require(t.sends(log).last)
        #expect(TestApp.recipient(sent) == "zhouhaiyan" && sent["delivered"] as? Bool == true, "\(sent)")
        let token = try #require(sent["token"] as? String)
        #expect(!(ok.stdout + ok.stderr).contains(t.secret) && !(ok.stdout + ok.stderr).contains(token))

        let outside = try runCLI(["send-test", "--via", try t.via(port: server.port, dir: dir), "--to", "nobody"])
        #expect(outside.status == 1 && outside.stderr.contains("nobody"), "\(outside.stderr)")
        let wrong = try runCLI(["send-test", "--via", try t.via(port: server.port, dir: dir, secret: "not-the-secret"), "--to", "zhouhaiyan"])
        #expect(wrong.status == 1 && wrong.stderr.contains(t.wrongSecretCode) && wrong.stderr.contains("secret"), "\(wrong.stderr)")
        #expect(!wrong.stderr.contains("not-the-secret"))
        if t.app != .feishu {
            let agent = try runCLI(["send-test", "--via", try t.via(port: server.port, dir: dir, agent: 7), "--to", "zhouhaiyan"])
            #expect(agent.status == 1 && (agent.stderr.contains("40056") || agent.stderr.contains("400002")), "\(agent.stderr)")
        }
        // The secret comes from a file, never the URL; a missing recipient is a usage error.
        #expect(try runCLI(["send-test", "--via", "\(t.app.rawValue)+http://127.0.0.1:\(server.port)/?secret=s", "--to", "x"]).status == 2)
        #expect(try runCLI(["send-test", "--via", try t.via(port: server.port, dir: dir)]).status == 2)
    }

    /// Each refusal is classified as the dispatcher must act on it.
    @Test(arguments: TestApp.all)
    func theAnswersAreClassifiedForThePersonOrTheChannel(_ t: TestApp) async throws {
        let dir = try Scratch()
        let log = dir.url.appendingPathComponent("apps.jsonl")
        let server = try workAppServer(log: log)
        let app = try t.channel(port: server.port, dir: dir)
        let now = Int64(Date().timeIntervalSince1970)
        func outcome(_ user: String) async -> DeliveryOutcome {
            DeliveryOutcome(await app.send(user: user, message: t.text("测试"), id: "k-\(user)", now: now))
        }
        guard case .sent = await outcome("zhouhaiyan") else {
            Issue.record("not sent")
            return
        }
        // Unknown, outside the visible range, unlicensed or forbidden: that person's, permanent.
        let personal = ["nobody"] + (t.app == .wecom ? ["gone", "unlicensed"] : t.app == .dingtalk ? ["forbidden"] : [])
        for user in personal {
            guard case .permanent(let why) = await outcome(user) else {
                Issue.record("\(user) is not permanent")
                continue
            }
            #expect(why.contains(user), "\(why)")
        }
        // The API's frequency limit: temporary (the rest of the batch waits).
        guard case .temporary = await outcome("busy") else {
            Issue.record("the rate limit is not temporary")
            return
        }
        // A revoked secret is the channel's: disabled until an operator acts.
        let revoked = try t.channel(port: server.port, dir: dir, secret: "revoked")
        guard case .endpointGone(let gone) = DeliveryOutcome(await revoked.send(user: "zhouhaiyan", message: t.text("x"), id: "k", now: now)) else {
            Issue.record("a wrong secret does not disable the channel")
            return
        }
        #expect(gone.contains(t.wrongSecretCode) && !gone.contains("revoked"), "\(gone)")
    }

    /// One token for many messages; when it expires in the middle of a batch, one new token, and every message
    /// delivered once.
    @Test(arguments: TestApp.all)
    func aTokenExpiringMidBatchIsFetchedOnceAndEveryMessageGoesOnce(_ t: TestApp) async throws {
        let dir = try Scratch()
        let log = dir.url.appendingPathComponent("apps.jsonl")
        let server = try workAppServer(log: log)
        let app = try t.channel(port: server.port, dir: dir)
        let now = Int64(Date().timeIntervalSince1970)
        for i in 0..<10 {
            let r = await app.send(user: "u\(i)", message: t.text("第 \(i) 条"), id: "k\(i)", now: now)
            #expect((try? r.get()) != nil, "\(r)")
        }
        #expect(t.tokenRequests(log) == 1, "zero extra token calls per message")
        _ = try await offThePool { try runTool("/usr/bin/curl", ["-s", "-X", "POST", "http://127.0.0.1:\(server.port)/control/expire"]) }
        for i in 10..<20 {
            let r = await app.send(user: "u\(i)", message: t.text("第 \(i) 条"), id: "k\(i)", now: now + 60)
            #expect((try? r.get()) != nil, "\(r)")
        }
        #expect(t.tokenRequests(log) == 2, "one refresh after the expiry")
        let delivered = t.sends(log).filter { $0["delivered"] as? Bool == true }.compactMap(TestApp.recipient)
        #expect(delivered.sorted() == (0..<20).map { "u\($0)" }.sorted(), "each once")
        #expect(t.sends(log).filter { $0["delivered"] as? Bool != true }.count == 1, "only the first message after the expiry met it")
        // The token is refreshed before it runs out by the clock, too: past expires_in less its margin.
        _ = await app.send(user: "u-late", message: t.text("晚些"), id: "k-late", now: now + 7200)
        #expect(t.tokenRequests(log) == 3)
    }

    /// Two batches needing a token at once (a slow token server) make one token request.
    @Test(arguments: TestApp.all)
    func concurrentSendersShareOneTokenFetch(_ t: TestApp) async throws {
        let dir = try Scratch()
        let log = dir.url.appendingPathComponent("apps.jsonl")
        let server = try workAppServer(log: log, extra: ["--token-delay", "0.5"])
        let app = try t.channel(port: server.port, dir: dir)
        let now = Int64(Date().timeIntervalSince1970)
        let results = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<16 {
                group.addTask { (try? await app.send(user: "c\(i)", message: t.text("并发"), id: "c\(i)", now: now).get()) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0 } && results.count == 16)
        #expect(t.tokenRequests(log) == 1)
        #expect(app.tokens.fetches == 1)
    }

    /// A digest becomes the app's card, which the stand-in (checking the documented rules) accepts: each item opening
    /// its own signed 已办结 page, one 「我的待办」 link; the private note nowhere.
    @Test(arguments: TestApp.all)
    func aDigestBecomesACardWithThePersonsLinks(_ t: TestApp) async throws {
        let (d, base, _) = try digestWithPrivateNote()
        var context = base
        context.links = LinkMaker(
            publicURL: "https://guanhuai.example.edu.cn", signer: LinkSigner(key: Array(repeating: 7, count: 32)), actionDays: 30, agendaDays: 45)
        let renderer = try await DigestRenderer.load(directory: Example.root.appendingPathComponent("Config/templates").path)
        let data = WorkAppMessages.card(d, app: t.app, renderer: renderer, context: context)
        let text = String(decoding: data, as: UTF8.self)
        #expect(!text.contains("肺癌") && !text.contains("经济困难"), "no note in a card")
        let doneLinks = text.components(separatedBy: "https://guanhuai.example.edu.cn/i/").dropFirst().filter { $0.contains("/done") }
        #expect(doneLinks.count == min(d.items.count, t.app == .wecom && d.items.count > 6 ? 5 : 10), "\(text)")
        #expect(text.contains("https://guanhuai.example.edu.cn/me/"), "the 「我的待办」 link")
        if t.app == .wecom {
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let card = try #require(object["template_card"] as? [String: Any])
            let agenda = try #require((card["card_action"] as? [String: Any])?["url"] as? String)
            #expect(agenda.hasPrefix("https://guanhuai.example.edu.cn/me/"), "\(agenda)")
            #expect((card["jump_list"] as? [[String: Any]])?.first?["url"] as? String == agenda)
        }
        let dir = try Scratch()
        let log = dir.url.appendingPathComponent("apps.jsonl")
        let server = try workAppServer(log: log)
        let r = await try t.channel(port: server.port, dir: dir).send(user: "zhouhaiyan", message: data, id: "card", now: Int64(Date().timeIntervalSince1970))
        #expect((try? r.get()) != nil, "\(r)")
    }

    /// 飞书 drops a second message with the same uuid, 企业微信 the same request within 30 minutes
    /// (enable_duplicate_check): a retry after a lost answer or a crash is not a second message.
    @Test(arguments: [TestApp.all[0], TestApp.all[2]])
    func aRetryWithTheSameKeyIsOneMessage(_ t: TestApp) async throws {
        let dir = try Scratch()
        let log = dir.url.appendingPathComponent("apps.jsonl")
        let server = try workAppServer(log: log)
        let app = try t.channel(port: server.port, dir: dir)
        let now = Int64(Date().timeIntervalSince1970)
        // The same stored message both times, as the outbox row is (t.text builds its dictionary anew, and two
        // dictionaries need not list their keys in the same order).
        let message = t.text("一次")
        for _ in 0..<2 { _ = await app.send(user: "zhouhaiyan", message: message, id: "digest:2027-06-01:zhouhaiyan", now: now) }
        #expect(t.sends(log).filter { $0["delivered"] as? Bool == true }.count == 1)
        #expect(t.sends(log).filter { $0["duplicate"] as? Bool == true }.count == 1)
    }

    /// The daemon's way of sending a batch: up to `in_flight` messages on their way at once, so a batch over the
    /// Internet is not one message per round trip; a token expiring in the middle is fetched once, and every message
    /// goes once.
    @Test func aBatchGoesFourAtOnceAndATokenExpiringInItIsFetchedOnce() async throws {
        let t = TestApp.all[0]
        let dir = try Scratch()
        let log = dir.url.appendingPathComponent("apps.jsonl")
        // Each send takes 0.2 s, as a round trip to the provider might.
        let server = try workAppServer(log: log, extra: ["--send-delay", "0.2"])
        let app = try t.channel(port: server.port, dir: dir)
        #expect(app.spec.inFlight == 4 && app.spec.perMinute == 3000, "the defaults")
        let now = Int64(Date().timeIntervalSince1970)
        let start = ContinuousClock.now
        let answers = Mutex<[Int]>([])
        let port = server.port
        await InFlightWindow.run(
            count: 24, width: app.spec.inFlight, shouldStop: { false },
            send: { i in await app.send(user: "w\(i)", message: t.text("第 \(i) 条"), id: "w\(i)", now: now) },
            answered: { i, r in
                #expect((try? r.get()) != nil, "\(r)")
                answers.withLock { $0.append(i) }
                // Halfway, every token issued so far expires.
                if i == 11 {
                    _ = try? await offThePool { try runTool("/usr/bin/curl", ["-s", "-X", "POST", "http://127.0.0.1:\(port)/control/expire"]) }
                }
            })
        let took = ContinuousClock.now - start
        #expect(answers.withLock { $0.sorted() } == Array(0..<24), "each answered once")
        let sends = t.sends(log)
        let most = sends.compactMap { $0["in_flight"] as? Int }.max() ?? 0
        #expect(most == 4, "at most four at once, and four were: \(most)")
        // One at a time would take 24 × 0.2 s = 4.8 s, plus the expiry's resends.
        #expect(took < .seconds(3), "\(took)")
        #expect(t.tokenRequests(log) == 2, "one fetch after the expiry, however many messages met it")
        let delivered = sends.filter { $0["delivered"] as? Bool == true }.compactMap(TestApp.recipient)
        #expect(delivered.sorted() == (0..<24).map { "w\($0)" }.sorted(), "each once")
        #expect(sends.count - delivered.count <= 4, "only the messages on their way met the expired token")
    }

    /// The starts are spaced to `per_minute`: 1,200 a minute is one each 50 ms, four in flight or not.
    @Test func aBatchKeepsTheApplicationsPace() async throws {
        let t = TestApp.all[0]
        let dir = try Scratch()
        let log = dir.url.appendingPathComponent("apps.jsonl")
        let server = try workAppServer(log: log)
        let whole = try ChannelSpec(url: try t.via(port: server.port, dir: dir) + "&per_minute=1200")
        guard case .workApp(let spec) = whole else { throw TestSetupError("not a work app") }
        let app = WorkAppChannel(name: "w", spec: spec, secrets: try whole.secrets(name: "w", environment: [:]), tokens: AccessTokenCache())
        let every = try #require(spec.spacing(instances: 1))
        #expect(every == .milliseconds(50))
        #expect(spec.spacing(instances: 2) == .milliseconds(100), "two instances share the application's limit")
        let pace = Mutex(SendPace())
        let now = Int64(Date().timeIntervalSince1970)
        _ = await app.send(user: "warm", message: t.text("先取令牌"), id: "warm", now: now)
        let first = Mutex<ContinuousClock.Instant?>(nil)
        let starts = Mutex<[Int: ContinuousClock.Instant]>([:])
        await InFlightWindow.run(
            count: 12, width: spec.inFlight, shouldStop: { false },
            start: {
                let at = pace.withLock { $0.take(now: .now, every: every) }
                first.withLock { $0 = $0 ?? at }
                return at
            },
            send: { i in
                starts.withLock { $0[i] = .now }
                return await app.send(user: "p\(i)", message: t.text("第 \(i) 条"), id: "p\(i)", now: now)
            },
            answered: { _, r in #expect((try? r.get()) != nil, "\(r)") })
        // The i-th message starts no sooner than i × 50 ms after the first was due: a loaded machine only makes
        // starts later, never sooner.
        let t0 = try #require(first.withLock { $0 })
        let s = starts.withLock { $0 }
        #expect(s.count == 12)
        let early = s.filter { i, at in at < t0 + every * i }
        #expect(early.isEmpty, "started before their turn: \(early.keys.sorted())")
        #expect(t.sends(log).filter { $0["delivered"] as? Bool == true }.count == 13)
    }

    /// The window's own rules, apart from any server: never more than its width at once, every message started once
    /// and answered once, nothing new after a stop while what is on its way is still answered.
    @Test func theWindowStopsStartingButAnswersWhatIsOnItsWay() async throws {
        let running = Mutex((now: 0, most: 0))
        let started = Mutex<[Int]>([])
        let answered = Mutex<[Int]>([])
        await InFlightWindow.run(
            count: 40, width: 3, shouldStop: { answered.withLock { $0.count } >= 10 },
            send: { i in
                started.withLock { $0.append(i) }
                running.withLock {
                    $0.now += 1
                    $0.most = max($0.most, $0.now)
                }
                try? await Task.sleep(for: .milliseconds(5))
                running.withLock { $0.now -= 1 }
                return i * 2
            },
            answered: { i, r in
                #expect(r == i * 2)
                answered.withLock { $0.append(i) }
            })
        #expect(running.withLock { $0.most } == 3)
        let s = started.withLock { $0 }
        #expect(Set(s).count == s.count && s.sorted() == Array(0..<s.count), "started in order, once each: \(s)")
        #expect((10...12).contains(s.count), "none started after the tenth answer, but the two on their way: \(s.count)")
        #expect(answered.withLock { $0.sorted() } == s.sorted(), "every one started is answered")
        var pace = SendPace()
        let t0 = ContinuousClock.now
        #expect(pace.take(now: t0, every: .milliseconds(100)) == t0)
        #expect(pace.take(now: t0, every: .milliseconds(100)) == t0 + .milliseconds(100))
        #expect(pace.take(now: t0 + .seconds(5), every: .milliseconds(100)) == t0 + .seconds(5), "no burst saved up while idle")
    }

    /// 钉钉's task not processed when the message went: the send result names nobody, so the message is sent with the
    /// task to ask about again; asked later, the person is reached (unread) or not (invalid). A task processed at once
    /// needs no second question.
    @Test func aDingtalkTaskNotProcessedAtOnceIsAskedAboutLater() async throws {
        let t = TestApp.all[1]
        let dir = try Scratch()
        let log = dir.url.appendingPathComponent("apps.jsonl")
        let server = try workAppServer(log: log)
        let app = try t.channel(port: server.port, dir: dir)
        let now = Int64(Date().timeIntervalSince1970)
        var tasks: [String: String] = [:]
        for user in ["late", "late-nobody", "now"] {
            let sent = try await app.sendTracked(user: user, message: t.text("通知"), id: "d-\(user)", now: now).get()
            if user == "now" {
                #expect(sent.pendingTask == nil, "processed at once: nothing to ask later")
            } else {
                tasks[user] = try #require(sent.pendingTask, "\(user): in none of the lists yet")
            }
        }
        for (user, task) in tasks {
            let r = try await app.dingtalkReport(task: task, user: user, now: now + 300).get()
            #expect(r == nil, "not processed yet")
        }
        _ = try await offThePool { try runTool("/usr/bin/curl", ["-s", "-X", "POST", "http://127.0.0.1:\(server.port)/control/settle"]) }
        _ = try await offThePool { try runTool("/usr/bin/curl", ["-s", "-X", "POST", "http://127.0.0.1:\(server.port)/control/expire"]) }
        let reached = try await app.dingtalkReport(task: tasks["late"]!, user: "late", now: now + 600).get()
        #expect(reached == SMSReport(messageID: tasks["late"]!, delivered: true, code: "unread", at: nil))
        let invalid = try await app.dingtalkReport(task: tasks["late-nobody"]!, user: "late-nobody", now: now + 600).get()
        #expect(invalid == SMSReport(messageID: tasks["late-nobody"]!, delivered: false, code: "invalid", at: nil))
        #expect(t.tokenRequests(log) == 2, "the expired token fetched again once")
        let notATask = await app.dingtalkReport(task: "x", user: "late", now: now)
        #expect((try? notATask.get()) == nil)
    }
}
