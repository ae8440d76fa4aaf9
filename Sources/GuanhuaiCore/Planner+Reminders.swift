import GuanhuaiCalendar

/// The reminders of one occurrence: when each goes and to whom, from the rule's ladder and the send time.
extension Planner.Context {

    mutating func instant(_ date: CivilDate) -> (Int64, Int) {
        let n = date.dayNumber
        if instantCache.isEmpty {
            // A year's look-back (annual windows) to a year and a half ahead of the end (overdue, escalation).
            instantBase = query.from.dayNumber - 800
            instantCache = Array(repeating: nil, count: query.from.days(until: query.to) + 1600)
        }
        let slot = n - instantBase
        if slot >= 0 && slot < instantCache.count, let hit = instantCache[slot] { return hit }
        let zone = settings.zone
        let local = Int64(date.dayNumber) * 86400 + Int64(settings.sendMinutes) * 60
        let utc: Int64
        switch zone.resolve(local: local) {
        case .unique(let u), .repeated(let u, _), .skipped(let u): utc = u
        }
        let r = (utc, zone.offset(atUTC: utc))
        if slot >= 0 && slot < instantCache.count { instantCache[slot] = r }
        return r
    }

    mutating func escalationTarget(above unit: UnitID) -> PersonID {
        if let hit = escalationCache[unit] { return hit }
        let p: PersonID
        if unit == org.committee.id {
            p = org.committeeSecretary ?? planner.orgDept
        } else if let parent = org.parent(of: unit), parent.kind != .committee {
            p = parent.secretary ?? planner.orgDept
        } else {
            p = planner.orgDept
        }
        escalationCache[unit] = p
        return p
    }

    mutating func reminders(
        _ rule: Rule, _ t: Target, start: CivilDate, due: CivilDate, greeting: (CivilDate, PersonID)?
    ) -> [Reminder] {
        let plan = reminderPlan(rule, t, start: start, due: due, greeting: greeting)
        var out: [Reminder] = []
        out.reserveCapacity(plan.count)
        for (date, kind, to) in plan {
            let (at, offset) = instant(date)
            out.append(Reminder(at: at, localDate: date, offsetSeconds: offset, kind: kind, to: to))
        }
        return out
    }

    /// The send days of an occurrence's reminders, their kinds and recipients, in order: at most one a day besides
    /// a greeting.
    mutating func reminderPlan(
        _ rule: Rule, _ t: Target, start: CivilDate, due: CivilDate, greeting: (CivilDate, PersonID)?
    ) -> [(CivilDate, Reminder.Kind, [PersonID])] {
        let policy = rule.reminders
        // One array shared (copy-on-write) by every reminder to the same people.
        let recipients = t.extra.isEmpty ? [t.responsible] : [t.responsible] + t.extra
        var plan: [(CivilDate, Reminder.Kind, [PersonID])] = []
        plan.reserveCapacity(8)
        let long = start.days(until: due) + 1 > 31
        // When the member is greeted within the window (a political birthday), the secretary hears at its start,
        // before any greeting day in it, not 14 days before its end.
        if policy.windowStart == .always || (policy.windowStart == .ifLongerThanMonth && (long || greeting != nil)) {
            plan.append((start, .advance, recipients))
        }
        // Sorted where the rules are read, as a rule; sorted here (an array each time) only when not.
        for n in policy.beforeDueDays.isSorted(by: >) ? policy.beforeDueDays : policy.beforeDueDays.sorted(by: >) {
            let d = due.adding(days: -n)
            if d >= start { plan.append((d, .advance, recipients)) }
        }
        if policy.onDue { plan.append((due, .due, recipients)) }
        for n in policy.overdueDays.isSorted(by: <) ? policy.overdueDays : policy.overdueDays.sorted() {
            plan.append((due.adding(days: n), .overdue, recipients))
        }
        for (i, n) in (policy.escalateDays.isSorted(by: <) ? policy.escalateDays : policy.escalateDays.sorted()).enumerated() {
            let who = i == 0 ? escalationTarget(above: t.org) : planner.orgDept
            if !recipients.contains(who) { plan.append((due.adding(days: n), .escalation, recipients + [who])) }
        }
        if let (day, member) = greeting { plan.append((day, .greeting, [member])) }
        if !zip(plan, plan.dropFirst()).allSatisfy({ a, b in (a.0, a.1.order) <= (b.0, b.1.order) }) {
            plan.sort { a, b in a.0 != b.0 ? a.0 < b.0 : a.1.order < b.1.order }
        }
        if planner.movesReminders && !rule.sendOnHolidays {
            // Never on a day off. Advance notice and the due-day reminder go on the working day before (even
            // before the window opens: a month's political birthdays are told before the 1st when the 1st is a
            // day off; a visit due on 除夕 is told before the holiday, while it can still be made); overdue
            // reminders and escalations on the working day after.
            let w = planner.workdays
            // A greeting (`greeting = "on-day"`) is for the day itself and keeps it.
            for i in plan.indices where plan[i].1 != .greeting && !w.isWorkday(plan[i].0) {
                let before = plan[i].1 == .advance || plan[i].1 == .due
                plan[i].0 = before ? w.previousWorkday(onOrBefore: plan[i].0) : w.nextWorkday(onOrAfter: plan[i].0)
            }
            plan.sort { a, b in a.0 != b.0 ? a.0 < b.0 : a.1.order < b.1.order }
        }
        // One reminder a day besides a greeting: a window start 14 days before due is one reminder, not two. When
        // two fall on one day (an overdue notice and an escalation both moved past a long holiday), the later kind
        // stands, as it says more, and it goes to everyone either would have reached: no escalation is lost.
        if !zip(plan, plan.dropFirst()).contains(where: { a, b in a.0 == b.0 && a.1 != .greeting && b.1 != .greeting }) {
            return plan
        }
        var merged: [(CivilDate, Reminder.Kind, [PersonID])] = []
        merged.reserveCapacity(plan.count)
        for e in plan {
            if let l = merged.last, l.0 == e.0, l.1 != .greeting, e.1 != .greeting {
                var to = e.2
                for p in l.2 where !to.contains(p) { to.append(p) }
                merged[merged.count - 1] = (e.0, e.1, to)
            } else {
                merged.append(e)
            }
        }
        return merged
    }
}
