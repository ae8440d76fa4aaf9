public import Logging

/// One message as the transport sees it: the envelope and the finished RFC 5322 bytes.
public struct MailEnvelope: Sendable {
    public var from: String
    public var recipients: [String]
    public var data: [UInt8]

    public init(from: String, recipients: [String], data: [UInt8]) {
        self.from = from
        self.recipients = recipients
        self.data = data
    }
}

/// Anything that takes a batch of messages and says, for each, whether it was delivered.
public protocol MailTransport: Sendable {
    /// Sends the batch, reporting each message's result as soon as it is known (so it can be recorded before the
    /// next is sent): the server's final reply, or why it failed. Once `shouldStop` says so, the rest are reported
    /// `notOffered` without being sent.
    func send(
        _ batch: [MailEnvelope], logger: Logger, shouldStop: @Sendable () -> Bool,
        each: @Sendable (Int, Result<String, DeliveryError>) async -> Void
    ) async
}

extension MailTransport {
    public func send(
        _ batch: [MailEnvelope], logger: Logger, each: @Sendable (Int, Result<String, DeliveryError>) async -> Void
    ) async {
        await send(batch, logger: logger, shouldStop: { false }, each: each)
    }

    /// One result per envelope, in order.
    public func send(_ batch: [MailEnvelope], logger: Logger) async -> [Result<String, DeliveryError>] {
        let collected = ResultCollector(count: batch.count)
        await send(batch, logger: logger) { i, r in await collected.set(i, r) }
        return await collected.results
    }
}

actor ResultCollector {
    var results: [Result<String, DeliveryError>]
    init(count: Int) { results = Array(repeating: .failure(.temporary("not attempted")), count: count) }
    func set(_ i: Int, _ r: Result<String, DeliveryError>) { results[i] = r }
}
