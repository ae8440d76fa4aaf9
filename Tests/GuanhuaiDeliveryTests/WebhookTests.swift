import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiTestSupport
import Testing

@testable import GuanhuaiDelivery

/// The test receiver (webhook_server.py) and what it logged: one JSON object per request.
struct Receiver: ~Copyable {
    let scratch: Scratch
    let server: ServerProcess
    let log: URL

    init(tls: (cert: String, key: String)? = nil, scratch s: consuming Scratch? = nil) throws {
        let dir = try s ?? Scratch()
        let log = dir.url.appendingPathComponent("requests.jsonl")
        let server = try ServerProcess([webhookServerScript, "--log", log.path] + (tls.map { ["--tls", $0.cert, $0.key] } ?? []))
        self.log = log
        self.server = server
        self.scratch = dir
    }

    var base: String { "http://127.0.0.1:\(server.port)" }

    var requests: [[String: Any]] { loggedRequests(log) }

    func secret(_ name: String, _ value: String) throws -> String { try scratch.write(name, value + "\n") }
}

func channel(_ url: String) throws -> WebhookChannel {
    let whole = try ChannelSpec(url: url)
    guard case .webhook(let spec) = whole else { throw TestSetupError("not a webhook: \(url)") }
    return WebhookChannel(name: "test", spec: spec, secrets: try whole.secrets(name: "test", environment: [:]))
}

func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

/// A digest for the secretary of 文学院教师党支部 that includes an illness visit whose event carries a private note.
func digestWithPrivateNote() throws -> (Digest, RenderContext, PlanInput) {
    var input = Example.config.planInput()
    input.events.append(
        Event(
            id: "E-TEST-1", member: "M003", kind: .illness, date: CivilDate(parsing: "2027-06-05")!,
            note: "肺癌晚期，家庭经济困难"))
    let occ = Planner(input).plan(PlanQuery(from: date("2027-05-01"), to: date("2027-07-31"), now: Example.noon("2027-06-01")))
    let digests = Digest.collect(occ, after: Example.noon("2027-06-01"), through: Example.noon("2027-07-31"))
    let d = try #require(digests.first { $0.items.contains { $0.occurrence.id == "must-visit:E-TEST-1" } })
    return (d, RenderContext(input: input), input)
}

@Suite(.serialized) struct WebhookTests {
    @Test func thePublishedStandardWebhooksVectorSigns() throws {
        let key = try #require(WebhookSigning.standardKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        let sig = WebhookSigning.standard(
            key: key, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Array(#"{"test": 2432232314}"#.utf8))
        #expect(sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect(WebhookSigning.standardKey("whsec_not base64!") == nil)
    }

    @Test func aDigestIsPostedSignedAndTheStandardWebhooksLibraryVerifiesIt() async throws {
        let r = try Receiver()
        let secret = try r.secret("whsec", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let hook = try channel("webhook+\(r.base)/hook?secret_file=\(secret)")
        let (d, context, _) = try digestWithPrivateNote()
        let body = WebhookMessages.digest(d, context: context, zone: shanghai, late: false)
        let key = d.idempotencyKey(channel: "hook")
        let result = await hook.send(body: body, id: key, now: now())
        #expect((try? result.get()) == "HTTP 204 No Content")
        let req = try #require(r.requests.first)
        #expect(req["verified"] as? Bool == true)
        #expect(req["stale"] == nil)
        let headers = req["headers"] as! [String: String]
        #expect(headers["webhook-id"] == key)
        let posted = try #require(JSONSerialization.jsonObject(with: Data((req["body"] as! String).utf8)) as? [String: Any])
        #expect(posted["type"] as? String == "reminder.digest")
        let data = posted["data"] as! [String: Any]
        #expect((data["items"] as! [Any]).count == d.items.count)
        #expect((data["recipient"] as! [String: String])["id"] == d.recipient)
        #expect(!(req["body"] as! String).contains("肺癌"))
        // A retry is the same message: same id, same body, a new timestamp and signature.
        _ = await hook.send(body: body, id: key, now: now() + 1)
        let again = r.requests[1]
        #expect((again["headers"] as! [String: String])["webhook-id"] == key)
        #expect(again["body"] as? String == req["body"] as? String)
        #expect(again["verified"] as? Bool == true)
    }

    @Test func eachErrorShapeIsClassified() async throws {
        let r = try Receiver()
        let secret = try r.secret("whsec", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        func send(_ path: String, timeout: Int = 10) async throws -> DeliveryError? {
            let hook = try channel("webhook+\(r.base)\(path)?secret_file=\(secret)&timeout=\(timeout)")
            if case .failure(let e) = await hook.send(body: Array("{}".utf8), id: "k", now: now()) { return e }
            return nil
        }
        let gone = try #require(try await send("/gone"))
        #expect(gone.endpointGone && gone.kind == .permanent)
        let bad = try #require(try await send("/bad"))
        #expect(bad.kind == .permanent && !bad.endpointGone && bad.message.contains("400"))
        let fail = try #require(try await send("/fail"))
        #expect(fail.kind == .temporary && fail.message.contains("503") && fail.retryAfter == nil)
        // 429 with Retry-After: the seconds are kept for the retry policy; a date is not read (the policy's delay).
        let busy = try #require(try await send("/busy"))
        #expect(busy.kind == .temporary && busy.retryAfter == 120)
        #expect(DeliveryOutcome(.failure(busy)) == .temporary(busy.message, retryAfter: 120))
        let busyUntil = try #require(try await send("/busy-until"))
        #expect(busyUntil.kind == .temporary && busyUntil.retryAfter == nil)
        #expect(DeliveryOutcome(.failure(gone)) == .endpointGone(gone.message))
        // An answer past 64 kB is not read to its end: refused, not retried.
        let huge = try #require(try await send("/huge"))
        #expect(huge.kind == .permanent && huge.message.contains("longer than 64 kB"))
        let slow = try #require(try await send("/slow", timeout: 1))
        #expect(slow.kind == .temporary && slow.message.contains("timed out"))
        let moved = try #require(try await send("/redirect"))
        #expect(moved.kind == .permanent && moved.message.contains("http://elsewhere.example/hook"))
        // Nothing listens on a port just closed: a connection error, retried later.
        let closed = try channel("webhook+http://127.0.0.1:1/hook?secret_file=\(secret)")
        guard case .failure(let refused) = await closed.send(body: Array("{}".utf8), id: "k", now: now()) else {
            Issue.record("a closed port was delivered to")
            return
        }
        #expect(refused.kind == .temporary)
        // A wrong secret is refused by the receiver's verification (401: permanent).
        let wrong = try r.secret("wrong", "whsec_" + Data(repeating: 7, count: 24).base64EncodedString())
        let forged = try channel("webhook+\(r.base)/hook?secret_file=\(wrong)")
        guard case .failure(let e) = await forged.send(body: Array("{}".utf8), id: "k", now: now()) else {
            Issue.record("a wrong signature was accepted")
            return
        }
        #expect(e.message.contains("401"))
    }

    @Test func wecomTextIsSplitUnder2048BytesAndMentionsTheMobile() async throws {
        let r = try Receiver()
        let hook = try channel("wecom+\(r.base)/cgi-bin/webhook/send?key=wecom-key-1")
        let line = "1. 走访 · 某某某 · 期限 2027-06-12 · 今日到期\n"
        let text = "【关怀提醒】周海燕：60 项关怀工作\n" + String(repeating: line, count: 60)
        #expect(text.utf8.count > 2048)
        let bodies = WebhookMessages.robot(try spec("wecom+\(r.base)/x?key=k"), text: text, mention: ChatContact(mobile: "13900000001"))
        #expect(bodies.count >= 2)
        for b in bodies {
            let result = await hook.send(body: b, id: "k", now: now())
            #expect((try? result.get()) == "wecom ok")
        }
        let reqs = r.requests
        #expect(reqs.count == bodies.count)
        var joined = ""
        for (i, req) in reqs.enumerated() {
            let msg = try #require(JSONSerialization.jsonObject(with: Data((req["body"] as! String).utf8)) as? [String: Any])
            let t = msg["text"] as! [String: Any]
            let content = t["content"] as! String
            #expect(content.utf8.count <= 2048)
            #expect(content.hasPrefix("(\(i + 1)/\(bodies.count)) "))
            #expect(t["mentioned_mobile_list"] as? [String] == ["13900000001"])
            joined += content
        }
        #expect(joined.components(separatedBy: "某某某").count - 1 == 60)
        // A bad key is permanent; a rate-limited robot (errcode 45009) is temporary.
        let badKey = try channel("wecom+\(r.base)/cgi-bin/webhook/send?key=nope")
        if case .failure(let e) = await badKey.send(body: bodies[0], id: "k", now: now()) {
            #expect(e.kind == .permanent && e.message.contains("93000"))
        } else {
            Issue.record("a wrong key was delivered")
        }
        let busy = try channel("wecom+\(r.base)/cgi-bin/webhook/send?key=busy")
        if case .failure(let e) = await busy.send(body: bodies[0], id: "k", now: now()) {
            #expect(e.kind == .temporary && e.message.contains("45009"))
        } else {
            Issue.record("a rate-limited answer was taken as delivered")
        }
    }

    @Test func dingtalkIsSignedInTheQueryAndMentionsByMobile() async throws {
        let r = try Receiver()
        let secret = try r.secret("ding", "SECdingtalk-secret")
        let hook = try channel("dingtalk+\(r.base)/robot/send?access_token=ding-token-1&secret_file=\(secret)")
        let body = WebhookMessages.robot(hook.spec, text: "【关怀提醒】测试", mention: ChatContact(mobile: "13900000002"))[0]
        #expect((try? (await hook.send(body: body, id: "k", now: now())).get()) == "dingtalk ok")
        let req = try #require(r.requests.first)
        #expect(req["verified"] as? Bool == true)
        let msg = try #require(JSONSerialization.jsonObject(with: Data((req["body"] as! String).utf8)) as? [String: Any])
        #expect((msg["at"] as! [String: Any])["atMobiles"] as? [String] == ["13900000002"])
        #expect(((msg["text"] as! [String: Any])["content"] as! String).hasSuffix("@13900000002"))
        let wrong = try channel("dingtalk+\(r.base)/robot/send?access_token=ding-token-1&secret_file=\(try r.secret("w", "SECwrong"))")
        if case .failure(let e) = await wrong.send(body: body, id: "k", now: now()) {
            #expect(e.kind == .permanent && e.message.contains("310000"))
        } else {
            Issue.record("a wrong signature was delivered")
        }
    }

    @Test func feishuIsSignedInTheBody() async throws {
        let r = try Receiver()
        let secret = try r.secret("feishu", "feishu-secret")
        let hook = try channel("feishu+\(r.base)/open-apis/bot/v2/hook/feishu-hook-1?secret_file=\(secret)")
        let body = WebhookMessages.robot(hook.spec, text: "【关怀提醒】测试", mention: nil)[0]
        #expect((try? (await hook.send(body: body, id: "k", now: now())).get()) == "feishu ok")
        let req = try #require(r.requests.first)
        #expect(req["verified"] as? Bool == true)
        let msg = try #require(JSONSerialization.jsonObject(with: Data((req["body"] as! String).utf8)) as? [String: Any])
        #expect(msg["msg_type"] as? String == "text")
        let wrong = try channel("feishu+\(r.base)/open-apis/bot/v2/hook/feishu-hook-1?secret_file=\(try r.secret("w", "nope"))")
        if case .failure(let e) = await wrong.send(body: body, id: "k", now: now()) {
            #expect(e.kind == .permanent && e.message.contains("19021"))
        } else {
            Issue.record("a wrong signature was delivered")
        }
    }

    @Test func overHTTPSTheCertificateIsVerified() async throws {
        let s = try Scratch()
        let cert = try makeCertificate(name: "localhost", in: s.url)
        let r = try Receiver(tls: cert, scratch: s)
        let secret = try r.secret("whsec", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let trusted = try channel("webhook+https://localhost:\(r.server.port)/hook?secret_file=\(secret)&ca_file=\(cert.cert)")
        #expect((try? (await trusted.send(body: Array("{}".utf8), id: "k", now: now())).get()) == "HTTP 204 No Content")
        let untrusted = try channel("webhook+https://localhost:\(r.server.port)/hook?secret_file=\(secret)")
        guard case .failure(let e) = await untrusted.send(body: Array("{}".utf8), id: "k", now: now()) else {
            Issue.record("an unknown certificate was trusted")
            return
        }
        #expect(e.kind == .permanent && e.message.contains("TLS"))
        #expect(r.requests.count == 1)
    }

    @Test func chatMessagesSayWhoAndWhatNeverWhy() async throws {
        var (d, context, _) = try digestWithPrivateNote()
        // With [web] links on: a group is not a person, so chat carries none; the person's own mail does.
        context.links = LinkMaker(
            publicURL: "https://guanhuai.example.edu.cn", signer: LinkSigner(key: Array(repeating: 1, count: 32)),
            actionDays: 30, agendaDays: 45)
        d.items = d.items.map {
            var i = $0
            i.kind = .due
            return i
        }
        let renderer = try await DigestRenderer.load(directory: Example.root.appendingPathComponent("Config/templates").path)
        for markdown in [false, true] {
            let text = renderer.chat(d, context: context, markdown: markdown)
            let visit = try #require(d.items.first { $0.occurrence.id == "must-visit:E-TEST-1" }?.occurrence)
            #expect(text.contains("走访 · \(context.subjectName(visit))"), "\(text)")
            #expect(text.contains("走访"))
            #expect(!text.contains("肺癌"))
            #expect(!text.contains("四必访"))
            for item in d.items { #expect(text.contains(context.subjectName(item.occurrence))) }
            #expect(!text.contains("guanhuai.example.edu.cn") && !text.contains("/i/"), "no action link in a group chat")
        }
        // E-mail to the responsible person may carry the note, and the links.
        let mail = renderer.mail(d, context: context)
        #expect(mail.text.contains("肺癌晚期"))
        #expect(mail.text.contains("已办结：https://guanhuai.example.edu.cn/i/") && mail.text.contains("我的待办：https://guanhuai.example.edu.cn/me/"))
        #expect(mail.html?.contains("href=\"https://guanhuai.example.edu.cn/i/") == true)
    }

    @Test func everyChannelIsAlsoAURL() throws {
        guard case .webhook(let w) = try ChannelSpec(url: "wecom+https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K&format=markdown")
        else {
            Issue.record("not a webhook")
            return
        }
        #expect(w.kind == .wecom && w.token == .value("K") && w.format == .markdown && w.ratePerMinute == 20)
        #expect(w.url == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send")
        #expect(try ChannelSpec(url: "journal:") == .journal)
        for (bad, says) in [
            ("webhook+https://h/p", "secret_file"), ("wecom+https://h/p", "key="), ("dingtalk+ftp://h/p?access_token=t", "http"),
            ("feishu+https://h/p?colour=red", "unknown parameter"), ("wecom+https://h/p?key=k&format=html", "markdown"),
            ("gopher://h", "unknown scheme"),
        ] {
            #expect(throws: InputError.self) { try ChannelSpec(url: bad) }
            do { _ = try ChannelSpec(url: bad) } catch { #expect(error.message.contains(says), "\(bad): \(error)") }
        }
    }

    @Test func theRateWindowLetsTwentyAMinuteThroughAndSaysWhenTheNextMayGo() {
        var w = RateWindow(limit: 20)
        for i in 0..<20 { #expect(w.reserve(now: 1000 + Int64(i)) == nil) }
        #expect(w.reserve(now: 1030) == 1060)
        #expect(w.reserve(now: 1059) == 1060)
        #expect(w.reserve(now: 1060) == nil)
        #expect(w.reserve(now: 1060) == 1061)
    }

    /// A send whose task is cancelled (the daemon's stop, past its grace) stops waiting for the answer.
    @Test func aCancelledSendStopsWaiting() async throws {
        let r = try Receiver()
        let secret = try r.secret("whsec", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let hook = try channel("webhook+\(r.base)/slow?secret_file=\(secret)&timeout=30")
        let started = ContinuousClock.now
        let send = Task { await hook.send(body: Array("{}".utf8), id: "k", now: now()) }
        try await Task.sleep(for: .milliseconds(500))
        send.cancel()
        let result = await send.value
        #expect(ContinuousClock.now - started < .seconds(10))
        guard case .failure = result else {
            Issue.record("a cancelled send was delivered")
            return
        }
    }

    /// Sends run on the HTTP client's own loop (no hand-over to Swift's pool and back per request): a task that
    /// prefers `loopExecutor` is on the loop's thread, and is again after it has been suspended.
    @Test func aSendRunsOnTheClientsLoop() async throws {
        let loop = WebhookHTTP.loop
        #expect(!loop.inEventLoop)
        let (before, after) = await withTaskExecutorPreference(WebhookHTTP.loopExecutor) { () async -> (Bool, Bool) in
            let before = loop.inEventLoop
            try? await Task.sleep(for: .milliseconds(5))
            return (before, loop.inEventLoop)
        }
        #expect(before && after)
        let r = try Receiver()
        let answer = await WebhookHTTP.post(
            WebhookRequest(url: r.base + "/gone", headers: [("Content-Type", "application/json")], body: Array("{}".utf8)),
            tls: nil, timeoutSeconds: 5)
        #expect((try? answer.get().status) == 410)
    }
}

func spec(_ url: String) throws -> WebhookSpec {
    guard case .webhook(let s) = try ChannelSpec(url: url) else { throw TestSetupError("not a webhook") }
    return s
}
