import Foundation
import TOMLKit

/// A webhook channel: a signed JSON endpoint (Standard Webhooks) or a group-chat robot.
public struct WebhookSpec: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Any HTTP endpoint: JSON signed per the Standard Webhooks specification.
        case webhook
        /// 企业微信 group robot: `…/cgi-bin/webhook/send?key=KEY`.
        case wecom
        /// 钉钉 custom robot: `…/robot/send?access_token=TOKEN`, signed with `timestamp` and `sign`.
        case dingtalk
        /// 飞书 custom bot: `…/open-apis/bot/v2/hook/TOKEN`, signed in the body.
        case feishu

        /// The public endpoint, used when the configuration names no `url`.
        public var defaultURL: String? {
            switch self {
            case .webhook: nil
            case .wecom: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
            case .dingtalk: "https://oapi.dingtalk.com/robot/send"
            case .feishu: "https://open.feishu.cn/open-apis/bot/v2/hook"
            }
        }

        /// Robots accept about 20 messages a minute; a generic endpoint is not limited unless configured.
        public var defaultRatePerMinute: Int? { self == .webhook ? nil : 20 }

        /// What the endpoint's token is called: 企业微信 `key`, 钉钉 `access_token`, 飞书 the last path segment.
        var tokenName: String? {
            switch self {
            case .webhook: nil
            case .wecom: "key"
            case .dingtalk: "access_token"
            case .feishu: "hook"
            }
        }
    }

    public enum Format: String, Sendable {
        case text, markdown
    }

    public var kind: Kind
    /// The endpoint without the token: the token (key, access token, hook id) is a secret kept apart.
    public var url: String
    /// 企业微信 `key`, 钉钉 `access_token`, 飞书 hook id (appended to the path); nil when `url` already carries it.
    public var token: SecretRef?
    /// The signing secret: `whsec_…` for a generic webhook, the robot's 加签 secret for 钉钉 and 飞书.
    public var secret: SecretRef?
    public var format: Format
    public var timeoutSeconds: Int
    /// Messages per minute to this endpoint; more wait in the outbox. nil: unlimited.
    public var ratePerMinute: Int?
    public var caFile: String?

    public init(
        kind: Kind, url: String, token: SecretRef? = nil, secret: SecretRef? = nil, format: Format = .text,
        timeoutSeconds: Int = 10, ratePerMinute: Int? = nil, caFile: String? = nil
    ) {
        self.kind = kind
        self.url = url
        self.token = token
        self.secret = secret
        self.format = format
        self.timeoutSeconds = timeoutSeconds
        self.ratePerMinute = ratePerMinute
        self.caFile = caFile
    }

    /// `webhook+https://HOST/PATH?secret_file=F`, `wecom+https://HOST/PATH?key=K`,
    /// `dingtalk+https://HOST/PATH?access_token=T&secret_file=F`, `feishu+https://HOST/PATH?secret_file=F`.
    /// Returns nil for a scheme that is not a webhook's.
    init?(url: URLComponents, query q: [String: String], text: String) throws(InputError) {
        func bad(_ why: String) -> InputError { InputError(file: "--via", field: text, message: why) }
        guard let scheme = url.scheme?.lowercased(), let plus = scheme.firstIndex(of: "+"),
            let kind = Kind(rawValue: String(scheme[..<plus]))
        else { return nil }
        let transport = scheme[scheme.index(after: plus)...]
        guard transport == "http" || transport == "https" else {
            throw bad("\(kind.rawValue)+ takes http:// or https://, not \(transport)://")
        }
        guard let host = url.host, !host.isEmpty else { throw bad("names no host") }
        var known: Set<String> = ["secret_file", "timeout", "rate_per_minute", "ca_file", "format"]
        if let t = kind.tokenName, t != "hook" { known.insert(t) }
        if let unknown = q.keys.sorted().first(where: { !known.contains($0) }) {
            throw bad("unknown parameter \"\(unknown)\"; known: \(known.sorted().joined(separator: ", "))")
        }
        var plain = URLComponents()
        plain.scheme = String(transport)
        plain.host = url.host
        plain.port = url.port
        plain.percentEncodedPath = url.percentEncodedPath
        var token: SecretRef?
        if let name = kind.tokenName, name != "hook" {
            guard let v = q[name], !v.isEmpty else { throw bad("\(kind.rawValue) needs \(name)=…") }
            token = .value(v)
        }
        if kind == .webhook && q["secret_file"] == nil {
            throw bad("a webhook is signed: give secret_file=FILE holding the whsec_… secret")
        }
        guard let timeout = Int(q["timeout"] ?? "10"), (1...600).contains(timeout) else {
            throw bad("timeout must be 1 to 600 seconds")
        }
        var rate = kind.defaultRatePerMinute
        if let r = q["rate_per_minute"] {
            guard let n = Int(r), (0...100_000).contains(n) else { throw bad("rate_per_minute must be 0 (unlimited) to 100000") }
            rate = n == 0 ? nil : n
        }
        let format = try WebhookSpec.format(q["format"], kind: kind) { why throws(InputError) in throw bad(why) }
        self.init(
            kind: kind, url: plain.string ?? text, token: token, secret: q["secret_file"].map(SecretRef.file), format: format,
            timeoutSeconds: timeout, ratePerMinute: rate, caFile: q["ca_file"])
    }

    static func format(_ value: String?, kind: Kind, fail: (String) throws(InputError) -> Never) throws(InputError) -> Format {
        guard let value else { return .text }
        guard let f = Format(rawValue: value) else { try fail("format is text or markdown") }
        if f == .markdown && !(kind == .wecom || kind == .dingtalk) {
            try fail("format = \"markdown\" is for wecom and dingtalk robots")
        }
        return f
    }

    /// A `[channels.NAME]` table of type webhook, wecom, dingtalk or feishu.
    static func parse(_ t: TOMLTable, kind: Kind, _ r: TOMLReader, _ place: TOMLReader.Place) throws(InputError) -> WebhookSpec {
        var allowed: Set<String> = ["type", "url", "timeout_seconds", "rate_per_minute", "ca_file"]
        switch kind {
        case .webhook: allowed.insert("secret_credential")
        case .wecom: allowed.formUnion(["key_credential", "format"])
        case .dingtalk: allowed.formUnion(["access_token_credential", "secret_credential", "format"])
        case .feishu: allowed.formUnion(["hook_credential", "secret_credential"])
        }
        try r.checkKeys(t, allowed: allowed, place)
        guard let url = try r.string(t, "url", place) ?? kind.defaultURL else {
            throw r.error(place, "url", "a webhook needs url = \"https://…\"")
        }
        guard let parsed = URLComponents(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
            parsed.host?.isEmpty == false
        else { throw r.error(place, "url", "\"\(url)\" is not an http:// or https:// URL") }
        if parsed.queryItems?.isEmpty == false {
            throw r.error(place, "url", "keep tokens out of url: use \(kind.tokenName.map { "\($0)_credential" } ?? "secret_credential") = \"ID\"")
        }
        var token: SecretRef?
        if let name = kind.tokenName {
            let key = "\(name)_credential"
            // 飞书's hook id may instead end the url (…/hook/TOKEN) when the operator accepts it in the config.
            if let id = try r.string(t, key, place) {
                token = .credential(id)
            } else if kind != .feishu {
                throw r.error(place, key, "\(kind.rawValue) needs \(key) = \"ID\": a systemd credential holding the robot's \(name)")
            }
        }
        let secret = try r.string(t, "secret_credential", place).map(SecretRef.credential)
        if kind == .webhook && secret == nil {
            throw r.error(
                place, "secret_credential",
                "a webhook is signed: secret_credential = \"ID\" names a systemd credential holding the whsec_… secret")
        }
        var rate = kind.defaultRatePerMinute
        if let n = try r.int(t, "rate_per_minute", place, range: 0...100_000) { rate = n == 0 ? nil : n }
        let format = try WebhookSpec.format(try r.string(t, "format", place), kind: kind) { why throws(InputError) in
            throw r.error(place, "format", why)
        }
        return WebhookSpec(
            kind: kind, url: url, token: token, secret: secret, format: format,
            timeoutSeconds: try r.int(t, "timeout_seconds", place, range: 1...600) ?? 10, ratePerMinute: rate,
            caFile: try r.string(t, "ca_file", place))
    }
}
