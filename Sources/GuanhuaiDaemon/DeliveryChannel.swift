import Foundation
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiStore
import Logging

/// What the dispatcher's one loop (`DispatcherService.deliver`) needs of a channel: read a row's message, say whether
/// a limit of ours holds it back, and send a batch, answering each message with a `DeliveryOutcome`. Mail, webhooks
/// and robots, SMS and the journal each implement it; a new channel is a new type here and a line in
/// `DeliveryChannels.make`.
protocol DeliveryChannel: Sendable {
    associatedtype Message: Sendable
    /// For messages and logs: the channel's configured name.
    var name: String { get }
    /// The endpoint a 410 disables, for a channel that has one.
    var endpoint: String? { get }
    /// Whether a temporary failure holds back the rest of the batch until its retry: true where one endpoint takes
    /// every message, so its trouble is everyone's. Mail answers one recipient's 4xx alone, and reports the rest
    /// `notOffered` itself when the connection is lost.
    var temporaryFailureHoldsTheRest: Bool { get }
    /// The message a row carries, or nil when its payload is not this channel's.
    func message(_ payload: OutboxPayload?) -> Message?
    /// Before sending: nil to go now; else until when this message, or the whole rest, waits uncharged.
    func wait(_ m: Message, row: OutboxRow, now: Int64, limits: DeliveryLimits) -> Wait?
    /// Sends the batch in order, answering each message as soon as its outcome is known (so it is recorded before
    /// the next is sent; a work app, with several on their way at once, answers each as its answer comes, one at a
    /// time). Once `shouldStop` says so, the rest are not sent; they need no answer.
    func deliver(
        _ batch: [Outgoing<Message>], clock: any WallClock, logger: Logger, limits: DeliveryLimits, shouldStop: @escaping @Sendable () -> Bool,
        answered: @escaping @Sendable (Int, DeliveryOutcome) async -> Void) async
}

extension DeliveryChannel {
    var endpoint: String? { nil }
    var temporaryFailureHoldsTheRest: Bool { true }
    func wait(_ m: Message, row: OutboxRow, now: Int64, limits: DeliveryLimits) -> Wait? { nil }
}

/// A row and the message read from it.
struct Outgoing<Message: Sendable>: Sendable {
    let row: OutboxRow
    let message: Message
}

/// A message held back before it was offered, by a limit of ours.
enum Wait {
    /// This message alone (its recipient's limit); the others go on.
    case this(until: Int64, why: String)
    /// This one and the rest of the batch (the endpoint's limit).
    case rest(until: Int64, why: String)
}

/// A channel that sends one message at a time: a webhook or robot, SMS, the journal.
protocol OneAtATime: DeliveryChannel {
    func send(_ m: Message, row: OutboxRow, now: Int64) async -> DeliveryOutcome
}

extension OneAtATime {
    func deliver(
        _ batch: [Outgoing<Message>], clock: any WallClock, logger: Logger, limits: DeliveryLimits,
        shouldStop: @escaping @Sendable () -> Bool, answered: @escaping @Sendable (Int, DeliveryOutcome) async -> Void
    ) async {
        for (i, out) in batch.enumerated() {
            if shouldStop() { return }
            await answered(i, await send(out.message, row: out.row, now: clock.now()))
        }
    }
}

/// The registry: the channel a configured spec becomes. The journal is always there (`OutboxChannel.journal`).
enum DeliveryChannels {
    static func make(name: String, spec: ChannelSpec, secrets: ChannelSecrets, tokens: AccessTokenCaches) -> (any DeliveryChannel)? {
        switch spec {
        case .smtp, .sendmail: MailChannel(name: name, spec: spec, secrets: secrets).map(MailSender.init)
        case .webhook(let w): WebhookSender(hook: WebhookChannel(name: name, spec: w, secrets: secrets))
        case .sms(let s): SMSSender(sms: SMSChannel(name: name, spec: s, secrets: secrets))
        case .workApp(let a):
            WorkAppSender(app: WorkAppChannel(name: name, spec: a, secrets: secrets, tokens: tokens.cache(for: a, secret: secrets.secret ?? "")))
        case .journal: nil
        }
    }
}

/// E-mail: the batch pipelined over one SMTP connection (or handed to sendmail one by one).
struct MailSender: DeliveryChannel {
    let mail: MailChannel
    var name: String { mail.name }
    var temporaryFailureHoldsTheRest: Bool { false }

    func message(_ payload: OutboxPayload?) -> MailEnvelope? {
        guard case .mail(let from, let to, let data) = payload else { return nil }
        return MailEnvelope(from: from, recipients: to, data: Array(data))
    }

    func deliver(
        _ batch: [Outgoing<MailEnvelope>], clock: any WallClock, logger: Logger, limits: DeliveryLimits,
        shouldStop: @escaping @Sendable () -> Bool, answered: @escaping @Sendable (Int, DeliveryOutcome) async -> Void
    ) async {
        await mail.transport.send(batch.map(\.message), logger: logger, shouldStop: shouldStop) { i, result in
            await answered(i, DeliveryOutcome(result))
        }
    }
}

struct WebhookSender: OneAtATime {
    let hook: WebhookChannel
    var name: String { hook.name }
    var endpoint: String? { hook.endpoint }

    func message(_ payload: OutboxPayload?) -> [UInt8]? {
        guard case .webhook(let body) = payload else { return nil }
        return Array(body)
    }

    func wait(_ m: [UInt8], row: OutboxRow, now: Int64, limits: DeliveryLimits) -> Wait? {
        limits.reserve(hook, now: now).map {
            .rest(until: $0, why: "\(hook.name)'s rate limit (\(limits.share(of: hook.spec.ratePerMinute ?? 0))/min for this instance)")
        }
    }

    func send(_ m: [UInt8], row: OutboxRow, now: Int64) async -> DeliveryOutcome {
        DeliveryOutcome(await hook.send(body: m, id: row.idempotencyKey, now: now))
    }
}

struct SMSSender: OneAtATime {
    typealias Message = (phone: String, template: String, params: [OutboxPayload.JournalField])
    let sms: SMSChannel
    var name: String { sms.name }

    func message(_ payload: OutboxPayload?) -> Message? {
        guard case .sms(let phone, let template, let params) = payload else { return nil }
        return (phone, template, params)
    }

    func wait(_ m: Message, row: OutboxRow, now: Int64, limits: DeliveryLimits) -> Wait? {
        limits.reserveSMS(sms, phone: m.phone, now: now).map {
            .this(until: $0, why: "its number's limit (\(sms.spec.perMinute)/min, \(sms.spec.perHour)/h, \(sms.spec.perDay)/day)")
        }
    }

    func send(_ m: Message, row: OutboxRow, now: Int64) async -> DeliveryOutcome {
        switch await sms.send(phone: m.phone, template: m.template, params: m.params, now: now) {
        case .success(let accepted):
            // The receipt is awaited only where the channel polls for it.
            return .sent(receipt: accepted.receipt, tracking: sms.spec.receiptsAwaited ? accepted.messageID : nil)
        case .failure(let e): return DeliveryOutcome(.failure(e))
        }
    }
}

/// A work app's message to one person (企业微信, 钉钉, 飞书): `in_flight` on their way at once, their starts spaced
/// to the application's `per_minute` (this instance's share). A rate limit holds back the rest of the batch; an
/// unknown user is that message's alone.
struct WorkAppSender: DeliveryChannel {
    typealias Message = (user: String, message: Data)
    let app: WorkAppChannel
    var name: String { app.name }
    var endpoint: String? { app.spec.base + "#" + app.spec.appID + (app.spec.agentID.map { "/\($0)" } ?? "") }

    func message(_ payload: OutboxPayload?) -> Message? {
        guard case .workApp(let user, let message) = payload else { return nil }
        return (user, message)
    }

    func deliver(
        _ batch: [Outgoing<Message>], clock: any WallClock, logger: Logger, limits: DeliveryLimits,
        shouldStop: @escaping @Sendable () -> Bool, answered: @escaping @Sendable (Int, DeliveryOutcome) async -> Void
    ) async {
        let app = app
        let spacing = app.spec.spacing(instances: limits.instances.withLock { $0 })
        let key = endpoint ?? name
        await InFlightWindow.run(
            count: batch.count, width: app.spec.inFlight, shouldStop: shouldStop,
            start: spacing.map { every in { limits.paceSlot(key, every: every) } },
            send: { i in
                let out = batch[i]
                switch await app.sendTracked(user: out.message.user, message: out.message.message, id: out.row.idempotencyKey, now: clock.now()) {
                // A 钉钉 task not processed when asked: its send result is asked for later (SMSReceiptService).
                case .success(let sent): return .sent(receipt: sent.receipt, tracking: sent.pendingTask)
                case .failure(let e): return DeliveryOutcome(.failure(e))
                }
            },
            answered: { i, outcome in await answered(i, outcome) })
    }
}

struct JournalSender: OneAtATime {
    var name: String { journalChannelName }

    func message(_ payload: OutboxPayload?) -> [[OutboxPayload.JournalField]]? {
        guard case .journal(let entries) = payload else { return nil }
        return entries
    }

    func send(_ m: [[OutboxPayload.JournalField]], row: OutboxRow, now: Int64) async -> DeliveryOutcome {
        DeliveryOutcome(JournalChannel.send(m))
    }
}
