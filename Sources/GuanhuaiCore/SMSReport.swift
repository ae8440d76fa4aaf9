/// What an SMS provider reported about one message it accepted (a poll's answer or a push).
public struct SMSReport: Sendable, Equatable {
    public var messageID: String
    public var delivered: Bool
    /// The provider's or carrier's code (DELIVERED, DELIVRD, MK:0001, UNDELIV, …).
    public var code: String
    /// When the phone got it or the carrier gave up, when the provider says.
    public var at: Int64?

    public init(messageID: String, delivered: Bool, code: String, at: Int64?) {
        self.messageID = messageID
        self.delivered = delivered
        self.code = code
        self.at = at
    }
}
