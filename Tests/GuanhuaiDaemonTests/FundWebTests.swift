import Foundation
import GuanhuaiCalendar
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiStore
import GuanhuaiTestSupport
import GuanhuaiWorkspace
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The 专项资金 on the pages, in chromium at phone width: a branch secretary applies for a member from 「我的待办」,
/// the branch and the 党总支 review from their own lists, the reason is shown only to those who act on it, and the
/// 公示 lists the grant — without the reason — to the members of the grantee's 党总支 and to no one else.
/// `browse` off the cooperative pool: chromium takes seconds, and a test blocked there starves the others.
func offBrowse(_ args: [String]) async throws -> [String: Any] {
    let out = try await offThePool { try runTool(venvPython, [browserScript] + args) }
    return (try? JSONSerialization.jsonObject(with: out) as? [String: Any]) ?? ["raw": String(decoding: out, as: UTF8.self)]
}

@Suite(.serialized) struct FundWebTests {
    static let start = beijing("2027-06-01 08:29:57")

    @Test(
        .enabled(if: browserAvailable, "needs Debian's chromium and chromium-driver (Tools/install-deps)"),
        .timeLimit(.minutes(4)))
    func aSecretaryAppliesFromTheirListTheReviewersActOnTheirsAndTheNoticeShowsOnlyWhatItMay() async throws {
        try await withWebDaemon(at: Self.start) { rig, daemon, base in
            let signer = LinkSigner(key: Array(webKey.utf8))
            func agenda(_ person: String) -> String {
                base + "/me/" + signer.token(LinkToken(purpose: .agenda, person: person, expires: Self.start + 45 * 86400, generation: 0))
            }
            // M001, secretary of 文学院教师党支部, applies for M014 from her list.
            let applied = try await offBrowse([
                "fund-apply", agenda("M001"), "--member", "M014", "--category", "大病", "--amount", "3000", "--reason", "胃出血住院，自付较多",
                "--attachments", "诊断证明.pdf\\n费用清单.pdf", "--family", "M015", "--shot", screenshot("fund-apply.png", rig.dir), "--height", "2200",
            ])
            #expect((applied["result"] as? String)?.contains("已提交申请（编号 1）") == true, "\(applied) \(daemon.stderr)")
            // Without the consent box the browser does not submit.
            let unconsented = try await offBrowse([
                "fund-apply", agenda("M001"), "--member", "M003", "--category", "大病", "--amount", "1000", "--reason", "x", "--no-consent",
            ])
            #expect(unconsented["stayed"] as? Bool == true && unconsented["consent_valid"] as? Bool == false, "\(unconsented)")

            // A member's own list offers an application for themself alone.
            let own = try await http("GET", agenda("M003"))
            #expect(own.body.contains("id=\"fund-apply\"") && own.body.contains("value=\"M003\">") && !own.body.contains("value=\"M014\">"))
            // Her list now has the review, with 办理申请 in place of 已办结; its page shows her the reason.
            let list = try await http("GET", agenda("M001"))
            #expect(list.body.contains("关怀帮扶专项资金：党支部审核（申请 1）") && list.body.contains("/fund/1\" class=\"fund\""), "\(list.body)")
            // Her calendar feed has the review (who and what), never the reason.
            let feed = try await http("GET", try #require(feedURL(in: list.body)))
            #expect(feed.body.contains("专项资金") && !feed.body.contains("胃出血"), "\(feed.body.prefix(600))")
            let mine = try await http("GET", agenda("M001") + "/fund/1")
            #expect(mine.status == 200 && mine.body.contains("胃出血住院，自付较多"), "\(mine.body)")
            // The 党总支 secretary cannot take the branch's step; the branch secretary approves.
            let early = try await http("POST", agenda("S01") + "/fund/1", form: ["verdict": "approve", "nonce": "x1"])
            #expect(early.status == 403 && early.body.contains("党总支书记"), "\(early.body)")
            let approved = try await offBrowse(["fund-step", agenda("M001") + "/fund/1", "--verdict", "approve", "--words", "情况属实"])
            #expect(approved["buttons"] as? [String] == ["approve", "return", "reject", "withdraw"], "\(approved)")
            #expect((approved["result"] as? String)?.contains("现为「党总支审核」") == true, "\(approved)")
            // Another branch's secretary sees nothing of it.
            let stranger = try await http("GET", agenda("M026") + "/fund/1")
            #expect(stranger.status == 403 && !stranger.body.contains("胃出血"))
            // The 党总支 secretary returns it for more; the branch sends it in again; the 党总支 approves.
            // (The rest of the steps as the page's forms post them, without a browser: chromium is heavy to start.)
            func step(_ person: String, _ verdict: String, _ words: String = "") async throws -> HTTPReply {
                try await http("POST", agenda(person) + "/fund/1", form: ["verdict": verdict, "words": words, "nonce": UUID().uuidString])
            }
            let returned = try await step("S01", "return")
            #expect(returned.status == 400 && returned.body.contains("退回时请写明需要补充什么"), "a return says what is missing")
            #expect(try await step("S01", "return", "请补充费用清单").body.contains("退回补充"))
            #expect(try await step("M001", "resubmit").body.contains("党支部审核"))
            #expect(try await step("M001", "approve").body.contains("党总支审核"))
            let second = try await step("S01", "approve")
            #expect(second.status == 200 && second.body.contains("组织部集体研究"), "\(second.body)")

            // 组织部 decides on its own page (a reviewer among the attendees is refused; then the meeting as held), and
            // confirms the 公示 text. The money comes in from the command line first.
            let income = try await offThePool { [config = rig.config] in
                try runCLI(["fund", "income", "--source", "本级留存党费", "--amount", "10000", "--date", "2027-06-01", "--config", config])
            }
            #expect(income.status == 0, "\(income.stderr)")
            let page = try await http("GET", agenda("ZZB") + "/fund/1")
            #expect(page.body.contains("登记集体研究决定") && page.body.contains("name=\"attendees\""), "\(page.body)")
            let reviewer = try await http(
                "POST", agenda("ZZB") + "/fund/1",
                form: ["verdict": "decide", "meeting": "2027-06-01", "attendees": "L01 刘文华", "amount": "3000", "source": "本级留存党费", "nonce": "d0"])
            #expect(reviewer.status == 403 && reviewer.body.contains("审核人不能参与决定"), "\(reviewer.body)")
            let decided = try await offBrowse([
                "fund-step", agenda("ZZB") + "/fund/1", "--verdict", "decide", "--meeting", "2027-06-01", "--attendees-text", "L01，李秀英",
                "--amount", "3000", "--source", "本级留存党费",
            ])
            #expect((decided["result"] as? String)?.contains("公示前保密审查") == true, "\(decided)")
            let confirmed = try await http("POST", agenda("ZZB") + "/fund/1", form: ["verdict": "confirm", "nonce": "c0"])
            #expect(confirmed.status == 200 && confirmed.body.contains("公示中"), "\(confirmed.body)")

            // The 公示: M003 (same 党总支) sees name, unit, category, amount and period, never the reason; M005 (理学院)
            // sees nothing; the page prints.
            let board = try await offBrowse(["open", agenda("M003") + "/gongshi", "--shot", screenshot("fund-notice.png", rig.dir)])
            let text = board["text"] as? String ?? ""
            for words in ["秦丽娟", "文学院教师党支部", "大病", "3000", "2027-06-01 至 2027-06-08", "公示期间如有异议"] {
                #expect(text.contains(words), "\(words) not in \(text)")
            }
            #expect(!text.contains("胃出血") && !text.contains("费用清单"))
            let other = try await http("GET", agenda("M005") + "/gongshi")
            #expect(other.status == 200 && other.body.contains("目前没有公示中的资助") && !other.body.contains("秦丽娟"))
            // 组织部's web report has the fund's tables; a branch secretary's (their own unit) does not.
            let report = { (p: String) in
                base + "/report/" + signer.token(LinkToken(purpose: .report, person: p, expires: Self.start + 45 * 86400, generation: 0))
            }
            let zzb = try await http("GET", report("ZZB"))
            #expect(zzb.status == 200 && zzb.body.contains("关怀帮扶专项资金") && zzb.body.contains("资金余额"), "\(zzb.body.prefix(300))")
            let branch = try await http("GET", report("M001"))
            #expect(branch.status == 200 && !branch.body.contains("关怀帮扶专项资金"))
            // The relative declared on the form is on record.
            let ws2 = try await Workspace.open(configPath: rig.config, environment: ["CREDENTIALS_DIRECTORY": rig.dir.url.path], create: true)
            #expect(try await ws2.store().fundApplications().first?.family == ["M015"])
            // Every step is in the audit log, from the web, with who took it.
            let audit = try rig.database.auditLog(limit: 100).filter { $0.action == "fund-step" || $0.action == "fund-apply" }
            #expect(audit.count == 8, "\(audit)")
            #expect(audit.filter { $0.summary.contains("via the web from") }.count == 8)
            #expect(audit.contains { $0.summary.contains("decide by ZZB as organizationDepartment") && $0.summary.contains("3000 yuan from 本级留存党费") })
            #expect(!audit.contains { $0.summary.contains("胃出血") || $0.summary.contains("情况属实") })
            // Nor any line the daemon logged while the pages were used.
            #expect(!daemon.stderr.contains("胃出血") && !daemon.stderr.contains("情况属实") && !daemon.stderr.contains("请补充费用清单"))
        }
    }
}
