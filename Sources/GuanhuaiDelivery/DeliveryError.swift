/// Why a message was not delivered, classified for the retry policy: a temporary failure is retried with backoff,
/// a permanent one is marked failed and reported.
public struct DeliveryError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case temporary
        case permanent
        /// The message was never offered to the server (the connection was lost before it, or the daemon is
        /// stopping): it is not charged an attempt, and waits with the batch it belonged to.
        case notOffered = "not offered"
    }

    public var kind: Kind
    public var message: String
    /// The endpoint answered 410 Gone: it asks never to be called again, so it is disabled until an operator acts.
    public var endpointGone = false
    /// The provider's limit for this one recipient (an SMS number's per-minute, hour or day quota): this message
    /// waits, the others to other recipients go on. Set from the provider's own code, never read from the text.
    public var recipientThrottled = false

    public static func temporary(_ m: String) -> DeliveryError { DeliveryError(kind: .temporary, message: m) }
    public static func permanent(_ m: String) -> DeliveryError { DeliveryError(kind: .permanent, message: m) }
    public static func notOffered(_ m: String) -> DeliveryError { DeliveryError(kind: .notOffered, message: m) }

    public static func throttled(_ m: String) -> DeliveryError {
        DeliveryError(kind: .temporary, message: m, recipientThrottled: true)
    }

    public static func gone(_ m: String) -> DeliveryError {
        DeliveryError(kind: .permanent, message: m, endpointGone: true)
    }

    public var description: String { "\(kind.rawValue) failure: \(message)" }
}
