import Foundation
import GuanhuaiCore
import Hummingbird
import HTTPTypes
import NIOCore

/// A person's calendar feed, `/ics/TOKEN.ics`: their open items as all-day events, who and what kind, never why.
extension Handlers {
    func feedRoutes() -> RouteCollection<WebContext> {
        let routes = RouteCollection(context: WebContext.self).add(middleware: LinkGrant(purpose: .feed, handlers: self))
        routes.get(":file", use: feed)
        routes.head(":file", use: feed)
        return routes
    }

    @Sendable func feed(_ req: Request, _ ctx: WebContext) async throws -> Response {
        let g = try ctx.granted()
        let t = g.token
        let v = try view(g.state, person: t.person, now: g.now)
        // Kept like 「我的待办」, under the same key: a calendar polling every few minutes, or 200 at once, reads one
        // counter and gets the feed as made, or 304 when it has it already.
        let cacheToken = "ics:" + g.raw
        let body: String
        if let kept = cache.page(v.key, token: cacheToken) {
            body = kept
        } else {
            let events = v.open.map { o in
                // Chat-level: the rule's chat title and the subject's name, never the note. SEQUENCE rises once, when
                // the item becomes overdue and its summary says so.
                let overdue = o.status == .overdue
                return ICS.Event(
                    uid: Handlers.digest(t.person + "\n" + o.id).prefix(32) + "@guanhuai", sequence: overdue ? 1 : 0,
                    date: o.due, summary: (overdue ? "【逾期】" : "") + "\(v.chatTitles[o.rule] ?? "关怀事项")：\(v.subject(o))",
                    description: "责任人：\(v.name(o.responsible))；期限：\(o.due)")
            }
            body = ICS.calendar(name: "关怀待办 · \(v.name(t.person))", events: events, stamp: g.now)
            cache.putPage(v.key, token: cacheToken, body)
        }
        let etag = "\"" + Handlers.digest(body).prefix(32) + "\""
        if let match = req.headers[.ifNoneMatch], match.split(separator: ",").contains(where: {
            let tag = $0.trimmingCharacters(in: .whitespaces)
            return tag == etag || tag == "*"
        }) {
            return Response(status: .notModified, headers: [.eTag: etag, .cacheControl: "private, no-cache"])
        }
        return Response(status: .ok, headers: [.contentType: "text/calendar; charset=utf-8", .eTag: etag,
            .cacheControl: "private, no-cache"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
