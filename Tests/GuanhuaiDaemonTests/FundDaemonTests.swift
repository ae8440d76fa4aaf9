import Foundation
import GuanhuaiCalendar
import GuanhuaiCore
import GuanhuaiStore
import GuanhuaiTestSupport
import GuanhuaiWorkspace
import Testing

/// The 专项资金's stages reminded by guanhuaid on the example committee, mailing to aiosmtpd, on its test clock in
/// March 2027 with a holiday table of the test's own: Thursday 3-4 and Friday 3-5 off, Saturday 3-6 a working day
/// (调休). Each stage is reminded to its person on working days counted across them; a stage done is no longer
/// reminded; a stalled review escalates to the 党总支 and then to 组织部; a 公示 that ends moves on to 发放 by itself,
/// 组织部 is told to pay, and the payment closes it, the report's balance matching the ledger's. No message carries
/// the reason.
@Suite(.serialized) struct FundDaemonTests {
    static func at(_ s: String) -> Int64 { beijing("2027-03-\(s):00") }

    @Test func eachStageIsRemindedToItsPersonOnItsWorkingDaysAndTheNoticeEndsByItself() async throws {
        let rig = try Rig()
        // The test's 2027: 3-4 and 3-5 off, Saturday 3-6 worked instead.
        let holidays = rig.dir.url.appendingPathComponent("holidays.toml")
        let table = try String(contentsOf: holidays, encoding: .utf8)
            .replacingOccurrences(of: "    \"2027-01-01\",                  # 元旦", with: "    \"2027-01-01\",\n    \"2027-03-04..2027-03-05\",")
            .replacingOccurrences(of: "work = []", with: "work = [\"2027-03-06\"]")
        try Data(table.utf8).write(to: holidays)
        let config = rig.config
        for what in ["orgs", "roster"] { #expect(try await offThePool { try runCLI(["import", what, "--config", config]) }.status == 0) }
        let ws = try await Workspace.open(configPath: rig.config, environment: ["CREDENTIALS_DIRECTORY": rig.dir.url.path], create: true)
        #expect(ws.workCalendar.isWorkday(CivilDate(2027, 3, 6)!) && !ws.workCalendar.isWorkday(CivilDate(2027, 3, 5)!))
        let setup = Actor(name: "test", now: Self.at("01 08:00"))
        let day = { (d: Int) in CivilDate(2027, 3, d)! }
        func apply(_ member: String, on: CivilDate, _ nonce: String) async throws -> Int64 {
            try await ws.fundApply(
                member: member, category: "大病", reason: "胃出血住院，自付较多", amountFen: 300_000, attachments: [], family: [], consent: true,
                by: "M001", today: on, actor: setup, nonce: nonce)
        }
        // #1, entered Friday 2-26: 党支部审核 due five working days on — 3-1, 3-2, 3-3, 3-6 (调休), 3-8. Left stalled.
        let stalled = try await apply("M014", on: CivilDate(2027, 2, 26)!, "a1")
        // #2: its 公示 starts Monday 3-1 and runs five working days, to Tuesday 3-9.
        _ = try await ws.fundIncome(FundIncome(source: .donation, on: day(1), amountFen: 1_000_000), note: nil, actor: setup)
        let noticed = try await apply("M016", on: CivilDate(2027, 2, 22)!, "a2")
        for (i, (action, by)) in [
            (FundAction.approve(opinion: ""), "M001"), (.approve(opinion: ""), "S01"),
            (.decide(meeting: CivilDate(2027, 2, 25)!, attendees: ["L01", "L02"], amountFen: 300_000, source: .donation), "ZZB"),
            (.confirmNotice, "ZZB"),
        ].enumerated() {
            _ = try await ws.fundStep(noticed, action, by: by, today: i < 3 ? CivilDate(2027, 2, 25)! : day(1), actor: setup, nonce: "n\(i)")
        }
        // #3: the branch approved on 3-1; 党总支审核 is due 3-9, its notice two days before falls on Sunday 3-7 and goes
        // on the working day before, Saturday 3-6.
        let general = try await apply("M019", on: CivilDate(2027, 2, 24)!, "a3")
        _ = try await ws.fundStep(general, .approve(opinion: "情况属实"), by: "M001", today: day(1), actor: setup, nonce: "g1")

        let smtp = try rig.smtp()
        try setClock(rig.clock, Self.at("01 08:29:57"))
        let daemon = try rig.daemon()
        // Each message's recipient and text parts, parsed once (by Python's email package) off the cooperative pool.
        var parsed: [URL: (address: String, parts: [String: String])] = [:]
        func refresh() async throws {
            let new = rig.messages.filter { parsed[$0] == nil }.map { ($0, recipient(rig, $0)) }
            let read = try await offThePool {
                try new.map { url, address in
                    let json = try JSONSerialization.jsonObject(with: try runTool(venvPython, [checkMailScript, url.path])) as? [String: Any]
                    return (url, address, json?["parts"] as? [String: String] ?? [:])
                }
            }
            for (url, address, parts) in read { parsed[url] = (address, parts) }
        }
        func mails(to address: String, _ words: String) async throws -> [String] {
            try await refresh()
            return parsed.values.filter { $0.address == address }.compactMap { $0.parts["text/plain"] }.filter { $0.contains(words) }
        }
        // The clock moved on and the daemon has processed up to it (when a send time was due then), and every mail
        // it queued has its result.
        func settle(_ t: String) async throws {
            try setClock(rig.clock, Self.at(t))
            _ = try await eventually(10) { (try? rig.database.processedThrough()).flatMap { $0 } ?? 0 >= Self.at(t) }
            #expect(try await eventually(60) { rig.mailSettled }, "\(daemon.stderr)")
        }
        // Its first run (reminders from then on) before the clock moves.
        #expect(try await eventually(30) { (try? rig.database.processedThrough()).flatMap { $0 } != nil }, "\(daemon.stderr)")
        let (branch, party, department) = ("zhouhaiyan@example.edu.cn", "liuwenhua@example.edu.cn", "zzb@example.edu.cn")

        // Monday 3-1: 组织部 hears the 公示 started, the 党总支 that its review opened.
        try await settle("01 08:30:05")
        #expect(try await mails(to: department, "公示期间受理异议（申请 \(noticed)）").count == 1, "\(daemon.stderr)")
        #expect(try await mails(to: party, "党总支审核（申请 \(general)）").count == 1)
        #expect(try await mails(to: branch, "党支部审核（申请 \(stalled)）").isEmpty)
        // Saturday 3-6, a working day: the branch secretary two working days before her deadline, the 党总支 two
        // days before theirs (Sunday's notice brought forward).
        try await settle("06 08:30:05")
        #expect(try await mails(to: branch, "党支部审核（申请 \(stalled)）").count == 1, "\(daemon.stderr)")
        #expect(try await mails(to: party, "党总支审核（申请 \(general)）").count == 2)
        // The 党总支 approves on Monday 3-8: their stage is done, and its due-day notice of Tuesday never goes.
        _ = try await ws.fundStep(general, .approve(opinion: ""), by: "S01", today: day(8), actor: Actor(name: "S01", now: Self.at("08 10:00")), nonce: "g2")
        // Tuesday 3-9, the 公示's last day: still in 公示.
        try await settle("09 08:30:05")
        #expect(try await ws.store().fundApplications().first { $0.id == noticed }?.stage == .notice)
        #expect(try await mails(to: party, "党总支审核（申请 \(general)）").count == 2, "no reminder of a stage done")
        // Wednesday 3-10: the 公示 ended with no objection: 发放 by itself, and 组织部 is told to pay.
        try await settle("10 08:30:05")
        let moved = try #require(try await ws.store().fundApplications().first { $0.id == noticed })
        #expect(moved.stage == .payment && moved.stageSince == day(10), "\(moved)")
        let steps = try await ws.store().fundSteps(of: noticed)
        #expect(steps.last?.step.action == .noticeEnded && steps.last?.step.role == .system && steps.last?.step.person == "guanhuaid")
        #expect(try await mails(to: department, "发放资助（申请 \(noticed)）").count == 1, "\(daemon.stderr)")
        // The stalled review escalates: five days after its deadline (Saturday 3-13, a day off: Monday 3-15) to the
        // 党总支, ten days after (Thursday 3-18) to 组织部.
        try await settle("15 08:30:05")
        #expect(try await mails(to: party, "党支部审核（申请 \(stalled)）").count == 1, "\(daemon.stderr)")
        #expect(try await mails(to: department, "党支部审核（申请 \(stalled)）").isEmpty)
        try await settle("18 08:30:05")
        #expect(try await mails(to: department, "党支部审核（申请 \(stalled)）").count == 1, "\(daemon.stderr)")

        // Paid: closed; the report's balance is the ledger's.
        let stage = try await ws.fundStep(
            noticed, .pay(date: day(18), amountFen: 300_000, source: .donation), by: "ZZB", today: day(18),
            actor: Actor(name: "ZZB", now: Self.at("18 10:00")), nonce: "p")
        #expect(stage == .closed)
        let balance = try await ws.fundBalance()
        #expect(balance[.donation] == 700_000)
        let report = try #require(try await ws.fundReport(from: day(1).adding(days: -60), to: day(31), today: day(18), condolenceFen: 0))
        let rows = try #require(report.tables.first { $0.title.hasPrefix("资金余额") }).rows
        #expect(rows.contains { $0.first == .text("捐赠") && $0.last == .yuan(700_000) }, "\(rows)")
        // Nothing anyone received says why anyone applied.
        try await refresh()
        #expect(parsed.count == rig.messages.count)
        for (_, p) in parsed {
            #expect(!p.parts.isEmpty && !p.parts.values.contains { $0.contains("胃出血") || $0.contains("情况属实") })
        }
        // Nor does any line guanhuaid logged.
        #expect(!daemon.stderr.contains("胃出血") && !daemon.stderr.contains("情况属实"))
        _ = smtp
    }
}
