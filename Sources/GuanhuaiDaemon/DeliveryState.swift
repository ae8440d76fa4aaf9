import GuanhuaiDelivery
import GuanhuaiStore
import Synchronization

/// Results that could not be written to the store yet (see DispatcherService.unrecorded).
final class UnrecordedResults: Sendable {
    private let rows = Mutex<[Int64: (OutboxRow, Result<String, DeliveryError>)]>([:])

    func keep(_ row: OutboxRow, _ result: Result<String, DeliveryError>) { rows.withLock { $0[row.id] = (row, result) } }
    func remove(_ id: Int64) { _ = rows.withLock { $0.removeValue(forKey: id) } }
    func all() -> [(OutboxRow, Result<String, DeliveryError>)] { rows.withLock { $0.values.sorted { $0.0.id < $1.0.id } } }
    var isEmpty: Bool { rows.withLock { $0.isEmpty } }
}

/// Per-endpoint rate windows and per-number SMS limits, kept across reloads (an endpoint's limit does not reset
/// with the configuration). In memory: after a restart the provider's own limit answers (a temporary failure,
/// retried) until these fill again.
final class DeliveryLimits: Sendable {
    private let windows = Mutex<[String: RateWindow]>([:])
    private let numbers = Mutex<[String: SMSNumberLimit]>([:])

    /// nil: send now. Otherwise the time the endpoint takes the next message.
    func reserve(_ channel: WebhookChannel, now: Int64) -> Int64? {
        guard let limit = channel.spec.ratePerMinute else { return nil }
        return windows.withLock { windows in
            var w = windows[channel.endpoint] ?? RateWindow(limit: limit)
            if w.limit != limit { w = RateWindow(limit: limit) }
            let r = w.reserve(now: now)
            windows[channel.endpoint] = w
            return r
        }
    }

    /// nil: text the number now. Otherwise when its next message may go.
    func reserveSMS(_ channel: SMSChannel, phone: String, now: Int64) -> Int64? {
        let key = channel.name + "\u{1F}" + phone
        return numbers.withLock { numbers in
            var limit = numbers[key]
                ?? SMSNumberLimit(perMinute: channel.spec.perMinute, perHour: channel.spec.perHour, perDay: channel.spec.perDay)
            let r = limit.reserve(now: now)
            numbers[key] = limit
            return r
        }
    }
}
