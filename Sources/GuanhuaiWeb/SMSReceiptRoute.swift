import Crypto
import Foundation
import GuanhuaiDelivery
import GuanhuaiStore
import HTTPTypes
import Hummingbird
import NIOCore

/// `POST /sms-receipt/CHANNEL/TOKEN`: an SMS provider's receipt push (`receipts = "push"`). Neither 阿里云 nor 腾讯云
/// signs its pushes, so the address's token (a credential, compared in constant time) is what keeps others out;
/// a wrong channel or token is the site's ordinary 404. The reports go through `recordSMSReports` as a poll's do
/// (`SMSReceiptRules`: a duplicate, a report out of order or for an id never sent changes nothing, and a receipt
/// never creates a row), and the provider is told "received" only after the commit: when the database refuses, it
/// gets a 503 and sends again (阿里云 after 1, 5 and 10 minutes; 腾讯云 twice).
extension Handlers {
    /// A push is up to 100 receipts (腾讯云) or a batch of 阿里云's: a megabyte is far more than either sends.
    static let receiptPushLimit = 1 << 20

    func smsReceiptRoutes() -> RouteCollection<WebContext> {
        let routes = RouteCollection(context: WebContext.self)
        routes.post(":channel/:token", use: smsReceiptPush)
        return routes
    }

    @Sendable func smsReceiptPush(_ req: Request, _ ctx: WebContext) async throws -> Response {
        let name = ctx.parameters.get("channel") ?? ""
        let token = ctx.parameters.get("token") ?? ""
        guard let state = await backend.webState(), let channel = state.smsReceiptPush[name], let expected = channel.receiptPushToken,
            Handlers.sameSecret(token, expected)
        else { throw HTTPError(.notFound) }
        let body = try await req.body.collect(upTo: Handlers.receiptPushLimit)
        func answer(_ status: HTTPResponse.Status, received: Bool) -> Response {
            Response(
                status: status, headers: [.contentType: "application/json; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: channel.pushAnswer(received: received))))
        }
        guard let reports = channel.pushedReports(Array(buffer: body)) else {
            logger.warning(
                "SMS receipts: a push to channel \(name) is not the provider's JSON array; answered 400",
                metadata: ["GUANHUAI_CHANNEL": "\(name)"])
            return answer(.badRequest, received: false)
        }
        let outcome: SMSReceiptOutcome
        do {
            outcome = try await store(state).recordSMSReports(channel: name, reports, now: backend.now())
        } catch {
            logger.error(
                "SMS receipts: a push to channel \(name) could not be recorded (\(error)); answered 503, the provider sends it again",
                metadata: ["GUANHUAI_CHANNEL": "\(name)"])
            return answer(.serviceUnavailable, received: false)
        }
        if !outcome.released.isEmpty { await backend.releasedMail() }
        logger.info(
            "SMS receipts pushed: \(outcome.delivered) delivered, \(outcome.undelivered) undelivered (\(outcome.released.count) fallback mails released), \(outcome.ignored) reports changed nothing",
            metadata: ["GUANHUAI_CHANNEL": "\(name)"])
        return answer(.ok, received: true)
    }

    /// Whether a token from a path is the configured one, in time that does not depend on where they differ: both
    /// are hashed (so neither length shows), and swift-crypto compares digests in constant time.
    static func sameSecret(_ given: String, _ expected: String) -> Bool {
        SHA256.hash(data: Data(given.utf8)) == SHA256.hash(data: Data(expected.utf8))
    }
}
