public import GuanhuaiCalendar

/// The scheduled report (`[report] on = …`): when it goes out, which month it covers, and who gets which subtree.
/// Pure, like the planner: the scheduler turns these into outbox rows in the same step as the reminders.
public enum ReportSchedule {
    /// The times `on` fires in (after, through], the latest `limit` of them: after a long outage each missed month
    /// is sent once, not years of them.
    public static func fires(_ on: CalendarExpression, after: Int64, through: Int64, zone: ZoneRules, limit: Int = 12)
        -> [Int64]
    {
        guard through > after else { return [] }
        var out: [Int64] = []
        var t = after
        // Bounded: an expression that fires every minute over a year's outage stops here rather than spin.
        for _ in 0..<100_000 {
            guard let next = on.next(afterMicroseconds: t * 1_000_000 + 999_999, defaultZone: zone) else { break }
            let seconds = next / 1_000_000
            guard seconds <= through else { break }
            out.append(seconds)
            if out.count > limit { out.removeFirst() }
            t = seconds
        }
        return out
    }

    /// The next time `on` fires after `t`.
    public static func next(_ on: CalendarExpression, after t: Int64, zone: ZoneRules) -> Int64? {
        on.next(afterMicroseconds: t * 1_000_000 + 999_999, defaultZone: zone).map { $0 / 1_000_000 }
    }

    /// The calendar month before the day the report goes out (in the committee's zone).
    public static func period(firedAt at: Int64, zone: ZoneRules) -> (from: CivilDate, to: CivilDate) {
        let day = Planner.today(at: at, zone: zone)
        let (y, m) = day.month == 1 ? (day.year - 1, 12) : (day.year, day.month - 1)
        let from = CivilDate(y, m, 1)!
        return (from, from.lastOfMonth)
    }

    /// Who gets which report: 组织部 the whole committee; each 党总支's secretary their own 党总支 (when
    /// `generalBranches`). One person, one unit, one report.
    public static func recipients(_ org: Organization, generalBranches: Bool) -> [(person: PersonID, scope: UnitID)] {
        var out: [(person: PersonID, scope: UnitID)] = []
        if !org.organizationDepartment.isEmpty { out.append((org.organizationDepartment, org.committee.id)) }
        if generalBranches {
            for u in org.units(of: .generalBranch) {
                if let s = u.secretary { out.append((s, u.id)) }
            }
        }
        return out
    }
}
