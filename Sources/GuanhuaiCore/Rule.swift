public import GuanhuaiCalendar

/// One obligation rule of the catalog (domain.md §4), shipped as data in `Config/rules.toml`.
public struct Rule: Hashable, Sendable {
    public var id: String
    public var title: String
    /// What a group chat may say about it (domain.md §2: what kind of obligation, never why): "走访慰问", not
    /// "临终关怀". Rules without one are shown in chat as "关怀事项".
    public var chatTitle: String?
    /// Where the obligation comes from: document and section, e.g. "Q二.1", "X四".
    public var source: [String]
    public var enabled: Bool
    public var trigger: Trigger
    public var subjects: SubjectSelector
    public var responsible: Responsible
    /// Extra recipients for subjects carrying a tag (e.g. 组织部 for a 功勋荣誉 member's visit).
    public var alsoForTags: [Tag: Responsible]
    public var reminders: ReminderPolicy
    /// False for obligations toward a member's family, which a death does not end (condolence, …).
    public var endsWithMember: Bool
    /// A greeting (political birthday) that would go out more than this many days after its day is not sent at all;
    /// one sent later than a day says it is late. (`late_greeting_days`, default 7.)
    public var lateGreetingDays = 7
    /// `shift`: a due date (for a calendar trigger, the day itself) that falls on a non-working day moves to the
    /// next or previous working day.
    public var shift: Shift?
    /// `send_on_holidays`: the rule's reminders may go out on a day off (a visit that cannot wait for Monday). Without
    /// it, and with a holiday table, a reminder falling on a day off goes on the working day before (advance notice)
    /// or after. A greeting to the member (`greeting = "on-day"`) always keeps its day.
    public var sendOnHolidays = false

    public enum Shift: String, Sendable, Hashable, CaseIterable {
        case nextWorkday = "next-workday"
        case previousWorkday = "previous-workday"
    }

    public init(
        id: String, title: String, source: [String], enabled: Bool = true, trigger: Trigger,
        subjects: SubjectSelector, responsible: Responsible, alsoForTags: [Tag: Responsible] = [:],
        reminders: ReminderPolicy = ReminderPolicy(), endsWithMember: Bool = true, chatTitle: String? = nil
    ) {
        self.id = id
        self.title = title
        self.chatTitle = chatTitle
        self.source = source
        self.enabled = enabled
        self.trigger = trigger
        self.subjects = subjects
        self.responsible = responsible
        self.alsoForTags = alsoForTags
        self.reminders = reminders
        self.endsWithMember = endsWithMember
    }

    /// The words a group chat shows for this rule.
    public var chatLabel: String { chatTitle ?? "关怀事项" }
}

public enum Trigger: Hashable, Sendable {
    /// A window in every year, its ends fixed Gregorian dates (`fixed-annual`) or lunar ones (`lunar-annual`).
    case annual(windowStart: DateRef, due: DateRef)
    /// One occurrence per named festival window per year (七一, 春节, …), defined in the rules file.
    case festivals([FestivalWindow])
    /// Each member's anniversary of joining, by month: window the anniversary month, due its last day.
    case anniversary(greetingOnDay: Bool)
    /// At least once per period; any completion inside the period satisfies it.
    case periodic(Period, dueDay: Int?, dueMonth: Int?)
    /// A systemd calendar expression; each elapse opens a window.
    case calendar(CalendarExpression, window: CalendarWindow, firstInMonth: Bool)
    /// An event of one of these kinds opens a window from its date.
    case event(kinds: Set<EventKind>, days: Int)
    /// Party age reaches `years` on or before `reachedBy` of a year; once per member, open until done.
    case partyAgeMilestone(years: Int, reachedBy: MonthDay, windowStart: MonthDay, due: MonthDay)
    /// The end date recorded with an event (the end of a discipline's effect) opens a window.
    case eventEnd(kinds: Set<EventKind>, days: Int)
    /// A standing check of the relations, reported monthly to 组织部.
    case quota(leaderContacts: Int, cadreHardshipContacts: Int)
    /// Each open stage of a 专项资金 application (X九): its responsible person and deadline are the stage's.
    case fund
}

public struct MonthDay: Hashable, Sendable, CustomStringConvertible {
    public var month: Int
    public var day: Int

    public init?(_ month: Int, _ day: Int) {
        guard (1...12).contains(month), day >= 1, day <= CivilDate.daysIn(year: 2024, month: month) else { return nil }
        self.month = month
        self.day = day
    }

    public func `in`(_ year: Int) -> CivilDate { CivilDate.anniversary(month: month, day: day, in: year) }

    public var description: String { (month < 10 ? "0" : "") + "\(month)-" + (day < 10 ? "0" : "") + "\(day)" }
}

public enum Period: String, Hashable, Sendable, CaseIterable {
    case year
    case halfYear = "half-year"
    case quarter
    case month
}

public enum CalendarWindow: Hashable, Sendable {
    /// Until the last day of the month the elapse falls in.
    case restOfMonth
    /// This many days, the elapse's day included.
    case days(Int)
}

/// A named festival window, e.g. 春节: 腊月初一 … 除夕.
public struct FestivalWindow: Hashable, Sendable {
    public var id: String
    public var name: String
    public var windowStart: DateRef
    public var due: DateRef

    public init(id: String, name: String, windowStart: DateRef, due: DateRef) {
        self.id = id
        self.name = name
        self.windowStart = windowStart
        self.due = due
    }
}

/// A date within year Y of an annual rule: a Gregorian month-day, a festival, or a lunar date, plus an offset.
public struct DateRef: Hashable, Sendable, CustomStringConvertible {
    public enum Base: Hashable, Sendable {
        case gregorian(MonthDay)
        case festival(ChineseCalendar.Festival)
        /// Lunar month/day in the lunar year that starts in Y, or (previousYear) in Y − 1.
        case lunar(month: Int, day: Int, previousYear: Bool)
    }

    public var base: Base
    public var offsetDays: Int

    /// An offset moves a date within about a year of its base; more is a typo, and is refused when read.
    public static let offsetLimit = 366

    public init(base: Base, offsetDays: Int = 0) {
        self.base = base
        self.offsetDays = offsetDays
    }

    public var isLunar: Bool {
        if case .gregorian = base { return false }
        return true
    }

    /// The date in year `year`, or nil outside the lunar table or for a lunar day that does not exist that year
    /// (the 30th of a 29-day month falls back to its 29th).
    public func date(in year: Int) -> CivilDate? {
        let d: CivilDate?
        switch base {
        case .gregorian(let md): d = md.in(year)
        case .festival(let f): d = ChineseCalendar.date(of: f, in: year)
        case .lunar(let m, let day, let previous):
            let y = previous ? year - 1 : year
            d = ChineseCalendar.date(year: y, month: m, day: day) ?? ChineseCalendar.date(year: y, month: m, day: 29)
        }
        return d?.adding(days: offsetDays)
    }

    public var description: String {
        let b: String
        switch base {
        case .gregorian(let md): b = md.description
        case .festival(let f): b = f.rawValue
        case .lunar(let m, let d, let prev):
            b = (prev ? "prev-lunar:" : "lunar:") + (m < 10 ? "0" : "") + "\(m)-" + (d < 10 ? "0" : "") + "\(d)"
        }
        if offsetDays == 0 { return b }
        return b + (offsetDays > 0 ? "+" : "") + "\(offsetDays)d"
    }

    /// Parses `MM-DD`, a festival (`春节`, `除夕`, `中秋`, `重阳` or their slugs), `lunar:MM-DD` or
    /// `prev-lunar:MM-DD`, each optionally followed by `+Nd` or `-Nd`.
    public init?(parsing text: String) {
        var s = Substring(text)
        var offset = 0
        if let sign = s.lastIndex(where: { $0 == "+" || $0 == "-" }), s.hasSuffix("d"),
            let n = Int(s[s.index(after: sign)..<s.index(before: s.endIndex)]), n <= DateRef.offsetLimit
        {
            offset = s[sign] == "-" ? -n : n
            s = s[..<sign]
        }
        func monthDay(_ t: Substring) -> (Int, Int)? {
            let parts = t.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ $0.count == 2 }), let m = Int(parts[0]), let d = Int(parts[1])
            else { return nil }
            return (m, d)
        }
        if let f = ChineseCalendar.Festival(name: String(s)) {
            self.init(base: .festival(f), offsetDays: offset)
        } else if s.hasPrefix("lunar:") || s.hasPrefix("prev-lunar:") {
            let prev = s.hasPrefix("prev-")
            guard let (m, d) = monthDay(s.drop(while: { $0 != ":" }).dropFirst()), (1...12).contains(m),
                (1...30).contains(d)
            else { return nil }
            self.init(base: .lunar(month: m, day: d, previousYear: prev), offsetDays: offset)
        } else if let (m, d) = monthDay(s), let md = MonthDay(m, d) {
            self.init(base: .gregorian(md), offsetDays: offset)
        } else {
            return nil
        }
    }
}

/// Who or what an occurrence is about.
public enum SubjectSelector: Hashable, Sendable {
    /// Active members; with tags, those carrying any of them (老党员 also by the configured rule).
    case members(tags: Set<Tag>)
    /// Each pair of a relation: the subject is the member, the responsible is the relation's holder.
    case relation(RelationKind)
    /// Units of these kinds (or the reporting units: every 党总支 and every 党支部 directly under the committee).
    case units(UnitSelection)
    /// The secretary of each 党总支 (the 党委书记's talk, Q二.2).
    case generalBranchSecretaries
    /// Each 委员 of a 党总支 linked to a 党委委员 (the 委员's talk, Q二.2); the responsible is the linking 委员.
    case linkedCommitteeMembers
    /// Each minor child of a member who died on duty.
    case minorChildren
    /// The member an event is about (event triggers), optionally only those carrying one of the tags.
    case eventMember(tags: Set<Tag>)
    /// The leaders and cadres short of their contact quota (quota triggers).
    case quotaHolders
    /// The member each open 专项资金 application is for (fund triggers).
    case fundApplicants

    public var key: String {
        switch self {
        case .members: "members"
        case .relation(let k): k.rawValue
        case .units(let u): u.rawValue
        case .generalBranchSecretaries: "general-branch-secretaries"
        case .linkedCommitteeMembers: "linked-committee-members"
        case .minorChildren: "minor-children"
        case .eventMember: "event-member"
        case .quotaHolders: "quota-holders"
        case .fundApplicants: "fund-applicants"
        }
    }
}

public enum UnitSelection: String, Hashable, Sendable, CaseIterable {
    case committee
    case generalBranches = "general-branches"
    case branches
    case reportingUnits = "reporting-units"
}

public enum Responsible: String, Hashable, Sendable, CaseIterable {
    /// The secretary of the subject member's 党支部 (or of the unit above, when the member is that secretary).
    case branchSecretary = "branch-secretary"
    /// The secretary of the subject member's 党总支 (Q二.2: 党总支负责人).
    case generalBranchSecretary = "general-branch-secretary"
    /// The secretary of the subject unit.
    case unitSecretary = "unit-secretary"
    case committeeSecretary = "committee-secretary"
    case organizationDepartment = "organization-department"
    /// The holder of the relation (the leader, the linking 委员).
    case relationHolder = "relation-holder"
    /// The person an event names (the leader asked for a talk).
    case eventTarget = "event-target"
    /// The branch secretary, with every level above up to 组织部 told at once.
    case allLevels = "all-levels"
}

/// When reminders go out, relative to an occurrence's window and due date (domain.md §4, "Reminders").
public struct ReminderPolicy: Hashable, Sendable {
    public enum WindowStart: String, Hashable, Sendable, CaseIterable {
        case always
        case ifLongerThanMonth = "if-longer-than-month"
        case never
    }

    public var windowStart: WindowStart
    public var beforeDueDays: [Int]
    public var onDue: Bool
    /// Days after due for the overdue reminder to the responsible person.
    public var overdueDays: [Int]
    /// Days after due for the escalations: first to the secretary of the unit above, then to 组织部.
    public var escalateDays: [Int]

    public init(
        windowStart: WindowStart = .ifLongerThanMonth, beforeDueDays: [Int] = [14, 3], onDue: Bool = true,
        overdueDays: [Int] = [3], escalateDays: [Int] = [7, 14]
    ) {
        self.windowStart = windowStart
        self.beforeDueDays = beforeDueDays
        self.onDue = onDue
        self.overdueDays = overdueDays
        self.escalateDays = escalateDays
    }
}

extension WorkCalendar {
    /// A date moved off a rest day as a rule's `shift` says.
    public func shifted(_ d: CivilDate, _ shift: Rule.Shift) -> CivilDate {
        switch shift {
        case .nextWorkday: nextWorkday(onOrAfter: d)
        case .previousWorkday: previousWorkday(onOrBefore: d)
        }
    }
}
