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
    /// The endpoint said when to come back (an HTTP `Retry-After` in seconds); the retry waits at least this long.
    public var retryAfter: Int64?

    public static func temporary(_ m: String, retryAfter: Int64? = nil) -> DeliveryError {
        DeliveryError(kind: .temporary, message: m, retryAfter: retryAfter)
    }
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

/// What became of one message: the one answer every channel gives the dispatcher, and what the retry policy decides
/// from. Each channel's transport classifies its own failures (an SMTP reply, an HTTP status, a provider's code) into
/// a `DeliveryError`; this is that classification as the dispatcher acts on it.
public enum DeliveryOutcome: Sendable, Equatable {
    /// Accepted; the receipt is the server's own words (an SMTP reply, an HTTP status, a provider's message id).
    /// `tracking`: an SMS provider's id for the message, or the 钉钉 task not processed yet, whose report is then
    /// awaited.
    case sent(receipt: String, tracking: String? = nil)
    /// Try again later, not before `retryAfter` seconds when the endpoint said so.
    case temporary(String, retryAfter: Int64? = nil)
    /// The provider's limit for this one recipient: this message waits, the others go on.
    case throttled(String)
    /// Will never succeed as it is (a bad address, a rejected template).
    case permanent(String)
    /// The endpoint asks never to be called again (HTTP 410): the channel is disabled until an operator acts.
    case endpointGone(String)
    /// Never offered (the connection was lost before it, or the daemon is stopping): no attempt is charged.
    case notOffered(String)

    public init(_ result: Result<String, DeliveryError>) {
        switch result {
        case .success(let receipt): self = .sent(receipt: receipt)
        case .failure(let e) where e.endpointGone: self = .endpointGone(e.message)
        case .failure(let e) where e.recipientThrottled: self = .throttled(e.message)
        case .failure(let e):
            switch e.kind {
            case .temporary: self = .temporary(e.message, retryAfter: e.retryAfter)
            case .permanent: self = .permanent(e.message)
            case .notOffered: self = .notOffered(e.message)
            }
        }
    }
}
