import Foundation
import GuanhuaiCalendar
import GuanhuaiCore
import GuanhuaiStore
import GuanhuaiTestSupport
import GuanhuaiWorkspace
import Testing

/// The 专项资金's stages reminded by guanhuaid on the example committee, mailing to aiosmtpd, on its test clock in
/// March 2027 (no holiday): the branch secretary hears of the review two working days before its deadline; once
/// they approve, their stage is done and the 党总支 secretary hears of theirs instead; a 公示 period that ends moves
/// on to 发放 by itself and 组织部 is told to pay. No message carries the reason.
@Suite(.serialized) struct FundDaemonTests {
    static func at(_ s: String) -> Int64 { beijing("2027-03-\(s):00") }

    @Test func eachStageIsRemindedToItsPersonOnItsWorkingDaysAndTheNoticeEndsByItself() async throws {
        let rig = try Rig()
        for what in ["orgs", "roster"] { #expect(try runCLI(["import", what, "--config", rig.config]).status == 0) }
        let ws = try await Workspace.open(configPath: rig.config, environment: ["CREDENTIALS_DIRECTORY": rig.dir.url.path], create: true)
        func actor(_ t: String) -> Actor { Actor(name: "test", now: Self.at(t)) }
        let day = { (d: Int) in CivilDate(2027, 3, d)! }
        // #1: applied Friday 2-26 by M014's branch secretary: 党支部审核 due five working days on, Friday 3-5.
        let first = try await ws.fundApply(
            member: "M014", category: "大病", reason: "胃出血住院，自付较多", amountFen: 500_000, attachments: [], family: [], consent: true,
            by: "M001", today: CivilDate(2027, 2, 26)!, actor: actor("01 08:00"), nonce: "a1")
        // #2: already through review, decision and the 保密审查; its 公示 started Monday 3-1 and ends Monday 3-8.
        _ = try await ws.fundIncome(FundIncome(source: .donation, on: day(1), amountFen: 1_000_000), note: nil, actor: actor("01 08:00"))
        let second = try await ws.fundApply(
            member: "M016", category: "生活困难", reason: "家庭困难", amountFen: 300_000, attachments: [], family: [], consent: true, by: "M001",
            today: CivilDate(2027, 2, 22)!, actor: actor("01 08:00"), nonce: "a2")
        for (i, (action, by)) in [
            (FundAction.approve(opinion: ""), "M001"), (.approve(opinion: ""), "S01"),
            (.decide(meeting: CivilDate(2027, 2, 25)!, attendees: ["L01", "L02"], amountFen: 300_000, source: .donation), "ZZB"),
            (.confirmNotice, "ZZB"),
        ].enumerated() {
            _ = try await ws.fundStep(second, action, by: by, today: i < 3 ? CivilDate(2027, 2, 25)! : day(1), actor: actor("01 08:00"), nonce: "s\(i)")
        }
        let smtp = try rig.smtp()
        try setClock(rig.clock, Self.at("01 08:29:57"))
        let daemon = try rig.daemon()
        func mails(to address: String) throws -> [String] {
            try rig.messages.filter { recipient(rig, $0) == address }.map { ((try rig.parsed($0))["parts"] as? [String: String])?["text/plain"] ?? "" }
        }
        // The clock moved on, the daemon has processed up to it, and every mail it queued has its result.
        func settle(_ t: String) async throws {
            try setClock(rig.clock, Self.at(t))
            #expect(
                try await eventually(90) { (try? rig.database.processedThrough()).flatMap { $0 } ?? 0 >= Self.at(t) && rig.mailSettled },
                "\(daemon.stderr)")
        }
        // Its first run (reminders from then on) before the clock moves.
        #expect(try await eventually(30) { (try? rig.database.processedThrough()).flatMap { $0 } != nil }, "\(daemon.stderr)")
        // Monday 3-1: 组织部 hears the 公示 has started (its window opens); Wednesday 3-3, two working days before
        // the review's deadline, the branch secretary.
        try await settle("01 08:30:05")
        let zzb = try mails(to: "zzb@example.edu.cn")
        let queued = try rig.database.outbox().map { "\($0.idempotencyKey) \($0.state)" }
        #expect(zzb.contains { $0.contains("公示期间受理异议（申请 \(second)）") }, "\(zzb) \(queued) \(daemon.stderr)")
        #expect(try mails(to: "zhouhaiyan@example.edu.cn").filter { $0.contains("专项资金") }.isEmpty)
        try await settle("03 08:30:05")
        let review = try mails(to: "zhouhaiyan@example.edu.cn").filter { $0.contains("关怀帮扶专项资金：党支部审核（申请 \(first)）") }
        #expect(review.count == 1, "\(daemon.stderr)")
        // The branch approves on Wednesday: its stage is done; the 党总支 (due Wednesday 3-10) hears on Monday 3-8.
        _ = try await ws.fundStep(first, .approve(opinion: "情况属实"), by: "M001", today: day(3), actor: actor("03 10:00"), nonce: "b1")
        try await settle("05 08:30:05")
        #expect(try mails(to: "zhouhaiyan@example.edu.cn").filter { $0.contains("党支部审核（申请 \(first)）") }.count == 1, "no due-day reminder of a stage done")
        try await settle("08 08:30:05")
        #expect(try mails(to: "liuwenhua@example.edu.cn").contains { $0.contains("党总支审核（申请 \(first)）") }, "\(daemon.stderr)")
        // Tuesday 3-9: the 公示 ended on Monday with no objection: 发放 by itself, and 组织部 is told to pay.
        try await settle("09 08:30:05")
        let moved = try #require(try await ws.store().fundApplications().first { $0.id == second })
        #expect(moved.stage == .payment && moved.stageSince == day(9), "\(moved)")
        let steps = try await ws.store().fundSteps(of: second)
        #expect(steps.last?.step.action == .noticeEnded && steps.last?.step.role == .system && steps.last?.step.person == "guanhuaid")
        #expect(try mails(to: "zzb@example.edu.cn").contains { $0.contains("发放资助（申请 \(second)）") }, "\(daemon.stderr)")
        // Nothing anyone received says why anyone applied.
        for m in rig.messages {
            let text = try String(contentsOf: m, encoding: .utf8)
            #expect(!text.contains("胃出血") && !text.contains("家庭困难") && !text.contains("情况属实"))
        }
        _ = smtp
    }
}
