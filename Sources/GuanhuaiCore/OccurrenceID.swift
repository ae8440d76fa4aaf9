public import GuanhuaiCalendar

/// An occurrence's id as people see it and links carry it: `rule:period:key` (`political-birthday:2027:M002`,
/// `monthly-subsidy:2026-11:M015`), or `rule:key` for what happens once (`glory-50:M017`, `must-visit:E1`). The
/// planner makes it; this is the one place it is taken apart.
public struct OccurrenceID: Hashable, Sendable, CustomStringConvertible {
    public var rule: String
    /// The year, month, half-year or day the occurrence belongs to; nil for what happens once.
    public var period: String?
    public var key: String

    /// Nil when the text is not of that shape (a typing mistake, a made-up id).
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        rule = String(parts[0])
        period = parts.count == 3 ? String(parts[1]) : nil
        key = String(parts[parts.count - 1])
    }

    public var description: String { period.map { "\(rule):\($0):\(key)" } ?? "\(rule):\(key)" }
}

extension Planner {
    /// The occurrence with this id, planning its rule alone: first within two days of `around` (a link's due date,
    /// where it nearly always is), then from three years before to a year after (an item whose date moved, an old
    /// one recorded late). The one search `guanhuai done`/`waive` and the pages use.
    public func occurrence(_ id: OccurrenceID, around: CivilDate, now: Int64) -> Occurrence? {
        let text = id.description
        for (before, after) in [(2, 2), (3 * 366, 366)] {
            let found = plan(
                PlanQuery(
                    from: around.adding(days: -before), to: around.adding(days: after), now: now,
                    rules: [id.rule])
            ).first { $0.id == text }
            if let found { return found }
        }
        return nil
    }
}
