import Foundation
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiStore

/// A channel that sends one message at a time — a webhook or robot, SMS, the journal. One loop drives them all
/// (`DispatcherService.sendEach`); what differs between them is here. Mail is the other kind: it pipelines a batch
/// over one SMTP connection, and has its own pass.
protocol OneByOne: Sendable {
    associatedtype Message: Sendable
    /// For messages and logs: the channel's configured name.
    var name: String { get }
    /// The endpoint a 410 disables, for a channel that has one.
    var endpoint: String? { get }
    /// The message a row carries, or nil when its payload is not this channel's.
    func message(_ payload: OutboxPayload?) -> Message?
    /// Before sending: nil to go now; else until when this message, or the whole rest, waits uncharged.
    func wait(_ m: Message, row: OutboxRow, now: Int64, limits: DeliveryLimits) -> Wait?
    func send(_ m: Message, row: OutboxRow, now: Int64) async -> Result<String, DeliveryError>
}

/// A message held back before it was offered, by a limit of ours.
enum Wait {
    /// This message alone (its recipient's limit); the others go on.
    case this(until: Int64, why: String)
    /// This one and the rest of the batch (the endpoint's limit).
    case rest(until: Int64, why: String)
}

struct WebhookSender: OneByOne {
    let hook: WebhookChannel
    var name: String { hook.name }
    var endpoint: String? { hook.endpoint }

    func message(_ payload: OutboxPayload?) -> [UInt8]? {
        guard case .webhook(let body) = payload else { return nil }
        return Array(body)
    }

    func wait(_ m: [UInt8], row: OutboxRow, now: Int64, limits: DeliveryLimits) -> Wait? {
        limits.reserve(hook, now: now).map {
            .rest(until: $0, why: "\(hook.name)'s rate limit (\(hook.spec.ratePerMinute ?? 0)/min)")
        }
    }

    func send(_ m: [UInt8], row: OutboxRow, now: Int64) async -> Result<String, DeliveryError> {
        await hook.send(body: m, id: row.idempotencyKey, now: now)
    }
}

struct SMSSender: OneByOne {
    let sms: SMSChannel
    var name: String { sms.name }
    var endpoint: String? { nil }

    func message(_ payload: OutboxPayload?) -> (phone: String, template: String, params: [OutboxPayload.JournalField])? {
        guard case .sms(let phone, let template, let params) = payload else { return nil }
        return (phone, template, params)
    }

    func wait(_ m: (phone: String, template: String, params: [OutboxPayload.JournalField]), row: OutboxRow, now: Int64,
        limits: DeliveryLimits) -> Wait?
    {
        limits.reserveSMS(sms, phone: m.phone, now: now).map {
            .this(until: $0, why: "its number's limit (\(sms.spec.perMinute)/min, \(sms.spec.perHour)/h, \(sms.spec.perDay)/day)")
        }
    }

    func send(_ m: (phone: String, template: String, params: [OutboxPayload.JournalField]), row: OutboxRow, now: Int64)
        async -> Result<String, DeliveryError>
    {
        await sms.send(phone: m.phone, template: m.template, params: m.params, now: now)
    }
}

struct JournalSender: OneByOne {
    var name: String { journalChannelName }
    var endpoint: String? { nil }

    func message(_ payload: OutboxPayload?) -> [[OutboxPayload.JournalField]]? {
        guard case .journal(let entries) = payload else { return nil }
        return entries
    }

    func wait(_ m: [[OutboxPayload.JournalField]], row: OutboxRow, now: Int64, limits: DeliveryLimits) -> Wait? { nil }

    func send(_ m: [[OutboxPayload.JournalField]], row: OutboxRow, now: Int64) async -> Result<String, DeliveryError> {
        JournalChannel.send(m)
    }
}
