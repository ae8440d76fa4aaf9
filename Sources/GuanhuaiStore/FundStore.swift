public import GuanhuaiCalendar
public import GuanhuaiCore

/// One recorded step, with when and how it came (the audit keeps the same).
public struct FundStepRecord: Sendable, Equatable {
    public var application: Int64
    /// 1, 2, …: the order of the steps.
    public var seq: Int
    public var step: FundStep
    public var at: Int64
    /// "the web from …", or nil from the command line.
    public var via: String?

    public init(application: Int64, seq: Int, step: FundStep, at: Int64, via: String?) {
        self.application = application
        self.seq = seq
        self.step = step
        self.at = at
        self.via = via
    }
}

/// One income entry of the fund.
public struct FundIncomeRecord: Sendable, Equatable {
    public var id: Int64
    public var income: FundIncome
    public var note: String?
    public var recordedAt: Int64
    public var recordedBy: String

    public init(id: Int64, income: FundIncome, note: String?, recordedAt: Int64, recordedBy: String) {
        self.id = id
        self.income = income
        self.note = note
        self.recordedAt = recordedAt
        self.recordedBy = recordedBy
    }
}

/// What a step is decided on, read in the transaction that records it: the application, its steps so far, and the
/// fund's money (every source's income and every decided grant, so two decisions cannot spend the same yuan).
public struct FundBook: Sendable {
    public var application: FundApplication
    public var steps: [FundStep]
    public var income: [FundIncome]
    public var grants: [(stage: FundStage, amountFen: Int64, source: FundSource)]

    public init(
        application: FundApplication, steps: [FundStep], income: [FundIncome], grants: [(stage: FundStage, amountFen: Int64, source: FundSource)]
    ) {
        self.application = application
        self.steps = steps
        self.income = income
        self.grants = grants
    }

    public var balance: [FundSource: Int64] { FundLog.balance(income: income, grants: grants) }
}

/// A new application, as submitted.
public struct NewFundApplication: Sendable {
    public var member: PersonID
    public var category: String
    public var reason: String
    public var amountAskedFen: Int64
    public var attachments: [String]
    public var family: [PersonID]
    public var consent: Bool
    public var appliedBy: PersonID
    public var appliedOn: CivilDate
    /// The submission's own id: the same form sent twice (a second tap, a retry across a failover) is one application.
    public var nonce: String

    public init(
        member: PersonID, category: String, reason: String, amountAskedFen: Int64, attachments: [String], family: [PersonID],
        consent: Bool, appliedBy: PersonID, appliedOn: CivilDate, nonce: String
    ) {
        self.member = member
        self.category = category
        self.reason = reason
        self.amountAskedFen = amountAskedFen
        self.attachments = attachments
        self.family = family
        self.consent = consent
        self.appliedBy = appliedBy
        self.appliedOn = appliedOn
        self.nonce = nonce
    }
}

/// The fund's storage, the same on both engines. Every write is one transaction with its audit row.
public protocol FundStore: Sendable {
    /// Stores a new application at 党支部审核; the same `nonce` again returns the first one's id.
    func addFundApplication(_ a: NewFundApplication, actor: Actor) async throws(StoreError) -> Int64
    /// Decides and records one step in one transaction: `decide` sees the application, its steps and the fund as they
    /// are inside it (fund steps are serialised), and returns the step or why not. The same `nonce` again returns
    /// the step first recorded with it. Nil: there is no such application. `closes`: the fund rule's id, when there
    /// is one: the stage left is recorded done as that rule's occurrence (`FundColumns.stageOccurrence`), in the same
    /// transaction, so its queued reminders are taken back as any completion's are.
    func takeFundStep(
        _ id: Int64, nonce: String, actor: Actor, closes rule: String?, _ decide: @escaping @Sendable (FundBook) -> Result<FundStep, FundRefusal>
    ) async throws(StoreError) -> Result<FundStep, FundRefusal>?
    func addFundIncome(_ income: FundIncome, note: String?, actor: Actor) async throws(StoreError) -> Int64
    func fundApplications() async throws(StoreError) -> [FundApplication]
    func fundSteps(of id: Int64?) async throws(StoreError) -> [FundStepRecord]
    func fundIncome() async throws(StoreError) -> [FundIncomeRecord]
}

/// How a fund step is kept in columns, and the audit line of each write: one place for both engines.
public enum FundColumns {
    /// A list kept in one text column, one name per line (names can hold commas).
    public static func list(_ items: [String]) -> String { items.joined(separator: "\n") }
    public static func list(_ text: String?) -> [String] { (text ?? "").split(separator: "\n").map(String.init) }

    /// A step's details: the words (an opinion, what is missing, an objection), the meeting and who attended, the
    /// amount and source, the date paid.
    public struct Details: Sendable, Equatable {
        public var words: String?
        public var meeting: String?
        public var attendees: String?
        public var amountFen: Int64?
        public var source: String?
        public var paidOn: String?

        public init(
            words: String? = nil, meeting: String? = nil, attendees: String? = nil, amountFen: Int64? = nil, source: String? = nil, paidOn: String? = nil
        ) {
            self.words = words
            self.meeting = meeting
            self.attendees = attendees
            self.amountFen = amountFen
            self.source = source
            self.paidOn = paidOn
        }
    }

    public static func details(_ a: FundAction) -> Details {
        switch a {
        case .approve(let w): Details(words: w)
        case .returnForMore(let w), .reject(let w), .object(let w), .dismissObjection(let w), .withdraw(let w): Details(words: w)
        case .resubmit, .confirmNotice, .noticeEnded: Details()
        case .decide(let meeting, let attendees, let amount, let source):
            Details(meeting: meeting.description, attendees: list(attendees), amountFen: amount, source: source.rawValue)
        case .pay(let date, let amount, let source): Details(amountFen: amount, source: source.rawValue, paidOn: date.description)
        }
    }

    /// The action a stored step names; nil for a row no version of guanhuai wrote.
    public static func action(_ name: String, _ d: Details) -> FundAction? {
        let w = d.words ?? ""
        switch name {
        case "approve": return .approve(opinion: w)
        case "return": return .returnForMore(words: w)
        case "reject": return .reject(words: w)
        case "resubmit": return .resubmit
        case "confirm-notice": return .confirmNotice
        case "object": return .object(words: w)
        case "dismiss-objection": return .dismissObjection(words: w)
        case "notice-ended": return .noticeEnded
        case "withdraw": return .withdraw(words: w)
        case "decide":
            guard let m = d.meeting.flatMap(CivilDate.init(parsing:)), let a = d.amountFen, let s = d.source.flatMap(FundSource.init(rawValue:))
            else { return nil }
            return .decide(meeting: m, attendees: list(d.attendees), amountFen: a, source: s)
        case "pay":
            guard let p = d.paidOn.flatMap(CivilDate.init(parsing:)), let a = d.amountFen, let s = d.source.flatMap(FundSource.init(rawValue:))
            else { return nil }
            return .pay(date: p, amountFen: a, source: s)
        default: return nil
        }
    }

    /// The occurrence a stage of an application is reminded as, under the fund rule `rule`: entered after `seq` steps.
    public static func stageOccurrence(rule: String, application: Int64, seq: Int, stage: FundStage) -> String {
        "\(rule):" + FundObligation.key(application: application, seq: seq, stage: stage)
    }

    /// The completion that closes the stage a step leaves.
    public static func stageCompletion(rule: String, _ a: FundApplication, _ s: FundStep) -> Completion {
        Completion(occurrence: stageOccurrence(rule: rule, application: a.id, seq: a.steps, stage: a.stage), date: s.on, by: s.person)
    }

    /// The audit target of an application.
    public static func target(_ id: Int64) -> String { "fund:\(id)" }

    /// The audit line of an application: who it is for, the category and the amount — never the reason.
    public static func applicationSummary(_ a: NewFundApplication, actor: Actor) -> String {
        "apply for \(a.member) (\(a.category)) \(Amount.yuan(a.amountAskedFen)) yuan by \(a.appliedBy)" + (actor.via.map { " via \($0)" } ?? "")
    }

    /// The audit line of a step: what, by whom as what, from where to where, and the amount — never the words.
    public static func stepSummary(_ s: FundStep, from: FundStage, actor: Actor) -> String {
        var line = "\(s.action.name) by \(s.person) as \(s.role.rawValue): \(from.rawValue) → \(s.to.rawValue)"
        let d = details(s.action)
        if let a = d.amountFen, let src = d.source { line += ", \(Amount.yuan(a)) yuan from \(src)" }
        return line + (actor.via.map { " via \($0)" } ?? "")
    }

    /// The audit line of an income entry.
    public static func incomeSummary(_ i: FundIncome, actor: Actor) -> String {
        "income \(Amount.yuan(i.amountFen)) yuan to \(i.source.rawValue) on \(i.on)" + (actor.via.map { " via \($0)" } ?? "")
    }

    /// The application after a step: its stage, the day it was entered, the count, and a decision's grant.
    public static func after(_ a: FundApplication, _ s: FundStep) -> FundApplication {
        var a = a
        a.stage = s.to
        a.stageSince = s.on
        a.steps += 1
        if case .decide(_, _, let amount, let source) = s.action { a.granted = Grant(amountFen: amount, source: source) }
        return a
    }

    // Reading rows back, the same on both engines (each reads the columns in this order).

    public static let applicationColumns =
        "id, member, category, reason, amountAskedFen, attachments, family, consent, appliedBy, appliedOn, stage, stageSince, steps, grantedFen, source"
    public static let stepColumns =
        "application, seq, action, person, role, date, toStage, words, meeting, attendees, amountFen, source, paidOn, at, via"

    public static func application(
        id: Int64, member: String, category: String, reason: String, amountAskedFen: Int64, attachments: String, family: String,
        consent: Bool, appliedBy: String, appliedOn: String, stage: String, stageSince: String, steps: Int64, grantedFen: Int64?,
        source: String?
    ) -> FundApplication? {
        guard let on = CivilDate(parsing: appliedOn), let stage = FundStage(rawValue: stage), let since = CivilDate(parsing: stageSince) else {
            return nil
        }
        let granted = grantedFen.flatMap { fen in source.flatMap(FundSource.init(rawValue:)).map { Grant(amountFen: fen, source: $0) } }
        return FundApplication(
            id: id, member: member, category: category, reason: reason, amountAskedFen: amountAskedFen, attachments: list(attachments),
            family: list(family), consent: consent, appliedBy: appliedBy, appliedOn: on, stage: stage, stageSince: since, steps: Int(steps),
            granted: granted)
    }

    public static func step(
        application: Int64, seq: Int64, action: String, person: String, role: String, date: String, to: String, details: Details, at: Int64,
        via: String?
    ) -> FundStepRecord? {
        guard let a = FundColumns.action(action, details), let role = FundRole(rawValue: role), let on = CivilDate(parsing: date),
            let to = FundStage(rawValue: to)
        else { return nil }
        return FundStepRecord(
            application: application, seq: Int(seq), step: FundStep(action: a, person: person, role: role, on: on, to: to), at: at, via: via)
    }

    public static func income(id: Int64, source: String, date: String, amountFen: Int64, note: String?, recordedAt: Int64, recordedBy: String)
        -> FundIncomeRecord?
    {
        guard let s = FundSource(rawValue: source), let on = CivilDate(parsing: date) else { return nil }
        return FundIncomeRecord(id: id, income: FundIncome(source: s, on: on, amountFen: amountFen), note: note, recordedAt: recordedAt, recordedBy: recordedBy)
    }

    public static func grant(stage: String, amountFen: Int64, source: String) -> (stage: FundStage, amountFen: Int64, source: FundSource)? {
        guard let st = FundStage(rawValue: stage), let s = FundSource(rawValue: source) else { return nil }
        return (st, amountFen, s)
    }

    /// A refusal for a step recorded concurrently with another (two people on one application at once).
    public static let raced = FundRefusal(
        "这件申请刚由他人办理了一步，请刷新后再看。", "someone else took a step on this application meanwhile; look at it again")
}
