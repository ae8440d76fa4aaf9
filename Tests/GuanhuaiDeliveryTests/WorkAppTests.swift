import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiTestSupport
import Testing

@testable import GuanhuaiDelivery

/// wecom_app_server.py: a stand-in for 企业微信's gettoken and message/send, written from the documents, that checks
/// each card against the documented rules and records every request.
func wecomAppServer(log: URL, extra: [String] = []) throws -> ServerProcess {
    try ServerProcess(
        [Example.root.appendingPathComponent("Tests/GuanhuaiDeliveryTests/Servers/wecom_app_server.py").path, "--log", log.path] + extra)
}

@Suite(.serialized) struct WorkAppTests {
    static let secret = "wecom-app-test-secret"

    static func via(port: Int, dir: borrowing Scratch, secret: String = WorkAppTests.secret, agentid: Int = 1_000_002) throws -> String {
        let file = try dir.write("wecom-app-secret", secret + "\n")
        return "wecom-app+http://127.0.0.1:\(port)/?corpid=ww-test-corp&agentid=\(agentid)&secret_file=\(file)"
    }

    static func channel(port: Int, dir: borrowing Scratch, tokens: AccessTokenCache = AccessTokenCache()) throws -> WorkAppChannel {
        let whole = try ChannelSpec(url: try via(port: port, dir: dir))
        guard case .workApp(let spec) = whole else { throw TestSetupError("not a work app") }
        return WorkAppChannel(name: "wecom-app", spec: spec, secrets: try whole.secrets(name: "wecom-app", environment: [:]), tokens: tokens)
    }

    static func text(_ s: String) -> Data { try! JSONSerialization.data(withJSONObject: ["msgtype": "text", "text": ["content": s]]) }

    static func sends(_ log: URL) -> [[String: Any]] { loggedRequests(log).filter { $0["kind"] as? String == "send" } }
    static func tokenRequests(_ log: URL) -> Int { loggedRequests(log).filter { $0["kind"] as? String == "gettoken" }.count }

    /// `send-test --via wecom-app+…`: a token, then the message to that userid; neither the secret nor the token in
    /// the output. The API's refusals are said in words an operator acts on.
    @Test func sendTestReachesOnePersonThroughTheApplication() throws {
        let dir = try Scratch()
        let log = dir.url.appendingPathComponent("wecom.jsonl")
        let server = try wecomAppServer(log: log)
        let ok = try runCLI(["send-test", "--via", try Self.via(port: server.port, dir: dir), "--to", "zhouhaiyan"])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.contains("Delivered to zhouhaiyan") && ok.stdout.contains("企业微信"), "\(ok.stdout)")
        let sent = try #require(Self.sends(log).last)
        let body = try #require(sent["body"] as? [String: Any])
        #expect(body["touser"] as? String == "zhouhaiyan" && body["agentid"] as? Int == 1_000_002)
        #expect(sent["delivered"] as? Bool == true)
        let token = try #require(sent["token"] as? String)
        #expect(!(ok.stdout + ok.stderr).contains(Self.secret) && !(ok.stdout + ok.stderr).contains(token))

        let outside = try runCLI(["send-test", "--via", try Self.via(port: server.port, dir: dir), "--to", "nobody"])
        #expect(outside.status == 1 && outside.stderr.contains("可见范围"), "\(outside.stderr)")
        let wrong = try runCLI(["send-test", "--via", try Self.via(port: server.port, dir: dir, secret: "not-the-secret"), "--to", "zhouhaiyan"])
        #expect(wrong.status == 1 && wrong.stderr.contains("40001") && wrong.stderr.contains("Secret"), "\(wrong.stderr)")
        #expect(!wrong.stderr.contains("not-the-secret"))
        let agent = try runCLI(["send-test", "--via", try Self.via(port: server.port, dir: dir, agentid: 7), "--to", "zhouhaiyan"])
        #expect(agent.status == 1 && agent.stderr.contains("40056"), "\(agent.stderr)")
        // The secret comes from a file, never the URL; a missing userid is a usage error.
        #expect(try runCLI(["send-test", "--via", "wecom-app+http://127.0.0.1:\(server.port)/?corpid=c&agentid=1&secret=s", "--to", "x"]).status == 2)
        #expect(try runCLI(["send-test", "--via", try Self.via(port: server.port, dir: dir)]).status == 2)
    }

    /// Each refusal is classified as the dispatcher must act on it.
    @Test func theAnswersAreClassifiedForThePersonOrTheChannel() async throws {
        let dir = try Scratch()
        let log = dir.url.appendingPathComponent("wecom.jsonl")
        let server = try wecomAppServer(log: log)
        let app = try Self.channel(port: server.port, dir: dir)
        let now = Int64(Date().timeIntervalSince1970)
        func outcome(_ user: String) async -> DeliveryOutcome { DeliveryOutcome(await app.send(user: user, message: Self.text("测试"), now: now)) }
        guard case .sent = await outcome("zhouhaiyan") else {
            Issue.record("not sent")
            return
        }
        // Unknown, outside the visible range, or unlicensed: that person's, permanent.
        for user in ["nobody", "gone", "unlicensed"] {
            guard case .permanent(let why) = await outcome(user) else {
                Issue.record("\(user) is not permanent")
                continue
            }
            #expect(why.contains(user), "\(why)")
        }
        // The API's frequency limit: temporary (the rest of the batch waits).
        guard case .temporary(let why, _) = await outcome("busy") else {
            Issue.record("45009 is not temporary")
            return
        }
        #expect(why.contains("45009"))
        // A revoked secret is the channel's: disabled until an operator acts.
        let whole = try ChannelSpec(url: try Self.via(port: server.port, dir: dir, secret: "revoked"))
        guard case .workApp(let spec) = whole else { return }
        let revoked = WorkAppChannel(name: "x", spec: spec, secrets: try whole.secrets(name: "x", environment: [:]), tokens: AccessTokenCache())
        guard case .endpointGone(let gone) = DeliveryOutcome(await revoked.send(user: "zhouhaiyan", message: Self.text("x"), now: now)) else {
            Issue.record("a wrong secret does not disable the channel")
            return
        }
        #expect(gone.contains("40001") && !gone.contains("revoked"), "\(gone)")
    }

    /// One token for many messages; when it expires in the middle of a batch, one new token, and every message
    /// delivered once.
    @Test func aTokenExpiringMidBatchIsFetchedOnceAndEveryMessageGoesOnce() async throws {
        let dir = try Scratch()
        let log = dir.url.appendingPathComponent("wecom.jsonl")
        let server = try wecomAppServer(log: log)
        let app = try Self.channel(port: server.port, dir: dir)
        let now = Int64(Date().timeIntervalSince1970)
        for i in 0..<10 {
            let r = await app.send(user: "u\(i)", message: Self.text("第 \(i) 条"), now: now)
            #expect((try? r.get()) != nil, "\(r)")
        }
        #expect(Self.tokenRequests(log) == 1, "zero extra token calls per message")
        _ = try await offThePool { try runTool("/usr/bin/curl", ["-s", "-X", "POST", "http://127.0.0.1:\(server.port)/control/expire"]) }
        for i in 10..<20 {
            let r = await app.send(user: "u\(i)", message: Self.text("第 \(i) 条"), now: now + 60)
            #expect((try? r.get()) != nil, "\(r)")
        }
        #expect(Self.tokenRequests(log) == 2, "one refresh after the expiry")
        let delivered = Self.sends(log).filter { $0["delivered"] as? Bool == true }.compactMap { ($0["body"] as? [String: Any])?["touser"] as? String }
        #expect(delivered.sorted() == (0..<20).map { "u\($0)" }.sorted(), "each once")
        #expect(Self.sends(log).filter { $0["errcode"] as? Int == 42001 }.count == 1, "only the first message after the expiry met it")
        // The token is refreshed before it runs out by the clock, too: past expires_in less its margin.
        _ = await app.send(user: "u-late", message: Self.text("晚些"), now: now + 7200)
        #expect(Self.tokenRequests(log) == 3)
    }

    /// Two batches needing a token at once (a slow token server) make one token request.
    @Test func concurrentSendersShareOneTokenFetch() async throws {
        let dir = try Scratch()
        let log = dir.url.appendingPathComponent("wecom.jsonl")
        let server = try wecomAppServer(log: log, extra: ["--token-delay", "0.5"])
        let app = try Self.channel(port: server.port, dir: dir)
        let now = Int64(Date().timeIntervalSince1970)
        let results = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<16 { group.addTask { (try? await app.send(user: "c\(i)", message: Self.text("并发"), now: now).get()) != nil } }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0 } && results.count == 16)
        #expect(Self.tokenRequests(log) == 1)
        #expect(app.tokens.fetches == 1)
    }

    /// A digest becomes a 模板卡片 the API accepts: each item a line opening its own signed page, the card opening
    /// 「我的待办」; the private note appears nowhere.
    @Test func aDigestBecomesACardWithThePersonsLinks() async throws {
        let (d, base, _) = try digestWithPrivateNote()
        var context = base
        context.links = LinkMaker(
            publicURL: "https://guanhuai.example.edu.cn", signer: LinkSigner(key: Array(repeating: 7, count: 32)), actionDays: 30, agendaDays: 45)
        let renderer = try await DigestRenderer.load(directory: Example.root.appendingPathComponent("Config/templates").path)
        let data = WorkAppMessages.card(d, renderer: renderer, context: context)
        let text = String(decoding: data, as: UTF8.self)
        #expect(!text.contains("肺癌") && !text.contains("经济困难"), "no note in a card")
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["msgtype"] as? String == "template_card")
        let card = try #require(object["template_card"] as? [String: Any])
        let agenda = try #require((card["card_action"] as? [String: Any])?["url"] as? String)
        #expect(agenda.hasPrefix("https://guanhuai.example.edu.cn/me/"), "\(agenda)")
        let lines = try #require(card["horizontal_content_list"] as? [[String: Any]])
        #expect(lines.count == min(6, d.items.count))
        let itemLinks = lines.compactMap { $0["url"] as? String }.filter { $0.contains("/i/") && $0.hasSuffix("/done") }
        #expect(itemLinks.count == min(d.items.count, d.items.count > 6 ? 5 : 6))
        #expect((card["jump_list"] as? [[String: Any]])?.first?["url"] as? String == agenda)

        // And the stand-in, which checks the documented card rules, accepts it.
        let dir = try Scratch()
        let log = dir.url.appendingPathComponent("wecom.jsonl")
        let server = try wecomAppServer(log: log)
        let r = await try Self.channel(port: server.port, dir: dir).send(user: "zhouhaiyan", message: data, now: Int64(Date().timeIntervalSince1970))
        #expect((try? r.get()) != nil, "\(r)")
    }
}
