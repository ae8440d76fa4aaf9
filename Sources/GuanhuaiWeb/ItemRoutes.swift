import Foundation
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiStore
import GuanhuaiWorkspace
import Hummingbird

/// An item's pages, `/i/TOKEN/done|waive|note`: the confirmation form (GET, which changes nothing) and the record
/// (POST), for the holder of the item's link.
extension Handlers {
    struct ItemValues {
        var title: String
        var subject: String
        var due: String
        var weekday: String
        var overdue: Bool
        var daysOverdue: Int
        var responsible: String
        var note: String?
    }

    struct ItemPage {
        var title: String
        var heading: String
        var item: ItemValues
        var recorded: String?
        var done: Bool
        var waive: Bool
        var note: Bool
        var action: String
        var today: String
        var windowStart: String
        var nonce: String
        var notes: [NoteLine]
        var hasNotes: Bool
        var agenda: String?
    }

    struct NoteLine {
        var date: String
        var text: String
    }

    struct Result {
        var title: String
        var message: String
        var agenda: String?
    }

    enum Action: String {
        case done, waive, note
        var heading: String {
            switch self {
            case .done: "登记已办结"
            case .waive: "登记不适用"
            case .note: "登记情况"
            }
        }
    }

    struct ItemForm: Decodable {
        var date: String?
        var note: String?
        var amount: String?
        var reason: String?
        var nonce: String?
    }

    func itemRoutes() -> RouteCollection<WebContext> {
        let routes = RouteCollection(context: WebContext.self).add(middleware: LinkGrant(purpose: .item, handlers: self))
        routes.get(":token/:action", use: itemPage)
        routes.head(":token/:action", use: itemPage)
        routes.post(":token/:action", use: itemPost)
        return routes
    }

    /// The item a checked link names, for its holder: found, and theirs to record (Organization.mayRecord).
    func item(_ ctx: WebContext) async throws(Refusal) -> (Grant, Action, View, Occurrence) {
        let g = try ctx.granted()
        guard let action = Action(rawValue: ctx.parameters.get("action") ?? "") else {
            throw Refusal(status: .notFound, title: "页面不存在", message: "请使用提醒邮件中的链接。")
        }
        let v = try await view(g.state, person: g.token.person, now: g.now)
        guard let o = try await occurrence(g.token.occurrence, due: g.token.due, v, g.state, now: g.now) else {
            throw Refusal(status: .notFound, title: "事项已不存在", message: "这项工作已不在计划中（相关情况可能已更正）。")
        }
        guard g.state.workspace.organization.mayRecord(o, by: g.token.person) else {
            throw Refusal(status: .forbidden, title: "不是您的事项", message: "这个链接所指的事项不由您负责，也不需要您督办。")
        }
        return (g, action, v, o)
    }

    /// What a page shows of an item: its note (why) only on the responsible person's own page.
    func itemValues(_ o: Occurrence, _ v: View, person: PersonID) -> ItemValues {
        let note = o.responsible == person ? o.event.flatMap { v.notes[$0] }.flatMap { $0.isEmpty ? nil : $0 } : nil
        return ItemValues(
            title: o.title, subject: v.subject(o), due: o.due.description, weekday: o.due.chineseWeekday,
            overdue: o.status == .overdue, daysOverdue: max(0, o.due.days(until: v.today)),
            responsible: v.name(o.responsible), note: note)
    }

    @Sendable func itemPage(_ req: Request, _ ctx: WebContext) async throws -> Response {
        let (g, action, v, o) = try await item(ctx)
        let recorded = try await recordedLine(g.state, v, o.id)
        let notes = action == .note ? ((try? await store(g.state).progressNotes(occurrence: o.id)) ?? []) : []
        var nonce = [UInt8](repeating: 0, count: 16)
        for i in nonce.indices { nonce[i] = UInt8.random(in: 0...255) }
        let open = recorded == nil && o.status.isOpen
        return page(
            "item",
            ItemPage(
                title: action.heading, heading: action.heading, item: itemValues(o, v, person: g.token.person), recorded: recorded,
                done: open && action == .done, waive: open && action == .waive, note: action == .note && recorded == nil,
                action: "", today: v.today.description, windowStart: o.windowStart.description,
                nonce: Handlers.hex(nonce),
                notes: notes.map { NoteLine(date: $0.date.description, text: $0.note) }, hasNotes: !notes.isEmpty,
                agenda: agendaLink(g)), status: .ok)
    }

    @Sendable func itemPost(_ req: Request, _ ctx: WebContext) async throws -> Response {
        let (g, action, v, o) = try await item(ctx)
        let agenda = agendaLink(g)
        let already = { () async throws(Refusal) -> Response in
            page(
                "result", Result(title: "已登记", message: try await self.recordedLine(g.state, v, o.id) ?? "已登记。", agenda: agenda),
                status: .conflict)
        }
        if action != .note, try await recordedLine(g.state, v, o.id) != nil { return try await already() }
        let f = try await form(req, ctx, as: ItemForm.self)
        let actor = Actor(name: g.token.person, now: g.now, via: "the web from \(client(req, ctx, g.state))")
        let ws = g.state.workspace
        let person = g.token.person
        let message: String
        do {
            switch action {
            case .done:
                let d = try Handlers.parsedDate(f.date, today: v.today)
                let amount = try Handlers.amount(f.amount)
                let note = Handlers.text(f.note, limit: 500)
                guard
                    try await recording(
                        v,
                        { () async throws(RecordingProblem) in
                            try await ws.recordDone(o, date: d, by: person, note: note, amountFen: amount, today: v.today, actor: actor)
                        })
                else { return try await already() }
                message = "已登记：\(o.title)（\(v.subject(o))）于 \(d) 办结。相关提醒不再发送。"
            case .waive:
                guard let reason = Handlers.text(f.reason, limit: 500) else {
                    throw Refusal(status: .badRequest, title: "请填写原因", message: "登记不适用时，请写明原因。")
                }
                guard
                    try await recording(
                        v,
                        { () async throws(RecordingProblem) in
                            try await ws.recordWaiver(o, reason: reason, by: person, today: v.today, actor: actor)
                        })
                else { return try await already() }
                message = "已登记：\(o.title)（\(v.subject(o))）本次不适用。相关提醒不再发送。"
            case .note:
                let d = try Handlers.date(f.date, today: v.today, notBefore: nil)
                guard let note = Handlers.text(f.note, limit: 1000) else {
                    throw Refusal(status: .badRequest, title: "请填写情况", message: "请写明需要登记的情况。")
                }
                guard let nonce = f.nonce, nonce.count == 32, nonce.allSatisfy(\.isHexDigit) else {
                    throw Refusal(status: .badRequest, title: "提交的内容有误", message: "请从链接重新打开页面后再提交。")
                }
                guard
                    try await store(g.state).addProgressNote(
                        occurrence: o.id, person: person, date: d, note: note, nonce: nonce,
                        actor: actor)
                else {
                    return page(
                        "result", Result(title: "已登记", message: "这次登记已经提交过，没有重复记录。", agenda: agenda),
                        status: .conflict)
                }
                message = "已登记情况：\(o.title)（\(v.subject(o))）。事项仍为待办，办结后请点「已办结」。"
            }
        } catch let e as StoreError {
            logger.error("a web action could not be recorded: \(e)")
            throw Refusal.unwritable
        }
        await backend.didRecord()
        return page("result", Result(title: "已登记", message: message, agenda: agenda), status: .ok)
    }
}
