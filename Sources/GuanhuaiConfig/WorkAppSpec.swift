import Foundation
public import GuanhuaiCore
import TOMLKit

extension Configuration {
    /// The 钉钉 work-app channels: their 工作通知 results are kept with the SMS receipts, and counted apart.
    public var dingtalkChannels: Set<String> {
        Set(channels.compactMap { name, spec in if case .workApp(let a) = spec, a.app == .dingtalk { name } else { nil } })
    }
}

extension AppUserIDs {
    /// Their id in one app.
    public func id(in app: WorkAppSpec.App) -> String? {
        switch app {
        case .wecom: wecom
        case .dingtalk: dingtalk
        case .feishu: feishu
        }
    }
}

/// A work app's message to one person, sent as the organisation's own application: 企业微信 应用消息 (`wecom-app`),
/// 钉钉 工作通知 (`dingtalk-app`) or a 飞书 application bot's message (`feishu-app`). Unlike a group robot it reaches
/// one person, so it carries that person's signed links.
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

        /// The configuration's keys: the application's id, its agent (none for 飞书), and the secret's credential.
        var keys: (id: String, agent: String?, secret: String) {
            switch self {
            case .wecom: ("corpid", "agentid", "secret_credential")
            case .dingtalk: ("app_key", "agent_id", "app_secret_credential")
            case .feishu: ("app_id", nil, "app_secret_credential")
            }
        }

        /// The `--via` URL's parameters for the same.
        var urlKeys: (id: String, agent: String?, secret: String) {
            switch self {
            case .wecom: ("corpid", "agentid", "secret_file")
            case .dingtalk: ("app_key", "agent_id", "app_secret_file")
            case .feishu: ("app_id", nil, "app_secret_file")
            }
        }

        /// Messages a minute the application is sent at, evenly spaced, unless `per_minute` says otherwise; from each
        /// provider's documented limits, with room left for the organisation's other applications:
        /// - 企业微信 allows 10,000 calls a minute to one API for the whole 企业 (主动调用频率限制), shared with every
        ///   other application it runs: 3,000 here;
        /// - 钉钉 allows an application 20 calls a second on the standard edition (40 on 专业版), and each 工作通知 is
        ///   two calls (asyncsend_v2, then getsendresult): 600 here;
        /// - 飞书 allows im/v1/messages 1,000 a minute and 50 a second per application (频控策略): 1,000 here, which
        ///   evenly spaced is 16.7 a second.
        public var defaultPerMinute: Int {
            switch self {
            case .wecom: 3000
            case .dingtalk: 600
            case .feishu: 1000
            }
        }

        /// What the app's console calls each.
        var idHelp: String {
            switch self {
            case .wecom: "the 企业ID (我的企业 → 企业信息, ww…)"
            case .dingtalk: "the application's AppKey (应用开发 → the application → 凭证与基础信息)"
            case .feishu: "the application's App ID (开发者后台 → 凭证与基础信息, cli_…)"
            }
        }
    }

    public var app: App
    /// The API's base URL (scheme, host and port); a local stand-in in tests.
    public var base: String
    /// The application: 企业微信 corpid, 钉钉 AppKey, 飞书 App ID.
    public var appID: String
    /// The sending agent: 企业微信 agentid, 钉钉 agent_id; nil for 飞书.
    public var agentID: Int?
    /// The application's secret.
    public var secret: SecretRef
    public var caFile: String?
    public var timeoutSeconds: Int
    /// How many messages may be on their way at once (`in_flight`, 1 to 16; 4 by default). Over the Internet each
    /// message waits a round trip for its answer, so one at a time sends at most one per round trip.
    public var inFlight: Int
    /// Messages a minute, evenly spaced and shared among the instances (`per_minute`; the app's documented limit by
    /// default, `App.defaultPerMinute`; 0 for none, as for a stand-in).
    public var perMinute: Int

    public static let inFlightRange = 1...16

    public init(
        app: App, base: String? = nil, appID: String, agentID: Int?, secret: SecretRef, caFile: String? = nil, timeoutSeconds: Int = 15,
        inFlight: Int = 4, perMinute: Int? = nil
    ) {
        self.app = app
        self.base = base ?? app.defaultBase
        self.appID = appID
        self.agentID = agentID
        self.secret = secret
        self.caFile = caFile
        self.timeoutSeconds = timeoutSeconds
        self.inFlight = inFlight
        self.perMinute = perMinute ?? app.defaultPerMinute
    }

    /// The interval between two messages' starts for one of `instances` instances; nil without a limit.
    public func spacing(instances: Int) -> Duration? {
        guard perMinute > 0 else { return nil }
        return .seconds(60) * max(1, instances) / perMinute
    }

    /// `[channels.NAME] type = "wecom-app"` (`corpid`, `agentid`, `secret_credential`), `"dingtalk-app"` (`app_key`,
    /// `agent_id`, `app_secret_credential`) or `"feishu-app"` (`app_id`, `app_secret_credential`); and optionally
    /// `url` (the API's base), `ca_file`, `timeout_seconds`, `in_flight`, `per_minute`.
    static func parse(_ t: TOMLTable, app: App, _ r: TOMLReader, _ place: TOMLReader.Place) throws(InputError) -> WorkAppSpec {
        let k = app.keys
        try r.checkKeys(
            t, allowed: Set(["type", k.id, k.secret, "url", "ca_file", "timeout_seconds", "in_flight", "per_minute"] + (k.agent.map { [$0] } ?? [])), place)
        let id = try r.string(t, k.id, place, required: true)!
        guard !id.isEmpty, !id.contains(where: { $0.isWhitespace }) else {
            throw r.error(place, k.id, "\(k.id) is \(app.idHelp), without spaces")
        }
        var agent: Int?
        if let key = k.agent {
            guard let a = try r.int(t, key, place, range: 1...Int(Int64(Int32.max) * 1000)) else {
                throw r.error(place, key, "\(key) is the application's AgentId (应用管理 → the application), a number")
            }
            agent = a
        }
        guard let secret = try r.string(t, k.secret, place) else {
            throw r.error(
                place, k.secret,
                "a \(app.rawValue) channel needs \(k.secret) = \"ID\": the id of a systemd credential holding the application's secret (LoadCredential=ID:…), never the secret itself"
            )
        }
        let base = try r.string(t, "url", place)
        if let base, URLComponents(string: base)?.host?.isEmpty ?? true {
            throw r.error(place, "url", "url is the API's base, e.g. \"\(app.defaultBase)\" (or a proxy the campus network allows)")
        }
        return WorkAppSpec(
            app: app, base: base, appID: id, agentID: agent, secret: .credential(secret), caFile: try r.string(t, "ca_file", place),
            timeoutSeconds: try r.int(t, "timeout_seconds", place, range: 1...120) ?? 15,
            inFlight: try r.int(t, "in_flight", place, range: inFlightRange) ?? 4,
            perMinute: try r.int(t, "per_minute", place, range: 0...100_000))
    }

    /// `wecom-app+https://HOST/?corpid=ww…&agentid=1000002&secret_file=F`,
    /// `dingtalk-app+https://HOST/?app_key=…&agent_id=…&app_secret_file=F`,
    /// `feishu-app+https://HOST/?app_id=cli_…&app_secret_file=F`, each also with `timeout=S`, `ca_file=F`,
    /// `in_flight=N` and `per_minute=N` (0 for no limit, as for a stand-in). HOST is
    /// the API's base, so a local stand-in can take its place. The secret comes from a file, never from the URL.
    init?(url: URLComponents, query q: [String: String], text: String) throws(InputError) {
        func bad(_ why: String) -> InputError { InputError(file: "--via", field: SMSSpec.redacted(text), message: why) }
        guard let scheme = url.scheme?.lowercased(), let plus = scheme.firstIndex(of: "+"),
            let app = App(rawValue: String(scheme[..<plus]))
        else { return nil }
        let inner = String(scheme[scheme.index(after: plus)...])
        guard inner == "https" || inner == "http" else { throw bad("write \(app.rawValue)+https://HOST/…") }
        guard let host = url.host, !host.isEmpty else { throw bad("names no host") }
        let k = app.urlKeys
        let known = Set([k.id, k.secret, "timeout", "ca_file", "in_flight", "per_minute"] + (k.agent.map { [$0] } ?? []))
        if let unknown = q.keys.sorted().first(where: { !known.contains($0) }) {
            throw bad("unknown parameter \"\(unknown)\"; known: \(known.sorted().joined(separator: ", ")) (the secret comes from a file, never the URL)")
        }
        guard let id = q[k.id], !id.isEmpty else { throw bad("needs \(k.id)=, \(app.idHelp)") }
        var agent: Int?
        if let key = k.agent {
            guard let a = q[key].flatMap({ Int($0) }), a > 0 else { throw bad("needs \(key)=, the application's AgentId (a number)") }
            agent = a
        }
        guard let file = q[k.secret] else { throw bad("needs \(k.secret)=, a file holding the application's secret") }
        guard let timeout = Int(q["timeout"] ?? "15"), (1...120).contains(timeout) else { throw bad("timeout must be 1 to 120 seconds") }
        guard let inFlight = Int(q["in_flight"] ?? "4"), Self.inFlightRange.contains(inFlight) else { throw bad("in_flight must be 1 to 16") }
        let perMinute = q["per_minute"].flatMap { Int($0) }
        guard q["per_minute"] == nil || (perMinute.map { (0...100_000).contains($0) } ?? false) else {
            throw bad("per_minute must be 0 (no limit) to 100000")
        }
        var base = URLComponents()
        base.scheme = inner
        base.host = host
        base.port = url.port
        self.init(
            app: app, base: base.string, appID: id, agentID: agent, secret: .file(file), caFile: q["ca_file"], timeoutSeconds: timeout,
            inFlight: inFlight, perMinute: perMinute)
    }
}
