public import GuanhuaiCalendar

/// Settings the planner needs from the configuration.
public struct PlanSettings: Sendable {
    public var zone: ZoneRules
    /// Local send time, minutes after midnight (default 08:30).
    public var sendMinutes: Int
    public var oldMember: OldMemberRule
    /// The day the committee started with guanhuai: obligations due before it are history (never overdue, never
    /// reminded, never escalated). nil: none (everything counts).
    public var since: CivilDate?
    /// China's working days (`[files] holidays`). Without it, `shift` knows weekends only and reminders go out on any
    /// day.
    public var workCalendar: WorkCalendar?

    public init(
        zone: ZoneRules, sendMinutes: Int = 8 * 60 + 30, oldMember: OldMemberRule = OldMemberRule(),
        since: CivilDate? = nil, workCalendar: WorkCalendar? = nil
    ) {
        self.zone = zone
        self.sendMinutes = sendMinutes
        self.oldMember = oldMember
        self.since = since
        self.workCalendar = workCalendar
    }
}

/// Everything the plan is computed from.
public struct PlanInput: Sendable {
    public var organization: Organization
    public var members: [Member]
    public var relations: [Relation]
    public var dependants: [Dependant]
    public var events: [Event]
    public var completions: [Completion]
    public var rules: [Rule]
    public var settings: PlanSettings
    /// The open stages of 专项资金 applications (read from the store), for a `fund` rule to remind.
    public var fund: [FundObligation] = []

    public init(
        organization: Organization, members: [Member], relations: [Relation] = [], dependants: [Dependant] = [],
        events: [Event] = [], completions: [Completion] = [], rules: [Rule], settings: PlanSettings
    ) {
        self.organization = organization
        self.members = members
        self.relations = relations
        self.dependants = dependants
        self.events = events
        self.completions = completions
        self.rules = rules
        self.settings = settings
    }
}

public struct PlanQuery: Sendable {
    public var from: CivilDate
    public var to: CivilDate
    /// The present, seconds since the epoch (UTC). Decides which open occurrences are overdue.
    public var now: Int64
    /// Only these rules (all when empty).
    public var rules: Set<String>
    /// Only occurrences this person is responsible for or reminded of.
    public var person: PersonID?
    /// Whether reminders are computed. A report needs only what was due and what became of it: without reminders
    /// (2.3 million of them for 100,000 members) and without sorting, planning a year is several times cheaper.
    public var withReminders = true
    /// Whether the result is sorted by due date (the order `plan` prints).
    public var sorted = true

    public init(from: CivilDate, to: CivilDate, now: Int64, rules: Set<String> = [], person: PersonID? = nil) {
        self.from = from
        self.to = to
        self.now = now
        self.rules = rules
        self.person = person
    }

    /// What reports and counts need: statuses and completions, no reminders, in no particular order.
    public static func outcomes(from: CivilDate, to: CivilDate, now: Int64, rules: Set<String> = []) -> PlanQuery {
        var q = PlanQuery(from: from, to: to, now: now, rules: rules)
        q.withReminders = false
        q.sorted = false
        return q
    }
}
