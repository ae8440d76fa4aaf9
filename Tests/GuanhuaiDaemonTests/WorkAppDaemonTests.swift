import Foundation
import GuanhuaiConfig
import GuanhuaiDelivery
import GuanhuaiTestSupport
import Testing

/// A work app's messages from the daemon, for each of 企业微信, 钉钉 and 飞书: the example committee, every person in the
/// organisation file given a userid, `[routing] work_app`, and work_app_server.py (which checks each card against the
/// documented rules). A day's digests reach each person with a userid as a card; following an item's link from the
/// recorded card in chromium records the completion, as the mail's link does.
@Suite(.serialized) struct WorkAppDaemonTests {
    static let start = beijing("2027-06-01 08:29:57")

    static let apps: [(app: String, keys: String, userKey: String, secret: String)] = [
        ("wecom-app", "corpid = \"ww-test-corp\"\nagentid = 1000002\nsecret_credential = \"app-secret\"", "wecom_userid", "wecom-app-test-secret"),
        (
            "dingtalk-app", "app_key = \"ding-test-key\"\nagent_id = 2000003\napp_secret_credential = \"app-secret\"", "dingtalk_userid",
            "dingtalk-app-test-secret"
        ),
        ("feishu-app", "app_id = \"cli_test_app\"\napp_secret_credential = \"app-secret\"", "feishu_user_id", "feishu-app-test-secret"),
    ]

    @Test(
        .enabled(if: browserAvailable, "needs Debian's chromium and chromium-driver (Tools/install-deps)"),
        .timeLimit(.minutes(3)), arguments: 0..<3)
    func aSecretaryCompletesAnItemFromTheWorkAppCardInARealBrowser(_ which: Int) async throws {
        let app = Self.apps[which]
        let port = freePort()
        var apiPort = 0
        let rig = try Rig { text in
            text + """

                [web]
                listen = "127.0.0.1:\(port)"
                public_url = "http://127.0.0.1:\(port)"
                web_key_credential = "web-key"

                [channels.work-app]
                type = "\(app.app)"
                url = "http://127.0.0.1:API_PORT"
                \(app.keys)

                [routing]
                work_app = "work-app"

                """
        }
        _ = try rig.dir.write("web-key", webKey + "\n")
        _ = try rig.dir.write("app-secret", app.secret + "\n")
        let log = rig.dir.url.appendingPathComponent("apps.jsonl")
        let api = try ServerProcess([
            Example.root.appendingPathComponent("Tests/GuanhuaiDeliveryTests/Servers/work_app_server.py").path, "--log", log.path,
        ])
        apiPort = api.port
        let config = try String(contentsOfFile: rig.config, encoding: .utf8).replacingOccurrences(of: "API_PORT", with: "\(apiPort)")
        try Data(config.utf8).write(to: URL(fileURLWithPath: rig.config))
        // Every [[person]] gets a userid: wx-ID.
        let orgPath = rig.dir.url.appendingPathComponent("organization.toml")
        var org = ""
        var inPerson = false
        for line in try String(contentsOf: orgPath, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
            org += line + "\n"
            if line.hasPrefix("[") { inPerson = line == "[[person]]" }
            if inPerson, line.hasPrefix("id = \""), let id = line.split(separator: "\"").dropFirst().first {
                org += "\(app.userKey) = \"wx-\(id)\"\n"
            }
        }
        try Data(org.utf8).write(to: orgPath)
        let check = try runCLI(["check", "--config", rig.config], environment: ["CREDENTIALS_DIRECTORY": rig.dir.url.path])
        #expect(check.stdout.contains("work app work-app"), "\(check.stdout)\(check.stderr)")

        let smtp = try rig.smtp()
        try setClock(rig.clock, Self.start)
        let daemon = try rig.daemon()
        #expect(try await eventually(30) { rig.mailSettled && !loggedRequests(log).isEmpty }, "\(daemon.stderr)")
        #expect(try await eventually(15) { (try? rig.database.outboxCounts().pending) == 0 }, "\(daemon.stderr)")
        let sends = loggedRequests(log).filter { $0["kind"] as? String == "send" }
        #expect(!sends.isEmpty)
        #expect(sends.allSatisfy { $0["delivered"] as? Bool == true }, "every card passed the documented rules: \(sends)")
        #expect(loggedRequests(log).filter { $0["kind"] as? String == "gettoken" }.count == 1, "one token for the day's messages")
        // Every card goes to a userid from the organisation file, once per recipient and send time.
        let users = sends.compactMap { s -> String? in
            let body = s["body"] as? [String: Any]
            return (body?["touser"] ?? body?["userid_list"] ?? body?["receive_id"]) as? String
        }
        #expect(users.count == sends.count && users.allSatisfy { $0.hasPrefix("wx-") } && Set(users).count == users.count, "\(users)")
        // Mail goes too (work_app_reach defaults to "app+mail").
        #expect(!rig.messages.isEmpty)

        // An item's signed 已办结 page, as the recorded card carries it, followed in the browser.
        let bodies = sends.compactMap { s in
            (try? JSONSerialization.data(withJSONObject: s["body"] ?? [:])).map { String(decoding: $0, as: UTF8.self) }
        }.joined(separator: "\n").replacingOccurrences(of: "\\/", with: "/").replacingOccurrences(of: "\\\"", with: "\"")
        func links(_ marker: String) -> [String] {
            bodies.components(separatedBy: "http://127.0.0.1:\(port)\(marker)").dropFirst().map {
                "http://127.0.0.1:\(port)\(marker)" + $0.prefix { !"\")] ".contains($0) && $0 != "\\" }
            }
        }
        let link = try #require(links("/i/").first { $0.hasSuffix("/done") }, "\(bodies.prefix(2000))")
        let token = String(link.dropFirst("http://127.0.0.1:\(port)/i/".count).dropLast("/done".count))
        let grant = try LinkSigner(key: Array(webKey.utf8)).verify(Substring(token)).get()
        let db = try rig.database
        #expect(try db.completion(for: grant.occurrence) == nil)
        let saw = try browse(["done", link, "--note", "已电话联系并上门看望"])
        #expect((saw["result"] as? String)?.contains("已登记") == true, "\(saw)")
        let recorded = try #require(try db.completion(for: grant.occurrence))
        #expect(recorded.by == grant.person)
        // The card's 「我的待办」 link opens the person's agenda.
        let agenda = try #require(links("/me/").first)
        let page = try await http("GET", agenda)
        #expect(page.status == 200 && page.body.contains("我的待办"), "\(page.status) \(agenda)")
        _ = smtp
        _ = api
    }
}
