import Crypto
import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiStore
import GuanhuaiWorkspace
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Why a request is refused, as the page says it: thrown by any handler, turned into its page by `LinkGrant` (with
/// the configured contact) or by Hummingbird itself (as an `HTTPResponseError`).
struct Refusal: HTTPResponseError {
    var status: HTTPResponse.Status
    var title: String
    var message: String

    static let unreadable = Refusal(status: .serviceUnavailable, title: "暂时无法处理", message: "数据库暂时无法读取，请稍后再试。")
    static let unwritable = Refusal(
        status: .serviceUnavailable, title: "暂时无法记录",
        message: "数据库暂时无法写入，您的操作没有被记录。请稍后再试。")
    static let disabled = Refusal(status: .serviceUnavailable, title: "暂时无法使用", message: "网页功能已停用。")

    func page(contact: String?) -> Response {
        GuanhuaiWeb.page("problem", Problem(title: title, message: message, contact: contact ?? "本单位党组织"), status: status)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response { page(contact: nil) }
}

/// What a checked link grants, put in the request's context by `LinkGrant`: the configuration it was checked under,
/// the token's fields, the token as it came, and the moment.
struct Grant: Sendable {
    var state: WebState
    var token: LinkToken
    var raw: String
    var now: Int64
}

/// Checks the link a route is reached by (`:token`, or `:file` for a calendar feed) for one purpose, and puts the
/// grant in the context; the handlers behind it read `ctx.granted()`. A refusal anywhere behind it becomes the
/// plain page, with the configured contact.
struct LinkGrant: RouterMiddleware {
    typealias Context = WebContext
    let purpose: LinkToken.Purpose
    let handlers: Handlers

    func handle(_ request: Request, context: WebContext, next: (Request, WebContext) async throws -> Response)
        async throws -> Response
    {
        var ctx = context
        var state: WebState?
        do {
            let s = try await handlers.state()
            state = s
            let now = handlers.backend.now()
            var raw = ctx.parameters.get("token") ?? ""
            if purpose == .feed {
                let file = ctx.parameters.get("file") ?? ""
                guard file.hasSuffix(".ics") else { throw Refusal(status: .notFound, title: "链接无效", message: "这个链接不完整。") }
                raw = String(file.dropLast(4))
            }
            ctx.grant = Grant(state: s, token: try await handlers.authorize(Substring(raw), purpose, s, now: now), raw: raw, now: now)
            return try await next(request, ctx)
        } catch let r as Refusal {
            return r.page(contact: state?.settings.contact)
        }
    }
}

extension WebContext {
    /// The grant `LinkGrant` checked; a route behind no grant is a wiring mistake, answered as a refusal.
    func granted() throws(Refusal) -> Grant {
        guard let grant else { throw Refusal(status: .notFound, title: "链接无效", message: "请使用提醒邮件中的链接。") }
        return grant
    }
}

/// The pages' shared steps: the daemon's state, checking a link, the person's view, forms and their fields.
struct Handlers: Sendable {
    let backend: any WebBackend
    let logger: Logger
    let cache = ViewCache()

    /// The daemon's database (always open in the daemon; said as a page, never a crash, were it not).
    func store(_ s: WebState) throws(Refusal) -> any CommitteeStore {
        do { return try s.workspace.store() } catch { throw Refusal.unreadable }
    }

    func state() async throws(Refusal) -> WebState {
        guard let s = await backend.webState() else { throw Refusal.disabled }
        return s
    }

    /// The token's grant, if this key signed it for this purpose and it still works.
    func authorize(_ token: Substring, _ purpose: LinkToken.Purpose, _ s: WebState, now: Int64) async throws(Refusal) -> LinkToken {
        let t: LinkToken
        switch s.signer.verify(token) {
        case .failure(.malformed):
            throw Refusal(status: .notFound, title: "链接不完整", message: "这个链接不完整或已被改动。请从提醒邮件中直接点开，不要手工复制其中一部分。")
        case .failure(.forged):
            throw Refusal(status: .forbidden, title: "链接无效", message: "这个链接不是本系统签发的，或已经作废（系统更换了密钥）。")
        case .success(let v): t = v
        }
        guard t.purpose == purpose else {
            throw Refusal(status: .notFound, title: "链接无效", message: "这个链接不能用于此页面。")
        }
        guard now < t.expires else {
            throw Refusal(status: .gone, title: "链接已过期", message: "这个链接已超过有效期。请使用最近一封提醒邮件中的链接。")
        }
        let current: Int
        do { current = try await store(s).linkGeneration(of: t.person) } catch { throw Refusal.unreadable }
        guard t.generation == current else {
            throw Refusal(status: .gone, title: "链接已收回", message: "发给您的链接已被管理员收回。请使用此后收到的提醒邮件中的链接。")
        }
        return t
    }

    /// The client's address for the audit log: the peer, or behind a trusted local proxy the address it forwards.
    func client(_ req: Request, _ ctx: WebContext, _ s: WebState) -> String {
        let peer = ctx.peer?.ipAddress ?? "unknown"
        guard s.settings.trustProxy, peer == "127.0.0.1" || peer == "::1" else { return peer }
        if let real = req.headers[HTTPField.Name("X-Real-IP")!], !real.isEmpty { return String(real.prefix(64)) }
        if let xff = req.headers[HTTPField.Name("X-Forwarded-For")!],
            let last = xff.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty
        {
            return String(last.prefix(64))
        }
        return peer
    }

    /// The links a checked token's holder is given on a page (their generation is therefore the current one), with
    /// the expiry `LinkMaker` gives every link.
    func links(_ g: Grant) -> LinkMaker {
        LinkMaker(
            publicURL: g.state.settings.publicURL, signer: g.state.signer, actionDays: g.state.settings.actionLinkDays,
            agendaDays: g.state.settings.agendaLinkDays, generations: [g.token.person: g.token.generation])
    }

    /// 我的待办 for the holder of a checked token.
    func agendaLink(_ g: Grant) -> String { links(g).agendaPath(g.token.person, now: g.now) }

    /// Runs one of the workspace's recordings (`Workspace.recordDone` and the rest, which decide what may be
    /// recorded), and says a refusal as a page.
    func recording<T>(_ v: View, _ body: () async throws(RecordingProblem) -> T) async throws(Refusal) -> T {
        do {
            return try await body()
        } catch {
            let words = error.message(chinese: true, name: v.name) + "。"
            switch error {
            case .date, .eventDate: throw Refusal(status: .badRequest, title: "日期有误", message: words)
            case .notAllowed: throw Refusal(status: .forbidden, title: "不是您的事项", message: words)
            case .closed: throw Refusal(status: .conflict, title: "已登记", message: words)
            case .fundStage: throw Refusal(status: .conflict, title: "请办理申请", message: words)
            case .store(let e):
                logger.error("a web action could not be recorded: \(e)")
                throw Refusal.unwritable
            }
        }
    }

    // MARK: Forms

    func form<T: Decodable>(_ req: Request, _ ctx: WebContext, as: T.Type) async throws(Refusal) -> T {
        var body: ByteBuffer
        do {
            body = try await req.body.collect(upTo: ctx.maxUploadSize)
        } catch {
            throw Refusal(status: .contentTooLarge, title: "提交的内容过长", message: "请缩短备注后重新提交。")
        }
        let text = body.readString(length: body.readableBytes) ?? ""
        do {
            return try URLEncodedFormDecoder().decode(T.self, from: text)
        } catch {
            throw Refusal(status: .badRequest, title: "提交的内容有误", message: "请回到上一页重新填写。")
        }
    }

    /// A date from a form field, as a date (its checks are the domain's: `CompletionDateProblem`, `EventDateProblem`).
    static func parsedDate(_ s: String?, today: CivilDate) throws(Refusal) -> CivilDate {
        guard let s, let d = CivilDate(parsing: s.trimmingCharacters(in: .whitespaces)) else {
            throw Refusal(status: .badRequest, title: "日期有误", message: "请填写日期，例如 \(today)。")
        }
        return d
    }

    /// The date an item was done on: a real date, checked as `guanhuai done --date` checks it.
    static func date(_ s: String?, today: CivilDate, notBefore: CivilDate?) throws(Refusal) -> CivilDate {
        let d = try parsedDate(s, today: today)
        if let problem = CompletionDateProblem.check(d, today: today, windowStart: notBefore) {
            throw Refusal(status: .badRequest, title: "日期有误", message: problem.message(d, chinese: true) + "。")
        }
        return d
    }

    /// 慰问金 in yuan with at most two decimals, exact in fen (`Amount`, shared with `guanhuai done --amount`).
    static func amount(_ s: String?) throws(Refusal) -> Int? {
        guard let s, !s.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        guard let fen = Amount.fen(s) else {
            throw Refusal(status: .badRequest, title: "金额有误", message: "慰问金请填写以元为单位的数字，例如 500 或 500.50。")
        }
        return fen
    }

    static func text(_ s: String?, limit: Int) -> String? {
        guard let t = s?.trimmingCharacters(in: .whitespacesAndNewlines), !t.isEmpty else { return nil }
        return String(t.prefix(limit))
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func digest(_ s: String) -> String { hex(SHA256.hash(data: Array(s.utf8))) }
}

extension Response {
    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
