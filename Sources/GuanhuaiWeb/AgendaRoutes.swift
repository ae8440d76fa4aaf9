import Foundation
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiStore
import GuanhuaiWorkspace
import Hummingbird
import Mustache

/// 「我的待办」, `/me/TOKEN`: what the link's holder may record, 已办结 from the list (asked, then recorded), and a
/// secretary's events for the members of their own units.
extension Handlers {
    struct AgendaItem {
        var anchor: String
        var item: ItemValues
        var mine: Bool
        var occurrence: String
        var doneAction: String
        var page: String
        var today: String
        var windowStart: String
        /// A 专项资金 stage: its application's page, where its step is taken (it has no 已办结).
        var fund: String?
    }

    struct Option {
        var id: String
        var name: String
        var unit: String = ""
    }

    struct AgendaPage {
        var title = "我的待办"
        var name: String
        var today: String
        var count: Int
        var overdueCount: Int
        var hasOverdue: Bool
        var items: [AgendaItem]
        var hasMembers: Bool
        var members: [Option]
        var kinds: [Option]
        var eventAction: String
        var feed: String
        /// 组织部 and secretaries: their report.
        var report: String?
        var fundAction: String
        var fundNonce: String
        var canApply: Bool
        var applicants: [Option]
        var categories: [Option]
        var notice: String
    }

    struct DoneForm: Decodable {
        var occurrence: String
        var date: String?
        /// "yes" from the confirmation page; absent from the list's own button, which only asks.
        var confirm: String?
    }

    struct Confirm {
        var title = "确认已办结"
        var item: ItemValues
        var date: String
        var occurrence: String
        var action: String
        var agenda: String
    }

    struct EventForm: Decodable {
        var member: String
        var kind: String
        var date: String?
        var note: String?
    }

    /// What every item outside a person's list gets, alike in status and words whether it exists, is recorded, or
    /// belongs to someone else: an agenda link must not tell who else is cared for, or how (issue 28, defect 3).
    static let notOnList = Refusal(
        status: .forbidden, title: "不是您的待办",
        message: "这项工作不在您的待办中（或已经登记过），不能从这里登记。")

    func agendaRoutes() -> RouteCollection<WebContext> {
        let routes = RouteCollection(context: WebContext.self).add(middleware: LinkGrant(purpose: .agenda, handlers: self))
        routes.get(":token", use: agendaPage)
        routes.head(":token", use: agendaPage)
        routes.post(":token/done", use: agendaDone)
        routes.post(":token/event", use: agendaEvent)
        routes.post(":token/fund", use: fundApply)
        routes.get(":token/fund/:id", use: fundPage)
        routes.post(":token/fund/:id", use: fundStep)
        routes.get(":token/gongshi", use: noticePage)
        return routes
    }

    @Sendable func agendaPage(_ req: Request, _ ctx: WebContext) async throws -> Response {
        let g = try ctx.granted()
        let (t, now) = (g.token, g.now)
        let v = try await view(g.state, person: t.person, now: now)
        // The same link seen again before anything changed (a reload, a mail scanner's fetch): the page as rendered
        // then. Anything recorded changes the key.
        if let html = cache.page(v.key, token: g.raw) { return Response.html(html) }
        let links = links(g)
        let fundPrefix = g.state.workspace.fundRule.map { $0 + ":" }
        let items = v.open(within: 30).enumerated().map { index, o in
            AgendaItem(
                anchor: "o\(index)", item: itemValues(o, v, person: t.person), mine: o.responsible == t.person,
                occurrence: o.id, doneAction: "/me/\(g.raw)/done", page: links.itemPath(t.person, o, zone: v.zone, now: now),
                today: v.today.description, windowStart: o.windowStart.description,
                fund: fundPrefix.flatMap { p in
                    o.id.hasPrefix(p) ? "/me/\(g.raw)/fund/" + o.id.dropFirst(p.count).prefix { $0 != ":" } : nil
                })
        }
        let members = v.own.map { Option(id: $0.id, name: $0.name, unit: v.units[$0.branch]?.name ?? $0.branch) }
        // Who may be applied for from this list: the secretary's own members, and a member themself.
        var applicants = members
        if !v.own.contains(where: { $0.id == t.person }), let me = try? await g.state.workspace.member(t.person), me.status == .active {
            applicants.insert(Option(id: me.id, name: me.name + "（本人）", unit: v.units[me.branch]?.name ?? me.branch), at: 0)
        }
        let kinds = EventKind.allCases.filter { $0 != .talkRequest }.map { Option(id: $0.rawValue, name: $0.chinese) }
        let overdue = items.filter(\.item.overdue).count
        let html =
            Pages.library.render(
                AgendaPage(
                    name: v.name(t.person), today: v.today.description, count: items.count, overdueCount: overdue,
                    hasOverdue: overdue > 0, items: items, hasMembers: !members.isEmpty, members: members, kinds: kinds,
                    eventAction: "/me/\(g.raw)/event", feed: links.feed(t.person, now: now),
                    report: Handlers.reportScope(t.person, g.state.workspace.organization) == nil
                        ? nil
                        : links.reportPath(t.person, now: now),
                    fundAction: "/me/\(g.raw)/fund", fundNonce: UUID().uuidString, canApply: !applicants.isEmpty, applicants: applicants,
                    categories: g.state.workspace.config.fund.categories.map { Option(id: $0, name: $0) }, notice: "/me/\(g.raw)/gongshi"),
                withTemplate: "agenda") ?? ""
        cache.putPage(v.key, token: g.raw, html)
        return Response.html(html)
    }

    /// 已办结 from the list: first the confirmation page (a thumb scrolling past a button records nothing), then,
    /// with `confirm=yes`, the record.
    @Sendable func agendaDone(_ req: Request, _ ctx: WebContext) async throws -> Response {
        let g = try ctx.granted()
        let v = try await view(g.state, person: g.token.person, now: g.now)
        let f = try await form(req, ctx, as: DoneForm.self)
        let agenda = "/me/\(g.raw)"
        // The list first, before anything is looked up about the item.
        guard let o = v.open.first(where: { $0.id == f.occurrence }) else { throw Handlers.notOnList }
        let d = try Handlers.date(f.date, today: v.today, notBefore: o.windowStart)
        guard f.confirm == "yes" else {
            return page(
                "confirm",
                Confirm(
                    item: itemValues(o, v, person: g.token.person), date: d.description,
                    occurrence: o.id, action: "\(agenda)/done", agenda: agenda), status: .ok)
        }
        let actor = Actor(name: g.token.person, now: g.now, via: "the web from \(client(req, ctx, g.state))")
        guard
            try await recording(
                v,
                { () async throws(RecordingProblem) in
                    try await g.state.workspace.recordDone(o, date: d, by: g.token.person, today: v.today, actor: actor)
                })
        else {
            return page(
                "result",
                Result(
                    title: "已登记", message: try await recordedLine(g.state, v, o.id) ?? "已登记。",
                    agenda: agenda), status: .conflict)
        }
        await backend.didRecord()
        return page(
            "result",
            Result(
                title: "已登记", message: "已登记：\(o.title)（\(v.subject(o))）于 \(d) 办结。相关提醒不再发送。",
                agenda: agenda), status: .ok)
    }

    /// An event for a member of the secretary's own units, its date checked as `guanhuai event add` checks it.
    @Sendable func agendaEvent(_ req: Request, _ ctx: WebContext) async throws -> Response {
        let g = try ctx.granted()
        let (t, now) = (g.token, g.now)
        let v = try await view(g.state, person: t.person, now: now)
        let f = try await form(req, ctx, as: EventForm.self)
        guard let member = v.own.first(where: { $0.id == f.member }) else {
            throw Refusal(status: .forbidden, title: "不能为这位党员登记", message: "只能为您担任书记的党组织的党员登记情况。")
        }
        guard let kind = EventKind(rawValue: f.kind), kind != .talkRequest else {
            throw Refusal(status: .badRequest, title: "情况有误", message: "请从列表中选择情况。")
        }
        let d = try Handlers.parsedDate(f.date, today: v.today)
        let known = try await input(g.state, person: t.person)
        let actor = Actor(name: t.person, now: now, via: "the web from \(client(req, ctx, g.state))")
        let note = Handlers.text(f.note, limit: 500)
        let event = try await recording(v) { () async throws(RecordingProblem) in
            try await g.state.workspace.recordEvent(
                member: member, kind: kind, date: d, note: note, input: known, today: v.today,
                actor: actor)
        }
        await backend.didRecord()
        // What the event opens, as `guanhuai event add` says.
        let opened = Planner(try await input(g.state, person: t.person))
            .plan(PlanQuery(from: d.adding(days: -1), to: d.adding(days: 400), now: now)).filter { $0.event == event.id }
        let list = opened.map { "\($0.title)（期限 \($0.due)，责任人 \(v.name($0.responsible))）" }.joined(separator: "；")
        return page(
            "result",
            Result(
                title: "已登记",
                message: "已登记：\(member.name) \(kind.chinese)（\(d)）。" + (opened.isEmpty ? "" : "需要办理：\(list)。"),
                agenda: "/me/\(g.raw)"), status: .ok)
    }
}

// The page values answer the templates' names directly (MustacheParent), rather than through swift-mustache's
// Mirror reflection: on a 160-item agenda, reflection was most of the page's time.
extension Handlers.ItemValues: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "title": title
        case "subject": subject
        case "due": due
        case "weekday": weekday
        case "overdue": overdue
        case "daysOverdue": daysOverdue
        case "responsible": responsible
        case "note": note
        default: nil
        }
    }
}

extension Handlers.AgendaItem: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "anchor": anchor
        case "item": item
        case "mine": mine
        case "occurrence": occurrence
        case "doneAction": doneAction
        case "page": page
        case "today": today
        case "windowStart": windowStart
        case "fund": fund
        default: nil
        }
    }
}

extension Handlers.Option: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "id": id
        case "name": self.name
        case "unit": unit
        default: nil
        }
    }
}

extension Handlers.AgendaPage: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "title": title
        case "name": self.name
        case "today": today
        case "count": count
        case "overdueCount": overdueCount
        case "hasOverdue": hasOverdue
        case "items": items
        case "hasMembers": hasMembers
        case "members": members
        case "kinds": kinds
        case "eventAction": eventAction
        case "feed": feed
        case "report": report
        case "fundAction": fundAction
        case "fundNonce": fundNonce
        case "canApply": canApply
        case "applicants": applicants
        case "categories": categories
        case "notice": notice
        default: nil
        }
    }
}
