public import Foundation
public import GRDB
import GuanhuaiCore

/// Where an outbox row goes: the journal, or a `[channels.NAME]` channel. Stored as the name ("journal" for the
/// journal; config.toml refuses a channel of that name, so the two cannot be confused).
public enum OutboxChannel: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    case journal
    case named(String)

    public init(_ stored: String) { self = stored == journalChannelName ? .journal : .named(stored) }
    public init(stringLiteral value: String) { self.init(value) }

    /// The name as stored, logged and shown.
    public var name: String {
        switch self {
        case .journal: journalChannelName
        case .named(let n): n
        }
    }

    public var description: String { name }
    public static func < (a: OutboxChannel, b: OutboxChannel) -> Bool { a.name < b.name }
}

/// Where an outbox row stands.
public enum OutboxState: String, Sendable, Equatable {
    /// Waiting for its first or next attempt.
    case pending
    /// Accepted by the server.
    case sent
    /// Refused for good, or given up after `max_age_hours`.
    case failed
    /// Not sent: everything it was about had been done before its turn came, or (a held fallback) its SMS was
    /// delivered or is no longer reported on.
    case withdrawn
    /// A fallback mail rendered at routing, waiting on its SMS's receipt: it goes (becomes pending) only when the
    /// provider reports the SMS undelivered.
    case held
}

/// One message waiting in, or gone through, the outbox.
public struct OutboxRow: Sendable, Equatable {
    public var id: Int64
    public var idempotencyKey: String
    public var recipient: String
    public var channel: OutboxChannel
    public var payload: Data
    public var state: OutboxState
    public var attempts: Int
    public var nextAttemptAt: Int64?
    public var lastError: String?
    public var sentAt: Int64?
    public var createdAt: Int64

    public init(
        id: Int64, idempotencyKey: String, recipient: String, channel: OutboxChannel, payload: Data, state: OutboxState, attempts: Int,
        nextAttemptAt: Int64?, lastError: String?, sentAt: Int64?, createdAt: Int64
    ) {
        self.id = id
        self.idempotencyKey = idempotencyKey
        self.recipient = recipient
        self.channel = channel
        self.payload = payload
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.sentAt = sentAt
        self.createdAt = createdAt
    }
}

/// A message to put in the outbox.
public struct NewOutboxMessage: Sendable {
    public var idempotencyKey: String
    public var recipient: String
    public var channel: OutboxChannel
    public var payload: Data
    /// What the message is about: so that it is withdrawn, or rewritten, when they are done before it goes.
    public var items: [Item]
    /// A fallback: the key of the SMS row whose undelivered receipt releases it. Until then it is held, not sent.
    public var heldFor: String?

    public struct Item: Sendable, Hashable {
        public var occurrence: String
        public var kind: String
        /// What a later 「已办结」 line calls it (title and subject; never why).
        public var label: String

        public init(occurrence: String, kind: String, label: String) {
            self.occurrence = occurrence
            self.kind = kind
            self.label = label
        }
    }

    public init(
        idempotencyKey: String, recipient: String, channel: OutboxChannel, payload: Data, items: [Item] = [], heldFor: String? = nil
    ) {
        self.idempotencyKey = idempotencyKey
        self.recipient = recipient
        self.channel = channel
        self.payload = payload
        self.items = items
        self.heldFor = heldFor
    }
}

/// An escalation someone was sent about an occurrence that has since been done: their next digest says so.
public struct ClosedNotice: Sendable, Hashable {
    public var recipient: String
    public var occurrence: String
    public var label: String
    public var date: String
    public var by: String?

    public init(recipient: String, occurrence: String, label: String, date: String, by: String?) {
        self.recipient = recipient
        self.occurrence = occurrence
        self.label = label
        self.date = date
        self.by = by
    }
}

extension OutboxRow: FetchableRecord {
    public init(row: Row) {
        id = row["id"]
        idempotencyKey = row["idempotencyKey"]
        recipient = row["recipient"]
        channel = OutboxChannel(row["channel"] as String)
        payload = row["payload"]
        // A state this version does not know (a newer one wrote it) is left alone as if failed: never sent again.
        state = OutboxState(rawValue: row["state"]) ?? .failed
        attempts = row["attempts"]
        nextAttemptAt = row["nextAttemptAt"]
        lastError = row["lastError"]
        sentAt = row["sentAt"]
        createdAt = row["createdAt"]
    }
}

/// An endpoint that answered 410 Gone: nothing more is sent to it until an operator re-enables the channel (or
/// points it at another endpoint).
public struct DisabledEndpoint: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public var channel: String
    public var endpoint: String
    public var since: Int64
    public var reason: String

    public static let databaseTableName = "disabledEndpoint"

    public init(channel: String, endpoint: String, since: Int64, reason: String) {
        self.channel = channel
        self.endpoint = endpoint
        self.since = since
        self.reason = reason
    }
}
