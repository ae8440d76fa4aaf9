public import GuanhuaiCalendar

/// 关怀帮扶专项资金 (X九): how one application goes through 个人申请 → 所在党组织审核 → 组织部集体研究决定 → 公开公示 →
/// 发放, as pure decisions. Who may take which step, what each step needs and what it refuses are decided here once;
/// the CLI and the pages call `FundProcedure.next` and record what it returns.
public enum FundStage: String, Sendable, CaseIterable, Codable {
    /// 党支部审核: the member's branch secretary reviews.
    case branchReview
    /// 党总支审核, where the member's branch is under a 党总支.
    case generalReview
    /// 组织部集体研究: a decision recorded with the meeting.
    case decision
    /// 公示前保密审查: 组织部 confirms the 公示 text (党务公开条例 Art. 15) before the period starts.
    case noticeCheck
    /// 公示: the grant is shown to those configured, for the period.
    case notice
    /// An objection was recorded during 公示: held for 组织部.
    case held
    /// 发放: the grant is to be paid.
    case payment
    /// Returned to the applicant's branch secretary for more.
    case returned
    /// 已发放，办结.
    case closed
    /// 不予资助.
    case rejected
    /// 已撤回.
    case withdrawn

    public var isFinal: Bool { self == .closed || self == .rejected || self == .withdrawn }

    /// The stage in an operator's English.
    public var english: String {
        switch self {
        case .branchReview: "the branch's review"
        case .generalReview: "the 党总支's review"
        case .decision: "组织部's decision"
        case .noticeCheck: "the check of the 公示 text"
        case .notice: "公示"
        case .held: "an objection held for 组织部"
        case .payment: "payment"
        case .returned: "returned for more"
        case .closed: "paid and closed"
        case .rejected: "refused"
        case .withdrawn: "withdrawn"
        }
    }

    public var words: String {
        switch self {
        case .branchReview: "党支部审核"
        case .generalReview: "党总支审核"
        case .decision: "组织部集体研究"
        case .noticeCheck: "公示前保密审查"
        case .notice: "公示中"
        case .held: "公示异议待处理"
        case .payment: "待发放"
        case .returned: "退回补充"
        case .closed: "已发放办结"
        case .rejected: "不予资助"
        case .withdrawn: "已撤回"
        }
    }
}

/// X九's four sources of the fund.
public enum FundSource: String, Sendable, CaseIterable, Codable {
    case retainedDues = "本级留存党费"
    case partyBuilding = "党建工作专项经费"
    case fiscal = "财政划拨"
    case donation = "捐赠"
}

/// In what capacity someone acts on an application.
public enum FundRole: String, Sendable, CaseIterable {
    /// The member the application is for (or who applied).
    case applicant
    /// The secretary of the member's 党支部.
    case branchSecretary
    /// The secretary of the 党总支 above that branch.
    case generalSecretary
    /// 组织部 (the CLI, and its staff on the pages).
    case organizationDepartment
    /// guanhuaid itself: the 公示 period ending.
    case system

    public var words: String {
        switch self {
        case .applicant: "申请人"
        case .branchSecretary: "党支部书记"
        case .generalSecretary: "党总支书记"
        case .organizationDepartment: "组织部"
        case .system: "系统"
        }
    }

    /// The role in an operator's English.
    public var english: String {
        switch self {
        case .applicant: "the applicant"
        case .branchSecretary: "the branch secretary"
        case .generalSecretary: "the 党总支 secretary"
        case .organizationDepartment: "组织部"
        case .system: "guanhuaid"
        }
    }
}

/// What 组织部 granted, and from which source.
public struct Grant: Sendable, Equatable {
    public var amountFen: Int64
    public var source: FundSource

    public init(amountFen: Int64, source: FundSource) {
        self.amountFen = amountFen
        self.source = source
    }
}

/// What the decisions need to know about one application.
public struct FundCase: Sendable, Equatable {
    public var stage: FundStage
    /// The member it is for.
    public var member: PersonID
    /// The member's branch secretary, and the 党总支 secretary where the tree has one.
    public var branchSecretary: PersonID?
    public var generalSecretary: PersonID?
    /// The member's family on record (relations): they act on no step either.
    public var family: Set<PersonID>
    /// Who reviewed it (the branch and the 党总支): none of them takes part in the decision.
    public var reviewers: Set<PersonID>
    /// What 组织部 granted, from which source (set by the decision).
    public var granted: Grant?

    public init(
        stage: FundStage, member: PersonID, branchSecretary: PersonID?, generalSecretary: PersonID?, family: Set<PersonID> = [],
        reviewers: Set<PersonID> = [], granted: Grant? = nil
    ) {
        self.stage = stage
        self.member = member
        self.branchSecretary = branchSecretary
        self.generalSecretary = generalSecretary
        self.family = family
        self.reviewers = reviewers
        self.granted = granted
    }
}

/// One step someone asks to take.
public enum FundAction: Sendable, Equatable {
    /// A reviewer approves, with their opinion.
    case approve(opinion: String)
    /// A reviewer returns it to the applicant's branch secretary, saying what is missing.
    case returnForMore(words: String)
    /// A reviewer, or 组织部 at its decision or on an objection, refuses it.
    case reject(words: String)
    /// The branch secretary (or the member) sends a returned application in again.
    case resubmit
    /// 组织部's collective decision: the meeting, who attended, the amount granted and its source.
    case decide(meeting: CivilDate, attendees: [PersonID], amountFen: Int64, source: FundSource)
    /// 组织部 has checked the 公示 text (保密审查): the period starts.
    case confirmNotice
    /// An objection received during 公示 (recorded by 组织部).
    case object(words: String)
    /// 组织部 dismisses the objection: the grant goes on to payment.
    case dismissObjection(words: String)
    /// The 公示 period ended with no objection (guanhuaid, on the day after its last working day).
    case noticeEnded
    /// Paid: the date, the amount and the source.
    case pay(date: CivilDate, amountFen: Int64, source: FundSource)
    /// Withdrawn, until it is paid.
    case withdraw(words: String)

    /// How the audit log names the step.
    public var name: String {
        switch self {
        case .approve: "approve"
        case .returnForMore: "return"
        case .reject: "reject"
        case .resubmit: "resubmit"
        case .decide: "decide"
        case .confirmNotice: "confirm-notice"
        case .object: "object"
        case .dismissObjection: "dismiss-objection"
        case .noticeEnded: "notice-ended"
        case .pay: "pay"
        case .withdraw: "withdraw"
        }
    }
}

/// Why a step is not allowed, for the person who asked: in Chinese for staff, in English for an operator's locale.
public struct FundRefusal: Error, Sendable, Equatable {
    public var chinese: String
    public var english: String

    public init(_ chinese: String, _ english: String) {
        self.chinese = chinese
        self.english = english
    }
}

/// The procedure's rules. Each stage has one actor; nobody acts on their own or their family's case; a reviewer does
/// not take part in the decision; nothing skips 公示; a grant above its source's balance is refused at the decision,
/// with the figures.
public enum FundProcedure {
    /// The stage `action` leads to when `person`, acting as `role`, takes it now; or why not. `balance`: what each
    /// source holds (income less what was granted and not withdrawn).
    public static func next(
        _ c: FundCase, _ action: FundAction, by person: PersonID, as role: FundRole, balance: [FundSource: Int64] = [:]
    ) -> Result<FundStage, FundRefusal> {
        if c.stage.isFinal {
            return .failure(FundRefusal("这件申请\(c.stage.words)，不能再办理。", "this application is \(c.stage.english); nothing more can be done"))
        }
        // Withdrawal: the member, their branch secretary or 组织部, until paid.
        if case .withdraw = action {
            guard
                role == .applicant && person == c.member || role == .branchSecretary && person == c.branchSecretary
                    || role == .organizationDepartment
            else { return .failure(refusedRole(action, role)) }
            return .success(.withdrawn)
        }
        if role != .system && role != .applicant && (person == c.member || c.family.contains(person)) {
            return .failure(FundRefusal("本人或其亲属的申请，不能由本人审核或决定。", "no one reviews or decides their own or their family's case"))
        }
        switch (c.stage, action) {
        case (.branchReview, .approve), (.branchReview, .returnForMore), (.branchReview, .reject):
            guard role == .branchSecretary, person == c.branchSecretary else { return .failure(refusedRole(action, role, expected: .branchSecretary)) }
            return .success(review(action, after: c.generalSecretary == nil ? .decision : .generalReview))
        case (.generalReview, .approve), (.generalReview, .returnForMore), (.generalReview, .reject):
            guard role == .generalSecretary, person == c.generalSecretary else { return .failure(refusedRole(action, role, expected: .generalSecretary)) }
            return .success(review(action, after: .decision))
        case (.returned, .resubmit):
            guard role == .branchSecretary && person == c.branchSecretary || role == .applicant && person == c.member else {
                return .failure(refusedRole(action, role, expected: .branchSecretary))
            }
            return .success(.branchReview)
        case (.decision, .decide(_, let attendees, let amount, let source)):
            guard role == .organizationDepartment else { return .failure(refusedRole(action, role, expected: .organizationDepartment)) }
            if c.reviewers.contains(person) || !c.reviewers.isDisjoint(with: attendees) {
                return .failure(FundRefusal("审核人不能参与决定：请由未参与审核的同志集体研究。", "a reviewer of this application cannot take part in its decision"))
            }
            if attendees.contains(c.member) || !c.family.isDisjoint(with: attendees) {
                return .failure(FundRefusal("本人或其亲属不能参与决定。", "the member and their family cannot take part in the decision"))
            }
            guard attendees.count >= 2 else {
                return .failure(FundRefusal("集体研究须记录参会人员（至少两人）。", "a collective decision records who attended (at least two)"))
            }
            guard amount > 0 else { return .failure(FundRefusal("资助金额须大于零。", "the amount granted must be more than zero")) }
            let left = balance[source] ?? 0
            guard amount <= left else {
                return .failure(
                    FundRefusal(
                        "\(source.rawValue)余额 \(Amount.yuan(left)) 元，不足以资助 \(Amount.yuan(amount)) 元。",
                        "\(source.rawValue) holds \(Amount.yuan(left)) yuan, less than the \(Amount.yuan(amount)) yuan granted"))
            }
            return .success(.noticeCheck)
        case (.decision, .reject):
            guard role == .organizationDepartment else { return .failure(refusedRole(action, role, expected: .organizationDepartment)) }
            return .success(.rejected)
        case (.noticeCheck, .confirmNotice):
            guard role == .organizationDepartment else { return .failure(refusedRole(action, role, expected: .organizationDepartment)) }
            return .success(.notice)
        case (.notice, .object):
            guard role == .organizationDepartment else { return .failure(refusedRole(action, role, expected: .organizationDepartment)) }
            return .success(.held)
        case (.notice, .noticeEnded):
            guard role == .system else { return .failure(refusedRole(action, role, expected: .system)) }
            return .success(.payment)
        case (.held, .dismissObjection), (.held, .reject):
            guard role == .organizationDepartment else { return .failure(refusedRole(action, role, expected: .organizationDepartment)) }
            if case .reject = action { return .success(.rejected) }
            return .success(.payment)
        case (.payment, .pay(_, let amount, let source)):
            guard role == .organizationDepartment else { return .failure(refusedRole(action, role, expected: .organizationDepartment)) }
            guard let granted = c.granted, source == granted.source, amount == granted.amountFen else {
                return .failure(
                    FundRefusal(
                        "发放须与决定一致：\(c.granted.map { "\($0.source.rawValue) \(Amount.yuan($0.amountFen)) 元" } ?? "尚无决定")。",
                        "the payment must be what was decided: \(c.granted.map { "\(Amount.yuan($0.amountFen)) yuan from \($0.source.rawValue)" } ?? "nothing was decided")"
                    ))
            }
            return .success(.closed)
        case (_, .pay):
            return .failure(
                FundRefusal(
                    "现在是「\(c.stage.words)」，不能发放：须经集体研究决定并公示期满。",
                    "it is at \(c.stage.english); it can be paid only after the decision and the 公示 period"))
        default:
            return .failure(
                FundRefusal("现在是「\(c.stage.words)」，这一步（\(action.name)）不能办理。", "\(action.name) is not a step at \(c.stage.english)"))
        }
    }

    static func review(_ action: FundAction, after next: FundStage) -> FundStage {
        switch action {
        case .returnForMore: .returned
        case .reject: .rejected
        default: next
        }
    }

    static func refusedRole(_ action: FundAction, _ role: FundRole, expected: FundRole? = nil) -> FundRefusal {
        guard let expected else {
            return FundRefusal("\(role.words)不能办理这一步（\(action.name)）。", "\(role.english) cannot take this step (\(action.name))")
        }
        if expected == role {
            return FundRefusal(
                "这一步（\(action.name)）只能由该党员所在组织的\(expected.words)办理。", "\(action.name) is for this member's own \(expected.english)")
        }
        return FundRefusal(
            "这一步（\(action.name)）由\(expected.words)办理，\(role.words)不能办理。", "\(action.name) is for \(expected.english), not \(role.english)")
    }

    /// Whether `person`, acting as `role`, may submit an application for the case's member: the member themself,
    /// their branch secretary on their behalf (the usual case), or 组织部 from the command line. The member's consent
    /// to the 公示 is recorded at application: without it nothing can be granted, so it is asked first.
    public static func apply(
        _ c: FundCase, by person: PersonID, as role: FundRole, amountFen: Int64, reason: String, consent: Bool
    ) -> Result<FundStage, FundRefusal> {
        switch role {
        case .applicant where person == c.member, .branchSecretary where person == c.branchSecretary, .organizationDepartment: break
        default:
            return .failure(
                FundRefusal(
                    "只能由党员本人、其所在党支部书记或组织部提出申请。", "an application is made by the member, their branch secretary or 组织部"))
        }
        guard amountFen > 0 else { return .failure(FundRefusal("申请金额须大于零。", "the amount asked must be more than zero")) }
        guard !reason.allSatisfy(\.isWhitespace) else {
            return .failure(FundRefusal("请写明申请事由。", "write the reason for the application"))
        }
        guard consent else {
            return .failure(
                FundRefusal(
                    "须征得本人（或家属）同意公示后再申请：资助须经公示。", "the member's (or family's) consent to the 公示 is needed first: every grant is published"))
        }
        return .success(.branchReview)
    }

    /// In what capacity `person` acts on the case at its stage: the reviewer the stage waits for first, then what
    /// else they are to it; nil when they are nothing to it (the step is then refused saying so).
    public static func role(of person: PersonID, in c: FundCase, organizationDepartment: PersonID) -> FundRole? {
        if c.stage == .generalReview, person == c.generalSecretary { return .generalSecretary }
        if person == c.branchSecretary { return .branchSecretary }
        if person == c.generalSecretary { return .generalSecretary }
        if person == organizationDepartment { return .organizationDepartment }
        if person == c.member { return .applicant }
        return nil
    }
}

/// How long each stage may take, in working days (the holiday table's), all configurable.
public struct FundDeadlines: Sendable, Equatable {
    public var branchReview = 5
    public var generalReview = 5
    public var decision = 15
    public var noticeCheck = 3
    /// The 公示 period.
    public var notice = 5
    public var held = 10
    public var payment = 10
    public var returned = 10

    public init() {}

    public func workdays(_ stage: FundStage) -> Int? {
        switch stage {
        case .branchReview: branchReview
        case .generalReview: generalReview
        case .decision: decision
        case .noticeCheck: noticeCheck
        case .notice: notice
        case .held: held
        case .payment: payment
        case .returned: returned
        case .closed, .rejected, .withdrawn: nil
        }
    }

    /// The last working day of a stage entered on `entered`: that day does not count, the next `n` working days do.
    public func due(_ stage: FundStage, entered: CivilDate, calendar: WorkCalendar) -> CivilDate? {
        guard let n = workdays(stage) else { return nil }
        return calendar.adding(workdays: n, to: entered)
    }
}

extension WorkCalendar {
    /// The `n`th working day after `d` (`d` itself not counted).
    public func adding(workdays n: Int, to d: CivilDate) -> CivilDate {
        var day = d
        var left = n
        while left > 0 {
            day = day.adding(days: 1)
            if isWorkday(day) { left -= 1 }
        }
        return day
    }
}

/// One open stage of an application, as the planner reminds it: who answers for it and by when.
public struct FundObligation: Sendable, Hashable {
    public var application: Int64
    /// The steps recorded before the stage was entered: with the application, what makes the stage's occurrence id.
    public var seq: Int
    public var stage: FundStage
    public var member: PersonID
    /// The member's branch: escalation goes to the unit above it.
    public var unit: UnitID
    public var responsible: PersonID
    public var since: CivilDate
    public var due: CivilDate

    public init(
        application: Int64, seq: Int, stage: FundStage, member: PersonID, unit: UnitID, responsible: PersonID, since: CivilDate,
        due: CivilDate
    ) {
        self.application = application
        self.seq = seq
        self.stage = stage
        self.member = member
        self.unit = unit
        self.responsible = responsible
        self.since = since
        self.due = due
    }

    /// The occurrence key after the rule's id: `<application>:<seq>:<stage>` (the stage so that what routes a
    /// reminder can tell a 公示 from a review without the store).
    public var key: String { FundObligation.key(application: application, seq: seq, stage: stage) }
    public static func key(application: Int64, seq: Int, stage: FundStage) -> String { "\(application):\(seq):\(stage.rawValue)" }

    /// Whether an occurrence of the fund rule is a 公示 (its id ends with the stage).
    public static func isNotice(_ occurrenceID: String) -> Bool { occurrenceID.hasSuffix(":" + FundStage.notice.rawValue) }
}

extension FundStage {
    /// What the person responsible is asked to do at this stage (an occurrence's title).
    public var task: String {
        switch self {
        case .branchReview: "党支部审核"
        case .generalReview: "党总支审核"
        case .decision: "组织部集体研究"
        case .noticeCheck: "公示前保密审查"
        case .notice: "公示期间受理异议"
        case .held: "处理公示异议"
        case .payment: "发放资助"
        case .returned: "补充材料后重新提交"
        case .closed, .rejected, .withdrawn: words
        }
    }
}

extension FundProcedure {
    /// Who answers for a stage: the branch secretary for its review and a return, the 党总支 secretary for theirs,
    /// 组织部 for the rest (the 公示 included: it receives objections); 组织部 where the tree names no secretary.
    public static func responsible(for c: FundCase, organizationDepartment: PersonID) -> PersonID? {
        switch c.stage {
        case .branchReview, .returned: c.branchSecretary ?? organizationDepartment
        case .generalReview: c.generalSecretary ?? organizationDepartment
        case .decision, .noticeCheck, .notice, .held, .payment: organizationDepartment
        case .closed, .rejected, .withdrawn: nil
        }
    }
}

/// Who sees a grant in 公示 (党务公开条例: within the organisation, never the open internet).
public enum FundNotice {
    /// The unit a grant is published to: the member's 党总支, or their branch where it has none.
    public static func unit(ofBranch branch: UnitID, in org: Organization) -> UnitID {
        if let parent = org.parent(of: branch), parent.kind == .generalBranch { return parent.id }
        return branch
    }

    /// Whether `viewer` (a member of `viewerBranch`, or a person of the organisation) sees a grant to a member of
    /// `grantBranch`: the whole committee when configured so; else 组织部, the members of the grantee's unit, and the
    /// secretaries of that unit and of the grantee's branch.
    public static func visible(
        to viewer: PersonID, viewerBranch: UnitID?, grantBranch: UnitID, wholeCommittee: Bool, in org: Organization
    ) -> Bool {
        if wholeCommittee || viewer == org.organizationDepartment { return true }
        let published = unit(ofBranch: grantBranch, in: org)
        if let b = viewerBranch, unit(ofBranch: b, in: org) == published { return true }
        let led = org.unitsLed(by: viewer)
        return led.contains(published) || led.contains(grantBranch)
    }
}
