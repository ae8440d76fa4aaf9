import Crypto
import Foundation
public import GuanhuaiConfig
import GuanhuaiCore
public import GuanhuaiDelivery
import GuanhuaiReport
import GuanhuaiStore
public import GuanhuaiWorkspace
import HTTPTypes
import Hummingbird
public import Logging
import Mustache
import NIOCore
public import ServiceLifecycle

/// What the pages read and write: the daemon's current configuration and store, and its link key.
public struct WebState: Sendable {
    public var workspace: Workspace
    public var signer: LinkSigner
    public var settings: WebSettings
    /// Raised by every reload: what was computed from the old configuration is not used.
    public var loadGeneration: Int
    /// The SMS channels whose provider posts its receipts here (`receipts = "push"`), by name.
    public var smsReceiptPush: [String: SMSChannel]

    public init(
        workspace: Workspace, signer: LinkSigner, settings: WebSettings, loadGeneration: Int, smsReceiptPush: [String: SMSChannel] = [:]
    ) {
        self.workspace = workspace
        self.signer = signer
        self.settings = settings
        self.loadGeneration = loadGeneration
        self.smsReceiptPush = smsReceiptPush
    }
}

/// The daemon as the pages see it.
public protocol WebBackend: Sendable {
    /// The configuration in force (it can change on reload); nil when `[web]` was taken out.
    func webState() async -> WebState?
    /// Something was recorded: replan, and withdraw queued reminders about it.
    func didRecord() async
    /// The present, UTC seconds, on the daemon's clock.
    func now() -> Int64
    /// SMS receipts released fallback mails: the dispatcher sends them.
    func releasedMail() async
}

extension WebBackend {
    public func releasedMail() async { await didRecord() }
}

/// The HTTP interface (Hummingbird 2), a service in guanhuaid's ServiceGroup.
public enum WebServer {
    public static func make(
        settings: WebSettings, backend: any WebBackend, logger: Logger,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> any Service {
        var quiet = logger
        // Hummingbird's own debug lines carry the request path, and with it the token: keep them out.
        quiet.logLevel = max(logger.logLevel, .notice)
        return Application(
            router: router(backend: backend, logger: logger),
            server: .http1(
                configuration: .init(
                    idleTimeout: .seconds(30),
                    httpDecoderConfiguration: .init(maxHeaderFieldSize: 8192, maxHeaderListSize: 16384, maxHeaderFieldCount: 64))),
            configuration: ApplicationConfiguration(address: .hostname(settings.host, port: settings.port), serverName: nil),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: quiet)
    }

    /// Every route: one collection per resource, each behind the link check for its purpose. The tests drive this
    /// router in-process (HummingbirdTesting) as the daemon serves it.
    static func router(backend: any WebBackend, logger: Logger) -> Router<WebContext> {
        let router = Router(context: WebContext.self)
        router.add(middleware: Guard(logger: logger))
        let h = Handlers(backend: backend, logger: logger)
        router.get("/") { _, _ in page("problem", Problem(title: "关怀", message: "请使用提醒邮件中的链接。", contact: ""), status: .ok) }
        // The stylesheets may be kept a day (Guard leaves a response's own Cache-Control as it is).
        for (path, css) in [("/static/app.css", Pages.css), ("/static/report.css", ReportOutput.css)] {
            router.get(RouterPath(path)) { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "public, max-age=86400"],
                    body: .init(byteBuffer: ByteBuffer(string: css)))
            }
        }
        router.addRoutes(h.itemRoutes(), atPath: "/i")
        router.addRoutes(h.agendaRoutes(), atPath: "/me")
        router.addRoutes(h.feedRoutes(), atPath: "/ics")
        router.addRoutes(h.reportRoutes(), atPath: "/report")
        router.addRoutes(h.smsReceiptRoutes(), atPath: "/sms-receipt")
        return router
    }
}

/// A request's context: the peer's address (for the audit log), a 16 KiB body limit, and the grant of the link it
/// came by (`LinkGrant`).
struct WebContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let peer: SocketAddress?
    var grant: Grant?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peer = source.channel.remoteAddress
    }

    var maxUploadSize: Int { 16 * 1024 }
}

/// Security headers on every response, and every error as a plain Chinese page: no stack trace, no type name.
struct Guard: RouterMiddleware {
    typealias Context = WebContext
    let logger: Logger

    func handle(_ request: Request, context: WebContext, next: (Request, WebContext) async throws -> Response) async throws
        -> Response
    {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let r as Refusal {
            response = r.page(contact: nil)
        } catch let e as HTTPError {
            response =
                switch e.status {
                case .notFound: page("problem", Problem(title: "页面不存在", message: "这个地址没有页面。请使用提醒邮件中的链接。", contact: "本单位党组织"), status: .notFound)
                case .contentTooLarge: page("problem", Problem(title: "提交的内容过长", message: "请缩短备注后重新提交。", contact: "本单位党组织"), status: .contentTooLarge)
                case .methodNotAllowed: page("problem", Problem(title: "不支持的操作", message: "请使用页面上的按钮提交。", contact: "本单位党组织"), status: .methodNotAllowed)
                default: page("problem", Problem(title: "请求有误", message: "请使用提醒邮件中的链接重新打开页面。", contact: "本单位党组织"), status: e.status)
                }
        } catch {
            // Logged without the path (it holds the token) and without the error's text (it may hold a note).
            logger.error("a web request failed inside guanhuaid", metadata: ["GUANHUAI_ROUTE": "\(context.endpointPath ?? "?")"])
            response = page("problem", Problem(title: "暂时无法处理", message: "服务出现问题，您的操作没有被记录。请稍后再试。", contact: "本单位党组织或系统管理员"), status: .internalServerError)
        }
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        // HEAD: what GET would answer, refusals included, without the body.
        if request.method == .head { response.body = .init() }
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[.contentSecurityPolicy] =
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        if request.method == .post {
            logger.info("web \(request.method) \(context.endpointPath ?? "?") \(response.status.code)")
        }
        return response
    }
}

struct Problem {
    var title: String
    var message: String
    var contact: String
}

func page(_ template: String, _ values: Any, status: HTTPResponse.Status) -> Response {
    let html = Pages.library.render(values, withTemplate: template) ?? ""
    return Response(
        status: status, headers: [.contentType: "text/html; charset=utf-8"],
        body: .init(byteBuffer: ByteBuffer(string: html)))
}
