public import GuanhuaiCalendar

/// One instance of an obligation: a rule applied to a subject for one period or event.
public struct Occurrence: Hashable, Sendable {
    /// Stable across runs: `rule:period:subject` (e.g. `july-first-visit:2027:M023`), or `rule:event` for events.
    public var id: String
    public var rule: String
    public var title: String
    /// The member (or person, or dependant) the obligation is about; nil for a unit's obligation.
    public var subject: String?
    /// The unit where the responsibility sits; escalation goes to the unit above it.
    public var org: UnitID
    public var responsible: PersonID
    public var windowStart: CivilDate
    public var due: CivilDate
    public var status: Status
    /// Why it is waived, for waived occurrences.
    public var waivedReason: String?
    public var reminders: [Reminder]
    /// The event it follows (illness, bereavement, …), for an event's occurrence: where its note is found.
    public var event: String? = nil
    /// The completion that closed it (done or waived), as recorded. Held by reference: most occurrences are open,
    /// and an inline date, person and amount made every one of them 50 bytes larger.
    public var closure: Closure? = nil

    /// When it was done or waived, and by whom (as recorded), for a closed occurrence.
    public var closedOn: CivilDate? { closure?.completion.date }
    public var closedBy: PersonID? { closure?.completion.by }
    /// 慰问金 recorded with the completion, in fen.
    public var closedAmountFen: Int? { closure?.completion.amountFen }

    public final class Closure: Hashable, Sendable {
        public let completion: Completion
        public init(_ completion: Completion) { self.completion = completion }
        public static func == (a: Closure, b: Closure) -> Bool { a.completion == b.completion }
        public func hash(into h: inout Hasher) { h.combine(completion) }
    }

    public enum Status: String, Hashable, Sendable {
        case pending
        case done
        case waived
        case overdue
        /// Due before the committee started with guanhuai (`[guanhuai] since`): not reminded, not overdue.
        case history

        public var chinese: String {
            switch self {
            case .pending: "待办"
            case .done: "已完成"
            case .waived: "已免除"
            case .overdue: "已逾期"
            case .history: "历史"
            }
        }

        public var isOpen: Bool { self == .pending || self == .overdue }
        /// What `done` and `waive` accept: what is open, and history (a committee records from its 台账 what it did
        /// before it started with guanhuai).
        public var isRecordable: Bool { isOpen || self == .history }
    }
}

public struct Reminder: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        /// Before due: at the window's start, or N days before.
        case advance
        case due
        /// After due, to the responsible person.
        case overdue
        /// After due, to the unit above and then 组织部.
        case escalation
        /// To the member on the day (political birthday).
        case greeting

        /// What a message calls it: the one wording for mail, chat and the journal.
        public var chinese: String {
            switch self {
            case .advance: "提前提醒"
            case .due: "今日到期"
            case .overdue: "逾期提醒"
            case .escalation: "逾期上报"
            case .greeting: "政治生日"
            }
        }
    }

    /// The send instant, seconds since the epoch (UTC).
    public var at: Int64
    /// The same instant as local wall time in the configured zone, with its UTC offset in seconds.
    public var localDate: CivilDate
    public var offsetSeconds: Int
    public var kind: Kind
    public var to: [PersonID]
}

extension Reminder {
    /// RFC 3339 with the configured zone's offset, e.g. `2027-02-05T08:30:00+08:00`.
    public var rfc3339: String { Timestamp.rfc3339(utc: at, offsetSeconds: offsetSeconds) }
}
