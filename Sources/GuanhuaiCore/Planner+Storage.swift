import GuanhuaiCalendar

/// An occurrence as the planner holds it until it is handed out: 96 bytes, where an `Occurrence` with its id on the
/// heap and what its reminders are made from took 290 (at 1,000,000 members, 1.5 GB of a year's plan). The id is
/// `Context.prefixes[prefix] + key`; the rule, title, unit, responsible person and rare fields are indexes.
struct Stored {
    /// The id after its shared prefix: a member's, an event's or a unit's id.
    var key: String
    var subject: String?
    var windowStart: CivilDate
    var due: CivilDate
    /// The member's political birthday, for a greeting (`greets`).
    var greetingDay: CivilDate
    /// Who besides the responsible person is told (all levels, `also_for`), when reminders are made.
    var extra: [PersonID]
    var prefix: Int32
    var title: Int32
    /// The rule's index in `PlanInput.rules`.
    var rule: Int32
    /// The index in `Context.rares`, or -1.
    var rare: Int32
    /// In `Context.units` and `Context.people`.
    var org: Int32
    var responsible: Int32
    var status: Occurrence.Status
    /// Whether reminders are made at hand-out: open, and the query wants them.
    var withReminders: Bool
    var greets: Bool

    /// What is left in the planner's storage where an occurrence was handed out.
    static let taken = Stored(
        key: "", subject: nil, windowStart: CivilDate(1970, 1, 1)!, due: CivilDate(1970, 1, 1)!,
        greetingDay: CivilDate(1970, 1, 1)!, extra: [], prefix: 0, title: 0, rule: 0, rare: -1, org: 0, responsible: 0,
        status: .pending, withReminders: false, greets: false)
}

/// The fields few occurrences have, kept apart so the rest do not carry them.
struct Rare {
    var waivedReason: String?
    var event: String?
    var closure: Occurrence.Closure?
}

/// Strings many occurrences share, held once and named by index. The string just seen is checked first: an emit
/// hands the same prefix and title to every target.
struct Interner {
    private(set) var values: [String] = []
    private var index: [String: Int32] = [:]
    private var last: (String, Int32)?

    mutating func callAsFunction(_ s: String) -> Int32 {
        if let last, last.0 == s { return last.1 }
        let i: Int32
        if let hit = index[s] {
            i = hit
        } else {
            i = Int32(values.count)
            values.append(s)
            index[s] = i
        }
        last = (s, i)
        return i
    }

    subscript(i: Int32) -> String { values[Int(i)] }
}

extension Reminder.Kind {
    var order: Int {
        switch self {
        case .greeting: 0
        case .advance: 1
        case .due: 2
        case .overdue: 3
        case .escalation: 4
        }
    }
}

extension Array where Element == Int {
    func isSorted(by less: (Int, Int) -> Bool) -> Bool {
        indices.dropFirst().allSatisfy { !less(self[$0], self[$0 - 1]) }
    }
}
