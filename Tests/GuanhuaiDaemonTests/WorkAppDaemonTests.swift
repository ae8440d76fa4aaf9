import Foundation
import GuanhuaiDelivery
import GuanhuaiTestSupport
import Testing

/// 企业微信 应用消息 from the daemon: the example committee, every person in the organisation file given a userid,
/// `[routing] work_app`, and wecom_app_server.py (which checks each card against the documented rules). A day's
/// digests reach each person with a userid as a card; following an item's link from the recorded card in chromium
/// records the completion, as the mail's link does.
@Suite(.serialized) struct WorkAppDaemonTests {
    static let start = beijing("2027-06-01 08:29:57")

    @Test(
        .enabled(if: browserAvailable, "needs Debian's chromium and chromium-driver (Tools/install-deps)"),
        .timeLimit(.minutes(3)))
    func aSecretaryCompletesAnItemFromTheWorkAppCardInARealBrowser() async throws {
        let port = freePort()
        var apiPort = 0
        let rig = try Rig { text in
            text + """

                [web]
                listen = "127.0.0.1:\(port)"
                public_url = "http://127.0.0.1:\(port)"
                web_key_credential = "web-key"

                [channels.wecom-app]
                type = "wecom-app"
                url = "http://127.0.0.1:API_PORT"
                corpid = "ww-test-corp"
                agentid = 1000002
                secret_credential = "wecom-secret"

                [routing]
                work_app = "wecom-app"

                """
        }
        _ = try rig.dir.write("web-key", webKey + "\n")
        _ = try rig.dir.write("wecom-secret", "wecom-app-test-secret\n")
        let log = rig.dir.url.appendingPathComponent("wecom.jsonl")
        let api = try ServerProcess([
            Example.root.appendingPathComponent("Tests/GuanhuaiDeliveryTests/Servers/wecom_app_server.py").path, "--log", log.path,
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
                org += "wecom_userid = \"wx-\(id)\"\n"
            }
        }
        try Data(org.utf8).write(to: orgPath)
        let check = try runCLI(["check", "--config", rig.config], environment: ["CREDENTIALS_DIRECTORY": rig.dir.url.path])
        #expect(check.stdout.contains("work app wecom-app"), "\(check.stdout)\(check.stderr)")

        let smtp = try rig.smtp()
        try setClock(rig.clock, Self.start)
        let daemon = try rig.daemon()
        #expect(try await eventually(30) { rig.mailSettled && !loggedRequests(log).isEmpty }, "\(daemon.stderr)")
        #expect(try await eventually(15) { (try? rig.database.outboxCounts().pending) == 0 }, "\(daemon.stderr)")
        let sends = loggedRequests(log).filter { $0["kind"] as? String == "send" }
        let cards = sends.compactMap { $0["body"] as? [String: Any] }.filter { $0["msgtype"] as? String == "template_card" }
        #expect(!cards.isEmpty, "\(sends)")
        #expect(sends.allSatisfy { $0["delivered"] as? Bool == true }, "every card passed the documented rules: \(sends)")
        #expect(loggedRequests(log).filter { $0["kind"] as? String == "gettoken" }.count == 1, "one token for the day's messages")
        // Every card goes to a userid from the organisation file, once per recipient and send time.
        let users = cards.compactMap { $0["touser"] as? String }
        #expect(users.allSatisfy { $0.hasPrefix("wx-") } && Set(users).count == users.count, "\(users)")
        // Mail goes too (work_app_reach defaults to "app+mail").
        #expect(!rig.messages.isEmpty)

        // The first item line of a card: its signed 已办结 page, followed in the browser.
        let lines = cards.flatMap { (($0["template_card"] as? [String: Any])?["horizontal_content_list"] as? [[String: Any]]) ?? [] }
        let link = try #require(lines.compactMap { $0["url"] as? String }.first { $0.contains("/i/") && $0.hasSuffix("/done") }, "\(lines)")
        #expect(link.hasPrefix("http://127.0.0.1:\(port)/i/"))
        let token = String(link.dropFirst("http://127.0.0.1:\(port)/i/".count).dropLast("/done".count))
        let grant = try LinkSigner(key: Array(webKey.utf8)).verify(Substring(token)).get()
        let db = try rig.database
        #expect(try db.completion(for: grant.occurrence) == nil)
        let saw = try browse(["done", link, "--note", "已电话联系并上门看望"])
        #expect((saw["result"] as? String)?.contains("已登记") == true, "\(saw)")
        let recorded = try #require(try db.completion(for: grant.occurrence))
        #expect(recorded.by == grant.person)
        // The card's 「我的待办」 link opens the person's agenda.
        let actions = cards.compactMap { (($0["template_card"] as? [String: Any])?["card_action"] as? [String: Any])?["url"] as? String }
        let agenda = try #require(actions.first)
        let page = try await http("GET", agenda)
        #expect(page.status == 200 && page.body.contains("我的待办"), "\(page.status)")
        _ = smtp
        _ = api
    }
}
