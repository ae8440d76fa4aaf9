public import GuanhuaiCalendar

/// Computes occurrences and their reminders. Pure: the same input and query give the same output.
public struct Planner: Sendable {
    public let input: PlanInput
    /// Where each member is in `members`: an index, not a second copy of every member (at 1,000,000 members the
    /// planner held the roster three times, 450 MB of it copies).
    let memberIndex: [PersonID: Int32]
    /// The roster with recorded deaths and transfers applied, in roster order: `input.members` itself (shared, not
    /// copied) unless an event changed someone.
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
        var members = input.members
        var index: [PersonID: Int32] = [:]
        index.reserveCapacity(members.count)
        // The first of a repeated id (an imported roster has none).
        for (i, m) in members.enumerated() where index[m.id] == nil { index[m.id] = Int32(i) }
        // A recorded death or transfer ends a member's active life even before the roster is updated.
        for e in input.events.sorted(by: { $0.date < $1.date }) {
            guard let i = index[e.member].map(Int.init), members[i].status == .active else { continue }
            switch e.kind {
            case .death, .deathOnDuty: members[i].status = .deceased(e.date)
            case .transferOut: members[i].status = .transferredOut(e.date)
            default: continue
            }
        }
        memberIndex = index
        self.members = members
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

    public func member(_ id: PersonID) -> Member? { memberIndex[id].map { members[Int($0)] } }

    public func today(at now: Int64) -> CivilDate { Planner.today(at: now, zone: input.settings.zone) }

    /// The civil date in `zone` at a UTC instant.
    public static func today(at now: Int64, zone: ZoneRules) -> CivilDate {
        Timestamp.split(zone.local(atUTC: now)).0
    }

    public func plan(_ query: PlanQuery) -> [Occurrence] {
        var out: [Occurrence] = []
        forEach(query, reserving: { out.reserveCapacity($0) }, { out.append($0) })
        return out
    }

    /// The plan handed out one occurrence at a time, in `plan`'s order, each with its reminders built just before it
    /// is handed out: what `plan --format json` streams, so a year for 100,000 members holds its 356,000 occurrences
    /// but never their 2.4 million reminders at once.
    public func forEach(_ query: PlanQuery, _ body: (Occurrence) throws -> Void) rethrows {
        try forEach(query, reserving: { _ in }, body)
    }

    func forEach(_ query: PlanQuery, reserving: (Int) -> Void, _ body: (Occurrence) throws -> Void) rethrows {
        var context = Context(planner: self, query: query, today: today(at: query.now))
        for (i, rule) in input.rules.enumerated()
        where rule.enabled && (query.rules.isEmpty || query.rules.contains(rule.id)) {
            context.ruleIndex = Int32(i)
            context.apply(rule)
        }
        // A person's plan was filtered as it was made (Context.add): theirs, or reaching them by a reminder.
        let count = context.occurrences.count
        reserving(count)
        guard query.sorted else {
            for i in 0..<count { try body(context.handOut(i)) }
            return
        }
        // Sorting 10⁵–10⁶ occurrences by (due, window start, rule) packed in one integer, the id (bytewise) only to
        // break ties.
        let rank = input.rules.map { UInt64(min(ruleOrder[$0.id] ?? 0xFFFF, 0xFFFF)) }
        var keys: [UInt64] = []
        keys.reserveCapacity(count)
        for i in 0..<count {
            let o = context.occurrences[i]
            keys.append(o.due.packed << 40 | o.windowStart.packed << 16 | rank[Int(o.rule)])
        }
        let order = Context.sortOrder(keys: keys, context.occurrences, prefixes: context.prefixes.values)
        keys = []
        for i in order { try body(context.handOut(Int(i))) }
    }
}

/// `a.utf8.lexicographicallyPrecedes(b.utf8)`, over the contiguous bytes: the generic version was a twentieth of
/// `plan`, as a month's political birthdays share every sort key but the id.
func bytewiseLess(_ a: String, _ b: String) -> Bool {
    var a = a
    var b = b
    return a.withUTF8 { x in
        b.withUTF8 { y in
            let n = min(x.count, y.count)
            var i = 0
            while i < n {
                if x[i] != y[i] { return x[i] < y[i] }
                i += 1
            }
            return x.count < y.count
        }
    }
}

extension Planner.Context {
    /// `occurrences[i]` with its reminders, taken out: each is handed out once, and storage is let go as it empties.
    mutating func handOut(_ i: Int) -> Occurrence {
        let s = occurrences[i]
        let rare = s.rare >= 0 ? rares[Int(s.rare)] : nil
        let o = Occurrence(
            id: prefixes[s.prefix] + s.key, rule: planner.input.rules[Int(s.rule)].id, title: titles[s.title],
            subject: s.subject, org: units[s.org], responsible: people[s.responsible], windowStart: s.windowStart, due: s.due,
            status: s.status, waivedReason: rare?.waivedReason, reminders: reminders(of: s), event: rare?.event,
            closure: rare?.closure)
        occurrences.take(i, leaving: .taken)
        return o
    }

    /// The indexes of `occurrences` in order of `keys`, then of their ids (bytewise). Static, over borrowed storage:
    /// a comparator calling a method of the context copied the whole context at every tie, a tenth of `plan`.
    static func sortOrder(keys: [UInt64], _ occurrences: Chunked<Stored>, prefixes: [String]) -> [Int32] {
        var order = Array(0..<Int32(keys.count))
        order.sort { a, b in
            let (ka, kb) = (keys[Int(a)], keys[Int(b)])
            if ka != kb { return ka < kb }
            let (pa, pb) = (occurrences[Int(a)].prefix, occurrences[Int(b)].prefix)
            if pa == pb { return bytewiseLess(occurrences[Int(a)].key, occurrences[Int(b)].key) }
            return bytewiseLess(prefixes[Int(pa)] + occurrences[Int(a)].key, prefixes[Int(pb)] + occurrences[Int(b)].key)
        }
        return order
    }
}

extension CivilDate {
    /// 24 bits in date order, for a sort key (years 0–32767; any other is clamped).
    var packed: UInt64 { UInt64(min(max(Int(year), 0), 0x7FFF)) << 9 | UInt64(month) << 5 | UInt64(day) }
}

/// An append-only array in chunks of 65,536: growing never copies what is there (a doubling array of half a million
/// occurrences briefly held both its old and new buffers, a third of `plan`'s peak memory), and a chunk whose every
/// element was taken is freed. Written by hand: swift-collections has no such container.
struct Chunked<Element> {
    private static var shift: Int { 16 }
    private var chunks: [[Element]] = []
    /// Elements not yet taken, per chunk.
    private var remaining: [Int] = []
    private(set) var count = 0

    mutating func append(_ e: Element) {
        if count & 0xFFFF == 0 {
            var chunk: [Element] = []
            chunk.reserveCapacity(1 << Self.shift)
            chunks.append(chunk)
            remaining.append(0)
        }
        chunks[count >> Self.shift].append(e)
        remaining[count >> Self.shift] += 1
        count += 1
    }

    subscript(i: Int) -> Element {
        get { chunks[i >> Self.shift][i & 0xFFFF] }
        set { chunks[i >> Self.shift][i & 0xFFFF] = newValue }
    }

    /// Replaces element `i` (once) with `placeholder`, freeing its chunk when that was the last one in it.
    mutating func take(_ i: Int, leaving placeholder: Element) {
        let c = i >> Self.shift
        remaining[c] -= 1
        if remaining[c] == 0 {
            chunks[c] = []
        } else {
            chunks[c][i & 0xFFFF] = placeholder
        }
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
