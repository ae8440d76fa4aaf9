import Foundation
import TOMLKit

/// Where a secret comes from. The configuration names it; it never holds it.
public enum SecretRef: Sendable, Equatable {
    /// A systemd credential: `$CREDENTIALS_DIRECTORY/<id>` (LoadCredential=id:/etc/credstore/…).
    case credential(String)
    /// A file (for `guanhuai send-test --via URL`, run by hand).
    case file(String)
    /// Given in a `--via` URL itself (a 企业微信 key, a 钉钉 access token), typed by the operator at a shell.
    case value(String)

    /// Where the documented units keep credential `id` (LoadCredential=id:/etc/credstore/guanhuaid.id).
    public static func credstore(_ id: String) -> String { "/etc/credstore/guanhuaid.\(id)" }

    /// Reads the secret; a trailing newline is not part of it.
    public func read(environment: [String: String]) throws(InputError) -> String {
        let path: String
        switch self {
        case .value(let v): return v
        case .credential(let id):
            if let dir = environment["CREDENTIALS_DIRECTORY"], !dir.isEmpty {
                path = dir + "/" + id
            } else if FileManager.default.isReadableFile(atPath: Self.credstore(id)) {
                // Outside the service (an operator's `guanhuai check` or `send-test` as root): where the unit's
                // LoadCredential= takes it from, by the convention the documentation gives.
                path = Self.credstore(id)
            } else {
                throw InputError(
                    file: "credential \(id)",
                    message:
                        "$CREDENTIALS_DIRECTORY is not set and \(Self.credstore(id)) cannot be read: run under systemd with LoadCredential=\(id):\(Self.credstore(id)), run this as root, or set $CREDENTIALS_DIRECTORY to a directory holding a file named \(id)"
                )
            }
        case .file(let p): path = p
        }
        let text: String
        do { text = try TextFile.read(path).text } catch {
            throw InputError(file: path, message: "the secret cannot be read: \(error.message)")
        }
        var s = Substring(text)
        while s.last == "\n" { s.removeLast() }
        return String(s)
    }
}

/// A configured channel, from a `[channels.NAME]` table or a URL: both end here, then in the same code.
public enum ChannelSpec: Sendable, Equatable {
    case smtp(SMTPSpec)
    case sendmail(path: String, from: String, fromName: String?)
    /// A signed JSON webhook or a group-chat robot (企业微信, 钉钉, 飞书).
    case webhook(WebhookSpec)
    /// The systemd journal: one entry per reminded item.
    case journal
    /// SMS through 阿里云 or 腾讯云.
    case sms(SMSSpec)
    /// A work app's message to one person (企业微信 应用消息), with that person's links.
    case workApp(WorkAppSpec)

    public struct SMTPSpec: Sendable, Equatable {
        /// How the connection is secured.
        public enum Security: String, Sendable, CaseIterable {
            /// TLS from the first byte (port 465).
            case tls
            /// Plain connection upgraded with STARTTLS before anything else (port 587).
            case starttls
            /// No TLS: only for a relay on this host or a trusted network.
            case none
        }

        public var host: String
        public var port: Int?
        public var security: Security
        public var user: String?
        public var password: SecretRef?
        public var caFile: String?
        public var verifyCertificates: Bool
        public var allowInsecureAuth: Bool
        public var timeoutSeconds: Int
        public var from: String
        public var fromName: String?
    }

    public var kind: String {
        switch self {
        case .smtp: "smtp"
        case .sendmail: "sendmail"
        case .webhook(let w): w.kind.rawValue
        case .journal: "journal"
        case .sms: "sms"
        case .workApp(let a): a.app.rawValue
        }
    }

    /// Whether it reaches people's mailboxes (what [routing] email may name).
    public var isMail: Bool {
        switch self {
        case .smtp, .sendmail: true
        case .webhook, .journal, .sms, .workApp: false
        }
    }

    /// `smtp://HOST:PORT?security=none|starttls|tls&user=U&password_file=F&ca_file=F&from=A`,
    /// `sendmail:/usr/sbin/sendmail?from=A`.
    public init(url text: String, defaultFrom: String = "guanhuai@localhost") throws(InputError) {
        func bad(_ why: String) -> InputError { InputError(file: "--via", field: text, message: why) }
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased() else {
            throw bad("is not a URL; write e.g. smtp://mail.example.edu.cn:587?security=starttls&user=U&password_file=F")
        }
        var q: [String: String] = [:]
        for item in url.queryItems ?? [] { q[item.name] = item.value ?? "" }
        func flag(_ name: String, _ def: Bool) throws(InputError) -> Bool {
            guard let v = q[name] else { return def }
            guard let b = ["true": true, "1": true, "yes": true, "false": false, "0": false, "no": false][v.lowercased()]
            else { throw bad("\(name)=\(v) must be true or false") }
            return b
        }
        let from = q["from"] ?? defaultFrom
        switch scheme {
        case "smtp", "smtps":
            guard let host = url.host, !host.isEmpty else { throw bad("names no host") }
            let securityName = q["security"] ?? (scheme == "smtps" ? "tls" : "starttls")
            guard let security = SMTPSpec.Security(rawValue: securityName) else {
                throw bad("security=\(securityName): use none, starttls or tls")
            }
            let known: Set<String> = [
                "security", "user", "password_file", "ca_file", "from", "from_name", "verify",
                "allow_insecure_auth", "timeout",
            ]
            if let unknown = q.keys.sorted().first(where: { !known.contains($0) }) {
                throw bad("unknown parameter \"\(unknown)\"; known: \(known.sorted().joined(separator: ", "))")
            }
            guard let timeout = Int(q["timeout"] ?? "30"), (1...600).contains(timeout) else {
                throw bad("timeout must be 1 to 600 seconds")
            }
            let insecure = try flag("allow_insecure_auth", false)
            if q["user"] != nil && security == .none && !insecure {
                throw bad(
                    "user with security=none would send the password in clear; use security=starttls or tls (or allow_insecure_auth=true on a trusted network)")
            }
            self = .smtp(
                SMTPSpec(
                    host: host, port: url.port, security: security, user: q["user"], password: q["password_file"].map(SecretRef.file),
                    caFile: q["ca_file"], verifyCertificates: try flag("verify", true),
                    allowInsecureAuth: try flag("allow_insecure_auth", false), timeoutSeconds: timeout, from: from,
                    fromName: q["from_name"]))
        case "sendmail":
            let path = url.path.isEmpty ? "/usr/sbin/sendmail" : url.path
            self = .sendmail(path: path, from: from, fromName: q["from_name"])
        case "journal":
            self = .journal
        default:
            if let s = try SMSSpec(url: url, query: q, text: text) {
                self = .sms(s)
            } else if let a = try WorkAppSpec(url: url, query: q, text: text) {
                self = .workApp(a)
            } else if let w = try WebhookSpec(url: url, query: q, text: text) {
                self = .webhook(w)
            } else {
                throw bad(
                    "unknown scheme \"\(scheme)\"; use smtp://, sendmail:, journal:, webhook+https://, wecom+https://, dingtalk+https://, feishu+https://, wecom-app+https://, aliyun-sms+https://, tencent-sms+https://"
                )
            }
        }
    }

    static func parse(_ t: TOMLTable, name: String, _ r: TOMLReader) throws(InputError) -> ChannelSpec {
        let place = TOMLReader.Place(header: "channels.\(name)", index: 0, name: "[channels.\(name)]")
        let type = try r.string(t, "type", place, required: true)!
        switch type {
        case "smtp":
            try r.checkKeys(
                t,
                allowed: [
                    "type", "host", "port", "security", "user", "password_credential", "ca_file",
                    "verify_certificates", "allow_insecure_auth", "timeout_seconds", "from", "from_name",
                ], place)
            guard let security = SMTPSpec.Security(rawValue: try r.string(t, "security", place) ?? "starttls") else {
                throw r.error(place, "security", "security is \"starttls\" (587), \"tls\" (465) or \"none\"")
            }
            let from = try r.string(t, "from", place, required: true)!
            guard from.contains("@") else { throw r.error(place, "from", "\"\(from)\" is not an e-mail address") }
            let user = try r.string(t, "user", place)
            let password = try r.string(t, "password_credential", place)
            if user != nil && password == nil {
                throw r.error(
                    place, "password_credential",
                    "a user needs password_credential = \"ID\": the id of a systemd credential (LoadCredential=ID:…), never the password itself")
            }
            let insecure = try r.bool(t, "allow_insecure_auth", place) ?? false
            if user != nil && security == .none && !insecure {
                throw r.error(
                    place, "user",
                    "with security = \"none\" the password would cross the network in clear; use security = \"starttls\" or \"tls\", or (on a trusted network only) allow_insecure_auth = true"
                )
            }
            return .smtp(
                SMTPSpec(
                    host: try r.string(t, "host", place, required: true)!, port: try r.int(t, "port", place, range: 1...65535),
                    security: security, user: user, password: password.map(SecretRef.credential),
                    caFile: try r.string(t, "ca_file", place), verifyCertificates: try r.bool(t, "verify_certificates", place) ?? true,
                    allowInsecureAuth: try r.bool(t, "allow_insecure_auth", place) ?? false,
                    timeoutSeconds: try r.int(t, "timeout_seconds", place, range: 1...600) ?? 30, from: from,
                    fromName: try r.string(t, "from_name", place)))
        case "sendmail":
            try r.checkKeys(t, allowed: ["type", "path", "from", "from_name"], place)
            return .sendmail(
                path: try r.string(t, "path", place) ?? "/usr/sbin/sendmail", from: try r.string(t, "from", place, required: true)!,
                fromName: try r.string(t, "from_name", place))
        case "journal":
            try r.checkKeys(t, allowed: ["type"], place)
            return .journal
        case "sms":
            return .sms(try SMSSpec.parse(t, r, place))
        case let app where WorkAppSpec.App(rawValue: app) != nil:
            return .workApp(try WorkAppSpec.parse(t, app: WorkAppSpec.App(rawValue: app)!, r, place))
        default:
            guard let kind = WebhookSpec.Kind(rawValue: type) else {
                throw r.error(
                    place, "type",
                    "unknown channel type \"\(type)\"; use smtp, sendmail, webhook, wecom, dingtalk, feishu, wecom-app, sms or journal")
            }
            return .webhook(try WebhookSpec.parse(t, kind: kind, r, place))
        }
    }
}
