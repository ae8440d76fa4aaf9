import Crypto
import Foundation
import GuanhuaiCalendar
public import GuanhuaiConfig
public import GuanhuaiCore
import NIOSSL

/// The two providers' request signatures, on swift-crypto. Hand-written: neither provider publishes a Swift SDK, and
/// each signature is a few lines of their published algorithm; tests check both against the providers' own worked
/// examples.
public enum SMSSigning {
    /// RFC 3986 percent-encoding: only A–Z a–z 0–9 - _ . ~ stay as they are (阿里云's canonical query string).
    public static func percentEncode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                out += String(format: "%%%02X", b)
            }
        }
        return out
    }

    public static func sha256Hex(_ bytes: some Sequence<UInt8>) -> String { hex(SHA256.hash(data: Array(bytes))) }

    static func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func hmac(_ key: [UInt8], _ message: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: key)))
    }

    /// 阿里云 V3 (ACS3-HMAC-SHA256): the signature of a request whose headers (lower-case names, `host` and the
    /// `x-acs-*` ones) are all signed. https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature
    public static func aliyunV3(
        secret: String, method: String, path: String, query: [(String, String)],
        headers: [(String, String)], body: [UInt8]
    ) -> (signature: String, signedHeaders: String) {
        let canonicalQuery = query.map { (percentEncode($0.0), percentEncode($0.1)) }.sorted { $0.0 < $1.0 }
            .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        let sorted = headers.map { ($0.0.lowercased(), $0.1.trimmingCharacters(in: .whitespaces)) }.sorted { $0.0 < $1.0 }
        let canonicalHeaders = sorted.map { "\($0.0):\($0.1)\n" }.joined()
        let signed = sorted.map(\.0).joined(separator: ";")
        let request = [method, path, canonicalQuery, canonicalHeaders, signed, sha256Hex(body)].joined(separator: "\n")
        let toSign = "ACS3-HMAC-SHA256\n" + sha256Hex(request.utf8)
        return (hex(hmac(Array(secret.utf8), toSign)), signed)
    }

    /// 腾讯云 API 3.0 (TC3-HMAC-SHA256), signing content-type and host.
    /// https://cloud.tencent.com/document/api/382/52072
    public static func tencentTC3(
        secretKey: String, service: String, host: String, contentType: String, timestamp: Int64,
        body: [UInt8]
    ) -> String {
        let request = "POST\n/\n\ncontent-type:\(contentType)\nhost:\(host)\n\ncontent-type;host\n" + sha256Hex(body)
        let date = utcDate(timestamp)
        let toSign = "TC3-HMAC-SHA256\n\(timestamp)\n\(date)/\(service)/tc3_request\n" + sha256Hex(request.utf8)
        let key = hmac(hmac(hmac(Array(("TC3" + secretKey).utf8), date), service), "tc3_request")
        return hex(hmac(key, toSign))
    }

    /// YYYY-MM-DD of a UTC instant.
    static func utcDate(_ t: Int64) -> String { Timestamp.split(t).0.description }

    /// YYYY-MM-DDTHH:MM:SSZ of a UTC instant.
    static func iso8601(_ t: Int64) -> String {
        let (d, s) = Timestamp.split(t)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(d)T\(two(s / 3600)):\(two(s / 60 % 60)):\(two(s % 60))Z"
    }
}

/// What one SMS says: the template's parameters filled from a digest, chat-level (who and what kind, never why),
/// each cut to the provider's length.
public enum SMSMessage {
    public static func kind(of d: GuanhuaiCore.Digest) -> SMSSpec.MessageKind? {
        if d.isGreeting { return .greeting }
        if d.items.contains(where: { $0.kind == .overdue || $0.kind == .escalation }) { return .overdue }
        if d.items.contains(where: { $0.kind == .due }) { return .due }
        return nil
    }

    public static func params(_ template: SMSSpec.Template, _ d: GuanhuaiCore.Digest, context c: RenderContext, limit: Int)
        -> [OutboxPayload.JournalField]
    {
        guard let first = d.items.first?.occurrence else { return [] }
        return template.params.map { name, field in
            let value: String
            switch field {
            case .recipient: value = c.personName(d.recipient)
            case .subject: value = first.subject.map(c.personName) ?? c.subjectName(first)
            case .title: value = c.chatTitle(first)
            case .due: value = "\(first.due.month)月\(first.due.day)日"
            case .count: value = String(d.items.count)
            case .joined:
                value = c.joined(first.subject ?? d.recipient).map { "\($0.year)年\($0.month)月\($0.day)日" } ?? ""
            case .years:
                value = c.joined(first.subject ?? d.recipient).map { String(max(0, d.localDate.year - $0.year)) } ?? ""
            }
            return OutboxPayload.JournalField(name, cut(value, limit))
        }
    }

    /// A parameter cut to the provider's length, in characters (a Chinese character is one, and never split).
    public static func cut(_ value: String, _ limit: Int) -> String {
        value.count > limit ? String(value.prefix(limit)) : value
    }

    /// What `guanhuai send-test` fills each parameter with: text as long as real names and titles run, so the cut
    /// to `param_max_length` is exercised as a real message's is.
    public static func testParams(_ template: SMSSpec.Template, limit: Int) -> [OutboxPayload.JournalField] {
        template.params.map { name, field in
            let value =
                switch field {
                case .recipient: "测试收件人欧阳明月"
                case .subject: "测试对象司马光明"
                case .title: "关怀系统测试短信（guanhuai send-test）"
                case .due: "12月31日"
                case .count: "1"
                case .joined: "2000年7月1日"
                case .years: "26"
                }
            return OutboxPayload.JournalField(name, cut(value, limit))
        }
    }
}

/// An SMS channel ready to send: its spec with the keys read.
public struct SMSChannel: Sendable {
    public let name: String
    public let spec: SMSSpec
    let keyID: String
    let keySecret: String
    let tls: TLSConfiguration?
    /// The secret part of the address the provider posts its receipts to (`receipts = "push"`); nil: not pushed.
    public let receiptPushToken: String?

    public init(name: String, spec: SMSSpec, secrets: ChannelSecrets) {
        self.name = name
        self.spec = spec
        keyID = secrets.token ?? ""
        keySecret = secrets.secret ?? ""
        receiptPushToken = secrets.receiptPushToken
        tls = TLSConfiguration.client(trusting: spec.caFile)
    }

    /// `host` or `host:port`, as the Host header carries it and the signatures sign it.
    var hostHeader: String {
        let u = URLComponents(string: spec.url)
        let host = u?.host ?? ""
        guard let port = u?.port else { return host }
        let defaultPort = u?.scheme == "http" ? 80 : 443
        return port == defaultPort ? host : "\(host):\(port)"
    }

    /// The request for one message at `now`, with `nonce` for 阿里云's x-acs-signature-nonce.
    public func request(phone: String, template: String, params: [OutboxPayload.JournalField], now: Int64, nonce: String)
        -> WebhookRequest
    {
        switch spec.provider {
        case .aliyun:
            // Template parameters are a JSON object, its keys sorted so the same message is the same bytes.
            let object = Dictionary(params.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
            let json =
                (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
                .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            var query = [("PhoneNumbers", phone), ("SignName", spec.signName), ("TemplateCode", template)]
            if !params.isEmpty { query.append(("TemplateParam", json)) }
            return aliyun("SendSms", query: query, now: now, nonce: nonce)
        case .tencent:
            struct Body: Encodable {
                var PhoneNumberSet: [String]
                var SmsSdkAppId: String
                var SignName: String
                var TemplateId: String
                var TemplateParamSet: [String]
            }
            return tencent(
                "SendSms",
                body: Body(
                    PhoneNumberSet: ["+86" + phone], SmsSdkAppId: spec.sdkAppID ?? "", SignName: spec.signName,
                    TemplateId: template, TemplateParamSet: params.map(\.value)), now: now)
        }
    }

    /// A signed 阿里云 RPC call (API version 2017-05-25): its parameters in the query, the body empty.
    func aliyun(_ action: String, query: [(String, String)], now: Int64, nonce: String) -> WebhookRequest {
        let path = URLComponents(string: spec.url)?.path.nilIfEmpty ?? "/"
        var headers = [
            ("host", hostHeader), ("x-acs-action", action), ("x-acs-version", "2017-05-25"),
            ("x-acs-date", SMSSigning.iso8601(now)), ("x-acs-signature-nonce", nonce),
            ("x-acs-content-sha256", SMSSigning.sha256Hex([UInt8]())),
        ]
        let (signature, signed) = SMSSigning.aliyunV3(
            secret: keySecret, method: "POST", path: path, query: query,
            headers: headers, body: [])
        headers.append(("Authorization", "ACS3-HMAC-SHA256 Credential=\(keyID),SignedHeaders=\(signed),Signature=\(signature)"))
        let q = query.map { "\(SMSSigning.percentEncode($0.0))=\(SMSSigning.percentEncode($0.1))" }.joined(separator: "&")
        return WebhookRequest(url: spec.url + "?" + q, headers: headers, body: [])
    }

    /// A signed 腾讯云 API 3.0 call (version 2021-01-11): a JSON body.
    func tencent(_ action: String, body value: some Encodable, now: Int64) -> WebhookRequest {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = Array((try? encoder.encode(value)) ?? Data())
        let contentType = "application/json; charset=utf-8"
        let signature = SMSSigning.tencentTC3(
            secretKey: keySecret, service: "sms", host: hostHeader,
            contentType: contentType, timestamp: now, body: body)
        let auth =
            "TC3-HMAC-SHA256 Credential=\(keyID)/\(SMSSigning.utcDate(now))/sms/tc3_request, "
            + "SignedHeaders=content-type;host, Signature=\(signature)"
        return WebhookRequest(
            url: spec.url,
            headers: [
                ("Authorization", auth), ("Content-Type", contentType), ("Host", hostHeader), ("X-TC-Action", action),
                ("X-TC-Version", "2021-01-11"), ("X-TC-Timestamp", String(now)), ("X-TC-Region", spec.region),
            ], body: body)
    }

    static func nonce() -> String {
        var nonce = ""
        for _ in 0..<16 { nonce += String(format: "%02x", UInt8.random(in: 0...255)) }
        return nonce
    }

    /// Sends one message and classifies the provider's answer.
    public func send(phone: String, template: String, params: [OutboxPayload.JournalField], now: Int64) async
        -> Result<SMSAccepted, DeliveryError>
    {
        let r = request(phone: phone, template: template, params: params, now: now, nonce: SMSChannel.nonce())
        return await WebhookHTTP.post(r, tls: tls, timeoutSeconds: spec.timeoutSeconds)
            .flatMap { classify(status: $0.status, body: $0.body) }
    }

    /// 阿里云 throttling and 腾讯云 LimitExceeded are temporary; a bad template, sign name, number or key is
    /// permanent. Each answer is named by the provider's code and message (never the keys).
    func classify(status: Int, body: [UInt8]) -> Result<SMSAccepted, DeliveryError> {
        let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        if status == 429 || status >= 500, object == nil {
            return .failure(.temporary("HTTP \(status)"))
        }
        guard let object else {
            return .failure(.permanent("HTTP \(status): the answer is not the provider's JSON\(WebhookChannel.snippet(body)); is the url right?"))
        }
        switch spec.provider {
        case .aliyun:
            let code = object["Code"] as? String ?? "HTTP \(status)"
            let message = object["Message"] as? String ?? ""
            if code == "OK" {
                let id = object["BizId"] as? String ?? ""
                return .success(SMSAccepted(receipt: "阿里云 OK \(id)", messageID: id.isEmpty ? nil : id))
            }
            return SMSChannel.outcome(
                "阿里云 \(code): \(message)" + SMSChannel.requestID(object["RequestId"]),
                temporary: SMSChannel.aliyunTemporary.contains(code)
                    || code.hasPrefix("Throttling") || code.hasPrefix("ServiceUnavailable") || status >= 500,
                numberThrottled: SMSChannel.aliyunNumberLimits.contains(code))
        case .tencent:
            let response = object["Response"] as? [String: Any] ?? [:]
            if let error = response["Error"] as? [String: Any] {
                let code = error["Code"] as? String ?? "?"
                return SMSChannel.outcome(
                    "腾讯云 \(code): \(error["Message"] as? String ?? "")" + SMSChannel.requestID(response["RequestId"]),
                    temporary: SMSChannel.tencentTemporary(code), numberThrottled: code.hasPrefix("LimitExceeded.PhoneNumber"))
            }
            guard let first = (response["SendStatusSet"] as? [[String: Any]])?.first, let code = first["Code"] as? String else {
                return .failure(.permanent("腾讯云: the answer has no SendStatusSet"))
            }
            if code == "Ok" {
                let id = first["SerialNo"] as? String ?? ""
                return .success(SMSAccepted(receipt: "腾讯云 Ok \(id)", messageID: id.isEmpty ? nil : id))
            }
            return SMSChannel.outcome(
                "腾讯云 \(code): \(first["Message"] as? String ?? "")" + SMSChannel.requestID(response["RequestId"]),
                temporary: SMSChannel.tencentTemporary(code), numberThrottled: code.hasPrefix("LimitExceeded.PhoneNumber"))
        }
    }

    /// The provider's RequestId, which its support asks for first.
    static func requestID(_ value: Any?) -> String {
        guard let id = value as? String, !id.isEmpty else { return "" }
        return " (RequestId \(id.prefix(80)))"
    }

    /// The provider's limit for one number, by its code: that message waits, the others can still be texted.
    static func outcome(_ what: String, temporary: Bool, numberThrottled: Bool = false) -> Result<SMSAccepted, DeliveryError> {
        if numberThrottled { return .failure(.throttled(what)) }
        return .failure(temporary ? .temporary(what) : .permanent(what))
    }

    /// 阿里云's per-number flow control (minute, hour, day; and the day's cap).
    static let aliyunNumberLimits: Set<String> = ["isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL"]

    /// 阿里云's flow control: per number per minute/hour/day (BUSINESS_LIMIT_CONTROL), per day (DAY_LIMIT_CONTROL).
    static let aliyunTemporary: Set<String> = [
        "isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "InternalError",
        "isp.SYSTEM_ERROR", "isp.RAM_PERMISSION_DENY_TEMP",
    ]

    /// 腾讯云: the per-number limits (30 s, 1 h, 1 day) and the API's own rate limit, and its internal errors.
    static func tencentTemporary(_ code: String) -> Bool {
        code.hasPrefix("LimitExceeded.PhoneNumber") || code.hasPrefix("RequestLimitExceeded") || code.hasPrefix("InternalError")
            || code == "LimitExceeded.DeliveryFrequencyLimit"
    }
}

extension String {
    fileprivate var nilIfEmpty: String? { isEmpty ? nil : self }
}

/// A number's SMS within the per-minute, per-hour and per-day limits; over any of them, the message waits.
public struct SMSNumberLimit: Sendable {
    var minute: RateWindow
    var hour: RateWindow
    var day: RateWindow

    public init(perMinute: Int, perHour: Int, perDay: Int) {
        minute = RateWindow(limit: perMinute, window: 60)
        hour = RateWindow(limit: perHour, window: 3600)
        day = RateWindow(limit: perDay, window: 86400)
    }

    /// nil: send now (counted in all three). Otherwise when the next may go.
    public mutating func reserve(now: Int64) -> Int64? {
        var m = minute
        var h = hour
        var d = day
        let waits = [m.reserve(now: now), h.reserve(now: now), d.reserve(now: now)].compactMap { $0 }
        guard waits.isEmpty else { return waits.max() }
        (minute, hour, day) = (m, h, d)
        return nil
    }
}
