public import GuanhuaiCalendar
public import GuanhuaiCore
public import GuanhuaiStore
public import GuanhuaiSystem

/// Why something cannot be recorded. The command line and the pages each say it in their own words; the decision
/// is made once, here.
public enum RecordingProblem: Error, Equatable, Sendable {
    /// The date a completion carries (`CompletionDateProblem`).
    case date(CompletionDateProblem, CivilDate)
    /// The date an event carries (`EventDateProblem`), about the member named.
    case eventDate(EventDateProblem, CivilDate, member: String)
    /// The person named may not record it (`Organization.mayRecord`); who answers for it.
    case notAllowed(by: PersonID, responsible: PersonID)
    /// It is done, waived or no longer owed.
    case closed(Occurrence.Status)
    /// It is a stage of a 专项资金 application: it closes when its step is taken, not by being marked done.
    case fundStage(application: String)
    case store(StoreError)

    /// What a person reads: Chinese on the pages, the locale's language on the command line; `name` names people.
    public func message(chinese: Bool = Lang.chinese, name: (PersonID) -> String) -> String {
        func L(_ english: String, _ zh: String) -> String { chinese ? zh : english }
        return switch self {
        case .date(let p, let d): p.message(d, chinese: chinese)
        case .eventDate(let p, let d, let member): p.message(d, name: member, chinese: chinese)
        case .notAllowed(let by, let responsible):
            L(
                "\(name(by)) may not record it: only the responsible person (\(name(responsible))) or a secretary above them may",
                "\(name(by)) 不能登记：只有责任人（\(name(responsible))）或其上级党组织书记可以登记")
        case .closed(let status): L("it is \(status.chinese) already", "该事项已是「\(status.chinese)」")
        case .fundStage(let a):
            L(
                "it is a stage of 专项资金 application #\(a): take its step instead (`guanhuai fund show \(a)` says which)",
                "这是专项资金申请 \(a) 的一个环节：请办理该申请的这一步，而不是标记办结")
        case .store(let e): L("it could not be recorded: \(e)", "未能记录：\(e)")
        }
    }
}

/// Recording what was done — a completion, a waiver, an event — with every check made once, for `guanhuai done`,
/// `waive` and `event add` and for the pages alike: whether the item is still open, the date, and who may record it.
extension Workspace {
    /// `o` done on `date`; `by` is who did it (checked: only someone who may record it). False when it was on
    /// record already (another person, a second tap): nothing is written then.
    public func recordDone(
        _ o: Occurrence, date: CivilDate, by: PersonID?, note: String? = nil, amountFen: Int? = nil,
        today: CivilDate, actor: Actor
    ) async throws(RecordingProblem) -> Bool {
        try check(o, by: by)
        if let problem = CompletionDateProblem.check(date, today: today, windowStart: o.windowStart) {
            throw .date(problem, date)
        }
        return try await write { db throws(StoreError) in
            try await db.record(Completion(occurrence: o.id, date: date, by: by, note: note, amountFen: amountFen), actor: actor)
        }
    }

    /// `o` does not apply this time, and why.
    public func recordWaiver(_ o: Occurrence, reason: String, by: PersonID?, today: CivilDate, actor: Actor)
        async throws(RecordingProblem) -> Bool
    {
        try check(o, by: by)
        return try await write { db throws(StoreError) in
            try await db.record(Completion(occurrence: o.id, date: today, by: by, outcome: .waived(reason: reason)), actor: actor)
        }
    }

    /// An event about `member` (an illness, a bereavement, …), its date checked against the member and the events
    /// already recorded in `input`.
    public func recordEvent(
        member: Member, kind: EventKind, date: CivilDate, ends: CivilDate? = nil,
        target: PersonID? = nil, note: String?, input: PlanInput, today: CivilDate, actor: Actor
    )
        async throws(RecordingProblem) -> Event
    {
        if let problem = EventDateProblem.check(
            date, kind: kind, member: member, events: input.events, today: today,
            rules: input.rules, since: input.settings.since)
        {
            throw .eventDate(problem, date, member: member.name)
        }
        let known = Set(input.members.map(\.id))
        return try await write { db throws(StoreError) in
            try await db.addEvent(
                member: member.id, kind: kind, date: date, ends: ends, target: target, note: note, today: today,
                knownMembers: known, knownPeople: known.union(input.organization.people.keys), actor: actor)
        }
    }

    /// A unit's items of one rule and period at once (`--rule … --period …`), each checked as one would be, in one
    /// transaction and one audit row (`target`, e.g. "branch-annual-talk 2026 wen-t"). Returns how many were new.
    public func recordAll(
        _ items: [Occurrence], _ outcome: Completion.Outcome, date: CivilDate, by: PersonID?,
        note: String? = nil, amountFen: Int? = nil, today: CivilDate, actor: Actor, target: String
    )
        async throws(RecordingProblem) -> Int
    {
        for o in items {
            try check(o, by: by)
            if case .done = outcome, let problem = CompletionDateProblem.check(date, today: today, windowStart: o.windowStart) {
                throw .date(problem, date)
            }
        }
        let action: AuditAction = if case .done = outcome { .doneBulk } else { .waiveBulk }
        return try await write { db throws(StoreError) in
            try await db.recordAll(
                items.map {
                    Completion(
                        occurrence: $0.id, date: date, by: by, note: note, outcome: outcome,
                        amountFen: amountFen)
                }, actor: actor, action: action, target: target)
        }
    }

    private func check(_ o: Occurrence, by: PersonID?) throws(RecordingProblem) {
        if let rule = fundRule, o.rule == rule {
            throw .fundStage(application: String(o.id.dropFirst(rule.count + 1).prefix { $0 != ":" }))
        }
        guard o.status.isRecordable else { throw .closed(o.status) }
        if let by, !organization.mayRecord(o, by: by) { throw .notAllowed(by: by, responsible: o.responsible) }
    }

    private func write<T>(_ body: (any RecordStore) async throws(StoreError) -> T) async throws(RecordingProblem) -> T {
        do { return try await body(try store()) } catch { throw .store(error) }
    }
}
