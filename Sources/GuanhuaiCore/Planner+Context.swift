import GuanhuaiCalendar

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
            case .fund:
                fund(rule)
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
                return Target(
                    key: u.id, subject: nil, status: nil, org: org.committee.id, responsible: planner.orgDept,
                    extra: [])
            case .committeeSecretary:
                return Target(
                    key: u.id, subject: nil, status: nil, org: org.committee.id,
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
                    return Target(
                        key: "\(r.to)/\(r.from)", subject: r.to, status: m.status, org: org.committee.id,
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
                    return Target(
                        key: s, subject: s, status: planner.member(s)?.status, org: org.committee.id,
                        responsible: org.committeeSecretary ?? planner.orgDept, extra: [])
                }
            case .linkedCommitteeMembers:
                var out: [Target] = []
                for r in planner.input.relations where r.kind == .committeeLink {
                    guard let u = org.unit(r.to) else { continue }
                    for p in u.committeeMembers where p != r.from {
                        out.append(
                            Target(
                                key: "\(p)/\(r.from)", subject: p, status: planner.member(p)?.status,
                                org: org.committee.id, responsible: r.from, extra: []))
                    }
                }
                return out
            case .minorChildren:
                // The allowance is for a year the child starts as a minor; 组织部 pays it (X六).
                return planner.input.dependants.filter { $0.eighteenthBirthday > start }.map { d in
                    Target(
                        key: d.id, subject: d.id, status: nil, org: org.committee.id, responsible: planner.orgDept,
                        extra: [])
                }
            case .eventMember, .quotaHolders, .fundApplicants:
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
    }
}
