import Foundation
import GuanhuaiConfig
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// The conversation on one connection. Not shared across tasks: one batch at a time.
final class SMTPSession {
    static let connectionLost = "connection lost"

    let channel: any Channel
    var inbound: NIOAsyncChannelInboundStream<SMTPReply>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let settings: SMTPSettings
    let tls: NIOSSLContext?
    var capabilities: [String: String] = [:]
    var secured: Bool
    let firstError: FirstErrorHandler
    /// How long one step (a write, one whole reply) may take; bytes that trickle in do not extend it.
    let deadline: TimeAmount
    /// The step that ran out of time, once one has: the connection is closed then.
    let timedOut = NIOLockedValueBox<String?>(nil)

    init(
        channel: any Channel, inbound: NIOAsyncChannelInboundStream<SMTPReply>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, settings: SMTPSettings, tls: NIOSSLContext?,
        firstError: FirstErrorHandler, deadline: TimeAmount
    ) {
        self.firstError = firstError
        self.deadline = deadline
        self.channel = channel
        self.inbound = inbound
        self.outbound = outbound
        self.settings = settings
        self.tls = tls
        secured = settings.security == .tls
    }

    /// The error behind a closed connection, when the pipeline saw one (TLS, timeout), classified.
    func cause(_ fallback: DeliveryError) -> DeliveryError {
        if let step = timedOut.withLockedValue({ $0 }) {
            return .temporary(
                "\(SMTPSession.connectionLost): the server did not answer in time: no complete reply within "
                    + "\(settings.timeout.components.seconds) s (\(step))")
        }
        guard let e = firstError.first.withLockedValue({ $0 }) else { return fallback }
        let c = SMTPTransport.classify(e)
        return DeliveryError(kind: c.kind, message: "\(SMTPSession.connectionLost): \(c.message)")
    }

    /// Runs one step under the deadline: when it passes, the connection is closed, which ends the step, and
    /// `cause` says which step it was. (A deadline, not an idle timeout: a reply sent a byte at a time must not hold
    /// the batch, or a stopping daemon, for ever.)
    func withDeadline<T>(_ step: String, _ body: () async throws -> T) async rethrows -> T {
        let (channel, box) = (channel, timedOut)
        let timer = channel.eventLoop.scheduleTask(in: deadline) {
            box.withLockedValue { $0 = $0 ?? step }
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        return try await body()
    }

    func read(_ during: String) async throws -> SMTPReply {
        do {
            guard let reply = try await withDeadline(during, { try await inbound.next() }) else {
                throw cause(.temporary("\(SMTPSession.connectionLost) \(during)"))
            }
            return reply
        } catch let e as DeliveryError {
            throw e
        } catch {
            throw SMTPTransport.classify(error)
        }
    }

    func write(_ line: String) async throws { try await send(ByteBuffer(string: line + "\r\n"), "sending a command") }

    func send(_ buffer: ByteBuffer, _ step: String) async throws {
        do {
            try await withDeadline(step) { try await outbound.write(buffer) }
        } catch {
            throw cause(.temporary("\(SMTPSession.connectionLost) while \(step): \(error)"))
        }
    }

    func command(_ line: String, _ during: String, expect: Set<Int>) async throws -> SMTPReply {
        try await write(line)
        let reply = try await read(during)
        guard expect.contains(reply.code) else { throw reply.failure(during) }
        return reply
    }

    func open() async throws {
        let greeting = try await read("waiting for the greeting")
        guard greeting.code == 220 else { throw greeting.failure("greeting") }
        try await ehlo()
        if settings.security == .starttls, let tls {
            guard capabilities["STARTTLS"] != nil else {
                throw DeliveryError.permanent(
                    "the server does not offer STARTTLS; use security=tls (port 465) or, on a trusted network only, security=none")
            }
            _ = try await command("STARTTLS", "STARTTLS", expect: [220])
            do {
                // The handler is made and added on the channel's event loop: NIO handlers are not Sendable.
                let (channel, tls, name) = (channel, tls, SMTPTransport.sni(settings.host))
                try await channel.eventLoop.submit {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: tls, serverHostname: name), position: .first)
                }.get()
            } catch {
                throw SMTPTransport.classify(error)
            }
            secured = true
            try await ehlo()  // RFC 3207: forget what was learnt before TLS
        }
        if let user = settings.user, let password = settings.password {
            try await authenticate(user: user, password: password)
        }
    }

    func ehlo() async throws {
        try await write("EHLO \(settings.heloName)")
        let reply = try await read("EHLO")
        guard reply.code == 250 else {
            if reply.isTransient { throw reply.failure("EHLO") }
            // A server too old for ESMTP: HELO, and no extensions.
            _ = try await command("HELO \(settings.heloName)", "HELO", expect: [250])
            capabilities = [:]
            return
        }
        capabilities = [:]
        for line in reply.lines.dropFirst() {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard let key = parts.first?.uppercased() else { continue }
            capabilities[key] = parts.count > 1 ? parts[1] : ""
        }
    }

    func authenticate(user: String, password: String) async throws {
        guard secured || settings.allowInsecureAuth else {
            throw DeliveryError.permanent(
                "refusing to send the password over a connection without TLS; use security=starttls or tls (or allow_insecure_auth on a trusted network)")
        }
        let mechanisms = Set((capabilities["AUTH"] ?? "").uppercased().split(separator: " ").map(String.init))
        if mechanisms.contains("PLAIN") {
            let token = Data(([0] + Array(user.utf8) + [0] + Array(password.utf8))).base64EncodedString()
            let reply = try await command("AUTH PLAIN \(token)", "AUTH PLAIN", expect: [235, 535, 454, 534, 538])
            guard reply.code == 235 else { throw reply.failure("authentication") }
        } else if mechanisms.contains("LOGIN") {
            _ = try await command("AUTH LOGIN", "AUTH LOGIN", expect: [334])
            _ = try await command(Data(user.utf8).base64EncodedString(), "AUTH LOGIN user", expect: [334])
            let reply = try await command(
                Data(password.utf8).base64EncodedString(), "AUTH LOGIN password",
                expect: [235, 535, 454, 534])
            guard reply.code == 235 else { throw reply.failure("authentication") }
        } else {
            throw DeliveryError.permanent(
                "the server offers no AUTH PLAIN or LOGIN\(secured ? "" : " (servers often offer AUTH only after STARTTLS)")")
        }
    }

    /// One message: MAIL, RCPT…, DATA. A refusal affects only this message: RSET and go on.
    func deliver(_ envelope: MailEnvelope) async -> Result<String, DeliveryError> {
        do {
            let pipelining = capabilities["PIPELINING"] != nil
            let mail = "MAIL FROM:<\(envelope.from)>"
            let rcpts = envelope.recipients.map { "RCPT TO:<\($0)>" }
            var replies: [SMTPReply] = []
            if pipelining {
                // RFC 2920: MAIL, every RCPT and DATA in one write, then the replies in order.
                let all = ([mail] + rcpts + ["DATA"]).map { $0 + "\r\n" }.joined()
                try await send(ByteBuffer(string: all), "sending the envelope")
                for _ in 0..<(rcpts.count + 2) { replies.append(try await read("the envelope")) }
            } else {
                replies.append(try await command(mail, "MAIL FROM", expect: Set(200...599)))
                if replies[0].code == 250 {
                    for r in rcpts {
                        replies.append(try await command(r, "RCPT TO", expect: Set(200...599)))
                    }
                    if replies.dropFirst().contains(where: { $0.code == 250 || $0.code == 251 }) {
                        replies.append(try await command("DATA", "DATA", expect: Set(200...599)))
                    }
                }
            }
            if replies[0].code != 250 {
                try await reset(afterData: replies.last?.code == 354)
                return .failure(replies[0].failure("MAIL FROM"))
            }
            let rcptReplies = replies.dropFirst().prefix(rcpts.count)
            if let refused = rcptReplies.first(where: { $0.code != 250 && $0.code != 251 }) {
                // All or nothing per message: a digest to a refused address is a failure to report.
                try await reset(afterData: replies.count == rcpts.count + 2 && replies.last?.code == 354)
                return .failure(refused.failure("RCPT TO"))
            }
            guard let data = replies.count == rcpts.count + 2 ? replies.last : nil, data.code == 354 else {
                try await reset(afterData: false)
                return .failure((replies.last ?? replies[0]).failure("DATA"))
            }
            var buffer = ByteBuffer()
            buffer.writeBytes(SMTPSession.dotStuffed(envelope.data))
            buffer.writeString(".\r\n")
            try await send(buffer, "sending the message")
            let final = try await read("the end of the message")
            guard final.code == 250 else { return .failure(final.failure("the end of the message")) }
            return .success(final.description)
        } catch let e as DeliveryError {
            // Any error here broke the conversation (a reply never came, the connection closed): end the batch.
            return .failure(
                e.message.hasPrefix(SMTPSession.connectionLost)
                    ? e : DeliveryError(kind: e.kind, message: "\(SMTPSession.connectionLost): \(e.message)"))
        } catch {
            return .failure(SMTPTransport.classify(error))
        }
    }

    /// After a refused envelope whose DATA was nevertheless accepted (pipelining), end that empty message first.
    func reset(afterData: Bool) async throws {
        if afterData {
            try await write(".")
            _ = try await read("abandoning the message")
        }
        _ = try await command("RSET", "RSET", expect: [250])
    }

    func quit() async {
        try? await write("QUIT")
        _ = try? await read("QUIT")
    }

    /// CRLF line ends, and a leading "." doubled (RFC 5321 §4.5.2); ends with CRLF. Written here because NIO has no
    /// SMTP. A message that needs neither (ours: CRLF, no line starting with ".") is returned as it is, found by
    /// `memchr` over its line ends instead of a loop over every byte (8 % of guanhuaid's CPU while it sent).
    static func dotStuffed(_ data: [UInt8]) -> [UInt8] {
        if needsNoStuffing(data) {
            let n = data.count
            return n >= 2 && data[n - 2] == 13 && data[n - 1] == 10 ? data : data + [13, 10]
        }
        return stuffedByteByByte(data)
    }

    /// The transformation itself, a byte at a time.
    static func stuffedByteByByte(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count + 64)
        var atLineStart = true
        var previous: UInt8 = 0
        for b in data {
            if b == UInt8(ascii: "\n") && previous != UInt8(ascii: "\r") { out.append(UInt8(ascii: "\r")) }
            if atLineStart && b == UInt8(ascii: ".") { out.append(UInt8(ascii: ".")) }
            out.append(b)
            atLineStart = b == UInt8(ascii: "\n")
            previous = b
        }
        if !(out.suffix(2) == [13, 10]) { out += [13, 10] }
        return out
    }

    /// True when every line ends in CRLF and none starts with ".".
    static func needsNoStuffing(_ data: [UInt8]) -> Bool {
        data.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress, p.count > 0 else { return true }
            if base[0] == UInt8(ascii: ".") { return false }
            var from = 0
            while from < p.count {
                guard let hit = memchr(base + from, 10, p.count - from) else { return true }
                let at = base.distance(to: UnsafePointer(hit.assumingMemoryBound(to: UInt8.self)))
                if at == 0 || base[at - 1] != 13 { return false }
                if at + 1 < p.count && base[at + 1] == UInt8(ascii: ".") { return false }
                from = at + 1
            }
            return true
        }
    }
}
