import Foundation
import TOMLKit

/// An SMS channel (`type = "sms"`): 阿里云短信服务 (Dysmsapi SendSms, V3 signature) or 腾讯云短信 (SendSms 2021-01-11,
/// TC3-HMAC-SHA256). The text is the provider's approved template under an approved sign name (签名); guanhuai only
/// fills in the template's parameters, from what a chat message may carry: who and what, never why.
public struct SMSSpec: Sendable, Equatable {
    public enum Provider: String, Sendable, CaseIterable {
        case aliyun
        case tencent

        /// The API's address; a channel may point elsewhere (`url`), e.g. a test server.
        public var defaultURL: String {
            switch self {
            case .aliyun: "https://dysmsapi.aliyuncs.com/"
            case .tencent: "https://sms.tencentcloudapi.com/"
            }
        }

        /// The longest value of one template parameter the provider accepts: 阿里云 35 characters for a variable of a
        /// notice template; 腾讯云 says 12 for an individual's account and allows more for an organisation's (we use
        /// `param_max_length`, default 12, which fits both).
        public var defaultParamLimit: Int {
            switch self {
            case .aliyun: 35
            case .tencent: 12
            }
        }
    }

    /// What a template is for.
    public enum MessageKind: String, Sendable, CaseIterable {
        /// The political-birthday greeting, to the member.
        case greeting
        /// The due-day reminder, to a responsible person who has no e-mail address.
        case due
        /// An overdue reminder, to a responsible person who has no e-mail address.
        case overdue
    }

    /// The values a template parameter can take. Chat-level: the rule's chat title, never a note.
    public enum Field: String, Sendable, CaseIterable {
        /// The person the message goes to.
        case recipient
        /// The member or unit the first item is about.
        case subject
        /// The first item's chat title (e.g. 春节走访慰问).
        case title
        /// The first item's due date, as 12月31日.
        case due
        /// How many items the message is about.
        case count
        /// For a greeting: the day the member joined the Party, as 1990年2月14日.
        case joined
        /// For a greeting: how many years since then.
        case years
    }

    public struct Template: Sendable, Equatable {
        /// 阿里云 TemplateCode (SMS_…) or 腾讯云 TemplateId.
        public var id: String
        /// Each template parameter: its name in the template (阿里云 `${name}`) or its position (腾讯云 `{1}`, in
        /// order), and the field that fills it.
        public var params: [(name: String, field: Field)]

        public init(id: String, params: [(name: String, field: Field)]) {
            self.id = id
            self.params = params
        }

        public static func == (a: Template, b: Template) -> Bool {
            a.id == b.id && a.params.map(\.name) == b.params.map(\.name) && a.params.map(\.field) == b.params.map(\.field)
        }
    }

    public var provider: Provider
    public var url: String
    /// 阿里云 AccessKey ID / 腾讯云 SecretId, and the secret: systemd credentials, never in the file.
    public var keyID: SecretRef
    public var keySecret: SecretRef
    public var signName: String
    /// 腾讯云 SmsSdkAppId (required there) and region (default ap-guangzhou).
    public var sdkAppID: String?
    public var region: String
    public var templates: [MessageKind: Template]
    public var paramMaxLength: Int
    /// Per number: the providers' own defaults (1 a minute, 5 an hour, 10 a day). Over them, a message waits.
    public var perMinute: Int
    public var perHour: Int
    public var perDay: Int
    public var caFile: String?
    public var timeoutSeconds: Int
    /// Delivery receipts: polled from the provider (阿里云 QuerySendDetails, 腾讯云 PullSmsSendStatus) every this
    /// many seconds; nil (`receipts = "off"`) asks nothing, and "sent" means only accepted.
    public var receiptPollSeconds: Int?
    /// `receipts = "push"`: the provider posts its receipts to guanhuaid's pages, at
    /// `PUBLIC_URL/sms-receipt/CHANNEL/TOKEN`, the token from this credential (neither provider signs its pushes:
    /// an unguessable path is what their documents leave). Nothing is polled then.
    public var receiptPushToken: SecretRef?
    /// Whether receipts come (polled or pushed): a message's provider id is then kept, and a reminder's mail waits
    /// as its fallback.
    public var receiptsAwaited: Bool { receiptPollSeconds != nil || receiptPushToken != nil }

    public init(
        provider: Provider, url: String? = nil, keyID: SecretRef, keySecret: SecretRef, signName: String,
        sdkAppID: String? = nil, region: String = "ap-guangzhou", templates: [MessageKind: Template],
        paramMaxLength: Int? = nil, perMinute: Int = 1, perHour: Int = 5, perDay: Int = 10, caFile: String? = nil,
        timeoutSeconds: Int = 15, receiptPollSeconds: Int? = 300, receiptPushToken: SecretRef? = nil
    ) {
        self.provider = provider
        self.url = url ?? provider.defaultURL
        self.keyID = keyID
        self.keySecret = keySecret
        self.signName = signName
        self.sdkAppID = sdkAppID
        self.region = region
        self.templates = templates
        self.paramMaxLength = paramMaxLength ?? provider.defaultParamLimit
        self.perMinute = perMinute
        self.perHour = perHour
        self.perDay = perDay
        self.caFile = caFile
        self.timeoutSeconds = timeoutSeconds
        self.receiptPollSeconds = receiptPollSeconds
        self.receiptPushToken = receiptPushToken
    }

    static func parse(_ t: TOMLTable, _ r: TOMLReader, _ place: TOMLReader.Place) throws(InputError) -> SMSSpec {
        try r.checkKeys(
            t,
            allowed: [
                "type", "provider", "url", "access_key_id_credential", "access_key_secret_credential",
                "secret_id_credential", "secret_key_credential", "sign_name", "sdk_app_id", "region", "templates",
                "param_max_length", "limit_per_minute", "limit_per_hour", "limit_per_day", "ca_file", "timeout_seconds",
                "receipts", "receipt_poll_seconds", "receipt_push_token_credential",
            ], place)
        let name = try r.string(t, "provider", place, required: true)!
        guard let provider = Provider(rawValue: name) else {
            throw r.error(place, "provider", "provider is \"aliyun\" (阿里云短信服务) or \"tencent\" (腾讯云短信)")
        }
        let (idKey, secretKey) =
            provider == .aliyun
            ? ("access_key_id_credential", "access_key_secret_credential") : ("secret_id_credential", "secret_key_credential")
        for other in provider == .aliyun
            ? ["secret_id_credential", "secret_key_credential", "sdk_app_id", "region"]
            : ["access_key_id_credential", "access_key_secret_credential"] where t.contains(key: other)
        {
            throw r.error(place, other, "\(other) is not for provider \"\(name)\"; it takes \(idKey) and \(secretKey)")
        }
        guard let id = try r.string(t, idKey, place), let secret = try r.string(t, secretKey, place) else {
            throw r.error(
                place, idKey,
                "an SMS channel needs \(idKey) and \(secretKey): the ids of systemd credentials (LoadCredential=ID:…), never the keys themselves")
        }
        let sign = try r.string(t, "sign_name", place, required: true)!
        var appID: String?
        if provider == .tencent {
            appID = try r.string(t, "sdk_app_id", place)
            guard appID != nil else { throw r.error(place, "sdk_app_id", "腾讯云 needs sdk_app_id, the SmsSdkAppId of the 短信应用 (1400…)") }
        }
        guard let tt = try r.table(t, "templates", place), !tt.isEmpty else {
            throw r.error(
                place, "templates",
                "name at least one approved template: templates.greeting = { id = \"SMS_…\", params = { name = \"recipient\" } }")
        }
        var templates: [MessageKind: Template] = [:]
        let fields = Field.allCases.map(\.rawValue).joined(separator: ", ")
        for key in tt.keys.sorted() {
            guard let kind = MessageKind(rawValue: key) else {
                throw r.error(place, "templates.\(key)", "templates are for greeting, due or overdue")
            }
            guard let x = tt[key]?.table, let tid = x["id"]?.string, !tid.isEmpty else {
                throw r.error(place, "templates.\(key)", "write templates.\(key) = { id = \"…\", params = … } with the provider's template id")
            }
            var params: [(name: String, field: Field)] = []
            if provider == .aliyun {
                // 阿里云: named variables, `${name}` in the template.
                guard let p = x["params"]?.table ?? (x["params"] == nil ? TOMLTable() : nil) else {
                    throw r.error(place, "templates.\(key).params", "阿里云 templates name their variables: params = { name = \"recipient\", title = \"title\" }")
                }
                for v in p.keys.sorted() {
                    guard let f = p[v]?.string.flatMap(Field.init(rawValue:)) else {
                        throw r.error(place, "templates.\(key).params.\(v)", "each variable takes one of: \(fields)")
                    }
                    params.append((v, f))
                }
            } else {
                // 腾讯云: positional variables, `{1}`, `{2}`, … in the template.
                guard let a = x["params"]?.array ?? (x["params"] == nil ? TOMLArray() : nil) else {
                    throw r.error(
                        place, "templates.\(key).params", "腾讯云 templates number their variables: params = [\"recipient\", \"title\"] fills {1} and {2}")
                }
                for (i, v) in a.enumerated() {
                    guard let f = v.string.flatMap(Field.init(rawValue:)) else {
                        throw r.error(place, "templates.\(key).params", "parameter {\(i + 1)} takes one of: \(fields)")
                    }
                    params.append((String(i + 1), f))
                }
            }
            if let extra = x.keys.first(where: { $0 != "id" && $0 != "params" }) {
                throw r.error(place, "templates.\(key).\(extra)", "a template has only id and params")
            }
            templates[kind] = Template(id: tid, params: params)
        }
        let receipts = try r.string(t, "receipts", place) ?? "poll"
        guard ["poll", "push", "off"].contains(receipts) else {
            throw r.error(
                place, "receipts",
                "receipts is \"poll\" (ask the provider what became of each message, the default), \"push\" (the provider posts them to [web]) or \"off\"")
        }
        let poll = try r.int(t, "receipt_poll_seconds", place, range: 10...3600) ?? 300
        let pushCredential = try r.string(t, "receipt_push_token_credential", place)
        if receipts == "push", pushCredential == nil {
            throw r.error(
                place, "receipt_push_token_credential",
                "receipts = \"push\" needs receipt_push_token_credential: the credential holding the secret part of the address the provider posts to")
        }
        if receipts != "push", pushCredential != nil {
            throw r.error(place, "receipt_push_token_credential", "receipt_push_token_credential is for receipts = \"push\" only")
        }
        return SMSSpec(
            provider: provider, url: try r.string(t, "url", place), keyID: .credential(id), keySecret: .credential(secret),
            signName: sign, sdkAppID: appID, region: try r.string(t, "region", place) ?? "ap-guangzhou", templates: templates,
            paramMaxLength: try r.int(t, "param_max_length", place, range: 1...500),
            perMinute: try r.int(t, "limit_per_minute", place, range: 1...100) ?? 1,
            perHour: try r.int(t, "limit_per_hour", place, range: 1...1000) ?? 5,
            perDay: try r.int(t, "limit_per_day", place, range: 1...10000) ?? 10,
            caFile: try r.string(t, "ca_file", place), timeoutSeconds: try r.int(t, "timeout_seconds", place, range: 1...120) ?? 15,
            receiptPollSeconds: receipts == "poll" ? poll : nil, receiptPushToken: pushCredential.map { .credential($0) })
    }

    /// `aliyun-sms+https://HOST/?access_key_id_file=F&access_key_secret_file=F&sign_name=S&template=SMS_1&params=name:recipient,title:title`
    /// and `tencent-sms+https://HOST/?secret_id_file=F&secret_key_file=F&sdk_app_id=1400…&sign_name=S&template=123&params=recipient,title`:
    /// the template is used for every kind of message. Secrets come from files, never from the URL.
    init?(url: URLComponents, query q: [String: String], text: String) throws(InputError) {
        func bad(_ why: String) -> InputError { InputError(file: "--via", field: SMSSpec.redacted(text), message: why) }
        guard let scheme = url.scheme?.lowercased(), scheme.hasSuffix("-sms+https") || scheme.hasSuffix("-sms+http"),
            let provider = Provider(rawValue: String(scheme.prefix { $0 != "-" }))
        else { return nil }
        let inner = scheme.split(separator: "+").last.map(String.init) ?? "https"
        guard let host = url.host, !host.isEmpty else { throw bad("names no host") }
        var base = URLComponents()
        base.scheme = inner
        base.host = host
        base.port = url.port
        base.path = url.path.isEmpty ? "/" : url.path
        let (idKey, secretKey) = provider == .aliyun ? ("access_key_id_file", "access_key_secret_file") : ("secret_id_file", "secret_key_file")
        var known: Set<String> = [idKey, secretKey, "sign_name", "template", "params", "ca_file", "timeout", "param_max_length"]
        if provider == .tencent { known.formUnion(["sdk_app_id", "region"]) }
        if let unknown = q.keys.sorted().first(where: { !known.contains($0) }) {
            throw bad("unknown parameter \"\(unknown)\"; known: \(known.sorted().joined(separator: ", ")) (secrets come from files, never the URL)")
        }
        guard let id = q[idKey], let secret = q[secretKey] else { throw bad("needs \(idKey)= and \(secretKey)=: files holding the keys") }
        guard let sign = q["sign_name"], !sign.isEmpty else { throw bad("needs sign_name=, the approved 签名") }
        guard let template = q["template"], !template.isEmpty else { throw bad("needs template=, an approved template id") }
        if provider == .tencent && q["sdk_app_id"] == nil { throw bad("腾讯云 needs sdk_app_id=, the SmsSdkAppId") }
        var params: [(name: String, field: Field)] = []
        for (i, part) in (q["params"] ?? "").split(separator: ",").enumerated() {
            let pair = part.split(separator: ":", maxSplits: 1).map(String.init)
            let (name, fieldName) = pair.count == 2 ? (pair[0], pair[1]) : (String(i + 1), pair[0])
            guard let f = Field(rawValue: fieldName) else {
                throw bad("params: \"\(fieldName)\" is not one of \(Field.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            params.append((name, f))
        }
        guard let timeout = Int(q["timeout"] ?? "15"), (1...120).contains(timeout) else { throw bad("timeout must be 1 to 120 seconds") }
        var limit: Int?
        if let text = q["param_max_length"] {
            guard let n = Int(text), (1...500).contains(n) else { throw bad("param_max_length must be 1 to 500 characters") }
            limit = n
        }
        let t = Template(id: template, params: params)
        self.init(
            provider: provider, url: base.string, keyID: .file(id), keySecret: .file(secret), signName: sign,
            sdkAppID: q["sdk_app_id"], region: q["region"] ?? "ap-guangzhou",
            templates: [.greeting: t, .due: t, .overdue: t], paramMaxLength: limit, caFile: q["ca_file"], timeoutSeconds: timeout)
    }

    /// A `--via` URL as it may be shown: the query (file names only, but still) left out.
    static func redacted(_ text: String) -> String { String(text.prefix { $0 != "?" }) + (text.contains("?") ? "?…" : "") }
}
