public import Foundation
public import GuanhuaiCalendar
import GuanhuaiCore

/// An address with an optional display name.
public struct Mailbox: Sendable, Equatable {
    public var name: String?
    public var address: String

    public init(name: String? = nil, address: String) {
        self.name = name
        self.address = address
    }

    /// `名字 <a@b>` as a header value: the name as RFC 2047 encoded words when it is not plain ASCII.
    var headerValue: String {
        guard let name, !name.isEmpty else { return "<\(address)>" }
        return MailMessage.encodedPhrase(name) + " <\(address)>"
    }
}

/// A file sent with a message (the monthly report's workbook).
public struct MailAttachment: Sendable, Equatable {
    public var filename: String
    public var contentType: String
    public var data: Data

    public init(filename: String, contentType: String, data: Data) {
        self.filename = filename
        self.contentType = contentType
        self.data = data
    }
}

/// A message to RFC 5322 and MIME (RFC 2045–2047, attachments' names to RFC 2231). Hand-written: no maintained
/// Swift package builds MIME mail.
public struct MailMessage: Sendable {
    public var from: Mailbox
    public var to: [Mailbox]
    public var subject: String
    /// When it is sent (UTC seconds); the Date header shows it in `zone`.
    public var date: Int64
    public var zone: ZoneRules
    /// The outbox idempotency key: the Message-ID is derived from it, so a resent reminder is the same message.
    public var idempotencyKey: String
    public var text: String
    public var html: String?
    public var attachments: [MailAttachment]

    public init(
        from: Mailbox, to: [Mailbox], subject: String, date: Int64, zone: ZoneRules, idempotencyKey: String,
        text: String, html: String? = nil, attachments: [MailAttachment] = []
    ) {
        self.from = from
        self.to = to
        self.subject = subject
        self.date = date
        self.zone = zone
        self.idempotencyKey = idempotencyKey
        self.text = text
        self.html = html
        self.attachments = attachments
    }

    public var messageID: String {
        let domain = from.address.split(separator: "@").last.map(String.init) ?? "guanhuai.invalid"
        // dot-atom-text: keep letters, digits and - _ ; everything else becomes =XX.
        var local = "guanhuai."
        for b in idempotencyKey.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                local.unicodeScalars.append(UnicodeScalar(b))
            case UInt8(ascii: ":"): local += "."
            default: local += "=" + String(format: "%02X", b)
            }
        }
        return "<\(local)@\(domain)>"
    }

    public func render() -> [UInt8] {
        var h: [String] = []
        h.append(MailMessage.fold("From: " + from.headerValue))
        h.append(MailMessage.fold("To: " + to.map(\.headerValue).joined(separator: ", ")))
        h.append("Subject: " + MailMessage.encodedText(subject, offset: 9))
        h.append("Date: " + MailMessage.rfc5322Date(date, zone: zone))
        h.append("Message-ID: " + messageID)
        h.append("MIME-Version: 1.0")
        h.append("Auto-Submitted: auto-generated")
        h.append("X-Auto-Response-Suppress: All")
        var body: [String] = []
        let boundary = "=_guanhuai_" + String(UInt64(bitPattern: Int64(idempotencyKey.utf8.reduce(5381) { ($0 &* 33) &+ Int($1) })), radix: 36)
        // The readable part: plain text alone, or text and HTML as alternatives.
        var content: [String] = []
        let alternative = attachments.isEmpty ? boundary : boundary + "a"
        if let html {
            content.append("Content-Type: multipart/alternative; boundary=\"\(alternative)\"")
            content.append("")
            content.append("This is a MIME message in Chinese; open it in a mail program that reads MIME.")
            content.append("--" + alternative)
            content += MailMessage.part(text, type: "text/plain")
            content.append("--" + alternative)
            content += MailMessage.part(html, type: "text/html")
            content.append("--" + alternative + "--")
        } else {
            content += MailMessage.part(text, type: "text/plain")
        }
        if attachments.isEmpty {
            // The headers of the readable part are the message's own.
            let blank = content.firstIndex(of: "") ?? content.count
            h += content[..<blank]
            body += content[(blank + 1)...]
        } else {
            h.append("Content-Type: multipart/mixed; boundary=\"\(boundary)m\"")
            body.append("This is a MIME message in Chinese; open it in a mail program that reads MIME.")
            body.append("--" + boundary + "m")
            body += content
            for a in attachments {
                body.append("--" + boundary + "m")
                body += MailMessage.attachmentPart(a)
            }
            body.append("--" + boundary + "m--")
        }
        return Array((h.joined(separator: "\r\n") + "\r\n\r\n" + body.joined(separator: "\r\n") + "\r\n").utf8)
    }

    /// An attachment: its name as an RFC 2231 parameter (`filename*=UTF-8''…`), with an RFC 2047 `name=` beside it
    /// for the mail programs that read only that.
    static func attachmentPart(_ a: MailAttachment) -> [String] {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        // Percent-encode byte by byte: CharacterSet.alphanumerics would let Chinese letters through.
        let encoded = a.filename.utf8.map { b -> String in
            b < 0x80 && allowed.contains(UnicodeScalar(b)) ? String(UnicodeScalar(b)) : String(format: "%%%02X", b)
        }.joined()
        let plain = isPlainASCII(a.filename) && !a.filename.contains("\"")
        let name = plain ? "\"\(a.filename)\"" : "\"" + encodedText(a.filename).replacingOccurrences(of: "\r\n ", with: " ") + "\""
        return [
            "Content-Type: \(a.contentType); name=\(name)", "Content-Transfer-Encoding: base64",
            "Content-Disposition: attachment; filename*=UTF-8''\(encoded)", "",
        ]
            + base64Lines(a.data)
    }

    static func part(_ content: String, type: String) -> [String] {
        ["Content-Type: \(type); charset=UTF-8", "Content-Transfer-Encoding: base64", ""] + base64Lines(content)
    }

    /// Base64 in lines of 76 characters (RFC 2045 §6.8), the text's line ends made CRLF first. Works on bytes:
    /// digests are large and String searching through Foundation dominated rendering.
    static func base64Lines(_ text: String) -> [String] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 64)
        var previous: UInt8 = 0
        for b in text.utf8 {
            if b == 10 && previous != 13 { bytes.append(13) }
            bytes.append(b)
            previous = b
        }
        return base64Lines(Data(bytes))
    }

    /// Bytes as base64 in lines of 76 characters.
    static func base64Lines(_ data: Data) -> [String] {
        let encoded = Array(data.base64EncodedData())
        var lines: [String] = []
        lines.reserveCapacity(encoded.count / 76 + 1)
        var i = 0
        while i < encoded.count {
            let j = min(i + 76, encoded.count)
            lines.append(String(decoding: encoded[i..<j], as: UTF8.self))
            i = j
        }
        return lines
    }

    static func isPlainASCII(_ s: String) -> Bool {
        s.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F } && !s.contains("=?")
    }

    /// Unstructured text (Subject): as is when plain ASCII, else RFC 2047 "B" encoded words of at most 75
    /// characters, each holding whole UTF-8 characters, folded onto continuation lines.
    static func encodedText(_ s: String, offset: Int = 0) -> String {
        if isPlainASCII(s) { return fold(String(repeating: " ", count: offset) + s).dropFirst(offset).description }
        var words: [String] = []
        var chunk: [UInt8] = []
        for ch in s {
            let bytes = Array(String(ch).utf8)
            // 45 bytes → 60 base64 characters → a 72-character word; the first shares its line with the header name.
            let budget = words.isEmpty && offset > 0 ? 45 - (offset + 2) / 4 * 3 : 45
            if chunk.count + bytes.count > budget {
                words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words.joined(separator: "\r\n ")
    }

    /// A display name: a quoted string when ASCII, else encoded words.
    static func encodedPhrase(_ s: String) -> String {
        if isPlainASCII(s) {
            let atext = s.allSatisfy { $0.isLetter || $0.isNumber || " !#$%&'*+-/=?^_`{|}~".contains($0) }
            return atext ? s : "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        return encodedText(s)
    }

    /// Folds a header at spaces so that no line passes 78 characters where a space allows it (never past 998).
    static func fold(_ header: String) -> String {
        guard header.utf8.count > 78 else { return header }
        var lines: [String] = []
        var current = ""
        for word in header.split(separator: " ", omittingEmptySubsequences: false) {
            if !current.isEmpty && current.utf8.count + 1 + word.utf8.count > 78 {
                lines.append(current)
                current = " " + word
            } else {
                current += (current.isEmpty ? "" : " ") + word
            }
        }
        lines.append(current)
        return lines.joined(separator: "\r\n")
    }

    /// `Sun, 22 Nov 2026 08:30:00 +0800` in the zone.
    static func rfc5322Date(_ utc: Int64, zone: ZoneRules) -> String {
        let offset = zone.offset(atUTC: utc)
        let local = utc + Int64(offset)
        let (day, sod) = Timestamp.split(local)
        let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let two = Timestamp.two
        let sign = offset < 0 ? "-" : "+"
        return "\(days[day.weekday - 1]), \(day.day) \(months[day.month - 1]) \(day.year) "
            + "\(two(sod / 3600)):\(two(sod / 60 % 60)):\(two(sod % 60)) \(sign)\(two(abs(offset) / 3600))\(two(abs(offset) / 60 % 60))"
    }
}
