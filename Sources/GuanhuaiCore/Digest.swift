public import GuanhuaiCalendar

/// One message's worth of reminders: everything one recipient is to be told at one send time (domain.md §4:
/// a digest, never one message per item).
public struct Digest: Hashable, Sendable {
    public var recipient: PersonID
    /// Send instant, UTC seconds.
    public var at: Int64
    public var localDate: CivilDate
    public var items: [Item]

    public struct Item: Hashable, Sendable {
        public var occurrence: Occurrence
        public var kind: Reminder.Kind
    }

    /// The outbox key of this digest on a channel: the same digest is the same row, however often it is planned.
    public func idempotencyKey(channel: String, part: Int = 1) -> String {
        DigestKey(recipient: recipient, at: at, channel: channel, part: part).description
    }

    /// Only greetings (a political birthday to the member): rendered as a greeting, not as a reminder.
    public var isGreeting: Bool { items.allSatisfy { $0.kind == .greeting } }
    public var hasOverdue: Bool { items.contains { $0.kind == .overdue || $0.kind == .escalation } }
}

extension Digest {
    /// The digests whose send instant lies in (`after`, `through`], one per recipient and instant, items in the
    /// plan's order.
    public static func collect(_ occurrences: [Occurrence], after: Int64, through: Int64) -> [Digest] {
        var index: [String: Int] = [:]
        var out: [Digest] = []
        for o in occurrences where o.status.isOpen {
            for r in o.reminders where r.at > after && r.at <= through {
                for p in r.to {
                    // The responsible person is told in their own words (您负责的…已逾期) even when the escalation
                    // reaches them too (组织部's own obligations escalate to 组织部): 督促 is for those above.
                    let kind = r.kind == .escalation && p == o.responsible ? Reminder.Kind.overdue : r.kind
                    let key = "\(p)|\(r.at)"
                    if let i = index[key] {
                        out[i].items.append(Item(occurrence: o, kind: kind))
                    } else {
                        index[key] = out.count
                        out.append(Digest(recipient: p, at: r.at, localDate: r.localDate, items: [Item(occurrence: o, kind: kind)]))
                    }
                }
            }
        }
        return out.sorted { ($0.at, $0.recipient) < ($1.at, $1.recipient) }
    }
}

/// The journal's name where channels are named (the outbox, `GUANHUAI_CHANNEL=`): it is not a `[channels]` entry,
/// and config.toml refuses one of that name, so the two cannot be confused.
public let journalChannelName = "journal"
