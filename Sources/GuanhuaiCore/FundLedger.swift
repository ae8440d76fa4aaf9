public import GuanhuaiCalendar

/// One recorded step of an application: who took it, as what, when, and where it led. The audit keeps every one;
/// the application's stage is where its log leads (`FundLog.replay`).
public struct FundStep: Sendable, Equatable {
    public var action: FundAction
    public var person: PersonID
    public var role: FundRole
    public var on: CivilDate
    public var to: FundStage

    public init(action: FundAction, person: PersonID, role: FundRole, on: CivilDate, to: FundStage) {
        self.action = action
        self.person = person
        self.role = role
        self.on = on
        self.to = to
    }
}

/// The fund's money: what came in per source, and what the decisions have committed.
public struct FundIncome: Sendable, Equatable {
    public var source: FundSource
    public var on: CivilDate
    public var amountFen: Int64

    public init(source: FundSource, on: CivilDate, amountFen: Int64) {
        self.source = source
        self.on = on
        self.amountFen = amountFen
    }
}

public enum FundLog {
    /// Replays an application's steps from submission: each step must be allowed where the one before left it (the
    /// rules of `FundProcedure`, with the balance it had then), and lead where it was recorded to lead. Returns the
    /// case as it stands, or the first step that does not replay (a log written outside the rules).
    public static func replay(
        _ start: FundCase, _ steps: [FundStep], balance: (FundStep) -> [FundSource: Int64] = { _ in [:] }
    ) -> Result<FundCase, FundRefusal> {
        var c = start
        for step in steps {
            switch FundProcedure.next(c, step.action, by: step.person, as: step.role, balance: balance(step)) {
            case .failure(let refusal): return .failure(refusal)
            case .success(let to):
                guard to == step.to else {
                    return .failure(
                        FundRefusal("记录与规则不符：\(step.action.name) 应到「\(to.words)」。", "\(step.action.name) leads to \(to.english), not \(step.to.english)"))
                }
                c = FundLog.apply(step, to: c)
            }
        }
        return .success(c)
    }

    /// The case after an allowed step: its stage, who reviewed, what was granted.
    public static func apply(_ step: FundStep, to c: FundCase) -> FundCase {
        var c = c
        c.stage = step.to
        switch step.action {
        case .approve, .returnForMore: c.reviewers.insert(step.person)
        case .reject where step.role == .branchSecretary || step.role == .generalSecretary: c.reviewers.insert(step.person)
        case .decide(_, _, let amount, let source): c.granted = Grant(amountFen: amount, source: source)
        default: break
        }
        return c
    }

    /// What each source holds: its income, less every grant decided and not since withdrawn or refused (a grant is
    /// committed from its decision, so two decisions cannot spend the same money).
    public static func balance(income: [FundIncome], grants: [(stage: FundStage, amountFen: Int64, source: FundSource)]) -> [FundSource: Int64] {
        var out: [FundSource: Int64] = [:]
        for i in income { out[i.source, default: 0] += i.amountFen }
        for g in grants where g.stage != .withdrawn && g.stage != .rejected { out[g.source, default: 0] -= g.amountFen }
        return out
    }

    /// The same, with the grants taken from the applications as stored (each one's decided grant and its stage).
    public static func balance(income: [FundIncome], applications: [FundApplication]) -> [FundSource: Int64] {
        balance(income: income, grants: applications.compactMap { a in a.granted.map { (a.stage, $0.amountFen, $0.source) } })
    }

    /// How many working days each stage took, over applications' logs (a stage still open counts until `today`):
    /// what the report's "time each step took" is made of.
    public static func workdaysPerStage(_ entered: CivilDate, _ steps: [FundStep], today: CivilDate, calendar: WorkCalendar)
        -> [(stage: FundStage, workdays: Int, open: Bool)]
    {
        var out: [(stage: FundStage, workdays: Int, open: Bool)] = []
        var stage = FundStage.branchReview
        var since = entered
        for step in steps {
            out.append((stage, calendar.workdays(from: since, to: step.on), false))
            stage = step.to
            since = step.on
        }
        if !stage.isFinal { out.append((stage, calendar.workdays(from: since, to: today), true)) }
        return out
    }
}

extension WorkCalendar {
    /// Working days after `from` up to and including `to` (0 when `to` is not after `from`).
    public func workdays(from: CivilDate, to: CivilDate) -> Int {
        guard from.days(until: to) > 0 else { return 0 }
        var n = 0
        var d = from
        while d != to {
            d = d.adding(days: 1)
            if isWorkday(d) { n += 1 }
        }
        return n
    }
}

/// One application to the 关怀帮扶专项资金 as stored: what was asked, by whom, and where it stands. Its steps are
/// kept apart (`FundStepRecord`), append-only; nothing about an application is ever deleted.
public struct FundApplication: Sendable, Equatable {
    public var id: Int64
    /// The member it is for (for 因公殉职家庭, the member who died; the family are the grantees).
    public var member: PersonID
    public var category: String
    /// Sensitive personal information, under the rules of a note: shown only to those who act on it, never in
    /// chat, SMS, the 公示 page or the audit log.
    public var reason: String
    public var amountAskedFen: Int64
    /// The attachments' names; the files stay out of guanhuai.
    public var attachments: [String]
    /// Relatives of the member declared at application (回避): they act on no step.
    public var family: [PersonID]
    /// The member's (or family's) consent to the 公示.
    public var consent: Bool
    public var appliedBy: PersonID
    public var appliedOn: CivilDate
    public var stage: FundStage
    /// The day the current stage was entered: its deadline counts from there.
    public var stageSince: CivilDate
    /// How many steps were recorded: a step is recorded only against the count it was decided on.
    public var steps: Int
    public var granted: Grant?

    public init(
        id: Int64, member: PersonID, category: String, reason: String, amountAskedFen: Int64, attachments: [String] = [],
        family: [PersonID] = [], consent: Bool, appliedBy: PersonID, appliedOn: CivilDate, stage: FundStage = .branchReview,
        stageSince: CivilDate? = nil, steps: Int = 0, granted: Grant? = nil
    ) {
        self.id = id
        self.member = member
        self.category = category
        self.reason = reason
        self.amountAskedFen = amountAskedFen
        self.attachments = attachments
        self.family = family
        self.consent = consent
        self.appliedBy = appliedBy
        self.appliedOn = appliedOn
        self.stage = stage
        self.stageSince = stageSince ?? appliedOn
        self.steps = steps
        self.granted = granted
    }
}
