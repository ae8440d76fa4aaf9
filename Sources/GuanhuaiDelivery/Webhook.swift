import AsyncHTTPClient
import Crypto
import Foundation
public import GuanhuaiConfig
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// The signatures each kind of endpoint checks (swift-crypto's HMAC-SHA256).
public enum WebhookSigning {
    /// Standard Webhooks: `v1,` + base64(HMAC-SHA256(key, "id.timestamp.body")), the key being the base64 after
    /// `whsec_`. https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
    public static func standard(key: [UInt8], id: String, timestamp: Int64, body: some Sequence<UInt8>) -> String {
        var message = Array("\(id).\(timestamp).".utf8)
        message.append(contentsOf: body)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key))
        return "v1," + Data(mac).base64EncodedString()
    }

    /// The key in a `whsec_…` secret; nil when it is not base64.
    public static func standardKey(_ secret: String) -> [UInt8]? { ChannelSecrets.standardWebhookKey(secret) }

    /// 钉钉: base64(HMAC-SHA256(key: secret, "timestamp_ms\nsecret")); URL-encode it for the query.
    public static func dingtalk(secret: String, timestampMilliseconds: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array("\(timestampMilliseconds)\n\(secret)".utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return Data(mac).base64EncodedString()
    }

    /// 飞书: base64(HMAC-SHA256(key: "timestamp\nsecret", empty message)).
    public static func feishu(secret: String, timestamp: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: [UInt8](), using: SymmetricKey(data: Array("\(timestamp)\n\(secret)".utf8)))
        return Data(mac).base64EncodedString()
    }
}

/// One HTTP request, ready to send: what a channel makes of a stored body at the moment of sending (signatures
/// carry the time, so they are made then, not when the message was queued).
public struct WebhookRequest: Sendable {
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// POST, or GET for a token endpoint that takes only GET (企业微信 gettoken).
    var get = false
    /// Set where many requests differ only in their body (a work app's messages under one token): the client's
    /// request, its URL already taken apart, is kept under this key and only its body replaced.
    var reuseKey: String?
}

/// A webhook or robot channel ready to send: its spec with the secrets read.
public struct WebhookChannel: Sendable {
    public let name: String
    public let spec: WebhookSpec
    let token: String?
    let secret: String?
    let standardKey: [UInt8]?
    let tls: TLSConfiguration?
    /// Identifies the endpoint (for the rate limit and for disabling a gone one) without revealing its token.
    public let endpoint: String

    /// A channel from its spec and the secrets the configuration layer read and checked (`ChannelSpec.secrets`).
    public init(name: String, spec: WebhookSpec, secrets: ChannelSecrets) {
        self.name = name
        self.spec = spec
        token = secrets.token
        secret = secrets.secret
        standardKey = secrets.webhookKey
        tls = TLSConfiguration.client(trusting: spec.caFile)
        let digest = SHA256.hash(data: Array((token ?? "").utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
        endpoint = "\(spec.url)#\(digest)"
    }

    /// The request for a stored body at `now` (seconds), with `id` as the Standard Webhooks message id.
    public func request(body: [UInt8], id: String, now: Int64) -> WebhookRequest {
        var url = spec.url
        var headers: [(String, String)] = [("Content-Type", "application/json; charset=utf-8"), ("User-Agent", "guanhuai")]
        var out = body
        func query(_ items: [(String, String)]) -> String {
            items.map { "\($0.0)=\(WebhookChannel.percentEncoded($0.1))" }.joined(separator: "&")
        }
        switch spec.kind {
        case .webhook:
            headers += [
                ("webhook-id", id), ("webhook-timestamp", String(now)),
                ("webhook-signature", WebhookSigning.standard(key: standardKey ?? [], id: id, timestamp: now, body: body)),
            ]
        case .wecom:
            url += "?" + query([("key", token ?? "")])
        case .dingtalk:
            var items = [("access_token", token ?? "")]
            if let secret {
                let ms = now * 1000
                items += [("timestamp", String(ms)), ("sign", WebhookSigning.dingtalk(secret: secret, timestampMilliseconds: ms))]
            }
            url += "?" + query(items)
        case .feishu:
            if let token { url += (url.hasSuffix("/") ? "" : "/") + WebhookChannel.percentEncoded(token) }
            if let secret, body.first == UInt8(ascii: "{") {
                // The stored body is a JSON object; the signature fields go first. Spliced rather than re-encoded so
                // that the stored bytes are sent unchanged.
                let fields = "{\"timestamp\":\"\(now)\",\"sign\":\"\(WebhookSigning.feishu(secret: secret, timestamp: now))\""
                out = Array(fields.utf8) + (body.count > 2 ? [UInt8(ascii: ",")] : []) + body.dropFirst()
            }
        }
        return WebhookRequest(url: url, headers: headers, body: out)
    }

    static func percentEncoded(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    /// Sends one stored body and classifies the answer: 2xx (and, for robots, errcode/code 0) is delivered; 410 from
    /// a webhook means gone; 408, 429, 5xx, connection errors and timeouts are temporary; anything else is permanent.
    public func send(body: [UInt8], id: String, now: Int64) async -> Result<String, DeliveryError> {
        await WebhookHTTP.post(request(body: body, id: id, now: now), tls: tls, timeoutSeconds: spec.timeoutSeconds)
            .flatMap {
                classify(
                    status: $0.status, reason: $0.reason, location: $0.location, body: $0.body,
                    retryAfter: $0.retryAfter)
            }
    }

    func classify(status: Int, reason: String, location: String?, body: [UInt8], retryAfter: String? = nil)
        -> Result<String, DeliveryError>
    {
        let head = "HTTP \(status) \(reason)"
        switch status {
        case 200..<300:
            return spec.kind == .webhook ? .success(head) : robotAnswer(body)
        case 410 where spec.kind == .webhook:
            return .failure(.gone("\(head): the endpoint asks not to be called again; channel \(name) is disabled"))
        case 300..<400:
            return .failure(.permanent("\(head): redirects are not followed; set the channel's url to \(location ?? "the new address")"))
        case 408, 429, 500..<600:
            return .failure(.temporary(head, retryAfter: WebhookHTTP.retryAfterSeconds(retryAfter)))
        default:
            return .failure(.permanent("\(head)\(WebhookChannel.snippet(body))"))
        }
    }

    /// 企业微信 and 钉钉 answer `{"errcode":0,"errmsg":"ok"}`; 飞书 `{"code":0,"msg":"success"}` (older: StatusCode).
    func robotAnswer(_ body: [UInt8]) -> Result<String, DeliveryError> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            return .failure(.permanent("the answer is not the robot's JSON\(WebhookChannel.snippet(body)); is the url right?"))
        }
        let code = (object["errcode"] ?? object["code"] ?? object["StatusCode"]) as? Int
        let message = (object["errmsg"] ?? object["msg"] ?? object["StatusMessage"]) as? String ?? ""
        guard let code else { return .failure(.permanent("the robot's answer has no errcode or code")) }
        if code == 0 { return .success("\(spec.kind.rawValue) ok") }
        let what = "\(spec.kind.rawValue) error \(code): \(message)"
        // Busy or rate-limited: 企业微信 -1, 45009; 钉钉 -1, 130101, 410100; 飞书 9499, 11232, 11233.
        return WebhookChannel.temporaryCodes[spec.kind, default: []].contains(code) ? .failure(.temporary(what)) : .failure(.permanent(what))
    }

    static let temporaryCodes: [WebhookSpec.Kind: Set<Int>] = [
        .wecom: [-1, 45009, 45033], .dingtalk: [-1, 130101, 410100], .feishu: [9499, 11232, 11233],
    ]

    static func snippet(_ body: [UInt8]) -> String {
        guard !body.isEmpty else { return "" }
        let text = String(decoding: body.prefix(200), as: UTF8.self).split(whereSeparator: \.isNewline).joined(separator: " ")
        return ": \(text)"
    }

    static func classify(_ error: any Error) -> DeliveryError {
        if let e = error as? HTTPClientError {
            switch e {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout: return .temporary("timed out")
            case .remoteConnectionClosed: return .temporary("the server closed the connection")
            default: return .temporary(ErrorWords.plain(e))
            }
        }
        if error is NIOTooManyBytesError || error is ResponseAccumulator.ResponseTooBigError {
            return .permanent("the answer is longer than 64 kB")
        }
        if error is NIOSSLError || error is BoringSSLError {
            return .permanent("TLS: \(ErrorWords.plain(error)) (is the certificate valid for this host? ca_file= names a private CA)")
        }
        if error is IOError || error is NIOConnectionError || error is ChannelError {
            return .temporary("cannot connect: \(ErrorWords.plain(error))")
        }
        return .temporary(ErrorWords.plain(error))
    }
}

/// The process's one HTTP client: keep-alive connections per endpoint, redirects not followed (a moved webhook is
/// the operator's to fix), certificates verified. Never shut down: it lives as long as the process.
enum WebhookHTTP {
    /// What an endpoint answered.
    struct Answer {
        var status: Int
        var reason: String
        var location: String?
        var retryAfter: String?
        var body: [UInt8]
    }

    /// `Retry-After` as a number of seconds (the form the robots and most webhooks send), at most a day; an
    /// HTTP-date or anything else is ignored, and the retry policy's own delay applies.
    static func retryAfterSeconds(_ value: String?) -> Int64? {
        guard let value, let seconds = Int64(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 else { return nil }
        return min(seconds, 86_400)
    }

    /// POSTs one request (the answer read up to 64 kB); a transport failure is classified for the retry policy.
    static func post(_ r: WebhookRequest, tls: TLSConfiguration?, timeoutSeconds: Int) async -> Result<Answer, DeliveryError> {
        // The exchange runs on the client's loop: the request, its deadline, the answer and the body it collects are
        // all handled on one thread, instead of each handing over between the loop and Swift's worker pool.
        await withTaskExecutorPreference(loopExecutor) { await exchange(r, tls: tls, timeoutSeconds: timeoutSeconds) }
    }

    private static func exchange(_ r: WebhookRequest, tls: TLSConfiguration?, timeoutSeconds: Int) async
        -> Result<Answer, DeliveryError>
    {
        do {
            var request: HTTPClient.Request
            if let key = r.reuseKey, var kept = prepared.withLock({ $0[key] }) {
                kept.body = .byteBuffer(ByteBuffer(bytes: r.body))
                request = kept
            } else {
                var headers = HTTPHeaders()
                for (k, v) in r.headers { headers.add(name: k, value: v) }
                request = try HTTPClient.Request(
                    url: r.url, method: r.get ? .GET : .POST, headers: headers,
                    body: r.get ? nil : .byteBuffer(ByteBuffer(bytes: r.body)), tlsConfiguration: tls)
                if let key = r.reuseKey {
                    // A token lasts two hours: a few keys at most; a new one now and then starts the table again.
                    prepared.withLock { table in
                        if table.count >= 16 { table.removeAll() }
                        table[key] = request
                    }
                }
            }
            // The client's future-based `execute`, not its async one: the async one starts a task and an actor hop
            // for every request (async-http-client 1.37), each a wake of Swift's worker pool; this one, called on
            // the loop that owns the connection, stays on that loop's thread until the answer is in. `.delegate(on:)`,
            // not `.delegateAndChannel(on:)`: the pool closes a connection made for the latter as soon as it is idle,
            // which made every request a new connection (seen with strace). The client has this one loop anyway.
            let task = client.execute(
                request: request, delegate: ResponseAccumulator(request: request, maxBodySize: 64 * 1024),
                eventLoop: .delegate(on: loop), deadline: .now() + .seconds(Int64(timeoutSeconds)))
            // A future does not see its task cancelled; the request is, as the async API's was.
            let response = try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
            return .success(
                Answer(
                    status: Int(response.status.code), reason: response.status.reasonPhrase,
                    location: response.headers.first(name: "location"),
                    retryAfter: response.headers.first(name: "retry-after"),
                    body: response.body.map { Array($0.readableBytesView) } ?? []))
        } catch {
            return .failure(WebhookChannel.classify(error))
        }
    }

    /// Requests kept for `WebhookRequest.reuseKey`: taking the URL apart was 3.4 % of a work-app message's CPU
    /// (perf, on this machine kind).
    static let prepared = Mutex<[String: HTTPClient.Request]>([:])

    static let client: HTTPClient = {
        var c = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: .seconds(60)))
        c.connectionPool = .init(idleTimeout: .seconds(55))
        // A refused connection or a bad certificate is reported at once; the outbox retries, with backoff.
        c.connectionPool.retryConnectionEstablishment = false
        c.httpVersion = .http1Only
        return HTTPClient(eventLoopGroup: loop, configuration: c)
    }()

    /// One loop of the process's shared group carries every webhook, robot and SMS connection (a loop serves
    /// thousands); the callers' tasks run on it too (`loopExecutor`).
    static let loop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next()
    static let loopExecutor = EventLoopTaskExecutor(loop)
}

/// Runs `body` with its task on the webhook client's loop, so a run of sends hands nothing over between threads.
/// The daemon's dispatcher does not: it writes each result to SQLite before the next send (at most one repeat after
/// a crash), and that write must not block the loop. For `WebhookBenchmark`, to measure the channel alone.
public func onWebhookClientLoop<T: Sendable>(_ body: () async -> T) async -> T {
    await withTaskExecutorPreference(WebhookHTTP.loopExecutor) { await body() }
}

/// A task executor over one NIO event loop: a task that prefers it runs its jobs on the loop's thread.
/// Written here because SwiftNIO 2.101 offers an event loop as a `SerialExecutor` (for actors) but not as a
/// `TaskExecutor` (SE-0417), which is what `withTaskExecutorPreference` takes.
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// At most `limit` sends to an endpoint in any `window` seconds; the rest wait in the outbox, never dropped.
public struct RateWindow: Sendable {
    public let limit: Int
    public let window: Int64
    var sent: [Int64] = []

    public init(limit: Int, window: Int64 = 60) {
        self.limit = max(1, limit)
        self.window = window
    }

    /// nil: send now (the send is counted). Otherwise the time when the next send may go.
    public mutating func reserve(now: Int64) -> Int64? {
        sent.removeAll { $0 <= now - window }
        if sent.count < limit {
            sent.append(now)
            return nil
        }
        return sent[sent.count - limit] + window
    }
}
