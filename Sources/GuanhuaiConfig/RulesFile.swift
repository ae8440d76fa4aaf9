import Foundation
public import GuanhuaiCore
import TOMLKit

/// `rules.toml`: the obligation catalog as data (docs/configuration.md, "The rules file").
public enum RulesFile {
    public static func load(path: String) throws(InputError) -> [Rule] {
        let (text, _) = try TextFile.read(path)
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(InputError) -> [Rule] {
        let r = try TOMLReader(file: file, text: text)
        let top = TOMLReader.Place(header: nil, index: 0, name: "")
        try r.checkKeys(r.root, allowed: ["defaults", "festival", "rule"], top)

        var defaults = ReminderPolicy()
        if let d = try r.table(r.root, "defaults", top) {
            let place = TOMLReader.Place(header: "defaults", index: 0, name: "[defaults]")
            try r.checkKeys(d, allowed: ["reminders"], place)
            if let rem = try r.table(d, "reminders", place) {
                defaults = try reminders(
                    rem, base: defaults, r,
                    TOMLReader.Place(
                        header: "defaults.reminders", index: 0,
                        name: "[defaults.reminders]"))
            }
        }

        var festivals: [String: FestivalWindow] = [:]
        if let fs = try r.table(r.root, "festival", top) {
            for id in fs.keys.sorted() {
                let place = TOMLReader.Place(header: "festival.\(id)", index: 0, name: "[festival.\(id)]")
                guard let f = fs[id]?.table else { throw r.error(place, nil, "must be a table") }
                try r.checkKeys(f, allowed: ["name", "window_start", "due"], place)
                let start = try dateRef(f, "window_start", r, place)
                let due = try dateRef(f, "due", r, place)
                try checkWindow(start, due, r, place)
                festivals[id] = FestivalWindow(
                    id: id, name: try r.string(f, "name", place, required: true)!, windowStart: start, due: due)
            }
        }

        var rules: [Rule] = []
        var seen: [String: Int] = [:]
        for (i, t) in try r.tables(r.root, "rule").enumerated() {
            var place = TOMLReader.Place(header: "rule", index: i, name: "rule #\(i + 1)")
            let id = try r.string(t, "id", place, required: true)!
            place.name = "rule #\(i + 1) (\(id))"
            guard id.range(of: #"^[a-z0-9][a-z0-9-]*$"#, options: .regularExpression) != nil else {
                throw r.error(place, "id", "id \"\(id)\" may hold only lower-case letters, digits and \"-\"")
            }
            if let first = seen[id] { throw r.error(place, "id", "id \"\(id)\" is used already by rule #\(first)") }
            seen[id] = i + 1
            rules.append(try rule(t, id: id, defaults: defaults, festivals: festivals, r, place))
        }
        return rules
    }

    static func rule(
        _ t: TOMLTable, id: String, defaults: ReminderPolicy, festivals: [String: FestivalWindow], _ r: TOMLReader,
        _ place: TOMLReader.Place
    ) throws(InputError) -> Rule {
        try r.checkKeys(
            t,
            allowed: [
                "id", "title", "source", "enabled", "trigger", "subjects", "responsible", "also", "reminders",
                "ends_with_member", "chat_title", "late_greeting_days", "shift", "send_on_holidays",
            ], place)
        let title = try r.string(t, "title", place, required: true)!
        let source = try r.strings(t, "source", place) ?? []
        if source.isEmpty { throw r.error(place, "source", "name the source document and section, e.g. [\"X四\"]") }
        guard let trig = try r.table(t, "trigger", place) else {
            throw r.error(place, nil, "missing required key \"trigger\"")
        }
        let trigger = try self.trigger(trig, festivals: festivals, r, place)
        let subjects = try self.subjects(t, trigger: trigger, r, place)
        let respName = try r.string(t, "responsible", place, required: true)!
        guard let responsible = Responsible(rawValue: respName) else {
            throw r.error(
                place, "responsible",
                "unknown responsible \"\(respName)\"; use one of \(Responsible.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var also: [Tag: Responsible] = [:]
        if let a = try r.table(t, "also", place) {
            for key in a.keys {
                guard let tag = Tag(name: key) else { throw r.error(place, "also", "unknown tag \"\(key)\"") }
                guard let v = a[key]?.string, let who = Responsible(rawValue: v),
                    who == .organizationDepartment || who == .committeeSecretary
                else {
                    throw r.error(place, "also", "\"also\" maps a tag to organization-department or committee-secretary")
                }
                also[tag] = who
            }
        }
        var policy = defaults
        if let rem = try r.table(t, "reminders", place) {
            policy = try reminders(rem, base: defaults, r, place)
        }
        var rule = Rule(
            id: id, title: title, source: source, enabled: try r.bool(t, "enabled", place) ?? true, trigger: trigger,
            subjects: subjects, responsible: responsible, alsoForTags: also, reminders: policy,
            endsWithMember: try r.bool(t, "ends_with_member", place) ?? true,
            chatTitle: try r.string(t, "chat_title", place))
        rule.lateGreetingDays = try r.int(t, "late_greeting_days", place, range: 0...366) ?? rule.lateGreetingDays
        if let s = try r.string(t, "shift", place) {
            guard let shift = Rule.Shift(rawValue: s) else {
                throw r.error(place, "shift", "shift is \"next-workday\" or \"previous-workday\"")
            }
            rule.shift = shift
        }
        rule.sendOnHolidays = try r.bool(t, "send_on_holidays", place) ?? false
        return rule
    }

    static let triggerKinds = [
        "fixed-annual", "lunar-annual", "festivals", "anniversary", "periodic", "calendar", "event", "milestone",
        "quota", "fund",
    ]

    static func trigger(
        _ t: TOMLTable, festivals: [String: FestivalWindow], _ r: TOMLReader, _ place: TOMLReader.Place
    ) throws(InputError) -> Trigger {
        let kind = try r.string(t, "kind", place, required: true)!
        func keys(_ allowed: Set<String>) throws(InputError) { try r.checkKeys(t, allowed: allowed.union(["kind"]), place) }
        switch kind {
        case "fixed-annual", "lunar-annual":
            try keys(["window_start", "due"])
            let start = try dateRef(t, "window_start", r, place)
            let due = try dateRef(t, "due", r, place)
            if kind == "fixed-annual" && (start.isLunar || due.isLunar) {
                throw r.error(place, "kind", "a fixed-annual trigger takes Gregorian MM-DD dates; use lunar-annual for lunar ones")
            }
            if kind == "lunar-annual" && !start.isLunar && !due.isLunar {
                throw r.error(place, "kind", "a lunar-annual trigger needs a lunar date or festival; use fixed-annual")
            }
            try checkWindow(start, due, r, place)
            return .annual(windowStart: start, due: due)
        case "festivals":
            try keys(["festivals"])
            let ids = try r.strings(t, "festivals", place) ?? []
            if ids.isEmpty { throw r.error(place, "festivals", "list at least one festival, e.g. [\"july-first\"]") }
            var list: [FestivalWindow] = []
            for id in ids {
                guard let f = festivals[id] else {
                    throw r.error(
                        place, "festivals",
                        "unknown festival \"\(id)\"; define it as [festival.\(id)] or use one of \(festivals.keys.sorted().joined(separator: ", "))")
                }
                list.append(f)
            }
            return .festivals(list)
        case "anniversary":
            try keys(["of", "greeting"])
            let of = try r.string(t, "of", place) ?? "joined"
            guard of == "joined" else { throw r.error(place, "of", "anniversaries are of \"joined\" (入党日期)") }
            let greeting = try r.string(t, "greeting", place) ?? "on-day"
            guard greeting == "on-day" || greeting == "none" else {
                throw r.error(place, "greeting", "greeting is \"on-day\" or \"none\"")
            }
            return .anniversary(greetingOnDay: greeting == "on-day")
        case "periodic":
            try keys(["period", "due_day", "due_month"])
            let name = try r.string(t, "period", place, required: true)!
            guard let period = Period(rawValue: name) else {
                throw r.error(place, "period", "unknown period \"\(name)\"; use year, half-year, quarter or month")
            }
            let dueDay = try r.int(t, "due_day", place, range: 1...31)
            let dueMonth = try r.int(t, "due_month", place, range: 1...12)
            if dueDay != nil && period != .month { throw r.error(place, "due_day", "due_day goes with period = \"month\"") }
            if dueMonth != nil && period != .year { throw r.error(place, "due_month", "due_month goes with period = \"year\"") }
            return .periodic(period, dueDay: dueDay, dueMonth: dueMonth)
        case "calendar":
            try keys(["on", "window", "window_days", "first_in_month"])
            let expr = try r.calendarExpression(t, "on", place, default: nil).expression
            let window: CalendarWindow
            if let days = try r.int(t, "window_days", place, range: 1...366) {
                window = .days(days)
            } else {
                let w = try r.string(t, "window", place) ?? "rest-of-month"
                guard w == "rest-of-month" else {
                    throw r.error(place, "window", "window is \"rest-of-month\"; or give window_days = N")
                }
                window = .restOfMonth
            }
            return .calendar(expr, window: window, firstInMonth: try r.bool(t, "first_in_month", place) ?? false)
        case "event":
            try keys(["events", "days"])
            return .event(kinds: try eventKinds(t, r, place), days: try r.int(t, "days", place, range: 0...366) ?? 7)
        case "milestone":
            let m = try r.string(t, "milestone", place, required: true)!
            switch m {
            case "party-age":
                try keys(["milestone", "years", "reached_by", "window_start", "due"])
                guard let years = try r.int(t, "years", place, range: 1...100) else {
                    throw r.error(place, nil, "missing required key \"years\"")
                }
                return .partyAgeMilestone(
                    years: years, reachedBy: try monthDay(t, "reached_by", r, place),
                    windowStart: try monthDay(t, "window_start", r, place), due: try monthDay(t, "due", r, place))
            case "event-end":
                try keys(["milestone", "events", "days"])
                return .eventEnd(kinds: try eventKinds(t, r, place), days: try r.int(t, "days", place, range: 0...366) ?? 14)
            default:
                throw r.error(place, "milestone", "unknown milestone \"\(m)\"; use party-age or event-end")
            }
        case "quota":
            try keys(["leader_contacts", "cadre_hardship_contacts"])
            return .quota(
                leaderContacts: try r.int(t, "leader_contacts", place, range: 0...100) ?? 2,
                cadreHardshipContacts: try r.int(t, "cadre_hardship_contacts", place, range: 0...100) ?? 1)
        case "fund":
            try keys([])
            return .fund
        default:
            throw r.error(place, "kind", "unknown trigger kind \"\(kind)\"; use one of \(triggerKinds.joined(separator: ", "))")
        }
    }

    static func subjects(_ t: TOMLTable, trigger: Trigger, _ r: TOMLReader, _ place: TOMLReader.Place)
        throws(InputError) -> SubjectSelector
    {
        var select: String
        var tags: Set<Tag> = []
        if let s = t["subjects"]?.string {
            select = s
        } else if let st = try r.table(t, "subjects", place) {
            try r.checkKeys(st, allowed: ["select", "tags"], place)
            select = try r.string(st, "select", place, required: true)!
            for name in try r.strings(st, "tags", place) ?? [] {
                guard let tag = Tag(name: name) else {
                    throw r.error(
                        place, "tags",
                        "unknown tag \"\(name)\"; use one of \(Tag.allCases.map(\.rawValue).joined(separator: "、"))")
                }
                tags.insert(tag)
            }
        } else {
            switch trigger {
            case .event, .eventEnd: select = "event-member"
            case .quota: select = "quota-holders"
            case .fund: select = "fund-applicants"
            default: throw r.error(place, nil, "missing required key \"subjects\"")
            }
        }
        let selector: SubjectSelector
        switch select {
        case "members": selector = .members(tags: tags)
        case "event-member": selector = .eventMember(tags: tags)
        case "general-branch-secretaries": selector = .generalBranchSecretaries
        case "linked-committee-members": selector = .linkedCommitteeMembers
        case "minor-children": selector = .minorChildren
        case "quota-holders": selector = .quotaHolders
        case "fund-applicants": selector = .fundApplicants
        default:
            if let k = RelationKind(rawValue: select) {
                selector = .relation(k)
            } else if let u = UnitSelection(rawValue: select) {
                selector = .units(u)
            } else {
                let all =
                    [
                        "members", "event-member", "general-branch-secretaries", "linked-committee-members",
                        "minor-children", "quota-holders", "fund-applicants",
                    ] + RelationKind.allCases.map(\.rawValue)
                    + UnitSelection.allCases.map(\.rawValue)
                throw r.error(place, "subjects", "unknown subjects \"\(select)\"; use one of \(all.joined(separator: ", "))")
            }
        }
        switch (trigger, selector) {
        case (.event, .eventMember), (.eventEnd, .eventMember), (.quota, .quotaHolders), (.fund, .fundApplicants): break
        case (.fund, _), (_, .fundApplicants):
            throw r.error(place, "subjects", "fund triggers and \"fund-applicants\" go together")
        case (.event, _), (.eventEnd, _):
            throw r.error(place, "subjects", "an event rule's subject is the event's member: subjects = \"event-member\"")
        case (_, .eventMember): throw r.error(place, "subjects", "\"event-member\" goes with event and event-end triggers")
        case (.quota, _), (_, .quotaHolders):
            throw r.error(place, "subjects", "quota triggers and \"quota-holders\" go together")
        case (.anniversary, let s) where s.key != "members":
            throw r.error(place, "subjects", "an anniversary rule's subjects are \"members\"")
        default: break
        }
        return selector
    }

    static func eventKinds(_ t: TOMLTable, _ r: TOMLReader, _ place: TOMLReader.Place) throws(InputError)
        -> Set<EventKind>
    {
        let names = try r.strings(t, "events", place) ?? []
        if names.isEmpty { throw r.error(place, "events", "list the event kinds, e.g. [\"illness\"]") }
        var kinds: Set<EventKind> = []
        for n in names {
            guard let k = EventKind(name: n) else {
                throw r.error(
                    place, "events",
                    "unknown event kind \"\(n)\"; use one of \(EventKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            kinds.insert(k)
        }
        return kinds
    }

    static func dateRef(_ t: TOMLTable, _ key: String, _ r: TOMLReader, _ place: TOMLReader.Place) throws(InputError)
        -> DateRef
    {
        let s = try r.string(t, key, place, required: true)!
        guard let d = DateRef(parsing: s) else {
            if let m = s.firstMatch(of: /[+-]([0-9]+)d$/), (Int(m.1) ?? .max) > DateRef.offsetLimit {
                throw r.error(
                    place, key,
                    "the offset in \"\(s)\" is too large; an offset moves a date by at most \(DateRef.offsetLimit) days (+\(DateRef.offsetLimit)d)")
            }
            throw r.error(
                place, key,
                "\"\(s)\" is not a date; write MM-DD, a festival (春节, 除夕, 中秋, 重阳), lunar:MM-DD or prev-lunar:MM-DD, optionally +Nd or -Nd")
        }
        return d
    }

    /// The window must open before it closes, in every year the lunar table covers (a lunar window moves).
    static func checkWindow(_ start: DateRef, _ due: DateRef, _ r: TOMLReader, _ place: TOMLReader.Place) throws(InputError) {
        for year in 1902...2099 {
            if let a = start.date(in: year), let b = due.date(in: year), a > b {
                throw r.error(
                    place, "window_start",
                    "the window opens (\(start) = \(a)) after it is due (\(due) = \(b)) in \(year); window_start must come before due")
            }
        }
    }

    static func monthDay(_ t: TOMLTable, _ key: String, _ r: TOMLReader, _ place: TOMLReader.Place)
        throws(InputError) -> MonthDay
    {
        let s = try r.string(t, key, place, required: true)!
        guard let d = DateRef(parsing: s), case .gregorian(let md) = d.base, d.offsetDays == 0 else {
            throw r.error(place, key, "\"\(s)\" must be a month and day, MM-DD")
        }
        return md
    }

    static func reminders(_ t: TOMLTable, base: ReminderPolicy, _ r: TOMLReader, _ place: TOMLReader.Place)
        throws(InputError) -> ReminderPolicy
    {
        try r.checkKeys(t, allowed: ["window_start", "before_due_days", "on_due", "overdue_days", "escalate_days"], place)
        var p = base
        if let w = try r.string(t, "window_start", place) {
            guard let ws = ReminderPolicy.WindowStart(rawValue: w) else {
                throw r.error(place, "window_start", "window_start is always, if-longer-than-month or never")
            }
            p.windowStart = ws
        }
        p.beforeDueDays = try r.ints(t, "before_due_days", place, range: 1...366) ?? p.beforeDueDays
        p.onDue = try r.bool(t, "on_due", place) ?? p.onDue
        p.overdueDays = try r.ints(t, "overdue_days", place, range: 1...366) ?? p.overdueDays
        p.escalateDays = try r.ints(t, "escalate_days", place, range: 1...366) ?? p.escalateDays
        return p
    }
}
