public import Foundation
public import GuanhuaiConfig
public import GuanhuaiCore
import NIOSSL
import Synchronization

/// One application's access token, shared by every message the process sends through it: fetched once, used
/// until shortly before it expires, fetched again when the provider says it is invalid or expired, and never
/// fetched twice at once (a second caller waits for the fetch in flight). The providers rate-limit the token call
/// and ask that the token be cached (企业微信 and 钉钉 return the same token while it is valid), so this is the one
/// place that asks. The token is never logged: only how many fetches there were.
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
        enum Next {
            case cached(String)
            case wait(Task<Result<String, DeliveryError>, Never>)
        }
        let next: Next = state.withLock { s in
            // The usual case, every message after the first: the cached token, without a task or a suspension.
            if let t = s.token, now < s.usableUntil { return .cached(t) }
            if let running = s.inFlight { return .wait(running) }
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
            return .wait(started)
        }
        switch next {
        case .cached(let t): return .success(t)
        case .wait(let task): return await task.value
        }
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
        let key = [spec.app.rawValue, spec.base, spec.appID, String(spec.agentID ?? 0), SMSSigning.sha256Hex(Array(secret.utf8))]
            .joined(separator: "\u{1F}")
        return caches.withLock { c in
            if let existing = c[key] { return existing }
            let new = AccessTokenCache()
            c[key] = new
            return new
        }
    }
}

/// A work-app channel ready to send to one person by their id in the app: 企业微信 应用消息 (message/send), 钉钉
/// 工作通知 (asyncsend_v2, then getsendresult for that person's fate), 飞书 (im/v1/messages as the application's bot).
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
    var app: String { spec.app.chinese }

    static func json(_ object: [String: Any]) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data())
    }

    /// One call to the API; its answer as a JSON object (or the failure said in the operator's words).
    func call(_ url: String, body: [String: Any]? = nil, raw: [UInt8]? = nil, bearer: String? = nil) async
        -> Result<(status: Int, object: [String: Any]), DeliveryError>
    {
        await call(url, body: body, raw: raw, bearer: bearer) { try JSONSerialization.jsonObject(with: $0) as? [String: Any] }
    }

    /// One call to the API; its answer read by `read` (nil or a throw: not the API's JSON).
    func call<Answer>(
        _ url: String, body: [String: Any]? = nil, raw: [UInt8]? = nil, bearer: String? = nil, read: (Data) throws -> Answer?
    ) async -> Result<(status: Int, object: Answer), DeliveryError> {
        let bytes = raw ?? body.map(Self.json)
        var headers: [(String, String)] = bytes == nil ? [] : [("Content-Type", "application/json; charset=utf-8")]
        if let bearer { headers.append(("Authorization", "Bearer " + bearer)) }
        var request = WebhookRequest(url: url, headers: headers, body: bytes ?? [], get: bytes == nil)
        // A message's request differs from the last one's only in its body while the token lasts.
        if raw != nil { request.reuseKey = [url, bearer ?? "", spec.caFile ?? ""].joined(separator: "\n") }
        switch await WebhookHTTP.post(request, tls: tls, timeoutSeconds: spec.timeoutSeconds) {
        case .failure(let e): return .failure(e)
        case .success(let a):
            guard let object = try? read(Data(a.body)) else {
                if a.status == 429 || a.status >= 500 { return .failure(.temporary("\(app): HTTP \(a.status)")) }
                return .failure(
                    .permanent("HTTP \(a.status): the answer is not \(app)'s JSON\(WebhookChannel.snippet(a.body)); is url (\(spec.base)) the API's base?"))
            }
            return .success((a.status, object))
        }
    }

    /// 企业微信's answer to message/send, read with JSONDecoder rather than into JSONSerialization's dictionary of
    /// bridged values (the largest cost of ours left in a message's CPU; with the kept request, 1.75 s of CPU for
    /// 10,000 messages against 2.00 s before, medians of 6 interleaved runs of workapp-benchmark's client).
    struct WecomSendAnswer: Decodable {
        var errcode: Int
        var errmsg: String?
        var invaliduser: String?
        var unlicenseduser: String?
        var msgid: String?
    }
    static let decoder = JSONDecoder()

    static func code(_ object: [String: Any], _ key: String) -> Int { (object[key] as? NSNumber)?.intValue ?? -1 }

    /// The application's token: 企业微信 and 钉钉 `gettoken` (GET), 飞书 `tenant_access_token/internal` (POST).
    func fetchToken() async -> Result<AccessTokenCache.Fetched, DeliveryError> {
        let e = SMSSigning.percentEncode
        let answer: Result<(status: Int, object: [String: Any]), DeliveryError>
        switch spec.app {
        case .wecom: answer = await call("\(base)/cgi-bin/gettoken?corpid=\(e(spec.appID))&corpsecret=\(e(secret))")
        case .dingtalk: answer = await call("\(base)/gettoken?appkey=\(e(spec.appID))&appsecret=\(e(secret))")
        case .feishu:
            answer = await call("\(base)/open-apis/auth/v3/tenant_access_token/internal", body: ["app_id": spec.appID, "app_secret": secret])
        }
        switch answer {
        case .failure(let e): return .failure(e)
        case .success(let (_, object)):
            let feishu = spec.app == .feishu
            let code = Self.code(object, feishu ? "code" : "errcode")
            let token = object[feishu ? "tenant_access_token" : "access_token"] as? String ?? ""
            if code == 0, !token.isEmpty {
                return .success((token, Int64((object[feishu ? "expire" : "expires_in"] as? NSNumber)?.intValue ?? 7200)))
            }
            let message = String((object[feishu ? "msg" : "errmsg"] as? String ?? "").prefix(120))
            return .failure(tokenFailure(code: code, message: message))
        }
    }

    /// A wrong application id or secret, or a server the application does not accept, is the channel's and
    /// permanent (disabled until an operator acts); anything else is temporary.
    func tokenFailure(code: Int, message: String) -> DeliveryError {
        let what = "\(app) token \(code): \(message)"
        let wrong: Set<Int> =
            switch spec.app {
            // 40001/40091 bad secret, 40013 bad corpid, 41002/41004 missing, 60020 this server's IP not on the
            // application's 企业可信IP list.
            case .wecom: [40001, 40013, 40091, 41002, 41004, 40056, 301002, 60020]
            // 40089 bad AppKey or AppSecret, 40001/40013 as 企业微信's, 43001… the application disabled.
            case .dingtalk: [40089, 40001, 40013, 40078, 43001]
            // 10003 bad app_id, 10014 bad app_secret, 10015 the application disabled.
            case .feishu: [10003, 10014, 10015]
            }
        if wrong.contains(code) {
            return .gone(
                what
                    + " — the application's id, its secret or the server's IP is not accepted; fix the configuration and run guanhuai enable-channel \(name)"
            )
        }
        return .temporary(what)
    }

    /// Sends `message` (the app's message object, without the recipient and the agent, which are added here) to
    /// `user`; `id` is the outbox key (飞书 drops a second message with the same `uuid` within an hour). A token the
    /// provider calls invalid or expired is fetched again, and the message sent once more.
    public func send(user: String, message: Data, id: String, now: Int64) async -> Result<String, DeliveryError> {
        await sendTracked(user: user, message: message, id: id, now: now).map(\.receipt)
    }

    /// What a work app said of a message it took: its answer, and for 钉钉 the task whose send result is not in yet
    /// (钉钉 had not processed it when asked; `dingtalkReport` asks again later).
    public struct Sent: Sendable, Equatable {
        public var receipt: String
        public var pendingTask: String?
    }

    /// `send`, with the 钉钉 task still to be asked about.
    public func sendTracked(user: String, message: Data, id: String, now: Int64) async -> Result<Sent, DeliveryError> {
        guard message.first == UInt8(ascii: "{"), message.last == UInt8(ascii: "}") else {
            return .failure(.permanent("the stored message is not a JSON object"))
        }
        let object = Array(message)
        for attempt in 0..<2 {
            let token: String
            switch await tokens.token(now: now, fetch: { await self.fetchToken() }) {
            case .failure(let e): return .failure(e)
            case .success(let t): token = t
            }
            let outcome = await deliver(object, to: user, id: id, token: token)
            if case .failure(let e) = outcome, e.message.hasPrefix(WorkAppChannel.tokenRejected), attempt == 0 {
                tokens.invalidate(token)
                continue
            }
            return outcome
        }
        return .failure(.temporary("\(app) refused a fresh access token too; trying again later"))
    }

    static let tokenRejected = "access token rejected"

    /// A JSON string literal: the few characters JSON escapes, escaped (hand-written: one small function where
    /// encoding a whole object again for each message cost more than the request itself).
    static func quoted(_ s: String) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), b]
            case 0..<0x20: out += Array(String(format: "\\u%04x", b).utf8)
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    /// The stored message object with `fields` (already JSON) put first: the request body, built without parsing and
    /// encoding the message again for each person.
    static func body(_ message: [UInt8], adding fields: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (name, value) in fields {
            out += quoted(name)
            out.append(UInt8(ascii: ":"))
            out += value
            out.append(UInt8(ascii: ","))
        }
        let inner = message.dropFirst()
        if inner.first == UInt8(ascii: "}") { out.removeLast() }
        out += inner
        return out
    }

    func deliver(_ message: [UInt8], to user: String, id: String, token: String) async -> Result<Sent, DeliveryError> {
        let t = SMSSigning.percentEncode(token)
        let agent = Array(String(spec.agentID ?? 0).utf8)
        switch spec.app {
        case .wecom:
            // 企业微信 keeps one of the same request within 30 minutes (enable_duplicate_check): a message sent again
            // after a crash or a lost answer, as the same outbox row makes the same request, is not shown twice.
            let body = Self.body(message, adding: [("agentid", agent), ("enable_duplicate_check", Array("1".utf8)), ("touser", Self.quoted(user))])
            return await call("\(base)/cgi-bin/message/send?access_token=\(t)", raw: body) { try Self.decoder.decode(WecomSendAnswer.self, from: $0) }
                .flatMap { classifyWecom($0.status, $0.object, user: user) }.map { Sent(receipt: $0) }
        case .dingtalk:
            let body = Self.body(Array("{\"msg\":".utf8) + message + [UInt8(ascii: "}")], adding: [("agent_id", agent), ("userid_list", Self.quoted(user))])
            let sent = await call("\(base)/topapi/message/corpconversation/asyncsend_v2?access_token=\(t)", raw: body)
            guard case .success(let (status, object)) = sent else { return sent.map { _ in Sent(receipt: "") } }
            let first = classifyDingtalk(status, object, user: user)
            guard case .success(let receipt) = first, let task = object["task_id"] else { return first.map { Sent(receipt: $0) } }
            // 工作通知 is asynchronous: what became of this one person is in the task's send result. Where 钉钉 has not
            // processed the task yet, the person is in none of its lists, and it is asked about again later.
            let result = await call(
                "\(base)/topapi/message/corpconversation/getsendresult?access_token=\(t)", body: ["agent_id": spec.agentID ?? 0, "task_id": task])
            guard case .success(let (rs, ro)) = result else { return .success(Sent(receipt: receipt, pendingTask: "\(task)")) }
            switch classifyDingtalkResult(rs, ro, user: user, task: "\(task)") {
            case .failure(let e): return .failure(e)
            case .success(nil): return .success(Sent(receipt: receipt, pendingTask: "\(task)"))
            case .success(let r?): return .success(Sent(receipt: r))
            }
        case .feishu:
            let uuid = String(SMSSigning.sha256Hex(Array(id.utf8)).prefix(40))
            let body = Self.body(message, adding: [("receive_id", Self.quoted(user)), ("uuid", Self.quoted(uuid))])
            return await call("\(base)/open-apis/im/v1/messages?receive_id_type=user_id", raw: body, bearer: token)
                .flatMap { classifyFeishu($0.status, $0.object, user: user) }.map { Sent(receipt: $0) }
        }
    }

    func gone(_ what: String) -> DeliveryError {
        .gone("\(what) — the application cannot send; check it is enabled and allowed to send, then guanhuai enable-channel \(name)")
    }

    /// 企业微信's answer to message/send, for one recipient.
    func classifyWecom(_ status: Int, _ answer: WecomSendAnswer, user: String) -> Result<String, DeliveryError> {
        let code = answer.errcode
        let message = String((answer.errmsg ?? "").prefix(120))
        // A partly accepted send names the recipients it could not reach; ours is the only one.
        func listed(_ list: String?) -> Bool {
            (list ?? "").split(separator: "|").contains { $0.lowercased() == user.lowercased() }
        }
        switch code {
        case 0 where listed(answer.invaliduser):
            return .failure(.permanent("企业微信 does not reach userid \(user): no such member, or outside the application's 可见范围 (visible range)"))
        case 0 where listed(answer.unlicenseduser):
            return .failure(.permanent("企业微信: userid \(user) has no 接口许可 (licence) for this application"))
        case 0:
            return .success("企业微信 ok \(answer.msgid ?? "")")
        case 40014, 42001, 40082:
            return .failure(.temporary("\(WorkAppChannel.tokenRejected) by 企业微信 (\(code) \(message))"))
        case 81013, 60111, 60103:
            return .failure(.permanent("企业微信 \(code): userid \(user) is unknown or outside the application's 可见范围 (visible range) — \(message)"))
        case 45009, 45033, 45047, -1, 44004:
            // 45009 the API's frequency limit, 45033 concurrency, -1 system busy: the rest of the batch waits.
            return .failure(.temporary("企业微信 \(code): \(message)"))
        case 40056, 301002, 48002, 60020, 40001, 40013, 82001:
            return .failure(gone("企业微信 \(code): \(message) (agentid \(spec.agentID ?? 0))"))
        default:
            return .failure(.permanent("企业微信 \(code): \(message)"))
        }
    }

    /// 钉钉's answer to asyncsend_v2: accepted (the task id), or refused for the whole call.
    func classifyDingtalk(_ status: Int, _ object: [String: Any], user: String) -> Result<String, DeliveryError> {
        let code = Self.code(object, "errcode")
        let message = String((object["errmsg"] as? String ?? "").prefix(120))
        switch code {
        case 0: return .success("钉钉 task \(object["task_id"].map { "\($0)" } ?? "")")
        case 40014, 42001, 40082:
            return .failure(.temporary("\(WorkAppChannel.tokenRejected) by 钉钉 (\(code) \(message))"))
        case 143103, 143104, 90018, 90002, -1:
            // The application's or the organisation's per-minute limit, or a busy server: the rest of the batch waits.
            return .failure(.temporary("钉钉 \(code): \(message)"))
        case 60011, 40089, 43001, 88, 400002:
            return .failure(gone("钉钉 \(code): \(message) (agent_id \(spec.agentID ?? 0))"))
        case 33012, 60121:
            return .failure(.permanent("钉钉 \(code): userid \(user) is unknown — \(message)"))
        default:
            return .failure(.permanent("钉钉 \(code): \(message)"))
        }
    }

    /// The list of 钉钉's getsendresult the person is in: invalid, forbidden, failed, read or unread; nil while they
    /// are in none (the task not processed yet).
    static func dingtalkList(_ object: [String: Any], user: String) -> String? {
        let result = object["send_result"] as? [String: Any] ?? [:]
        return ["invalid", "forbidden", "failed", "read", "unread"].first { list in
            (result[list + "_user_id_list"] as? [Any] ?? []).contains { "\($0)" == user }
        }
    }

    /// 钉钉's getsendresult for the task: the person is invalid, forbidden (a limit 钉钉 keeps per person, e.g. the same
    /// text twice a day), failed, or the message reached them (read or unread); nil while they are in none of its
    /// lists (the task not processed yet).
    func classifyDingtalkResult(_ status: Int, _ object: [String: Any], user: String, task: String) -> Result<String?, DeliveryError> {
        switch Self.dingtalkList(object, user: user) {
        case "invalid":
            return .failure(.permanent("钉钉 does not reach userid \(user): no such member, or outside the application's 可使用范围 (visible range)"))
        case "forbidden":
            let result = object["send_result"] as? [String: Any] ?? [:]
            let why = (result["forbidden_list"] as? [[String: Any]] ?? []).first { "\($0["userid"] ?? "")" == user }?["code"].map { " (\($0))" } ?? ""
            return .failure(.permanent("钉钉 refused userid \(user)\(why): a per-person limit of 工作通知 (the same message twice a day, or too many)"))
        case "failed": return .failure(.temporary("钉钉 could not deliver task \(task) to \(user)"))
        case nil: return .success(nil)
        default: return .success("钉钉 task \(task)")
        }
    }

    /// Asks 钉钉 again what became of a task it had not processed when the message was sent: a report (delivered; or
    /// undelivered, its code the list the person is in: invalid, forbidden or failed), or nil while the person is
    /// still in none of the task's lists. A failure is the call's, and the task is asked about at a later round.
    public func dingtalkReport(task: String, user: String, now: Int64) async -> Result<SMSReport?, DeliveryError> {
        guard spec.app == .dingtalk, let taskID = Int64(task) else { return .failure(.permanent("not a 钉钉 task id: \(task)")) }
        for attempt in 0..<2 {
            let token: String
            switch await tokens.token(now: now, fetch: { await self.fetchToken() }) {
            case .failure(let e): return .failure(e)
            case .success(let t): token = t
            }
            let answer = await call(
                "\(base)/topapi/message/corpconversation/getsendresult?access_token=\(SMSSigning.percentEncode(token))",
                body: ["agent_id": spec.agentID ?? 0, "task_id": taskID])
            guard case .success(let (_, object)) = answer else { return answer.map { _ in nil } }
            let code = Self.code(object, "errcode")
            if [40014, 42001, 40082].contains(code), attempt == 0 {
                tokens.invalidate(token)
                continue
            }
            guard code == 0 else {
                return .failure(.temporary("钉钉 getsendresult \(code): \(String((object["errmsg"] as? String ?? "").prefix(120)))"))
            }
            return .success(
                Self.dingtalkList(object, user: user).map { list in
                    SMSReport(messageID: task, delivered: list == "read" || list == "unread", code: list, at: nil)
                })
        }
        return .failure(.temporary("钉钉 refused a fresh access token too; asking again later"))
    }

    /// 飞书's answer to im/v1/messages.
    func classifyFeishu(_ status: Int, _ object: [String: Any], user: String) -> Result<String, DeliveryError> {
        let code = Self.code(object, "code")
        let message = String((object["msg"] as? String ?? "").prefix(120))
        switch code {
        case 0:
            let id = (object["data"] as? [String: Any])?["message_id"] as? String ?? ""
            return .success("飞书 ok \(id)")
        case 99_991_663, 99_991_664, 99_991_671, 99_991_661:
            return .failure(.temporary("\(WorkAppChannel.tokenRejected) by 飞书 (\(code) \(message))"))
        case 230013:
            return .failure(.permanent("飞书: user_id \(user) is outside the application's 可用范围 (availability) — \(message)"))
        case 230001, 230099:
            return .failure(.permanent("飞书 \(code): user_id \(user) or the message was refused — \(message)"))
        case 99_991_400, 230020, 11232, -1:
            return .failure(.temporary("飞书 \(code): \(message)"))
        case 230006, 99_991_672, 10003, 10014, 10015:
            return .failure(gone("飞书 \(code): \(message)"))
        default:
            if status == 429 || status >= 500 { return .failure(.temporary("飞书 \(code): \(message)")) }
            return .failure(.permanent("飞书 \(code): \(message)"))
        }
    }
}

/// What a work-app message to one person says: the digest in the app's card, each item with its own 已办结 page and
/// one 「我的待办」 link — 企业微信's 模板卡片 (text_notice), 钉钉's action_card, 飞书's interactive card. The rules are
/// e-mail's, because it goes to that one person; notes are left out (a card has no room for them, and the page shows
/// them to whom it may). A greeting is a text, as the mail's.
public enum WorkAppMessages {
    /// The message object (without the recipient and the agent, which the channel adds when it sends).
    public static func card(_ d: Digest, app: WorkAppSpec.App = .wecom, renderer: DigestRenderer, context c: RenderContext) -> Data {
        let v = renderer.values(d, c, withNotes: false)
        guard !d.isGreeting, let agenda = v.agendaURL else {
            let text = renderer.mail(d, context: c).text.trimmingCharacters(in: .whitespacesAndNewlines)
            let object: [String: Any] =
                switch app {
                case .wecom: ["msgtype": "text", "text": ["content": cut(text, bytes: 2000)]]
                case .dingtalk: ["msgtype": "text", "text": ["content": cut(text, bytes: 2000)]]
                case .feishu: ["msg_type": "text", "content": string(["text": text])]
                }
            return Data(WorkAppChannel.json(object))
        }
        let overdue = v.items.filter(\.overdue).count
        let title = v.count == 1 ? cut(v.firstTitle, characters: 26) : "\(v.count) 项关怀事项待办理"
        let who = "\(v.recipientName)同志 · \(v.date)" + (c.lateSince != nil ? "（补发）" : "")
        let hint = overdue > 0 ? "其中 \(overdue) 项已逾期。" : ""
        func label(_ item: DigestValues.Item) -> String { String(item.kindLabel.prefix { $0 != "（" }.prefix(5)) }
        func line(_ item: DigestValues.Item) -> String { "\(item.title)（\(item.subject)）\(item.due.dropFirst(5))" }
        let object: [String: Any]
        switch app {
        case .wecom:
            var lines: [[String: Any]] = []
            let shown = v.items.count > 6 ? 5 : v.items.count
            for item in v.items.prefix(shown) {
                var entry: [String: Any] = ["keyname": label(item), "value": cut(line(item), characters: 26)]
                if let link = item.link {
                    // The 已办结 page, as the mail's 「已办结」 link; it offers 不适用 and 登记情况 too.
                    entry["type"] = 1
                    entry["url"] = link + "/done"
                }
                lines.append(entry)
            }
            if v.items.count > shown {
                lines.append(["keyname": "其余", "value": "另有 \(v.items.count - shown) 项，见我的待办", "type": 1, "url": agenda])
            }
            object = [
                "msgtype": "template_card",
                "template_card": [
                    "card_type": "text_notice", "source": ["desc": "关怀提醒"],
                    "main_title": ["title": title, "desc": cut(who, characters: 30)],
                    "sub_title_text": hint + "点事项登记办结，点卡片看全部待办。", "horizontal_content_list": lines,
                    "jump_list": [["type": 1, "title": "我的待办", "url": agenda]], "card_action": ["type": 1, "url": agenda],
                ],
            ]
        case .dingtalk:
            var md = "### \(title)\n\n\(who)\n\n"
            for item in v.items.prefix(10) {
                md += "- **\(label(item))** \(line(item))" + (item.link.map { " [登记办结](\($0)/done)" } ?? "") + "\n"
            }
            if v.items.count > 10 { md += "- 另有 \(v.items.count - 10) 项，见我的待办\n" }
            md += "\n" + hint + "点「登记办结」记录已办，点下方看全部待办。"
            object = [
                "msgtype": "action_card",
                "action_card": ["title": title, "markdown": md, "single_title": "我的待办", "single_url": agenda],
            ]
        case .feishu:
            var elements: [[String: Any]] = [["tag": "div", "text": ["tag": "plain_text", "content": who]]]
            for item in v.items.prefix(10) {
                let text = "**\(label(item))** \(line(item))" + (item.link.map { "　[登记办结](\($0)/done)" } ?? "")
                elements.append(["tag": "div", "text": ["tag": "lark_md", "content": text]])
            }
            if v.items.count > 10 {
                elements.append(["tag": "div", "text": ["tag": "plain_text", "content": "另有 \(v.items.count - 10) 项，见我的待办"]])
            }
            elements.append([
                "tag": "action",
                "actions": [["tag": "button", "text": ["tag": "plain_text", "content": "我的待办"], "type": "primary", "url": agenda]],
            ])
            let card: [String: Any] = [
                "config": ["wide_screen_mode": true],
                "header": ["title": ["tag": "plain_text", "content": title], "template": overdue > 0 ? "red" : "blue"],
                "elements": elements,
            ]
            object = ["msg_type": "interactive", "content": string(card)]
        }
        return Data(WorkAppChannel.json(object))
    }

    /// 飞书's `content` is a JSON object written as a string.
    static func string(_ object: [String: Any]) -> String { String(decoding: WorkAppChannel.json(object), as: UTF8.self) }

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

/// Even spacing of the starts of one application's messages: each at least `every` after the one before, so a burst
/// never exceeds the provider's per-second limit while the per-minute one holds (a token bucket holding one).
public struct SendPace: Sendable {
    var next: ContinuousClock.Instant?
    public init() {}

    /// When the next message may start (now, or later), that start taken.
    public mutating func take(now: ContinuousClock.Instant, every: Duration) -> ContinuousClock.Instant {
        let at = max(now, next ?? now)
        next = at + every
        return at
    }
}

/// A batch sent with up to `width` messages on their way at once. Over the Internet a message waits a round trip for
/// its answer; one at a time, a batch goes at one message per round trip. The answers are handed to `answered` one
/// at a time, in the order they come, so the caller records each as before. Nothing new starts once `shouldStop`
/// says so (a stop, a held batch after a rate limit, results the store refused); what is on its way is answered.
/// `start` gives the time a message may start (the application's pace); it is asked just before each start.
public enum InFlightWindow {
    public static func run<R: Sendable>(
        count: Int, width: Int, shouldStop: () -> Bool, start: (() -> ContinuousClock.Instant)? = nil,
        send: @escaping @Sendable (Int) async -> R, answered: (Int, R) async -> Void
    ) async {
        await withTaskGroup(of: (Int, R).self) { group in
            var next = 0
            var running = 0
            while true {
                while running < max(1, width), next < count, !shouldStop() {
                    if let at = start?(), at > .now {
                        try? await Task.sleep(until: at, clock: .continuous)
                        if shouldStop() { break }
                    }
                    let i = next
                    next += 1
                    running += 1
                    group.addTask { (i, await send(i)) }
                }
                guard let (i, result) = await group.next() else { return }
                running -= 1
                await answered(i, result)
            }
        }
    }
}
