public import GuanhuaiCalendar
extension Planner {
    struct Context {
        let planner: Planner
        let query: PlanQuery
        let today: CivilDate
        /// The occurrences as planned, compact (`Stored`): each becomes an `Occurrence`, reminders and all, only when
        /// it is handed out (`Planner.forEach`), one at a time, so a year for 100,000 members never holds its 2.4
        /// million reminders at once, and a year for 1,000,000 members holds 5 million occurrences in 96 bytes each.
        var occurrences = Chunked<Stored>()
        /// Ids' `rule:period:` prefixes, titles, units and responsible people, which thousands of occurrences share.
        var prefixes = Interner()
        var titles = Interner()
        var units = Interner()
        var people = Interner()
        /// What few occurrences have (a waiver's reason, an event, a completion), by `Stored.rare`.
        var rares: [Rare] = []
        /// The index of the rule being applied, in `PlanInput.rules`.
        var ruleIndex: Int32 = 0
        /// Send instants by day, for the days around the query (an array, not a dictionary: 2.4 million lookups a
        /// year for 100,000 members); other days are computed each time.
        var instantCache: [(Int64, Int)?] = []
        var instantBase = 0
        var escalationCache: [UnitID: PersonID] = [:]
        var branchCache: [UnitID: (UnitID, PersonID)] = [:]

        var org: Organization { planner.input.organization }
        var settings: PlanSettings { planner.input.settings }

        init(planner: Planner, query: PlanQuery, today: CivilDate) {
            self.planner = planner
            self.query = query
            self.today = today
        }

        func intersects(_ start: CivilDate, _ due: CivilDate) -> Bool { start <= query.to && due >= query.from }

        /// Years whose occurrences can touch the query window (annual windows may start in the previous year).
        var years: ClosedRange<Int> { (query.from.year - 1)...(query.to.year + 1) }

        mutating func apply(_ rule: Rule) {
            switch rule.trigger {
            case .annual(let startRef, let dueRef):
                for y in years {
                    guard let start = startRef.date(in: y), let due = dueRef.date(in: y), intersects(start, due)
                    else { continue }
                    emit(rule, period: String(y), title: rule.title, start: start, due: due)
                }
            case .festivals(let festivals):
                for y in years {
                    for f in festivals {
                        guard let start = f.windowStart.date(in: y), let due = f.due.date(in: y),
                            intersects(start, due)
                        else { continue }
                        emit(rule, period: "\(y)-\(f.id)", title: "\(rule.title)（\(f.name)）", start: start, due: due)
                    }
                }
            case .anniversary(let greeting):
                anniversary(rule, greeting: greeting)
            case .periodic(let period, let dueDay, let dueMonth):
                for (key, start, end) in periods(period) {
                    var due = end
                    if let dueMonth, period == .year {
                        due = CivilDate(start.year, dueMonth, 1)!.lastOfMonth
                    }
                    if let dueDay, period == .month { due = CivilDate.anniversary(month: start.month, day: dueDay, in: start.year) }
                    guard intersects(start, due) else { continue }
                    emit(rule, period: key, title: rule.title, start: start, due: due)
                }
            case .calendar(let expr, let window, let firstInMonth):
                calendar(rule, expr, window: window, firstInMonth: firstInMonth)
            case .event(let kinds, let days):
                for e in planner.input.events where kinds.contains(e.kind) {
                    eventOccurrence(rule, e, start: e.date, due: e.date.adding(days: days))
                }
            case .eventEnd(let kinds, let days):
                for e in planner.input.events where kinds.contains(e.kind) {
                    guard let ends = e.ends else { continue }
                    eventOccurrence(rule, e, start: ends, due: ends.adding(days: days))
                }
            case .partyAgeMilestone(let years, let reachedBy, let startMD, let dueMD):
                milestone(rule, years: years, reachedBy: reachedBy, start: startMD, due: dueMD)
            case .quota(let leaderMin, let cadreMin):
                quota(rule, leaderMin: leaderMin, cadreMin: cadreMin)
            }
        }

        // MARK: Windows

        func periods(_ period: Period) -> [(String, CivilDate, CivilDate)] {
            var out: [(String, CivilDate, CivilDate)] = []
            for y in years {
                switch period {
                case .year:
                    out.append((String(y), CivilDate(y, 1, 1)!, CivilDate(y, 12, 31)!))
                case .halfYear:
                    out.append(("\(y)-H1", CivilDate(y, 1, 1)!, CivilDate(y, 6, 30)!))
                    out.append(("\(y)-H2", CivilDate(y, 7, 1)!, CivilDate(y, 12, 31)!))
                case .quarter:
                    for q in 1...4 {
                        let s = CivilDate(y, q * 3 - 2, 1)!
                        out.append(("\(y)-Q\(q)", s, CivilDate(y, q * 3, 1)!.lastOfMonth))
                    }
                case .month:
                    for m in 1...12 {
                        let s = CivilDate(y, m, 1)!
                        out.append((String(s.description.prefix(7)), s, s.lastOfMonth))
                    }
                }
            }
            return out
        }

        mutating func calendar(_ rule: Rule, _ expr: CalendarExpression, window: CalendarWindow, firstInMonth: Bool) {
            let lookBack: Int
            switch window {
            case .restOfMonth: lookBack = 31
            case .days(let n): lookBack = n
            }
            let zone = settings.zone
            let startLocal = Int64(query.from.adding(days: -lookBack).dayNumber) * 86400
            var t = (startLocal - Int64(zone.offset(atUTC: startLocal)) - 1) * 1_000_000
            var lastMonth = -1
            var seen = Set<CivilDate>()
            while let next = expr.next(afterMicroseconds: t, defaultZone: zone) {
                t = next
                let local = zone.local(atUTC: next >= 0 ? next / 1_000_000 : (next - 999_999) / 1_000_000)
                let fired = Timestamp.split(local).0
                if fired > query.to { break }
                let monthKey = fired.year * 12 + fired.month
                if firstInMonth && monthKey == lastMonth { continue }
                lastMonth = monthKey
                // `shift`: the day itself moves off a day off (主题党日 on the first working day, not on 元旦).
                let day = rule.shift.map { planner.workdays.shifted(fired, $0) } ?? fired
                guard seen.insert(day).inserted else { continue }
                let due: CivilDate
                switch window {
                case .restOfMonth: due = day.lastOfMonth
                case .days(let n): due = day.adding(days: max(0, n - 1))
                }
                guard intersects(day, due) else { continue }
                emit(rule, period: day.description, title: rule.title, start: day, due: due, shifted: true)
            }
        }

        // MARK: Targets

        /// The secretary responsible for a unit, walking up when it has none or when it would be the subject.
        mutating func secretary(of unit: UnitID, avoiding subject: PersonID?) -> (UnitID, PersonID) {
            if subject == nil, let hit = branchCache[unit] { return hit }
            var result: (UnitID, PersonID)?
            for u in org.lineage(of: unit) {
                if u.kind == .committee {
                    result = (u.id, planner.orgDept)
                    break
                }
                if let s = u.secretary, s != subject {
                    result = (u.id, s)
                    break
                }
            }
            let r = result ?? (org.committee.id, planner.orgDept)
            if subject == nil { branchCache[unit] = r }
            return r
        }

        mutating func memberTarget(_ m: Member, responsible: Responsible, key: String? = nil, eventTarget: PersonID?)
            -> Target
        {
            var t = Target(key: key ?? m.id, subject: m.id, status: m.status, org: m.branch, responsible: "", extra: [])
            // Only a secretary can be their own responsible; everyone else shares the cached answer for the branch.
            let avoid = planner.secretaries.contains(m.id) ? m.id : nil
            switch responsible {
            case .branchSecretary, .unitSecretary:
                (t.org, t.responsible) = secretary(of: m.branch, avoiding: avoid)
            case .generalBranchSecretary:
                let unit = org.parent(of: m.branch).flatMap { $0.kind == .generalBranch ? $0.id : nil } ?? m.branch
                (t.org, t.responsible) = secretary(of: unit, avoiding: avoid)
            case .committeeSecretary:
                t.org = org.committee.id
                t.responsible = org.committeeSecretary ?? planner.orgDept
            case .organizationDepartment, .relationHolder:
                t.org = org.committee.id
                t.responsible = planner.orgDept
            case .eventTarget:
                if let eventTarget {
                    t.org = org.committee.id
                    t.responsible = eventTarget
                } else {
                    (t.org, t.responsible) = secretary(of: m.branch, avoiding: avoid)
                }
            case .allLevels:
                (t.org, t.responsible) = secretary(of: m.branch, avoiding: avoid)
                for u in org.lineage(of: t.org).dropFirst() where u.kind != .committee {
                    if let s = u.secretary, s != t.responsible, !t.extra.contains(s) { t.extra.append(s) }
                }
                if planner.orgDept != t.responsible { t.extra.append(planner.orgDept) }
            }
            return t
        }

        func unitTarget(_ u: OrgUnit, responsible: Responsible) -> Target {
            switch responsible {
            case .organizationDepartment:
                return Target(key: u.id, subject: nil, status: nil, org: org.committee.id, responsible: planner.orgDept,
                    extra: [])
            case .committeeSecretary:
                return Target(key: u.id, subject: nil, status: nil, org: org.committee.id,
                    responsible: org.committeeSecretary ?? planner.orgDept, extra: [])
            default:
                let sec = u.secretary ?? org.parent(of: u.id)?.secretary ?? planner.orgDept
                return Target(key: u.id, subject: nil, status: nil, org: u.id, responsible: sec, extra: [])
            }
        }

        func active(_ m: Member, during start: CivilDate, _ due: CivilDate, endsWithMember: Bool) -> Bool {
            if m.joined > due { return false }
            if endsWithMember, let end = m.endDate, end < start { return false }
            return true
        }

        func matches(_ m: Member, tags: Set<Tag>, on date: CivilDate) -> Bool {
            if tags.isEmpty { return true }
            if !m.tags.isDisjoint(with: tags) { return true }
            if tags.contains(.hardship) && m.tags.contains(.longTermHardship) { return true }
            if tags.contains(.oldMember) && settings.oldMember.applies(to: m, on: date) { return true }
            return false
        }

        mutating func targets(_ rule: Rule, start: CivilDate, due: CivilDate) -> [Target] {
            switch rule.subjects {
            case .members(let tags):
                var out: [Target] = []
                // By index: `for m in members` copies each Member (a dozen retains) only to test it.
                let members = planner.members
                for i in members.indices {
                    guard active(members[i], during: start, due, endsWithMember: rule.endsWithMember),
                        matches(members[i], tags: tags, on: due)
                    else { continue }
                    var t = memberTarget(members[i], responsible: rule.responsible, eventTarget: nil)
                    if !rule.alsoForTags.isEmpty { addAlso(rule, members[i], &t) }
                    out.append(t)
                }
                return out
            case .relation(let kind):
                return planner.input.relations.filter { $0.kind == kind }.compactMap { r in
                    guard let m = planner.member(r.to), active(m, during: start, due, endsWithMember: true)
                    else { return nil }
                    return Target(key: "\(r.to)/\(r.from)", subject: r.to, status: m.status, org: org.committee.id,
                        responsible: r.from, extra: [])
                }
            case .units(let selection):
                let units: [OrgUnit]
                switch selection {
                case .committee: units = [org.committee]
                case .generalBranches: units = planner.unitsByKind[.generalBranch] ?? []
                case .branches: units = planner.unitsByKind[.branch] ?? []
                case .reportingUnits: units = planner.reportingUnits
                }
                return units.map { unitTarget($0, responsible: rule.responsible) }
            case .generalBranchSecretaries:
                return (planner.unitsByKind[.generalBranch] ?? []).compactMap { u in
                    guard let s = u.secretary else { return nil }
                    return Target(key: s, subject: s, status: planner.member(s)?.status, org: org.committee.id,
                        responsible: org.committeeSecretary ?? planner.orgDept, extra: [])
                }
            case .linkedCommitteeMembers:
                var out: [Target] = []
                for r in planner.input.relations where r.kind == .committeeLink {
                    guard let u = org.unit(r.to) else { continue }
                    for p in u.committeeMembers where p != r.from {
                        out.append(Target(key: "\(p)/\(r.from)", subject: p, status: planner.member(p)?.status,
                            org: org.committee.id, responsible: r.from, extra: []))
                    }
                }
                return out
            case .minorChildren:
                // The allowance is for a year the child starts as a minor; 组织部 pays it (X六).
                return planner.input.dependants.filter { $0.eighteenthBirthday > start }.map { d in
                    Target(key: d.id, subject: d.id, status: nil, org: org.committee.id, responsible: planner.orgDept,
                        extra: [])
                }
            case .eventMember, .quotaHolders:
                return []
            }
        }

        func addAlso(_ rule: Rule, _ m: Member, _ t: inout Target) {
            for (tag, who) in rule.alsoForTags where m.tags.contains(tag) {
                let p: PersonID
                switch who {
                case .committeeSecretary: p = org.committeeSecretary ?? planner.orgDept
                default: p = planner.orgDept
                }
                if p != t.responsible && !t.extra.contains(p) { t.extra.append(p) }
            }
        }

        // MARK: Emitting

        mutating func emit(_ rule: Rule, period: String, title: String, start: CivilDate, due: CivilDate,
            shifted: Bool = false)
        {
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
                    add(rule, prefix: prefix[y - years.lowerBound], key: m.id, title: rule.title, target: t,
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
                    let t = Target(key: s.person, subject: s.person, status: nil, org: org.committee.id,
                        responsible: planner.orgDept, extra: [])
                    // The title says who is short of what, so the reminder can be acted on as it stands.
                    add(rule, prefix: "\(rule.id):\(key):", key: s.person, title: "\(rule.title)（\(s.chinese)）",
                        target: t, start: start, due: due)
                }
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
            let t = Target(key: "", subject: s.subject, status: nil, org: units[s.org], responsible: people[s.responsible],
                extra: s.extra)
            return reminders(planner.input.rules[Int(s.rule)], t, start: s.windowStart, due: s.due,
                greeting: s.greets ? (s.greetingDay, s.subject ?? "") : nil)
        }

        // MARK: Reminders

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
            for n in policy.overdueDays.isSorted(by: <) ? policy.overdueDays : policy.overdueDays.sorted() { plan.append((due.adding(days: n), .overdue, recipients)) }
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
}

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
    static let taken = Stored(key: "", subject: nil, windowStart: CivilDate(1970, 1, 1)!, due: CivilDate(1970, 1, 1)!,
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
