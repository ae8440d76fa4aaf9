/// Computes occurrences and their reminders. Pure: the same input and query give the same output.
public struct Planner: Sendable {
    public let input: PlanInput
    let membersByID: [PersonID: Member]
    /// The roster with recorded deaths and transfers applied, in roster order.
    let members: [Member]
    let completions: [String: Completion]
    let eventsByMember: [PersonID: [Event]]
    let orgDept: PersonID
    /// Everyone who is a unit secretary: responsibility for their own obligations moves one level up.
    let secretaries: Set<PersonID>
    /// Rule ids in catalog order, for sorting without comparing strings.
    let ruleOrder: [String: Int]
    /// Unit lists sorted once, not per rule and period.
    let unitsByKind: [UnitKind: [OrgUnit]]
    let reportingUnits: [OrgUnit]
    /// `PlanSettings.since`, read once.
    let since: CivilDate?
    /// The holiday table, or weekdays only: what `shift` moves dates by.
    let workdays: WorkCalendar
    /// Whether reminders are moved off days off (a holiday table is configured).
    let movesReminders: Bool

    public init(_ input: PlanInput) {
        self.input = input
        var members: [PersonID: Member] = [:]
        members.reserveCapacity(input.members.count)
        for m in input.members { members[m.id] = m }
        // A recorded death or transfer ends a member's active life even before the roster is updated.
        for e in input.events.sorted(by: { $0.date < $1.date }) {
            guard var m = members[e.member], m.status == .active else { continue }
            switch e.kind {
            case .death, .deathOnDuty: m.status = .deceased(e.date)
            case .transferOut: m.status = .transferredOut(e.date)
            default: continue
            }
            members[e.member] = m
        }
        membersByID = members
        self.members = input.members.map { members[$0.id] ?? $0 }
        var done: [String: Completion] = [:]
        for c in input.completions.sorted(by: { ($0.date, $0.occurrence) < ($1.date, $1.occurrence) })
        where done[c.occurrence] == nil {
            done[c.occurrence] = c
        }
        completions = done
        eventsByMember = Dictionary(grouping: input.events, by: \.member)
        orgDept = input.organization.organizationDepartment
        secretaries = Set(input.organization.units.values.compactMap(\.secretary))
        ruleOrder = Dictionary(input.rules.map(\.id).sorted().enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        var byKind: [UnitKind: [OrgUnit]] = [:]
        for kind in UnitKind.allCases { byKind[kind] = input.organization.units(of: kind) }
        unitsByKind = byKind
        reportingUnits = input.organization.reportingUnits
        since = input.settings.since
        workdays = input.settings.workCalendar ?? WorkCalendar()
        movesReminders = input.settings.workCalendar != nil
    }

    public func member(_ id: PersonID) -> Member? { membersByID[id] }

    public func today(at now: Int64) -> CivilDate { Planner.today(at: now, zone: input.settings.zone) }

    /// The civil date in `zone` at a UTC instant.
    public static func today(at now: Int64, zone: ZoneRules) -> CivilDate {
        Timestamp.split(zone.local(atUTC: now)).0
    }

    public func plan(_ query: PlanQuery) -> [Occurrence] {
        var context = Context(planner: self, query: query, today: today(at: query.now))
        for rule in input.rules where rule.enabled && (query.rules.isEmpty || query.rules.contains(rule.id)) {
            context.apply(rule)
        }
        // A person's plan was filtered as it was made (Context.add): theirs, or reaching them by a reminder.
        let out = context.occurrences
        guard query.sorted else { return out }
        // Sorting 10⁵–10⁶ occurrences: integer keys first, the id (bytewise) only to break ties.
        let keys = out.map { o in
            (o.due.dayNumber, o.windowStart.dayNumber, ruleOrder[o.rule] ?? Int.max)
        }
        var order = Array(out.indices)
        order.sort { i, j in
            if keys[i] != keys[j] { return keys[i] < keys[j] }
            return out[i].id.utf8.lexicographicallyPrecedes(out[j].id.utf8)
        }
        return order.map { out[$0] }
    }
}

/// Who an occurrence is about and who answers for it.
struct Target {
    var key: String
    var subject: String?
    /// The member's status, when the subject is a member: all an occurrence needs of them (copying the whole
    /// Member into every target was a tenth of planning).
    var status: MemberStatus?
    var org: UnitID
    var responsible: PersonID
    var extra: [PersonID]
}
