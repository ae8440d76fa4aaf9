public import Foundation
public import GuanhuaiCore
import Systemd

/// What an outbox row carries: the finished message, rendered when it was enqueued, so a retry sends the same bytes.
public enum OutboxPayload: Codable, Sendable, Equatable {
    case mail(from: String, to: [String], data: Data)
    /// Journal entries, each a list of (field, value).
    case journal(entries: [[JournalField]])
    /// A webhook or robot body; the endpoint and its signature come from the channel when it is sent.
    case webhook(body: Data)
    /// An SMS: the number, the provider's template and its parameters (name or position, value); the request is
    /// signed when it is sent.
    case sms(phone: String, template: String, params: [JournalField])
    /// A work-app message to one person: their userid in the app, and the message object (the channel adds the
    /// application and its token when it is sent).
    case workApp(user: String, message: Data)

    public struct JournalField: Codable, Sendable, Equatable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Slashes unescaped: a mail's base64 body is full of them, and a string with escapes takes the decoder's slow
    /// path on every send (9 % of guanhuaid's CPU while it sends, measured). Rows written escaped still decode.
    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return (try? encoder.encode(self)) ?? Data()
    }

    public static func decode(_ data: Data) -> OutboxPayload? { try? JSONDecoder().decode(OutboxPayload.self, from: data) }
}

/// MESSAGE_ID values: one fixed id per kind of event, so `journalctl MESSAGE_ID=…` finds every one.
public enum MessageID {
    public static let reminder = "6f1d2a8c4b7e4f0a9c3d5e7f8a1b2c3d"
    public static let reminderSent = "a3c5e7f9b1d34f6a8c0e2a4b6d8f0a1c"
    public static let deliveryFailed = "e1f3a5c7b9d14e6f8a0c2e4a6b8d0f2e"
    public static let deliveryRetry = "c7e9a1b3d5f74a9c1e3a5c7e9b1d3f5a"
    public static let escalation = "b2d4f6a8c0e24b6d8f0a2c4e6a8b0d2f"
    public static let configReloaded = "d4f6a8c0e2a44d8f0a2c4e6b8d0f2a4c"
    public static let configRejected = "f6a8c0e2a4c64f0a2c4e6a8d0f2b4d6e"
    public static let started = "0a2c4e6a8c0e4a2c4e6a8c0e2a4c6e8a"
    public static let unreachable = "8c0e2a4c6e8a4c0e2a4c6e8a0c2e4a6c"
    public static let endpointDisabled = "3e5a7c9e1b3d4f5a7c9e1b3d5f7a9c1e"
    public static let clockWentBack = "02105c0408b60a823d580830c8fd4ca5"
}

/// The journal as a channel: each reminded item becomes one entry, so
/// `journalctl -u guanhuaid GUANHUAI_RULE=july-first-visit` finds it. Who and what, never why: no notes.
public enum JournalChannel {
    public static func entries(_ d: Digest, context: RenderContext, late: Bool) -> [[OutboxPayload.JournalField]] {
        return d.items.map { item in
            let o = item.occurrence
            let kind = item.kind.chinese
            let text =
                "\(kind)：\(o.title) —— \(context.subjectName(o))，期限 \(o.due)，提醒 \(context.personName(d.recipient))"
                + (late ? "（补发）" : "")
            return [
                .init("MESSAGE", text), .init("PRIORITY", item.kind == .escalation || item.kind == .overdue ? "4" : "5"),
                .init("MESSAGE_ID", item.kind == .escalation ? MessageID.escalation : MessageID.reminder),
                .init("SYSLOG_IDENTIFIER", "guanhuaid"), .init("GUANHUAI_RULE", o.rule),
                .init("GUANHUAI_OCCURRENCE", o.id), .init("GUANHUAI_RECIPIENT", d.recipient),
                .init("GUANHUAI_RESPONSIBLE", o.responsible), .init("GUANHUAI_KIND", item.kind.rawValue),
                .init("GUANHUAI_DUE", o.due.description), .init("GUANHUAI_CHANNEL", journalChannelName),
            ] + (late ? [.init("GUANHUAI_LATE", "1")] : [])
        }
    }

    /// Where the journal channel writes: journald when there is one; else, for a guanhuaid run by hand in a
    /// terminal (`make serve`), that terminal, one line per reminder; else nowhere (sd_journal_sendv would report
    /// success into the void), and the channel is off.
    public enum Target: Sendable, Equatable { case journald, terminal, none }

    public static var target: Target {
        Journal.isAvailable ? .journald : isatty(STDERR_FILENO) == 1 ? .terminal : .none
    }

    public static func send(_ entries: [[OutboxPayload.JournalField]]) -> Result<String, DeliveryError> {
        if target == .terminal {
            for e in entries {
                let message = e.first { $0.name == "MESSAGE" }?.value ?? ""
                FileHandle.standardError.write(Data("[journal] \(message)\n".utf8))
            }
            return .success("\(entries.count) reminders on the terminal (no journald)")
        }
        for e in entries {
            do {
                try Journal.send(e.map { ($0.name, $0.value) })
            } catch {
                return .failure(.temporary("the journal cannot be reached (\(error))"))
            }
        }
        return .success("\(entries.count) journal entries")
    }
}
