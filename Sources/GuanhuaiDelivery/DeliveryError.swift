/// Why a message was not delivered, classified for the retry policy: a temporary failure is retried with backoff,
/// a permanent one is marked failed and reported.
public struct DeliveryError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case temporary
        case permanent
    }

    public var kind: Kind
    public var message: String

    public static func temporary(_ m: String) -> DeliveryError { DeliveryError(kind: .temporary, message: m) }
    public static func permanent(_ m: String) -> DeliveryError { DeliveryError(kind: .permanent, message: m) }

    public var description: String { "\(kind.rawValue) failure: \(message)" }
}
