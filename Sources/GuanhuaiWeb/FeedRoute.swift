import Foundation
import GuanhuaiCore
import HTTPTypes
import Hummingbird
import NIOCore

/// A person's calendar feed, `/ics/TOKEN.ics`: their open items as all-day events, who and what kind, never why.
extension Handlers {
    func feedRoutes() -> RouteCollection<WebContext> {
        let routes = RouteCollection(context: WebContext.self).add(middleware: LinkGrant(purpose: .feed, handlers: self))
        routes.get(":file", use: feed)
        routes.head(":file", use: feed)
        return routes
    }

    /// What a feed carries: what falls due in the next 90 days (at most 1,500) and what is overdue, the most
    /// recent first (at most 500). A calendar is for the days ahead; 组织部, told of a whole committee's escalations,
    /// would otherwise get hundreds of thousands of events, which no calendar client opens (and which took the
    /// daemon a second and a hundred megabytes per request at 100,000 members).
    static let feedAhead = 90, feedUpcoming = 1500, feedOverdue = 500

    static func feedItems(_ v: View) -> [Occurrence] {
        let upcoming = v.open(within: feedAhead).filter { $0.status != .overdue }.prefix(feedUpcoming)
        let overdue = v.open.filter { $0.status == .overdue }.suffix(feedOverdue).reversed()
        return Array(upcoming) + overdue
    }

    @Sendable func feed(_ req: Request, _ ctx: WebContext) async throws -> Response {
        let g = try ctx.granted()
        let t = g.token
        let v = try await view(g.state, person: t.person, now: g.now)
        // Kept like 「我的待办」, under the same key: a calendar polling every few minutes, or 200 at once, reads one
        // counter and gets the feed as made, or 304 when it has it already.
        let cacheToken = "ics:" + g.raw
        let body: String
        if let kept = cache.page(v.key, token: cacheToken) {
            body = kept
        } else {
            let events = Handlers.feedItems(v).map { o in
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
        if let match = req.headers[.ifNoneMatch],
            match.split(separator: ",").contains(where: {
                let tag = $0.trimmingCharacters(in: .whitespaces)
                return tag == etag || tag == "*"
            })
        {
            return Response(status: .notModified, headers: [.eTag: etag, .cacheControl: "private, no-cache"])
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/calendar; charset=utf-8", .eTag: etag,
                .cacheControl: "private, no-cache",
            ], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
