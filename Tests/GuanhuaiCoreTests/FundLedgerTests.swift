import GuanhuaiCalendar
import GuanhuaiCore
import Testing

/// The fund's log and money: a log replays to the stage it records, a log with a step outside the rules does not,
/// and a source's balance counts what the decisions committed.
@Suite struct FundLedgerTests {
    static let start = FundCase(stage: .branchReview, member: "M014", branchSecretary: "P003", generalSecretary: "P002", family: ["M015"])
    static let day = CivilDate(2027, 3, 1)!

    static func step(_ action: FundAction, _ person: PersonID, _ role: FundRole, _ days: Int, _ to: FundStage) -> FundStep {
        FundStep(action: action, person: person, role: role, on: day.adding(days: days), to: to)
    }

    static let happy: [FundStep] = [
        step(.approve(opinion: "情况属实"), "P003", .branchSecretary, 2, .generalReview),
        step(.approve(opinion: "同意"), "P002", .generalSecretary, 3, .decision),
        step(
            .decide(meeting: day.adding(days: 10), attendees: ["P001", "P005"], amountFen: 200_000, source: .retainedDues), "P001", .organizationDepartment, 10,
            .noticeCheck),
        step(.confirmNotice, "P001", .organizationDepartment, 11, .notice),
        step(.noticeEnded, "guanhuaid", .system, 18, .payment),
        step(.pay(date: day.adding(days: 20), amountFen: 200_000, source: .retainedDues), "P001", .organizationDepartment, 20, .closed),
    ]

    @Test func theLogReplaysToItsStage() throws {
        let c = try FundLog.replay(Self.start, Self.happy, balance: { _ in [.retainedDues: 1_000_000] }).get()
        #expect(c.stage == .closed && c.reviewers == ["P003", "P002"] && c.granted?.amountFen == 200_000)
        // Every prefix replays too, to the stage its last step recorded.
        for n in 1..<Self.happy.count {
            let part = try FundLog.replay(Self.start, Array(Self.happy.prefix(n)), balance: { _ in [.retainedDues: 1_000_000] }).get()
            #expect(part.stage == Self.happy[n - 1].to)
        }
    }

    @Test func aLogWithAStepOutsideTheRulesDoesNotReplay() {
        // 公示 skipped: the decision, then paid.
        var skipped = Array(Self.happy.prefix(3))
        skipped.append(
            Self.step(.pay(date: Self.day.adding(days: 12), amountFen: 200_000, source: .retainedDues), "P001", .organizationDepartment, 12, .closed))
        guard case .failure(let why) = FundLog.replay(Self.start, skipped, balance: { _ in [.retainedDues: 1_000_000] }) else {
            Issue.record("a payment without 公示 replayed")
            return
        }
        #expect(why.chinese.contains("公示期满"))
        // The branch secretary reviewed, then sat in the decision.
        var reviewerDecides = Array(Self.happy.prefix(2))
        reviewerDecides.append(
            Self.step(
                .decide(meeting: Self.day.adding(days: 10), attendees: ["P001", "P003"], amountFen: 200_000, source: .retainedDues), "P001",
                .organizationDepartment, 10, .noticeCheck))
        #expect((try? FundLog.replay(Self.start, reviewerDecides, balance: { _ in [.retainedDues: 1_000_000] }).get()) == nil)
        // A step recorded as leading somewhere the rules do not send it.
        var wrong = Array(Self.happy.prefix(1))
        wrong[0].to = .decision
        #expect((try? FundLog.replay(Self.start, wrong).get()) == nil)
    }

    @Test func aSourcesBalanceCountsWhatWasDecided() {
        let income = [
            FundIncome(source: .retainedDues, on: Self.day, amountFen: 500_000), FundIncome(source: .donation, on: Self.day, amountFen: 30_000),
            FundIncome(source: .retainedDues, on: Self.day.adding(days: 30), amountFen: 100_000),
        ]
        let grants: [(stage: FundStage, amountFen: Int64, source: FundSource)] = [
            (.closed, 200_000, .retainedDues), (.notice, 150_000, .retainedDues), (.withdrawn, 100_000, .retainedDues), (.rejected, 5_000, .donation),
        ]
        #expect(FundLog.balance(income: income, grants: grants) == [.retainedDues: 250_000, .donation: 30_000])
    }

    @Test func eachStageTakesWorkingDays() {
        // 2027-03-01 is a Monday; no holiday table: weekdays.
        let spans = FundLog.workdaysPerStage(Self.day, Array(Self.happy.prefix(3)), today: Self.day.adding(days: 14), calendar: WorkCalendar())
        #expect(spans.map(\.stage) == [.branchReview, .generalReview, .decision, .noticeCheck])
        #expect(spans.map(\.workdays) == [2, 1, 5, 2])
        #expect(spans.map(\.open) == [false, false, false, true])
    }
}
