import Foundation
public import GuanhuaiConfig
public import Logging
import NIOConcurrencyHelpers
public import NIOCore
public import NIOPosix
import NIOSSL

/// How to reach an SMTP server.
public struct SMTPSettings: Sendable, Equatable {
    /// How the connection is secured: the configuration's own type.
    public typealias Security = ChannelSpec.SMTPSpec.Security

    public var host: String
    public var port: Int
    public var security: Security
    public var user: String?
    public var password: String?
    /// A PEM file of CA certificates to trust instead of the system's.
    public var caFile: String?
    /// Verify the server's certificate and name. Turning this off is logged loudly at every connection.
    public var verifyCertificates: Bool
    /// Allow AUTH over a connection without TLS (off: the password would cross the network in clear).
    public var allowInsecureAuth: Bool
    /// The limit on every step: connecting, each reply.
    public var timeout: Duration
    /// The name given in EHLO.
    public var heloName: String

    public init(
        host: String, port: Int? = nil, security: Security = .starttls, user: String? = nil, password: String? = nil,
        caFile: String? = nil, verifyCertificates: Bool = true, allowInsecureAuth: Bool = false,
        timeout: Duration = .seconds(30), heloName: String? = nil
    ) {
        self.host = host
        self.port = port ?? (security == .tls ? 465 : security == .starttls ? 587 : 25)
        self.security = security
        self.user = user
        self.password = password
        self.caFile = caFile
        self.verifyCertificates = verifyCertificates
        self.allowInsecureAuth = allowInsecureAuth
        self.timeout = timeout
        self.heloName = heloName ?? (ProcessInfo.processInfo.hostName.isEmpty ? "localhost" : ProcessInfo.processInfo.hostName)
    }
}

/// An SMTP client on SwiftNIO and swift-nio-ssl (RFC 5321, 3207 STARTTLS, 4954 AUTH, 4616 PLAIN, 2920 PIPELINING).
///
/// Hand-written: no maintained Swift package sends mail over SMTP. One connection carries a whole batch.
public struct SMTPTransport: MailTransport {
    public let settings: SMTPSettings
    let group: any EventLoopGroup

    public init(settings: SMTPSettings, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.settings = settings
        self.group = group
    }

    /// Only a message the server was offered is charged: when a connection is lost, the message in flight gets the
    /// error, and the rest go on over a new connection as long as the last one delivered something (a server that
    /// closes after N messages still gets the whole batch). A connection that delivered nothing ends the batch: the
    /// rest are `notOffered` and wait with it. So do the rest once `shouldStop` says the daemon is stopping.
    public func send(
        _ batch: [MailEnvelope], logger: Logger, shouldStop: @Sendable () -> Bool,
        each: @Sendable (Int, Result<String, DeliveryError>) async -> Void
    ) async {
        var next = 0
        while next < batch.count {
            let first = next
            var stopping = false
            do {
                try await withSession(logger: logger) { session in
                    while next < batch.count {
                        if shouldStop() {
                            stopping = true
                            return
                        }
                        let result = await session.deliver(batch[next])
                        await each(next, result)
                        next += 1
                        if case .failure(let e) = result, e.message.hasPrefix(SMTPSession.connectionLost) { throw e }
                    }
                }
            } catch {
                if next == first {
                    // Nothing was offered on this connection (refused, greeting, TLS, AUTH): the first message
                    // carries the failure, the others wait for its retry.
                    await each(next, .failure(SMTPTransport.classify(error)))
                    next += 1
                    break
                }
                if next < batch.count && next > first + 1 {
                    logger.info("the SMTP server closed the connection after \(next - first) messages; the other \(batch.count - next) go over a new one")
                    continue
                }
                break
            }
            if stopping { break }
        }
        for i in next..<batch.count {
            await each(i, .failure(.notOffered("not offered: the batch ended before it (the connection failed, or the daemon is stopping)")))
        }
    }

    /// Opens a connection, greets, secures and authenticates it, runs `body`, and says QUIT.
    func withSession(logger: Logger, _ body: (SMTPSession) async throws -> Void) async throws {
        let s = settings
        if !s.verifyCertificates && s.security != .none {
            logger.warning(
                "TLS certificate verification is OFF for the SMTP server: anyone on the path can read the mail and the password",
                metadata: ["GUANHUAI_SMTP_HOST": "\(s.host)"])
        }
        // No TLS context at all for security=none: it needs no CA certificates (a minimal host may have none).
        let tls = s.security == .none ? nil : try SMTPTransport.tlsContext(s)
        let timeout = TimeAmount.nanoseconds(
            Int64(s.timeout.components.seconds) * 1_000_000_000
                + s.timeout.components.attoseconds / 1_000_000_000)
        let channel: NIOAsyncChannel<SMTPReply, ByteBuffer>
        let firstError = FirstErrorHandler()
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeout)
                .connect(host: s.host, port: s.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let ops = channel.pipeline.syncOperations
                        if s.security == .tls, let tls {
                            try ops.addHandler(NIOSSLClientHandler(context: tls, serverHostname: SMTPTransport.sni(s.host)))
                        }
                        try ops.addHandler(ByteToMessageHandler(SMTPReplyDecoder()))
                        try ops.addHandler(firstError)
                        return try NIOAsyncChannel<SMTPReply, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw SMTPTransport.classify(error)
        }
        try await channel.executeThenClose { inbound, outbound in
            let session = SMTPSession(
                channel: channel.channel, inbound: inbound.makeAsyncIterator(), outbound: outbound, settings: s,
                tls: tls, firstError: firstError, deadline: timeout)
            try await session.open()
            try await body(session)
            await session.quit()
        }
    }

    static func sni(_ host: String) -> String? {
        // SNI carries names, never addresses; verification of an address still applies to its certificate.
        host.allSatisfy({ $0.isNumber || $0 == "." }) || host.contains(":") ? nil : host
    }

    static func tlsContext(_ s: SMTPSettings) throws -> NIOSSLContext {
        var config = TLSConfiguration.makeClientConfiguration()
        config.minimumTLSVersion = .tlsv12
        if let ca = s.caFile {
            do {
                config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
            } catch {
                throw DeliveryError.permanent("the CA file \(ca) cannot be read as PEM certificates")
            }
        }
        if !s.verifyCertificates { config.certificateVerification = .none }
        do {
            return try NIOSSLContext(configuration: config)
        } catch {
            let noStore = s.caFile == nil && !FileManager.default.fileExists(atPath: "/etc/ssl/certs/ca-certificates.crt")
            throw DeliveryError.permanent(
                "TLS cannot be set up: \(ErrorWords.plain(error))"
                    + (noStore ? " — this host has no CA certificates: install ca-certificates, or name the server's CA with ca_file" : ""))
        }
    }

    /// Connection, TLS and timeout errors are temporary: the retry policy tries again later.
    static func classify(_ error: any Error) -> DeliveryError {
        if let e = error as? DeliveryError { return e }
        if error is NIOConnectionError || error is IOError || error is ChannelError {
            return .temporary("cannot connect to the SMTP server: \(ErrorWords.plain(error))")
        }
        return .temporary(ErrorWords.plain(error))
    }
}
