import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// What a network or TLS error means, in an operator's words: no Swift or NIO type name ever reaches the journal,
/// STATUS= or a command's output. Hand-written: the libraries describe their errors for programmers.
public enum ErrorWords {
    public static func plain(_ error: any Error) -> String {
        if let e = error as? NIOConnectionError {
            if e.connectionErrors.isEmpty, e.dnsAError != nil || e.dnsAAAAError != nil {
                return "the name \(e.host) does not resolve; check the host name"
            }
            let reasons = Set(e.connectionErrors.map { plain($0.error) }).sorted().joined(separator: "; ")
            return "cannot connect to \(e.host) port \(e.port): \(reasons.isEmpty ? "no address answered" : reasons)"
        }
        if let e = error as? IOError { return systemMessage(e.errnoCode) }
        if let e = error as? ChannelError {
            switch e {
            case .connectTimeout: return "timed out connecting"
            case .eof, .outputClosed, .inputClosed, .alreadyClosed, .ioOnClosedChannel: return "the connection was closed"
            default: return "the connection failed"
            }
        }
        if let e = error as? NIOSSLError {
            switch e {
            case .handshakeFailed(let inner): return "the TLS handshake failed: " + tls(inner)
            case .uncleanShutdown: return "the server closed the TLS connection without saying goodbye"
            case .failedToLoadCertificate: return "a certificate file cannot be read"
            case .failedToLoadPrivateKey: return "a private key file cannot be read"
            case .noSuchFilesystemObject: return "a certificate file does not exist"
            default: return "TLS failed"
            }
        }
        if let e = error as? BoringSSLError { return "TLS failed: " + tls(e) }
        if let e = error as? NIOSSLExtraError {
            // "NIOSSLExtraError.failedToValidateHostname: Couldn't find x in certificate from peer" → the part after ": ".
            let text = String(describing: e)
            if let colon = text.range(of: ": ") { return "TLS failed: " + text[colon.upperBound...] }
            return "TLS failed: the certificate does not match the host name"
        }
        if let e = error as? HTTPClientError {
            switch e {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout: return "timed out"
            case .remoteConnectionClosed: return "the server closed the connection"
            case .invalidURL: return "the url is not valid"
            default: return "the HTTP request failed"
            }
        }
        return String(describing: error)
    }

    /// strerror's words, lower-cased: "connection refused".
    static func systemMessage(_ code: CInt) -> String {
        String(cString: strerror(code)).lowercased()
    }

    /// BoringSSL's reason codes (…:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED) as advice.
    static func tls(_ e: BoringSSLError) -> String {
        let text = String(describing: e)
        var reasons: [String] = []
        var rest = Substring(text)
        while let r = rest.range(of: "OPENSSL_internal:") {
            let tail = rest[r.upperBound...]
            let code = tail.prefix { $0.isUppercase || $0 == "_" || $0.isNumber }
            if !code.isEmpty { reasons.append(String(code)) }
            rest = tail
        }
        let advice: [String: String] = [
            "CERTIFICATE_VERIFY_FAILED": "the server's certificate is not trusted (a private CA? name it with ca_file)",
            "WRONG_VERSION_NUMBER": "the server does not speak TLS here (check security and the port)",
            "TLSV1_ALERT_PROTOCOL_VERSION": "the server and guanhuai share no TLS version",
            "NO_SHARED_CIPHER": "the server and guanhuai share no cipher",
        ]
        let words = reasons.map { advice[$0] ?? $0.lowercased().replacingOccurrences(of: "_", with: " ") }
        return words.isEmpty ? "the TLS library refused the connection" : Array(Set(words)).sorted().joined(separator: "; ")
    }
}
