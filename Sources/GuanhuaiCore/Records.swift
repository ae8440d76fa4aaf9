public import GuanhuaiCalendar

/// A standing relation between people or between a person and a unit (domain.md §2).
public struct Relation: Hashable, Sendable {
    public var kind: RelationKind
    public var from: PersonID
    /// A member id, or for `committeeLink` a unit id.
    public var to: String

    public init(kind: RelationKind, from: PersonID, to: String) {
        self.kind = kind
        self.from = from
        self.to = to
    }
}

public enum RelationKind: String, CaseIterable, Sendable {
    /// 校领导直接联系党员 (X四).
    case leaderContact = "leader-contact"
    /// 副科级以上干部联系困难党员 (Q一.2).
    case cadreHardshipContact = "cadre-hardship-contact"
    /// 结对帮扶: helper → member in hardship.
    case pairing
    /// 党委委员挂联党总支: committee member → general branch unit.
    case committeeLink = "committee-link"

    public var chinese: String {
        switch self {
        case .leaderContact: "领导联系"
        case .cadreHardshipContact: "干部联系困难党员"
        case .pairing: "结对帮扶"
        case .committeeLink: "委员挂联"
        }
    }

    public init?(name: String) {
        guard let k = RelationKind.allCases.first(where: { $0.rawValue == name || $0.chinese == name }) else {
            return nil
        }
        self = k
    }
}

/// A dependant recorded only where an obligation needs one: the minor children of a member who died on duty.
public struct Dependant: Hashable, Sendable {
    public var id: String
    public var member: PersonID
    public var name: String
    public var birthDate: CivilDate

    public init(id: String, member: PersonID, name: String, birthDate: CivilDate) {
        self.id = id
        self.member = member
        self.name = name
        self.birthDate = birthDate
    }

    /// The allowance ends when the child turns 18.
    public var eighteenthBirthday: CivilDate {
        CivilDate.anniversary(month: birthDate.month, day: birthDate.day, in: birthDate.year + 18)
    }
}

/// Something that happened to a member and triggers obligations (domain.md §4, event rows).
public struct Event: Hashable, Sendable {
    public var id: String
    public var member: PersonID
    public var kind: EventKind
    public var date: CivilDate
    /// The end date recorded with a discipline (处分影响期).
    public var ends: CivilDate?
    /// The person asked, for a talk request (约谈).
    public var target: PersonID?
    /// Free text; may be sensitive. Never goes into chat messages or logs.
    public var note: String?

    public init(
        id: String, member: PersonID, kind: EventKind, date: CivilDate, ends: CivilDate? = nil,
        target: PersonID? = nil, note: String? = nil
    ) {
        self.id = id
        self.member = member
        self.kind = kind
        self.date = date
        self.ends = ends
        self.target = target
        self.note = note
    }
}

public enum EventKind: String, CaseIterable, Sendable {
    // 六必谈 (X三) and 五必谈 (Q二.2)
    case development = "development"
    case relationTransfer = "relation-transfer"
    case honoured = "honoured"
    case warningSigns = "warning-signs"
    case absence = "absence"
    case discipline = "discipline"
    case setback = "setback"
    case jobChange = "job-change"
    case mistake = "mistake"
    case dispute = "dispute"
    case complaints = "complaints"
    // 四必访 (X三) and 五必访 (Q二.1)
    case illness = "illness"
    case majorSetback = "major-setback"
    case familyCrisis = "family-crisis"
    case disaster = "disaster"
    case specialHardship = "special-hardship"
    // Others
    case talkRequest = "talk-request"
    case terminal = "terminal"
    case death = "death"
    case deathOnDuty = "death-on-duty"
    case transferOut = "transfer-out"

    public var chinese: String {
        switch self {
        case .development: "培养发展入党"
        case .relationTransfer: "转接组织关系"
        case .honoured: "获得功勋荣誉表彰"
        case .warningSigns: "苗头性倾向性问题"
        case .absence: "无故不参加组织生活或不正常交纳党费"
        case .discipline: "受到组织处理或纪律处分"
        case .setback: "困难挫折"
        case .jobChange: "岗位变动"
        case .mistake: "工作失误"
        case .dispute: "矛盾纠纷"
        case .complaints: "群众有不良反映"
        case .illness: "患病住院"
        case .majorSetback: "重大挫折"
        case .familyCrisis: "家庭重大变故"
        case .disaster: "遭受灾害"
        case .specialHardship: "生活特殊困难"
        case .talkRequest: "约谈"
        case .terminal: "临终"
        case .death: "去世"
        case .deathOnDuty: "因公殉职牺牲"
        case .transferOut: "转出"
        }
    }

    static let aliases: [String: EventKind] = [
        "严重疾病": .illness, "身患严重疾病": .illness, "住院": .illness, "患病": .illness,
        "家庭成员去世": .familyCrisis, "家庭变故": .familyCrisis, "重大自然灾害或事故": .disaster,
        "灾害": .disaster, "事故": .disaster, "亡故": .death, "死亡": .death, "因公殉职": .deathOnDuty,
        "牺牲": .deathOnDuty, "纪律处分": .discipline, "组织处理": .discipline, "处分": .discipline,
        "无故不参加组织生活": .absence, "不正常交纳党费": .absence, "转接": .relationTransfer,
        "遭遇重大挫折": .majorSetback, "功勋荣誉表彰": .honoured, "发展入党": .development,
    ]

    /// Accepts the Chinese name, the English slug, or a listed alias.
    public init?(name: String) {
        if let k = EventKind(rawValue: name) ?? EventKind.allCases.first(where: { $0.chinese == name })
            ?? EventKind.aliases[name]
        {
            self = k
        } else {
            return nil
        }
    }
}

/// An obligation done, or waived with a reason.
public struct Completion: Hashable, Sendable {
    public enum Outcome: Hashable, Sendable {
        case done
        case waived(reason: String)
    }

    public var occurrence: String
    public var date: CivilDate
    public var by: PersonID?
    public var note: String?
    public var outcome: Outcome
    /// 慰问金 handed over, in fen (1/100 yuan), exact.
    public var amountFen: Int?

    public init(
        occurrence: String, date: CivilDate, by: PersonID? = nil, note: String? = nil, outcome: Outcome = .done,
        amountFen: Int? = nil
    ) {
        self.occurrence = occurrence
        self.date = date
        self.by = by
        self.note = note
        self.outcome = outcome
        self.amountFen = amountFen
    }
}

/// What an audit row records: written by the store, read back by the scheduler as this type (one list, not strings
/// written in one place and parsed in another). The raw values are what the audit table holds.
public enum AuditAction: String, Sendable, CaseIterable {
    case done, waived, progress
    case doneBulk = "done-bulk"
    case waiveBulk = "waive-bulk"
    case importCompletions = "import-completions"
    case webRevoke = "web-revoke"
    case eventAdd = "event-add"
    case importOrgs = "import-orgs"
    case importRoster = "import-roster"
    case importRelations = "import-relations"
    /// The 专项资金: an application, a step of it, an income entry.
    case fundApply = "fund-apply"
    case fundStep = "fund-step"
    case fundIncome = "fund-income"

    /// Closes or annotates what is planned (a completion, a waiver, a note, a revoked link): it adds no send time.
    public var onlyCloses: Bool {
        switch self {
        case .done, .waived, .progress, .doneBulk, .waiveBulk, .importCompletions, .webRevoke: true
        // Money in changes no deadline; an application or a step opens a stage with its own.
        case .fundIncome: true
        case .fundApply, .fundStep: false
        case .eventAdd, .importOrgs, .importRoster, .importRelations: false
        }
    }
}
