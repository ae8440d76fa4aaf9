/// Settings the planner needs from the configuration.
public struct PlanSettings: Sendable {
    public var zone: ZoneRules
    /// Local send time, minutes after midnight (default 08:30).
    public var sendMinutes: Int
    public var oldMember: OldMemberRule

    public init(zone: ZoneRules, sendMinutes: Int = 8 * 60 + 30, oldMember: OldMemberRule = OldMemberRule()) {
        self.zone = zone
        self.sendMinutes = sendMinutes
        self.oldMember = oldMember
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

    public init(from: CivilDate, to: CivilDate, now: Int64, rules: Set<String> = [], person: PersonID? = nil) {
        self.from = from
        self.to = to
        self.now = now
        self.rules = rules
        self.person = person
    }
}
