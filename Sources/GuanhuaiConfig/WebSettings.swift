import Foundation
import GuanhuaiCore
import GuanhuaiSystem
import TOMLKit

/// `[web]`: the pages people answer reminders on. Without the table nothing listens and mail carries no links.
public struct WebSettings: Sendable, Equatable {
    /// Where guanhuaid listens (loopback by default; a reverse proxy faces the world).
    public var host: String
    public var port: Int
    /// What links are built from: the address people's phones reach, through the proxy.
    public var publicURL: String
    /// The HMAC key for links: a systemd credential. Changing it revokes every link.
    public var key: SecretRef
    /// An action link works until this many days after the item's due date.
    public var actionLinkDays = 30
    /// An agenda (and calendar feed) link works until this many days after it was sent.
    public var agendaLinkDays = 45
    /// Whom a person whose link no longer works should ask, in the words they read.
    public var contact = "本单位党组织或党委组织部"
    /// Take the client address from X-Forwarded-For when the request comes from loopback (a local reverse proxy).
    public var trustProxy = false

    static let keys: Set<String> = [
        "listen", "public_url", "web_key_credential", "action_link_days", "agenda_link_days", "contact", "trust_proxy",
    ]

    static func parse(_ t: TOMLTable, _ r: TOMLReader) throws(InputError) -> WebSettings {
        let p = TOMLReader.Place(header: "web", index: 0, name: "[web]")
        try r.checkKeys(t, allowed: keys, p)
        let (host, port) = try listenAddress(t, r, p, default: "127.0.0.1:8470")
        guard let url = try r.string(t, "public_url", p, required: true), let parsed = URL(string: url),
            let scheme = parsed.scheme, ["https", "http"].contains(scheme), parsed.host != nil, parsed.query == nil
        else {
            throw r.error(p, "public_url", "public_url must be the https:// address people reach, e.g. \"https://guanhuai.example.edu.cn\"")
        }
        // The pages link to themselves from the root (/static, /i, /me): behind a proxy that serves them under a
        // path, every one of those links would break. Refused here rather than broken there.
        guard parsed.path.isEmpty || parsed.path == "/" else {
            throw r.error(
                p, "public_url",
                L(
                    "public_url \"\(url)\" has a path (\(parsed.path)); the pages must be served at the root of their own host name, e.g. \"https://guanhuai.example.edu.cn\" (a proxy location \"/\" on a host of their own)",
                    "public_url「\(url)」带有路径（\(parsed.path)）；页面须位于独立主机名的根路径，例如「https://guanhuai.example.edu.cn」（反向代理为其单独设一个主机名，location 为 \"/\"）"))
        }
        guard let credential = try r.string(t, "web_key_credential", p, required: true), !credential.isEmpty,
            !credential.contains("/")
        else { throw r.error(p, "web_key_credential", "name the systemd credential holding the link key, e.g. \"web-key\"") }
        var w = WebSettings(
            host: host, port: port, publicURL: url.hasSuffix("/") ? String(url.dropLast()) : url,
            key: .credential(credential))
        w.actionLinkDays = try r.int(t, "action_link_days", p, range: 1...366) ?? w.actionLinkDays
        w.agendaLinkDays = try r.int(t, "agenda_link_days", p, range: 1...366) ?? w.agendaLinkDays
        w.contact = try r.string(t, "contact", p) ?? w.contact
        w.trustProxy = try r.bool(t, "trust_proxy", p) ?? false
        return w
    }

    /// `listen = "HOST:PORT"` (an IPv6 host in brackets).
    static func listenAddress(_ t: TOMLTable, _ r: TOMLReader, _ p: TOMLReader.Place, default fallback: String)
        throws(InputError) -> (host: String, port: Int)
    {
        let listen = try r.string(t, "listen", p) ?? fallback
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port), colon > listen.startIndex
        else { throw r.error(p, "listen", "\"\(listen)\" is not HOST:PORT; write e.g. \"\(fallback)\"") }
        var host = String(listen[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    /// The key's bytes: at least 32 of them, or the operator is told how to make one.
    public func keyBytes(environment: [String: String]) throws(InputError) -> [UInt8] {
        let text = try key.read(environment: environment)
        let bytes = Array(text.utf8)
        guard bytes.count >= 32 else {
            throw InputError(
                file: "credential web-key",
                message:
                    "the web link key is shorter than 32 bytes; make one with: openssl rand -base64 48 > /etc/credstore/guanhuaid.web-key")
        }
        return bytes
    }
}
