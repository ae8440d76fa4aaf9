import Foundation
import TOMLKit

/// A work app's message to one person, sent as the organisation's own application: 企业微信 应用消息 (`wecom-app`).
/// Unlike a group robot it reaches one person, so it carries that person's signed links. 钉钉 工作通知
/// (`dingtalk-app`) and 飞书 bot messages (`feishu-app`) are named here and refused until they are built.
public struct WorkAppSpec: Sendable, Equatable {
    public enum App: String, Sendable, CaseIterable {
        case wecom = "wecom-app"
        case dingtalk = "dingtalk-app"
        case feishu = "feishu-app"

        /// The API's base: the path of each call is the provider's own below it.
        public var defaultBase: String {
            switch self {
            case .wecom: "https://qyapi.weixin.qq.com"
            case .dingtalk: "https://oapi.dingtalk.com"
            case .feishu: "https://open.feishu.cn"
            }
        }

        public var chinese: String {
            switch self {
            case .wecom: "企业微信"
            case .dingtalk: "钉钉"
            case .feishu: "飞书"
            }
        }

        /// Built so far; the others are refused with a clear word.
        public var isBuilt: Bool { self == .wecom }
    }

    public var app: App
    /// The API's base URL (scheme, host and port); a local stand-in in tests.
    public var base: String
    /// 企业微信 corpid.
    public var corpID: String
    /// 企业微信 agentid: the application that sends.
    public var agentID: Int
    /// The application's secret (企业微信 应用 Secret).
    public var secret: SecretRef
    public var caFile: String?
    public var timeoutSeconds: Int

    public init(
        app: App, base: String? = nil, corpID: String, agentID: Int, secret: SecretRef, caFile: String? = nil, timeoutSeconds: Int = 15
    ) {
        self.app = app
        self.base = base ?? app.defaultBase
        self.corpID = corpID
        self.agentID = agentID
        self.secret = secret
        self.caFile = caFile
        self.timeoutSeconds = timeoutSeconds
    }

    static func notBuilt(_ app: App) -> String {
        "type \"\(app.rawValue)\" (\(app.chinese)) is not built yet; \"wecom-app\" (企业微信 应用消息) is, and a \(app.chinese) group robot is type \"\(app == .dingtalk ? "dingtalk" : "feishu")\""
    }

    /// `[channels.NAME] type = "wecom-app"`, `corpid`, `agentid`, `secret_credential`, and optionally `url` (the
    /// API's base), `ca_file`, `timeout_seconds`.
    static func parse(_ t: TOMLTable, app: App, _ r: TOMLReader, _ place: TOMLReader.Place) throws(InputError) -> WorkAppSpec {
        guard app.isBuilt else { throw r.error(place, "type", notBuilt(app)) }
        try r.checkKeys(t, allowed: ["type", "corpid", "agentid", "secret_credential", "url", "ca_file", "timeout_seconds"], place)
        let corp = try r.string(t, "corpid", place, required: true)!
        guard !corp.isEmpty, !corp.contains(where: { $0.isWhitespace }) else {
            throw r.error(place, "corpid", "corpid is the 企业ID from 我的企业 → 企业信息 (ww…), without spaces")
        }
        guard let agent = try r.int(t, "agentid", place, range: 1...Int(Int32.max)) else {
            throw r.error(place, "agentid", "agentid is the application's AgentId (应用管理 → the application), a number")
        }
        guard let secret = try r.string(t, "secret_credential", place) else {
            throw r.error(
                place, "secret_credential",
                "a wecom-app channel needs secret_credential = \"ID\": the id of a systemd credential holding the application's Secret (LoadCredential=ID:…), never the secret itself"
            )
        }
        let base = try r.string(t, "url", place)
        if let base, URLComponents(string: base)?.host?.isEmpty ?? true {
            throw r.error(place, "url", "url is the API's base, e.g. \"\(app.defaultBase)\" (or a proxy the campus network allows)")
        }
        return WorkAppSpec(
            app: app, base: base, corpID: corp, agentID: agent, secret: .credential(secret), caFile: try r.string(t, "ca_file", place),
            timeoutSeconds: try r.int(t, "timeout_seconds", place, range: 1...120) ?? 15)
    }

    /// `wecom-app+https://HOST/?corpid=ww…&agentid=1000002&secret_file=F[&timeout=S&ca_file=F]`: HOST is the API's
    /// base, so a local stand-in can take its place. The secret comes from a file, never from the URL.
    init?(url: URLComponents, query q: [String: String], text: String) throws(InputError) {
        func bad(_ why: String) -> InputError { InputError(file: "--via", field: SMSSpec.redacted(text), message: why) }
        guard let scheme = url.scheme?.lowercased(), let plus = scheme.firstIndex(of: "+"),
            let app = App(rawValue: String(scheme[..<plus]))
        else { return nil }
        guard app.isBuilt else { throw bad(WorkAppSpec.notBuilt(app)) }
        let inner = String(scheme[scheme.index(after: plus)...])
        guard inner == "https" || inner == "http" else { throw bad("write \(app.rawValue)+https://HOST/…") }
        guard let host = url.host, !host.isEmpty else { throw bad("names no host") }
        let known: Set<String> = ["corpid", "agentid", "secret_file", "timeout", "ca_file"]
        if let unknown = q.keys.sorted().first(where: { !known.contains($0) }) {
            throw bad("unknown parameter \"\(unknown)\"; known: \(known.sorted().joined(separator: ", ")) (the secret comes from a file, never the URL)")
        }
        guard let corp = q["corpid"], !corp.isEmpty else { throw bad("needs corpid=, the 企业ID") }
        guard let agent = q["agentid"].flatMap({ Int($0) }), agent > 0 else { throw bad("needs agentid=, the application's AgentId (a number)") }
        guard let file = q["secret_file"] else { throw bad("needs secret_file=, a file holding the application's Secret") }
        guard let timeout = Int(q["timeout"] ?? "15"), (1...120).contains(timeout) else { throw bad("timeout must be 1 to 120 seconds") }
        var base = URLComponents()
        base.scheme = inner
        base.host = host
        base.port = url.port
        self.init(
            app: app, base: base.string, corpID: corp, agentID: agent, secret: .file(file), caFile: q["ca_file"], timeoutSeconds: timeout)
    }
}
