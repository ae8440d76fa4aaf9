import GuanhuaiCalendar

/// Emitting: an occurrence stored compactly as the rules find it, and handed out whole when asked for.
extension Planner.Context {

    mutating func emit(
        _ rule: Rule, period: String, title: String, start: CivilDate, due: CivilDate,
        shifted: Bool = false
    ) {
        // `shift`: a due date on a day off moves to a working day (never before the window opens).
        let due = shifted ? due : rule.shift.map { max(start, planner.workdays.shifted(due, $0)) } ?? due
        let prefix = "\(rule.id):\(period):"
        for t in targets(rule, start: start, due: due) {
            add(rule, prefix: prefix, key: t.key, title: title, target: t, start: start, due: due)
        }
    }

    mutating func anniversary(_ rule: Rule, greeting: Bool) {
        guard case .members(let tags) = rule.subjects else { return }
        let prefix = years.map { "\(rule.id):\($0):" }
        for m in planner.members {
            for y in years where y > m.joined.year {
                let day = CivilDate.anniversary(month: m.joined.month, day: m.joined.day, in: y)
                let start = day.firstOfMonth
                let due = day.lastOfMonth
                guard intersects(start, due), active(m, during: start, due, endsWithMember: rule.endsWithMember),
                    matches(m, tags: tags, on: due)
                else { continue }
                var t = memberTarget(m, responsible: rule.responsible, eventTarget: nil)
                addAlso(rule, m, &t)
                add(
                    rule, prefix: prefix[y - years.lowerBound], key: m.id, title: rule.title, target: t,
                    start: start, due: due, greeting: greeting ? (day, m.id) : nil)
            }
        }
    }

    mutating func eventOccurrence(_ rule: Rule, _ e: Event, start: CivilDate, due: CivilDate) {
        guard intersects(start, due) else { return }
        guard let m = planner.member(e.member) else { return }
        if case .eventMember(let tags) = rule.subjects, !tags.isEmpty, m.tags.isDisjoint(with: tags) { return }
        if rule.endsWithMember, let end = m.endDate, end < start { return }
        var t = memberTarget(m, responsible: rule.responsible, key: e.id, eventTarget: e.target)
        addAlso(rule, m, &t)
        add(rule, prefix: "\(rule.id):", key: e.id, title: rule.title, target: t, start: start, due: due, event: e.id)
    }

    mutating func milestone(_ rule: Rule, years n: Int, reachedBy: MonthDay, start startMD: MonthDay, due dueMD: MonthDay) {
        let prefix = "\(rule.id):"
        for m in planner.members {
            let ps = m.partyAgeStart.date
            let reached = CivilDate.anniversary(month: ps.month, day: ps.day, in: ps.year + n)
            let year = reached <= reachedBy.in(reached.year) ? reached.year : reached.year + 1
            let start = startMD.in(year)
            let due = dueMD.in(year)
            let id = prefix + m.id
            // Once per member, in the first year eligible, open until the medal is recorded.
            let stillOpen = planner.completions[id] == nil && today > due && due <= query.to
            guard intersects(start, due) || stillOpen else { continue }
            if let end = m.endDate, end < start { continue }
            var t = memberTarget(m, responsible: rule.responsible, eventTarget: nil)
            addAlso(rule, m, &t)
            add(rule, prefix: prefix, key: m.id, title: rule.title, target: t, start: start, due: due)
        }
    }

    mutating func quota(_ rule: Rule, leaderMin: Int, cadreMin: Int) {
        let short = QuotaShortfall.all(planner.input, member: planner.member, leaderMin: leaderMin, cadreMin: cadreMin)
        for (key, start, due) in periods(.month) where intersects(start, due) {
            for s in short {
                let t = Target(
                    key: s.person, subject: s.person, status: nil, org: org.committee.id,
                    responsible: planner.orgDept, extra: [])
                // The title says who is short of what, so the reminder can be acted on as it stands.
                add(
                    rule, prefix: "\(rule.id):\(key):", key: s.person, title: "\(rule.title)（\(s.chinese)）",
                    target: t, start: start, due: due)
            }
        }
    }

    /// Each open stage of a 专项资金 application, with the stage's responsible person and deadline; one past its
    /// deadline stays open (overdue, escalated) until the step is taken, which records it done.
    mutating func fund(_ rule: Rule) {
        let prefix = "\(rule.id):"
        for f in planner.input.fund where intersects(f.since, f.due) || (today > f.due && f.due <= query.to) {
            let t = Target(key: f.key, subject: f.member, status: nil, org: f.unit, responsible: f.responsible, extra: [])
            add(rule, prefix: prefix, key: f.key, title: "\(rule.title)：\(f.stage.task)（申请 \(f.application)）", target: t, start: f.since, due: f.due)
        }
    }

    mutating func add(
        _ rule: Rule, prefix: String, key: String, title: String, target t: Target, start: CivilDate,
        due: CivilDate, greeting: (CivilDate, PersonID)? = nil, event: String? = nil
    ) {
        // A person's plan skips, before any reminder is built, what can never reach them.
        if let p = query.person, p != t.responsible, p != planner.orgDept, greeting?.1 != p, !t.extra.contains(p),
            escalationTarget(above: t.org) != p
        {
            return
        }
        var status: Occurrence.Status
        var reason: String?
        // The id (`prefix` + `key`) is made here only to look a completion up, and kept as its two parts.
        let closed = planner.completions.isEmpty ? nil : planner.completions[prefix + key]
        if let c = closed {
            switch c.outcome {
            case .done: status = .done
            case .waived(let r):
                status = .waived
                reason = r
            }
        } else if rule.endsWithMember, let ms = t.status, ms != .active {
            // Occurrences starting after the end were never made; any other still open ends with the member.
            status = .waived
            switch ms {
            case .transferredOut(let end): reason = "党员已转出（\(end)）"
            case .deceased(let end): reason = "党员已故（\(end)）"
            case .active: break
            }
        } else if let since = planner.since, due < since {
            status = .history
        } else {
            status = today > due ? .overdue : .pending
        }
        if let p = query.person, p != t.responsible {
            // Someone else's obligation is theirs to see only while a reminder of it reaches them: decided from
            // the plan of send days alone, which is exact and far cheaper than materialising every reminder.
            guard status.isOpen,
                reminderPlan(rule, t, start: start, due: due, greeting: greeting).contains(where: { $0.2.contains(p) })
            else { return }
        }
        var rare: Int32 = -1
        if reason != nil || event != nil || closed != nil {
            rare = Int32(rares.count)
            rares.append(Rare(waivedReason: reason, event: event, closure: closed.map(Occurrence.Closure.init)))
        }
        let withReminders = status.isOpen && query.withReminders
        occurrences.append(
            Stored(
                key: key, subject: t.subject, windowStart: start, due: due, greetingDay: greeting?.0 ?? start,
                extra: withReminders ? t.extra : [], prefix: prefixes(prefix), title: titles(title), rule: ruleIndex,
                rare: rare, org: units(t.org), responsible: people(t.responsible), status: status,
                withReminders: withReminders, greets: greeting != nil))
    }

    /// The reminders of a stored occurrence (none for a closed occurrence or without reminders).
    mutating func reminders(of s: Stored) -> [Reminder] {
        guard s.withReminders else { return [] }
        let t = Target(
            key: "", subject: s.subject, status: nil, org: units[s.org], responsible: people[s.responsible],
            extra: s.extra)
        return reminders(
            planner.input.rules[Int(s.rule)], t, start: s.windowStart, due: s.due,
            greeting: s.greets ? (s.greetingDay, s.subject ?? "") : nil)
    }
}
