import NIOConcurrencyHelpers
import NIOCore

/// One SMTP reply: a three-digit code and its text lines (RFC 5321 §4.2). Multi-line replies arrive as
/// "250-first", "250-second", "250 last" and become one reply.
public struct SMTPReply: Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var lines: [String]

    public var isPositive: Bool { (200..<400).contains(code) }
    public var isTransient: Bool { (400..<500).contains(code) }
    public var description: String { lines.map { "\(code) \($0)" }.joined(separator: " / ") }

    /// The error a negative reply means: 4xx temporary, 5xx permanent.
    public func failure(_ during: String) -> DeliveryError {
        let text = "\(during): the server answered \(code) \(lines.joined(separator: " "))"
        return isTransient ? .temporary(text) : .permanent(text)
    }
}

/// Decodes the server's byte stream into replies. Hand-written because no maintained Swift package speaks SMTP;
/// bounded so that a hostile server cannot make it buffer without end.
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply

    static let maxLineLength = 4096
    static let maxLines = 256
    private var pending: [String] = []
    private var pendingCode: Int?

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > Self.maxLineLength { throw DeliveryError.permanent("the server sent a line longer than \(Self.maxLineLength) bytes") }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex
        var line = buffer.readString(length: length) ?? ""
        buffer.moveReaderIndex(forwardBy: 1)
        if line.hasSuffix("\r") { line.removeLast() }
        let bytes = Array(line.utf8)
        guard bytes.count >= 3, let code = Int(String(decoding: bytes[0..<3], as: UTF8.self)), (200...599).contains(code)
        else {
            throw DeliveryError.temporary("the server sent something that is not an SMTP reply: \(line.prefix(80))")
        }
        if let pendingCode, pendingCode != code {
            throw DeliveryError.temporary("the server changed the code within one multi-line reply")
        }
        let separator = bytes.count > 3 ? bytes[3] : UInt8(ascii: " ")
        pending.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
        if separator == UInt8(ascii: "-") {
            pendingCode = code
            if pending.count > Self.maxLines { throw DeliveryError.temporary("the server's reply has too many lines") }
            return .continue
        }
        context.fireChannelRead(wrapInboundOut(SMTPReply(code: code, lines: pending)))
        pending = []
        pendingCode = nil
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        while try decode(context: context, buffer: &buffer) == .continue, buffer.readableBytes > 0 {}
        return .needMoreData
    }
}

/// Remembers the first error the pipeline saw (a TLS handshake failure, a timeout), so that a read or write that
/// then finds the channel closed can report the cause rather than just "closed".
final class FirstErrorHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = SMTPReply
    typealias InboundOut = SMTPReply
    let first = NIOLockedValueBox<(any Error)?>(nil)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.fireChannelRead(data) }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        first.withLockedValue { if $0 == nil { $0 = error } }
        context.fireErrorCaught(error)
    }
}
