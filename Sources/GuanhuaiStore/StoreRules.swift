public import GuanhuaiCalendar
public import GuanhuaiCore

/// What every store decides the same way, whatever its engine: which events may be recorded, and what the audit log
/// says about a recording. `AppDatabase` (SQLite) and the PostgreSQL store both call these.
public enum StoreRules {
    /// Refuses an event that cannot be right: a death or transfer dated in the future, an end before the start, a
    /// talk request without the person asked, or asked of someone unknown.
    public static func checkEvent(
        kind: EventKind, date: CivilDate, ends: CivilDate?, target: PersonID?, today: CivilDate,
        knownMembers: Set<PersonID>, knownPeople: Set<PersonID>
    ) throws(StoreError) {
        if date > today, [.death, .deathOnDuty, .terminal, .transferOut].contains(kind) {
            throw .rejected("a \(kind.chinese) cannot be dated in the future (\(date) is after today, \(today))")
        }
        if let ends, ends < date { throw .rejected("--ends \(ends) is before the event's date \(date)") }
        if kind == .talkRequest, target == nil {
            throw .rejected("a talk request (约谈) names the person asked: add --with PERSON")
        }
        if let target, !knownPeople.contains(target), !knownMembers.contains(target) {
            throw .rejected("--with \"\(target)\" is neither a member nor a person in the organisation")
        }
    }

    /// The member an event is about must be known: on the stored roster, or in the roster file.
    public static func unknownMember(_ member: PersonID) -> StoreError {
        .rejected("unknown member \"\(member)\"; `guanhuai import roster` first, or check the id")
    }

    /// The audit line of a recorded event (never its note).
    public static func eventSummary(kind: EventKind, member: PersonID, date: CivilDate) -> String {
        "\(kind.rawValue) for \(member) on \(date)"
    }

    /// The audit line of one completion or waiver (never its note or reason).
    public static func completionSummary(_ c: Completion, actor: Actor) -> String {
        "dated \(c.date)" + (c.by.map { " by \($0)" } ?? "") + (actor.via.map { " via \($0)" } ?? "")
    }

    /// The audit line of several recorded as one action.
    public static func bulkSummary(_ cs: [Completion], recorded n: Int) -> String {
        let by = Set(cs.map(\.by))
        return "\(n) items" + (by.count == 1 ? by.first!.map { " by \($0)" } ?? "" : "")
    }

    /// How a completion is stored: its outcome's name and a waiver's reason.
    public static func outcome(_ c: Completion) -> (action: AuditAction, reason: String?) {
        switch c.outcome {
        case .done: (.done, nil)
        case .waived(let r): (.waived, r)
        }
    }

    /// The organisation as stored: the committee's unit, the units below it, 组织部 and the people.
    public static func organization(committee: String, organizationDepartment: String, units: [UnitRecord], people: [PersonRecord]) -> Organization? {
        let units = units.compactMap(\.unit)
        guard let c = units.first(where: { $0.id == committee }) else { return nil }
        return Organization(
            committee: c, units: units.filter { $0.id != committee }, organizationDepartment: organizationDepartment, people: people.map(\.person))
    }
}
