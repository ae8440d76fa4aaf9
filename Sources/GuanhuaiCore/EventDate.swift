public import GuanhuaiCalendar

/// Whether an event can carry this date: the one check, which `guanhuai event add` and the 「我的待办」 form both
/// call, so a date refused in one is refused in the other with the same words.
public enum EventDateProblem: Error, Equatable, Sendable {
    /// After today (`today` is `--now`'s day where a command is given one).
    case future(today: CivilDate)
    case beforeBirth(CivilDate)
    case beforeJoining(CivilDate)
    /// Before the earliest date that can still open anything: `since` less the longest window an event opens.
    case tooEarly(earliest: CivilDate)
    case afterDeath(CivilDate)
    case secondDeath(event: String, date: CivilDate)

    /// Checks `date` for an event of `kind` about `member`, with the member's other recorded events.
    public static func check(
        _ date: CivilDate, kind: EventKind, member: Member, events: [Event], today: CivilDate,
        rules: [Rule], since: CivilDate?
    ) -> EventDateProblem? {
        if date > today { return .future(today: today) }
        if let born = member.birthDate, date < born { return .beforeBirth(born) }
        if date < member.joined, kind != .development { return .beforeJoining(member.joined) }
        if let since {
            let earliest = since.adding(days: -longestEventWindow(rules))
            if date < earliest { return .tooEarly(earliest: earliest) }
        }
        let isDeath = { (k: EventKind) in k == .death || k == .deathOnDuty }
        let death = events.first { $0.member == member.id && isDeath($0.kind) }
        if isDeath(kind), let death { return .secondDeath(event: death.id, date: death.date) }
        var died = death?.date
        if case .deceased(let r) = member.status { died = min(died ?? r, r) }
        if let died, date > died, !isDeath(kind) { return .afterDeath(died) }
        return nil
    }

    /// The most days any rule's window runs after the event that opens it (at least a year: an event's effects, a
    /// discipline's end, are looked back on that long).
    public static func longestEventWindow(_ rules: [Rule]) -> Int {
        rules.reduce(366) { longest, r in
            switch r.trigger {
            case .event(_, let days), .eventEnd(_, let days): max(longest, days)
            default: longest
            }
        }
    }

    /// What a person reads: in Chinese on the pages (`chinese: true`), in the locale's language on the command line.
    public func message(_ date: CivilDate, name: String, chinese: Bool) -> String {
        func L(_ english: String, _ zh: String) -> String { chinese ? zh : english }
        return switch self {
        case .future(let today):
            L(
                "\(date) is after today (\(today)): record an event once it has happened",
                "\(date) 在今天（\(today)）之后：事件发生后再登记")
        case .beforeBirth(let born):
            L("\(date) is before \(name) was born (\(born))", "\(date) 早于\(name)的出生日期（\(born)）")
        case .beforeJoining(let joined):
            L("\(date) is before \(name) joined the Party (\(joined))", "\(date) 早于\(name)的入党日期（\(joined)）")
        case .tooEarly(let earliest):
            L(
                "\(date) is too long ago to open any talk or visit now (the earliest date that can is \(earliest)); check the year",
                "\(date) 过早，已不会再安排任何谈话或走访（最早可登记 \(earliest)）；请检查年份")
        case .afterDeath(let died):
            L(
                "\(date) is after \(name) died (\(died)); no event can follow a death",
                "\(date) 在\(name)去世（\(died)）之后；去世后不能再有事件")
        case .secondDeath(let event, let d):
            L(
                "\(name) already has a death recorded (\(event), \(d)); a member dies once",
                "\(name) 已登记过去世（\(event)，\(d)），不能再登记")
        }
    }
}

/// Whether an item can be recorded as done on this date: the one check, which `guanhuai done --date` and the pages
/// both call.
public enum CompletionDateProblem: Error, Equatable, Sendable {
    case future(today: CivilDate)
    case beforeWindow(opens: CivilDate)

    public static func check(_ date: CivilDate, today: CivilDate, windowStart: CivilDate?) -> CompletionDateProblem? {
        if date > today { return .future(today: today) }
        if let windowStart, date < windowStart { return .beforeWindow(opens: windowStart) }
        return nil
    }

    public func message(_ date: CivilDate, chinese: Bool) -> String {
        func L(_ english: String, _ zh: String) -> String { chinese ? zh : english }
        return switch self {
        case .future(let today):
            L("\(date) is after today (\(today)); record it once it is done", "\(date) 在今天（\(today)）之后；请在办理后再登记")
        case .beforeWindow(let opens):
            L("\(date) is before the obligation's window opens (\(opens))", "\(date) 早于这项工作的开始日期（\(opens)）")
        }
    }
}
