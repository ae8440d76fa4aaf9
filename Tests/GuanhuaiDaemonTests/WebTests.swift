import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiStore
import GuanhuaiTestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

let browserScript = daemonServers.appendingPathComponent("browser.py").path
let icsScript = daemonServers.appendingPathComponent("check_ics.py").path
/// Debian's chromium and chromium-driver (Tools/install-deps installs them).
let browserAvailable =
    FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
    && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")

/// The web key the tests sign with: the daemon reads the same bytes as its credential.
let webKey = "k3y-for-tests-only-0123456789abcdefghijklmnopqrstuvwxyz"

/// A free loopback port (bound, read, released).
func freePort() -> Int {
    let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: 0, sin_addr: in_addr(s_addr: inet_addr("127.0.0.1")), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
    close(s)
    return Int(UInt16(bigEndian: addr.sin_port))
}

struct HTTPReply: Sendable {
    var status: Int
    var headers: [String: String]
    var body: String
}

/// One request with URLSession (no cookies, no cache).
func http(_ method: String, _ url: String, form: [String: String]? = nil, body: Data? = nil, headers: [String: String] = [:]) async throws
    -> HTTPReply
{
    var req = URLRequest(url: URL(string: url)!)
    req.httpMethod = method
    req.cachePolicy = .reloadIgnoringLocalCacheData
    for (k, v) in headers { req.setValue(v, forHTTPHeaderField: k) }
    if let body {
        req.httpBody = body
        req.setValue("application/json", forHTTPHeaderField: "Content-Type")
    }
    if let form {
        var c = URLComponents()
        c.queryItems = form.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
        req.httpBody = Data((c.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B").utf8)
        req.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
    }
    let (data, response) = try await URLSession(configuration: .ephemeral).data(for: req)
    let r = response as! HTTPURLResponse
    var h: [String: String] = [:]
    for (k, v) in r.allHeaderFields { h[String(describing: k).lowercased()] = String(describing: v) }
    return HTTPReply(status: r.statusCode, headers: h, body: String(decoding: data, as: UTF8.self))
}

/// The example daemon with `[web]`, mailing to aiosmtpd, on a test clock.
func webRig(port: Int) throws -> Rig {
    let rig = try Rig { text in
        text + """

            [web]
            listen = "127.0.0.1:\(port)"
            public_url = "http://127.0.0.1:\(port)"
            web_key_credential = "web-key"

            """
    }
    _ = try rig.dir.write("web-key", webKey + "\n")
    return rig
}

/// The example daemon with `[web]`, its test clock at `start`, its pages answering: `body` gets the rig, the daemon
/// and the pages' base address.
func withWebDaemon(at start: Int64, _ body: (borrowing Rig, DaemonProcess, String) async throws -> Void) async throws {
    let port = freePort()
    let rig = try webRig(port: port)
    try setClock(rig.clock, start)
    let daemon = try rig.daemon()
    let base = "http://127.0.0.1:\(port)"
    #expect(await webIsUp(base), "\(daemon.stderr)")
    try await body(rig, daemon, base)
}

/// The calendar feed's address on a 「我的待办」 page.
func feedURL(in page: String) -> String? {
    page.range(of: "value=\"http").map { r in String(page[page.index(r.lowerBound, offsetBy: 7)...].prefix { $0 != "\"" }) }
}

/// Waits until the pages answer.
func webIsUp(_ base: String, timeout: TimeInterval = 20) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if (try? await http("GET", base + "/")) != nil { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return false
}

func browse(_ args: [String]) throws -> [String: Any] {
    let out = try runTool(venvPython, [browserScript] + args)
    return (try? JSONSerialization.jsonObject(with: out) as? [String: Any]) ?? ["raw": String(decoding: out, as: UTF8.self)]
}

/// Where the README's screenshots are written when asked (GUANHUAI_SCREENSHOTS=DIR); a scratch file otherwise.
func screenshot(_ name: String, _ dir: borrowing Scratch) -> String {
    if let d = ProcessInfo.processInfo.environment["GUANHUAI_SCREENSHOTS"] { return d + "/" + name }
    return dir.url.appendingPathComponent(name).path
}

@Suite(.serialized) struct WebTests {
    static let start = beijing("2027-06-01 08:29:57")
    static let today = "2027-06-01"

    /// The first 「已办结」 link in the mail, with the mail's text.
    static func doneLink(_ rig: borrowing Rig) throws -> (url: String, text: String)? {
        for m in rig.messages {
            let text = ((try rig.parsed(m))["parts"] as? [String: String])?["text/plain"] ?? ""
            if let r = text.range(of: "已办结：http") {
                let rest = text[text.index(r.lowerBound, offsetBy: 4)...]
                return (String(rest.prefix { !$0.isWhitespace }), text)
            }
        }
        return nil
    }

    @Test(
        .enabled(if: browserAvailable, "needs Debian's chromium and chromium-driver (Tools/install-deps)"),
        .timeLimit(.minutes(3)))
    func aSecretaryCompletesAnItemFromTheMailInARealBrowser() async throws {
        let port = freePort()
        let rig = try webRig(port: port)
        let server = try rig.smtp()
        try setClock(rig.clock, Self.start)
        let daemon = try rig.daemon()
        #expect(try await eventually(30) { rig.messages.count >= 5 && rig.mailSettled }, "\(daemon.stderr)")
        let link = try #require(try Self.doneLink(rig), "no mail carries an action link")
        #expect(link.url.hasPrefix("http://127.0.0.1:\(port)/i/"))
        #expect(link.text.contains("不适用：http") && link.text.contains("登记情况：http") && link.text.contains("我的待办：http"))
        let token = String(link.url.dropFirst("http://127.0.0.1:\(port)/i/".count).dropLast("/done".count))
        let grant = try LinkSigner(key: Array(webKey.utf8)).verify(Substring(token)).get()
        let db = try rig.database
        let auditBefore = try db.auditLog(limit: 1000).count

        // A GET, a HEAD and a prefetch of every link change nothing.
        for suffix in ["/done", "/waive", "/note"] {
            let url = String(link.url.dropLast(5)) + suffix
            #expect(try await http("GET", url).status == 200)
            #expect(try await http("HEAD", url).status == 200)
            #expect(try await http("GET", url, headers: ["Sec-Purpose": "prefetch", "Purpose": "prefetch"]).status == 200)
        }
        #expect(try db.completion(for: grant.occurrence) == nil)
        #expect(try db.auditLog(limit: 1000).count == auditBefore)

        // The page carries the security headers.
        let page = try await http("GET", link.url)
        #expect(page.headers["cache-control"] == "no-store")
        #expect(page.headers["referrer-policy"] == "no-referrer")
        #expect(page.headers["content-security-policy"]?.contains("default-src 'none'") == true)
        #expect(page.body.contains("确认已办结"))

        // The browser, at phone width: fill in, submit, see the confirmation.
        let saw = try browse([
            "done", link.url, "--note", "已上门看望，转达组织关心", "--amount", "500.50",
            "--shot", screenshot("confirm.png", rig.dir), "--result-shot", screenshot("confirmed.png", rig.dir),
        ])
        #expect((saw["text"] as? String)?.contains("确认已办结") == true, "\(saw)")
        #expect((saw["width"] as? Int ?? 999) <= 390, "the page fits a phone: \(saw)")
        #expect((saw["stylesheets"] as? Int) == 1, "the stylesheet loads under the CSP")
        #expect((saw["result"] as? String)?.contains("已登记") == true, "\(saw)")

        // The CLI's plan shows it done, dated today, by the person the link was for, with no reminder left.
        let due = try #require(grant.due)
        let plan = try runCLI(
            [
                "plan", "--config", rig.config, "--format", "json", "--from", due.adding(days: -1).description,
                "--to", due.adding(days: 1).description, "--now", Self.today,
                "--rule", String(grant.occurrence.prefix { $0 != ":" }),
            ], environment: ["CREDENTIALS_DIRECTORY": rig.dir.url.path])
        let line = try #require(plan.stdout.split(separator: "\n").first { $0.contains("\"\(grant.occurrence)\"") }, "\(plan.stderr)")
        #expect(
            line.contains("\"status\":\"done\"") && line.contains("\"closed_on\":\"\(Self.today)\"")
                && line.contains("\"closed_by\":\"\(grant.person)\"") && line.contains("\"reminders\":[]"), "\(line)")
        let recorded = try #require(try db.completion(for: grant.occurrence))
        #expect(recorded.amountFen == 50050 && recorded.by == grant.person)
        let audit = try db.auditLog(limit: 5).first { $0.target == grant.occurrence }
        #expect(audit?.actor == grant.person && audit?.summary.contains("via the web from 127.0.0.1") == true, "\(String(describing: audit))")

        // A replay records nothing and says who recorded it.
        let replay = try await http("POST", link.url, form: ["date": Self.today])
        #expect(replay.status == 409 && replay.body.contains("已由"), "\(replay.body)")
        #expect(try db.auditLog(limit: 1000).count == auditBefore + 1)

        // The next day's send time brings no reminder about it.
        try setClock(rig.clock, beijing("2027-06-02 08:30:05"))
        #expect(try await eventually(20) { try db.processedThrough() ?? 0 >= beijing("2027-06-02 08:30:00") })
        #expect(try await eventually(10) { rig.mailSettled })
        let after = try db.outboxRows(about: grant.occurrence).filter { $0.createdAt > Self.start + 10 }
        #expect(after.isEmpty, "\(after.map(\.idempotencyKey))")
        _ = server
        _ = daemon
    }

    @Test(.timeLimit(.minutes(3)))
    func forgedExpiredForeignRevokedAndRekeyedLinksAreRefusedWithAPlainPage() async throws {
        let port = freePort()
        let rig = try webRig(port: port)
        try setClock(rig.clock, Self.start)
        let daemon = try rig.daemon()
        let base = "http://127.0.0.1:\(port)"
        #expect(await webIsUp(base), "\(daemon.stderr)")
        let signer = LinkSigner(key: Array(webKey.utf8))
        let input = Example.config.planInput()
        let planner = Planner(input)
        let now = Self.start
        let open = planner.plan(PlanQuery(from: CivilDate(2027, 5, 1)!, to: CivilDate(2027, 7, 31)!, now: now)).filter { $0.status.isOpen }
        let mine = try #require(open.first { $0.responsible == "M001" })
        let foreign = try #require(open.first { o in o.responsible != "M026" && !o.reminders.contains { $0.to.contains("M026") } })
        func item(
            _ person: String, _ o: Occurrence, expires: Int64 = beijing("2027-07-30 00:00:00"), generation: Int = 0,
            signer: LinkSigner = signer
        ) -> String {
            base + "/i/"
                + signer.token(
                    LinkToken(
                        purpose: .item, person: person, occurrence: o.id, due: o.due, expires: expires,
                        generation: generation)) + "/done"
        }
        func expectPage(_ r: HTTPReply, _ status: Int, _ words: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(r.status == status, "\(r.status) \(r.body)", sourceLocation: sourceLocation)
            #expect(r.body.contains(words), "\(r.body)", sourceLocation: sourceLocation)
            #expect(r.body.contains("如需帮助，请联系"), sourceLocation: sourceLocation)
            for leak in ["Error", "error", "Swift", "NIO", "Hummingbird", "Optional(", "M001"] {
                #expect(!r.body.contains(leak), "\(leak) in \(r.body)", sourceLocation: sourceLocation)
            }
        }
        #expect(try await http("GET", item("M001", mine)).status == 200)
        // Forged: the MAC's last character changed.
        var forged = item("M001", mine)
        let i = forged.index(forged.endIndex, offsetBy: -6)
        forged.replaceSubrange(i...i, with: forged[i] == "A" ? "B" : "A")
        expectPage(try await http("GET", forged), 403, "链接无效")
        // Signed with another key (a key that was changed): every old link is void.
        expectPage(try await http("GET", item("M001", mine, signer: LinkSigner(key: Array("another-key-0123456789-0123456789-abc".utf8)))), 403, "链接无效")
        // Cut short.
        expectPage(try await http("GET", base + "/i/abc/done"), 404, "链接不完整")
        // Expired.
        expectPage(try await http("GET", item("M001", mine, expires: now - 1)), 410, "链接已过期")
        // A person's token for someone else's occurrence.
        expectPage(try await http("GET", item("M026", foreign)), 403, "不是您的事项")
        expectPage(try await http("POST", item("M026", foreign), form: ["date": Self.today]), 403, "不是您的事项")
        // An agenda token cannot close what is not on that person's agenda.
        let agenda = base + "/me/" + signer.token(LinkToken(purpose: .agenda, person: "M026", expires: now + 86400, generation: 0))
        expectPage(try await http("POST", agenda + "/done", form: ["occurrence": foreign.id, "date": Self.today]), 403, "不是您的待办")
        // An item token is not an agenda token.
        let itemToken = String(item("M001", mine).dropFirst(base.count + 3).dropLast(5))
        expectPage(try await http("GET", base + "/me/" + itemToken), 404, "链接无效")
        // Revoked: `guanhuai web revoke` voids every link the person holds.
        let revoke = try runCLI(["web", "revoke", "周海燕", "--config", rig.config], environment: ["CREDENTIALS_DIRECTORY": rig.dir.url.path])
        #expect(revoke.status == 0, "\(revoke.stderr)")
        expectPage(try await http("GET", item("M001", mine)), 410, "链接已收回")
        #expect(try await http("GET", item("M001", mine, generation: 1)).status == 200, "a link made after the revocation works")
        // The report: 组织部 sees every unit, a 党总支 secretary their own subtree, a member none.
        func report(_ person: String) async throws -> HTTPReply {
            try await http(
                "GET",
                base + "/report/"
                    + signer.token(
                        LinkToken(
                            purpose: .report, person: person,
                            expires: now + 86400, generation: 0)) + "?year=2027")
        }
        let all = try await report("ZZB")
        #expect(all.status == 200 && all.body.contains("文学院党总支") && all.body.contains("理学院党总支") && all.body.contains("<svg"), "\(all.body.prefix(300))")
        let wen = try await report("S01")
        #expect(wen.status == 200 && wen.body.contains("文学院教师党支部") && !wen.body.contains("理学院"), "\(wen.body.prefix(300))")
        expectPage(try await report("M003"), 403, "统计只向组织部和各级党组织书记提供")
        // Nothing was recorded by any of it.
        #expect(try rig.database.completion(for: mine.id) == nil && rig.database.completion(for: foreign.id) == nil)
        // Unknown paths get the plain page too, and a body over the limit is refused.
        expectPage(try await http("GET", base + "/nothing"), 404, "页面不存在")
        let big = try await http("POST", item("M001", mine, generation: 1), form: ["date": Self.today, "note": String(repeating: "长", count: 20_000)])
        #expect(big.status == 413, "\(big.status)")
        #expect(try rig.database.completion(for: mine.id) == nil)
        _ = daemon
    }

    @Test(
        .enabled(if: browserAvailable, "needs Debian's chromium and chromium-driver (Tools/install-deps)"),
        .timeLimit(.minutes(3)))
    func anEventRecordedFromMyAgendaOpensItsVisitAndTheFeedParses() async throws {
        let port = freePort()
        let rig = try webRig(port: port)
        try setClock(rig.clock, Self.start)
        let daemon = try rig.daemon()
        let base = "http://127.0.0.1:\(port)"
        #expect(await webIsUp(base), "\(daemon.stderr)")
        let signer = LinkSigner(key: Array(webKey.utf8))
        let agenda = base + "/me/" + signer.token(LinkToken(purpose: .agenda, person: "M001", expires: Self.start + 45 * 86400, generation: 0))
        // M001 is secretary of 文学院教师党支部; M003 is one of its members, M026's branch is another.
        let page = try await http("GET", agenda)
        #expect(page.status == 200 && page.body.contains("我的待办") && page.body.contains("value=\"M003\""))
        #expect(!page.body.contains("value=\"M027\""), "only the secretary's own members")
        let saw = try browse([
            "event", agenda, "--member", "M003", "--kind", "illness", "--date", Self.today,
            "--shot", screenshot("agenda.png", rig.dir), "--height", "1400",
        ])
        #expect((saw["result"] as? String)?.contains("四必访") == true, "\(saw)")
        let events = try rig.database.events(member: "M003").filter { $0.kind == .illness && $0.date == CivilDate(parsing: Self.today) }
        let event = try #require(events.first)
        let plan = try runCLI(
            [
                "plan", "--config", rig.config, "--format", "json", "--from", Self.today, "--to", "2027-06-30",
                "--now", Self.today, "--rule", "must-visit",
            ], environment: ["CREDENTIALS_DIRECTORY": rig.dir.url.path])
        #expect(plan.stdout.contains("\"must-visit:\(event.id)"), "\(plan.stdout)\(plan.stderr)")
        // Another branch's member is refused.
        let form = ["member": "M027", "kind": "illness", "date": Self.today]
        let refused = try await http("POST", agenda + "/event", form: form)
        #expect(refused.status == 403 && refused.body.contains("不能为这位党员登记"))

        // The calendar feed: RFC 5545 by Python's icalendar, UIDs stable across two fetches, no note in it.
        let address = try #require(feedURL(in: page.body))
        let first = try await http("GET", address)
        let second = try await http("GET", address)
        #expect(first.headers["content-type"]?.hasPrefix("text/calendar") == true)
        let a = try rig.dir.write("a.ics", first.body)
        let b = try rig.dir.write("b.ics", second.body)
        let checked = try JSONSerialization.jsonObject(with: try runTool(venvPython, [icsScript, a, b])) as! [String: Any]
        #expect(checked["ok"] as? Bool == true, "\(checked)")
        #expect((checked["events"] as? Int ?? 0) > 0, "\(checked)")
        #expect(checked["stable"] as? Bool == true, "\(checked)")
        #expect(checked["all_day"] as? Bool == true, "\(checked)")
        for e in try rig.database.events() { if let note = e.note, !note.isEmpty { #expect(!first.body.contains(note)) } }
        _ = daemon
    }
}
