import GuanhuaiCalendar
import GuanhuaiCore
import Testing

/// The fund's procedure (X九) from a table: every step at every stage, by every role, allowed or refused with its
/// reason; and the deadlines counted in working days across a holiday with 调休.
@Suite struct FundProcedureTests {
    /// M014's application: branch secretary P003, 党总支 secretary P002, M015 is family.
    static func fundCase(_ stage: FundStage, general: Bool = true, reviewers: Set<PersonID> = []) -> FundCase {
        FundCase(
            stage: stage, member: "M014", branchSecretary: "P003", generalSecretary: general ? "P002" : nil, family: ["M015"],
            reviewers: reviewers, granted: Grant(amountFen: 200_000, source: .retainedDues))
    }

    static let balance: [FundSource: Int64] = [.retainedDues: 500_000, .donation: 10_000]
    static let decide = FundAction.decide(meeting: CivilDate(2027, 3, 2)!, attendees: ["P001", "P005"], amountFen: 200_000, source: .retainedDues)
    static let pay = FundAction.pay(date: CivilDate(2027, 3, 20)!, amountFen: 200_000, source: .retainedDues)

    struct Row: CustomTestStringConvertible, Sendable {
        var stage: FundStage
        var action: FundAction
        var person: PersonID
        var role: FundRole
        var expected: FundStage?  // nil: refused
        var general = true
        var says: String = ""
        var testDescription: String { "\(stage.rawValue) \(action.name) by \(person) as \(role.rawValue) → \(expected?.rawValue ?? "refused")" }
    }

    static let table: [Row] = [
        // 党支部审核: the member's branch secretary, and only they.
        Row(stage: .branchReview, action: .approve(opinion: "情况属实"), person: "P003", role: .branchSecretary, expected: .generalReview),
        Row(stage: .branchReview, action: .approve(opinion: "情况属实"), person: "P003", role: .branchSecretary, expected: .decision, general: false),
        Row(stage: .branchReview, action: .returnForMore(words: "补充诊断证明"), person: "P003", role: .branchSecretary, expected: .returned),
        Row(stage: .branchReview, action: .reject(words: "不符合条件"), person: "P003", role: .branchSecretary, expected: .rejected),
        Row(stage: .branchReview, action: .approve(opinion: ""), person: "P009", role: .branchSecretary, expected: nil, says: "党支部书记"),
        Row(stage: .branchReview, action: .approve(opinion: ""), person: "P001", role: .organizationDepartment, expected: nil, says: "由党支部书记办理"),
        Row(stage: .branchReview, action: .approve(opinion: ""), person: "M015", role: .branchSecretary, expected: nil, says: "亲属"),
        Row(stage: .branchReview, action: decide, person: "P001", role: .organizationDepartment, expected: nil, says: "党支部审核"),
        // 党总支审核.
        Row(stage: .generalReview, action: .approve(opinion: "同意"), person: "P002", role: .generalSecretary, expected: .decision),
        Row(stage: .generalReview, action: .returnForMore(words: "补充"), person: "P002", role: .generalSecretary, expected: .returned),
        Row(stage: .generalReview, action: .approve(opinion: "同意"), person: "P003", role: .branchSecretary, expected: nil, says: "由党总支书记办理，党支部书记不能办理"),
        // A returned application goes back to the branch, and cannot be paid.
        Row(stage: .returned, action: .resubmit, person: "P003", role: .branchSecretary, expected: .branchReview),
        Row(stage: .returned, action: .resubmit, person: "M014", role: .applicant, expected: .branchReview),
        Row(stage: .returned, action: pay, person: "P001", role: .organizationDepartment, expected: nil, says: "不能发放"),
        // 组织部集体研究: a branch secretary cannot decide; a reviewer does not take part; the balance holds.
        Row(stage: .decision, action: decide, person: "P001", role: .organizationDepartment, expected: .noticeCheck),
        Row(stage: .decision, action: decide, person: "P003", role: .branchSecretary, expected: nil, says: "由组织部办理"),
        Row(stage: .decision, action: .reject(words: "不符合条件"), person: "P001", role: .organizationDepartment, expected: .rejected),
        Row(
            stage: .decision, action: .decide(meeting: CivilDate(2027, 3, 2)!, attendees: ["P001", "P003"], amountFen: 200_000, source: .retainedDues),
            person: "P001", role: .organizationDepartment, expected: nil, says: "审核人不能参与决定"),
        Row(
            stage: .decision, action: .decide(meeting: CivilDate(2027, 3, 2)!, attendees: ["P001", "P005"], amountFen: 20_000, source: .donation),
            person: "P001", role: .organizationDepartment, expected: nil, says: "捐赠余额 100 元，不足以资助 200 元"),
        Row(
            stage: .decision, action: .decide(meeting: CivilDate(2027, 3, 2)!, attendees: ["P001"], amountFen: 20_000, source: .retainedDues),
            person: "P001", role: .organizationDepartment, expected: nil, says: "至少两人"),
        Row(stage: .decision, action: decide, person: "M014", role: .organizationDepartment, expected: nil, says: "本人"),
        // 组织部 cannot skip 公示.
        Row(stage: .decision, action: pay, person: "P001", role: .organizationDepartment, expected: nil, says: "公示期满"),
        Row(stage: .noticeCheck, action: pay, person: "P001", role: .organizationDepartment, expected: nil, says: "公示期满"),
        Row(stage: .notice, action: pay, person: "P001", role: .organizationDepartment, expected: nil, says: "公示期满"),
        Row(stage: .noticeCheck, action: .confirmNotice, person: "P001", role: .organizationDepartment, expected: .notice),
        Row(stage: .noticeCheck, action: .noticeEnded, person: "guanhuaid", role: .system, expected: nil, says: "现在是「公示前保密审查」"),
        // 公示: it ends by itself, unless an objection holds it for 组织部.
        Row(stage: .notice, action: .noticeEnded, person: "guanhuaid", role: .system, expected: .payment),
        Row(stage: .notice, action: .noticeEnded, person: "P001", role: .organizationDepartment, expected: nil, says: "由系统办理，组织部不能办理"),
        Row(stage: .notice, action: .object(words: "情况不实"), person: "P001", role: .organizationDepartment, expected: .held),
        Row(stage: .held, action: .noticeEnded, person: "guanhuaid", role: .system, expected: nil, says: "现在是「公示异议待处理」"),
        Row(stage: .held, action: .dismissObjection(words: "经核实，情况属实"), person: "P001", role: .organizationDepartment, expected: .payment),
        Row(stage: .held, action: .reject(words: "经核实不符合条件"), person: "P001", role: .organizationDepartment, expected: .rejected),
        Row(stage: .held, action: pay, person: "P001", role: .organizationDepartment, expected: nil, says: "公示期满"),
        // 发放: as decided.
        Row(stage: .payment, action: pay, person: "P001", role: .organizationDepartment, expected: .closed),
        Row(
            stage: .payment, action: .pay(date: CivilDate(2027, 3, 20)!, amountFen: 300_000, source: .retainedDues), person: "P001",
            role: .organizationDepartment, expected: nil, says: "发放须与决定一致"),
        Row(stage: .payment, action: pay, person: "P003", role: .branchSecretary, expected: nil, says: "由组织部办理"),
        // Withdrawn, until paid; nothing after the end.
        Row(stage: .notice, action: .withdraw(words: "本人撤回"), person: "M014", role: .applicant, expected: .withdrawn),
        Row(stage: .payment, action: .withdraw(words: ""), person: "P001", role: .organizationDepartment, expected: .withdrawn),
        Row(stage: .branchReview, action: .withdraw(words: ""), person: "P009", role: .branchSecretary, expected: nil, says: "党支部书记不能办理这一步"),
        Row(stage: .closed, action: .withdraw(words: ""), person: "P001", role: .organizationDepartment, expected: nil, says: "已发放办结"),
        Row(stage: .rejected, action: .resubmit, person: "P003", role: .branchSecretary, expected: nil, says: "不能再办理"),
    ]

    @Test(arguments: table)
    func eachStepIsAllowedOrRefusedWithItsReason(_ row: Row) {
        let c = Self.fundCase(row.stage, general: row.general, reviewers: ["P003", "P002"])
        switch FundProcedure.next(c, row.action, by: row.person, as: row.role, balance: Self.balance) {
        case .success(let stage):
            #expect(row.expected == stage, "allowed, to \(stage.rawValue)")
        case .failure(let refusal):
            #expect(row.expected == nil, "refused: \(refusal.chinese)")
            #expect(row.says.isEmpty || refusal.chinese.contains(row.says), "\(refusal.chinese)")
            #expect(!refusal.english.isEmpty && !refusal.chinese.isEmpty)
        }
    }

    /// Who may apply, and what an application needs.
    @Test(arguments: [
        ("M014", FundRole.applicant, true, nil as String?), ("P003", .branchSecretary, true, nil), ("P001", .organizationDepartment, true, nil),
        ("P009", .branchSecretary, true, "只能由党员本人"), ("M015", .applicant, true, "只能由党员本人"), ("P002", .generalSecretary, true, "只能由党员本人"),
        ("P003", .branchSecretary, false, "同意公示"),
    ])
    func whoMayApply(person: String, role: FundRole, consent: Bool, refused: String?) {
        let c = Self.fundCase(.branchReview)
        switch FundProcedure.apply(c, by: person, as: role, amountFen: 200_000, reason: "因病致困", consent: consent) {
        case .success(let stage): #expect(refused == nil && stage == .branchReview)
        case .failure(let r): #expect(refused.map { r.chinese.contains($0) } == true, "\(r.chinese)")
        }
        if case .success = FundProcedure.apply(c, by: "P003", as: .branchSecretary, amountFen: 0, reason: "因病", consent: true) { Issue.record("no amount") }
        if case .success = FundProcedure.apply(c, by: "P003", as: .branchSecretary, amountFen: 1, reason: " ", consent: true) { Issue.record("no reason") }
    }

    /// The capacity someone acts in follows the case: the 党总支 secretary at the 党总支's review, else the nearest.
    @Test func theRoleFollowsTheCase() {
        #expect(FundProcedure.role(of: "P002", in: Self.fundCase(.generalReview), organizationDepartment: "P001") == .generalSecretary)
        #expect(FundProcedure.role(of: "P003", in: Self.fundCase(.generalReview), organizationDepartment: "P001") == .branchSecretary)
        #expect(FundProcedure.role(of: "P001", in: Self.fundCase(.decision), organizationDepartment: "P001") == .organizationDepartment)
        #expect(FundProcedure.role(of: "M014", in: Self.fundCase(.returned), organizationDepartment: "P001") == .applicant)
        #expect(FundProcedure.role(of: "P009", in: Self.fundCase(.decision), organizationDepartment: "P001") == nil)
    }

    /// Every (stage, step) pair the table does not allow is refused, by every role: nothing reaches 发放 or 办结
    /// but through 公示.
    @Test func nothingReachesPaymentButThroughTheNotice() {
        let actions: [FundAction] = [
            .approve(opinion: ""), .returnForMore(words: ""), .reject(words: ""), .resubmit, Self.decide, .confirmNotice, .object(words: ""),
            .dismissObjection(words: ""), .noticeEnded, Self.pay,
        ]
        let people: [(PersonID, FundRole)] = [
            ("M014", .applicant), ("P003", .branchSecretary), ("P002", .generalSecretary), ("P001", .organizationDepartment),
            ("guanhuaid", .system),
        ]
        for stage in FundStage.allCases {
            for action in actions {
                for (person, role) in people {
                    guard case .success(let next) = FundProcedure.next(Self.fundCase(stage), action, by: person, as: role, balance: Self.balance)
                    else { continue }
                    if next == .payment { #expect(stage == .notice || stage == .held, "\(stage) → payment by \(action.name)") }
                    if next == .closed { #expect(stage == .payment, "\(stage) → closed by \(action.name)") }
                    if next == .notice { #expect(stage == .noticeCheck, "\(stage) → notice by \(action.name)") }
                    #expect(!stage.isFinal, "a final stage moved: \(stage) by \(action.name)")
                }
            }
        }
    }

    /// Working days across 国庆 2026 with its 调休 Saturday: a review entered on 9月30日 is due five working days on.
    @Test func deadlinesCountWorkingDaysAcrossAHoliday() throws {
        let year = WorkCalendar.Year(
            year: 2026, source: "test",
            off: (1...7).map { CivilDate(2026, 10, $0)! }, work: [CivilDate(2026, 10, 10)!])
        let calendar = WorkCalendar([year])
        let d = FundDeadlines()
        // 9-30 (Wed) entered; 10-1..7 off; 10-8 Thu, 10-9 Fri, 10-10 Sat (调休), 10-12 Mon, 10-13 Tue.
        #expect(d.due(.branchReview, entered: CivilDate(2026, 9, 30)!, calendar: calendar) == CivilDate(2026, 10, 13)!)
        #expect(d.due(.notice, entered: CivilDate(2026, 10, 9)!, calendar: calendar) == CivilDate(2026, 10, 15)!)
        #expect(d.due(.closed, entered: CivilDate(2026, 10, 9)!, calendar: calendar) == nil)
        #expect(Amount.yuan(50_050) == "500.50" && Amount.yuan(200_000) == "2000" && Amount.yuan(5) == "0.05")
    }
}
