public import Foundation
public import GuanhuaiConfig
public import GuanhuaiCore
import NIOSSL
import Synchronization

/// One application's access token, shared by every message the process sends through it: fetched once, used
/// until shortly before it expires, fetched again when the provider says it is invalid or expired, and never
/// fetched twice at once (a second caller waits for the fetch in flight). The provider limits how often a token
/// may be fetched (企业微信: gettoken is rate limited, and each fetch may invalidate the previous one), so this is
/// the one place that asks. The token is never logged: only how many fetches there were.
public final class AccessTokenCache: Sendable {
    public typealias Fetched = (token: String, expiresIn: Int64)
    private struct State {
        var token: String?
        var usableUntil: Int64 = 0
        var inFlight: Task<Result<String, DeliveryError>, Never>?
        var fetches = 0
    }
    private let state = Mutex(State())

    public init() {}

    /// How many times a token was fetched (for tests and metrics).
    public var fetches: Int { state.withLock { $0.fetches } }

    /// A usable token: the cached one, the one being fetched, or a new fetch.
    public func token(now: Int64, fetch: @escaping @Sendable () async -> Result<Fetched, DeliveryError>) async -> Result<String, DeliveryError> {
        let task: Task<Result<String, DeliveryError>, Never> = state.withLock { s in
            if let t = s.token, now < s.usableUntil { return Task { .success(t) } }
            if let running = s.inFlight { return running }
            s.fetches += 1
            let started = Task { [self] () -> Result<String, DeliveryError> in
                let r = await fetch()
                return self.state.withLock { s in
                    s.inFlight = nil
                    switch r {
                    case .success(let f):
                        s.token = f.token
                        // Fetched again a little before the provider's expiry (5 minutes, or a tenth of a short one),
                        // so a message never goes with a token about to lapse.
                        s.usableUntil = now + f.expiresIn - min(300, f.expiresIn / 10)
                        return .success(f.token)
                    case .failure(let e):
                        return .failure(e)
                    }
                }
            }
            s.inFlight = started
            return started
        }
        return await task.value
    }

    /// The provider said this token is invalid or expired: the next caller fetches a new one. A token already
    /// replaced by a newer fetch is left alone, so one stale answer does not cause a second fetch.
    public func invalidate(_ token: String) {
        state.withLock { s in
            if s.token == token {
                s.token = nil
                s.usableUntil = 0
            }
        }
    }
}

/// The token caches of the process, by application (API base, corp and secret): a reload keeps them, so a new
/// configuration with the same application does not fetch a token again.
public final class AccessTokenCaches: Sendable {
    private let caches = Mutex<[String: AccessTokenCache]>([:])
    public init() {}

    public func cache(for spec: WorkAppSpec, secret: String) -> AccessTokenCache {
        let key = [spec.app.rawValue, spec.base, spec.corpID, String(spec.agentID), SMSSigning.sha256Hex(Array(secret.utf8))]
            .joined(separator: "\u{1F}")
        return caches.withLock { c in
            if let existing = c[key] { return existing }
            let new = AccessTokenCache()
            c[key] = new
            return new
        }
    }
}

/// A work-app channel ready to send: 企业微信 应用消息 to one person by their userid.
public struct WorkAppChannel: Sendable {
    public let name: String
    public let spec: WorkAppSpec
    let secret: String
    public let tokens: AccessTokenCache
    let tls: TLSConfiguration?

    public init(name: String, spec: WorkAppSpec, secrets: ChannelSecrets, tokens: AccessTokenCache) {
        self.name = name
        self.spec = spec
        secret = secrets.secret ?? ""
        self.tokens = tokens
        tls = TLSConfiguration.client(trusting: spec.caFile)
    }

    var base: String { spec.base.hasSuffix("/") ? String(spec.base.dropLast()) : spec.base }

    /// `GET /cgi-bin/gettoken?corpid=ID&corpsecret=SECRET` → `{"errcode":0,"access_token":…,"expires_in":7200}`.
    func fetchToken() async -> Result<AccessTokenCache.Fetched, DeliveryError> {
        let url = "\(base)/cgi-bin/gettoken?corpid=\(SMSSigning.percentEncode(spec.corpID))&corpsecret=\(SMSSigning.percentEncode(secret))"
        let answer = await WebhookHTTP.post(WebhookRequest(url: url, headers: [], body: [], get: true), tls: tls, timeoutSeconds: spec.timeoutSeconds)
        switch answer {
        case .failure(let e): return .failure(e)
        case .success(let a):
            guard let object = try? JSONSerialization.jsonObject(with: Data(a.body)) as? [String: Any] else {
                return .failure(WorkAppChannel.notJSON(a.status, a.body, spec: spec))
            }
            let code = (object["errcode"] as? NSNumber)?.intValue ?? -1
            if code == 0, let token = object["access_token"] as? String, !token.isEmpty {
                return .success((token, Int64((object["expires_in"] as? NSNumber)?.intValue ?? 7200)))
            }
            return .failure(WorkAppChannel.tokenFailure(code: code, message: object["errmsg"] as? String ?? ""))
        }
    }

    /// 企业微信's answers to gettoken: a wrong corpid or secret, or a revoked application, is the channel's and
    /// permanent (disabled until an operator acts); anything else is temporary.
    static func tokenFailure(code: Int, message: String) -> DeliveryError {
        let what = "企业微信 gettoken \(code): \(message.prefix(120))"
        switch code {
        case 40001, 40013, 40091, 41002, 41004, 40056, 301002, 60020:
            // 40001/40091 bad secret, 40013 bad corpid, 41002/41004 missing, 60020 this server's IP not on the
            // application's 企业可信IP list.
            return .gone(
                what
                    + " — the corpid, the application's Secret or the server's IP (企业可信IP) is not accepted; fix the configuration and run guanhuai channel enable"
            )
        default:
            return .temporary(what)
        }
    }

    static func notJSON(_ status: Int, _ body: [UInt8], spec: WorkAppSpec) -> DeliveryError {
        if status == 429 || status >= 500 { return .temporary("HTTP \(status)") }
        return .permanent("HTTP \(status): the answer is not \(spec.app.chinese)'s JSON\(WebhookChannel.snippet(body)); is url (\(spec.base)) the API's base?")
    }

    /// Sends `message` (a message object without `touser` and `agentid`) to `user`. A token the provider calls
    /// invalid or expired (40014, 42001, 40082) is fetched again, and the message sent once more.
    public func send(user: String, message: Data, now: Int64) async -> Result<String, DeliveryError> {
        guard var object = try? JSONSerialization.jsonObject(with: message) as? [String: Any] else {
            return .failure(.permanent("the stored message is not JSON"))
        }
        object["touser"] = user
        object["agentid"] = spec.agentID
        guard let body = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return .failure(.permanent("the message cannot be encoded"))
        }
        for attempt in 0..<2 {
            let token: String
            switch await tokens.token(now: now, fetch: { await self.fetchToken() }) {
            case .failure(let e): return .failure(e)
            case .success(let t): token = t
            }
            let answer = await WebhookHTTP.post(
                WebhookRequest(
                    url: "\(base)/cgi-bin/message/send?access_token=\(SMSSigning.percentEncode(token))",
                    headers: [("Content-Type", "application/json; charset=utf-8")], body: Array(body)),
                tls: tls, timeoutSeconds: spec.timeoutSeconds)
            switch answer {
            case .failure(let e): return .failure(e)
            case .success(let a):
                let outcome = classify(status: a.status, body: a.body, user: user)
                if case .failure(let e) = outcome, e.message.hasPrefix(WorkAppChannel.tokenRejected), attempt == 0 {
                    tokens.invalidate(token)
                    continue
                }
                return outcome
            }
        }
        return .failure(.temporary("企业微信 refused a fresh access token too; trying again later"))
    }

    static let tokenRejected = "企业微信 access token rejected"

    /// 企业微信's answer to message/send, for one recipient.
    func classify(status: Int, body: [UInt8], user: String) -> Result<String, DeliveryError> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            return .failure(WorkAppChannel.notJSON(status, body, spec: spec))
        }
        let code = (object["errcode"] as? NSNumber)?.intValue ?? -1
        let message = String((object["errmsg"] as? String ?? "").prefix(120))
        // A partly accepted send names the recipients it could not reach; ours is the only one.
        func listed(_ key: String) -> Bool {
            (object[key] as? String ?? "").split(separator: "|").contains { $0.lowercased() == user.lowercased() }
        }
        switch code {
        case 0 where listed("invaliduser"):
            return .failure(
                .permanent("企业微信 does not reach userid \(user): no such member, or outside the application's 可见范围 (visible range)"))
        case 0 where listed("unlicenseduser"):
            return .failure(.permanent("企业微信: userid \(user) has no 接口许可 (licence) for this application"))
        case 0:
            return .success("企业微信 ok \(object["msgid"] as? String ?? "")")
        case 40014, 42001, 40082:
            return .failure(.temporary("\(WorkAppChannel.tokenRejected) (\(code) \(message))"))
        case 81013, 60111, 60103:
            return .failure(
                .permanent("企业微信 \(code): userid \(user) is unknown or outside the application's 可见范围 (visible range) — \(message)"))
        case 45009, 45033, 45047, -1, 44004:
            // 45009 the API's frequency limit, 45033 concurrency, -1 system busy: the rest of the batch waits.
            return .failure(.temporary("企业微信 \(code): \(message)"))
        case 40056, 301002, 48002, 60020, 40001, 40013, 82001:
            return .failure(
                .gone(
                    "企业微信 \(code): \(message) — the application (agentid \(spec.agentID)) cannot send; check it is enabled and allowed to send, then guanhuai channel enable"
                ))
        default:
            return .failure(.permanent("企业微信 \(code): \(message)"))
        }
    }
}

/// What a work-app message to one person says: the digest as 企业微信's 模板卡片 (text_notice), each item a line
/// that opens its own 已办结 page and the card opening 「我的待办」. The rules are e-mail's, because it goes to that
/// one person; notes are left out (a card has no room for them, and the page shows them to whom it may).
public enum WorkAppMessages {
    /// The message object (without `touser` and `agentid`, which the channel adds when it sends).
    public static func card(_ d: Digest, renderer: DigestRenderer, context c: RenderContext) -> Data {
        let v = renderer.values(d, c, withNotes: false)
        let object: [String: Any]
        if d.isGreeting || v.agendaURL == nil {
            // A greeting is the member's own, with nothing to record: a text, as the mail's greeting says it.
            let text = renderer.mail(d, context: c).text.trimmingCharacters(in: .whitespacesAndNewlines)
            object = ["msgtype": "text", "text": ["content": cut(text, bytes: 2000)]]
        } else {
            let agenda = v.agendaURL!
            var lines: [[String: Any]] = []
            let shown = v.items.count > 6 ? 5 : v.items.count
            for item in v.items.prefix(shown) {
                var line: [String: Any] = [
                    "keyname": String(item.kindLabel.prefix { $0 != "（" }.prefix(5)),
                    "value": cut("\(item.title)（\(item.subject)）\(item.due.dropFirst(5))", characters: 26),
                ]
                if let link = item.link {
                    // The 已办结 page, as the mail's 「已办结」 link; it offers 不适用 and 登记情况 too.
                    line["type"] = 1
                    line["url"] = link + "/done"
                }
                lines.append(line)
            }
            if v.items.count > shown {
                lines.append(["keyname": "其余", "value": "另有 \(v.items.count - shown) 项，见我的待办", "type": 1, "url": agenda])
            }
            let overdue = v.items.filter(\.overdue).count
            object = [
                "msgtype": "template_card",
                "template_card": [
                    "card_type": "text_notice",
                    "source": ["desc": "关怀提醒"],
                    "main_title": [
                        "title": v.count == 1 ? cut(v.firstTitle, characters: 26) : "\(v.count) 项关怀事项待办理",
                        "desc": cut("\(v.recipientName)同志 · \(v.date)" + (c.lateSince != nil ? "（补发）" : ""), characters: 30),
                    ],
                    "sub_title_text": overdue > 0 ? "其中 \(overdue) 项已逾期。点事项登记办结，点卡片看全部待办。" : "点事项登记办结，点卡片看全部待办。",
                    "horizontal_content_list": lines,
                    "jump_list": [["type": 1, "title": "我的待办", "url": agenda]],
                    "card_action": ["type": 1, "url": agenda],
                ],
            ]
        }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }

    static func cut(_ s: String, characters: Int) -> String { s.count > characters ? String(s.prefix(characters - 1)) + "…" : s }

    /// Cut to a byte limit without splitting a character.
    static func cut(_ s: String, bytes: Int) -> String {
        guard s.utf8.count > bytes else { return s }
        var out = ""
        for ch in s {
            if out.utf8.count + ch.utf8.count > bytes - 3 { break }
            out.append(ch)
        }
        return out + "…"
    }
}
