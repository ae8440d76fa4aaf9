/// A digest's outbox key, `digest:RECIPIENT:AT:CHANNEL[#PART]`: made here and taken apart here, nowhere else. The
/// same digest is the same row however often it is planned; a chat message split in parts has a key per part.
public struct DigestKey: Hashable, Sendable, CustomStringConvertible {
    public var recipient: PersonID
    /// The send instant, UTC seconds.
    public var at: Int64
    public var channel: String
    /// 1 for the whole message or its first part.
    public var part: Int

    public init(recipient: PersonID, at: Int64, channel: String, part: Int = 1) {
        self.recipient = recipient
        self.at = at
        self.channel = channel
        self.part = part
    }

    /// Nil for a key of another kind (the monthly report's) or one this version cannot read.
    public init?(_ text: String) {
        guard text.hasPrefix("digest:") else { return nil }
        var body = Substring(text.dropFirst("digest:".count))
        var part = 1
        if let hash = body.lastIndex(of: "#") {
            guard let p = Int(body[body.index(after: hash)...]), p >= 2 else { return nil }
            part = p
            body = body[..<hash]
        }
        // The recipient may hold a colon; the instant and the channel never do.
        let fields = body.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count >= 3, let at = Int64(fields[fields.count - 2]) else { return nil }
        self.init(
            recipient: fields[..<(fields.count - 2)].joined(separator: ":"), at: at, channel: String(fields[fields.count - 1]),
            part: part)
    }

    public var description: String { "digest:\(recipient):\(at):\(channel)" + (part == 1 ? "" : "#\(part)") }
}
