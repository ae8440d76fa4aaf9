import Crypto
import Foundation
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiStore
import GuanhuaiWorkspace
import Hummingbird
import HTTPTypes
import Logging
import Mustache
import NIOCore
import Synchronization

/// Why a link is refused, as the page says it.
struct Refusal: Error {
    var status: HTTPResponse.Status
    var title: String
    var message: String

    static let unreadable = Refusal(status: .serviceUnavailable, title: "暂时无法处理", message: "数据库暂时无法读取，请稍后再试。")
    static let unwritable = Refusal(status: .serviceUnavailable, title: "暂时无法记录",
        message: "数据库暂时无法写入，您的操作没有被记录。请稍后再试。")
}

struct Handlers: Sendable {
    let backend: any WebBackend
    let logger: Logger
    let cache = ViewCache()

    // MARK: Links

    /// The daemon's database (always open in the daemon; said as a page, never a crash, were it not).
    func store(_ s: WebState) throws(Refusal) -> AppDatabase {
        do { return try s.workspace.store() } catch { throw Refusal.unreadable }
    }

    func state() async throws(Refusal) -> WebState {
        guard let s = await backend.webState() else {
            throw Refusal(status: .serviceUnavailable, title: "暂时无法使用", message: "网页功能已停用。")
        }
        return s
    }

    /// The token's grant, if this key signed it for this purpose and it still works.
    func authorize(_ token: Substring, _ purpose: LinkToken.Purpose, _ s: WebState, now: Int64) throws(Refusal) -> LinkToken {
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
        do { current = try store(s).linkGeneration(of: t.person) } catch {
            throw Refusal.unreadable
        }
        guard t.generation == current else {
            throw Refusal(status: .gone, title: "链接已收回", message: "发给您的链接已被管理员收回。请使用此后收到的提醒邮件中的链接。")
        }
        return t
    }

    func refusal(_ r: Refusal, _ s: WebState?) -> Response {
        page("problem", Problem(title: r.title, message: r.message, contact: s?.settings.contact ?? "本单位党组织"), status: r.status)
    }

    /// Runs a handler, turning a refusal into its page.
    func guarded(_ body: (inout WebState?) async throws -> Response) async throws -> Response {
        var s: WebState?
        do {
            return try await body(&s)
        } catch let r as Refusal {
            return refusal(r, s)
        }
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

    // MARK: Reading the plan

    /// What one person's pages are made from: their open items for a year either side of today, and the names those
    /// need. Kept per person until the database, the configuration or the day changes (`ViewCache`), so a page view
    /// renders without planning; the rare paths that need the whole plan input (an item no longer open, recording an
    /// event) read it again.
    struct View: Sendable {
        var person: PersonID
        var today: CivilDate
        var zone: ZoneRules
        var names: [PersonID: String]
        var units: [UnitID: OrgUnit]
        var chatTitles: [String: String]
        /// Event notes of the person's own open items (the responsible person's page may show why).
        var notes: [String: String]
        var dependants: [PersonID: String]
        /// Open items, overdue first (oldest first), then by due date.
        var open: [Occurrence]
        /// Members of the units this person is secretary of, and of the units below them.
        var own: [Member]
        var known: Set<PersonID>
        /// People these pages name whom this person's plan input does not hold (a responsible secretary of another
        /// branch): `Handlers.view` looks them up, so no page shows an id.
        var unnamed: Set<PersonID>
        /// What it was made under: pages rendered from it are kept under the same key.
        var key: ViewCache.Key

        init(_ input: PlanInput, person: PersonID, now: Int64, key: ViewCache.Key) {
            self.person = person
            self.key = key
            zone = input.settings.zone
            let today = Planner.today(at: now, zone: zone)
            self.today = today
            let org = input.organization
            // What this person may record (Organization.mayRecord): a greeting or a copy reaches others too, but
            // they are told, not asked, and the item is not on their list.
            open = Planner(input).plan(PlanQuery(from: today.adding(days: -366), to: today.adding(days: 366), now: now,
                person: person)).filter { $0.status.isOpen && org.mayRecord($0, by: person) }.sorted { a, b in
                    let ao = a.status == .overdue, bo = b.status == .overdue
                    if ao != bo { return ao }
                    return (a.due, a.id) < (b.due, b.id)
                }
            let units = org.unitsLed(by: person)
            own = input.members.filter { units.contains($0.branch) && $0.status == .active }
                .sorted { ($0.branch, $0.id) < ($1.branch, $1.id) }
            // Only the names these pages can show.
            var wanted = Set(own.map(\.id))
            wanted.insert(person)
            for o in open {
                wanted.insert(o.responsible)
                if let s = o.subject { wanted.insert(s) }
            }
            var names: [PersonID: String] = [:]
            for m in input.members where wanted.contains(m.id) { names[m.id] = m.name }
            for p in org.people.values where wanted.contains(p.id) { names[p.id] = p.name }
            self.names = names
            unnamed = wanted.subtracting(names.keys)
            self.units = org.units
            chatTitles = Dictionary(input.rules.map { ($0.id, $0.chatLabel) }, uniquingKeysWith: { a, _ in a })
            let mineEvents = Set(open.filter { $0.responsible == person }.compactMap(\.event))
            notes = Dictionary(input.events.compactMap { e in mineEvents.contains(e.id) ? e.note.map { (e.id, $0) } : nil },
                uniquingKeysWith: { a, _ in a })
            dependants = Dictionary(input.dependants.filter { wanted.contains($0.id) }.map { ($0.id, $0.name) },
                uniquingKeysWith: { a, _ in a })
            known = Set(input.members.map(\.id)).union(org.people.keys)
        }

        /// A person by name; one never found (a person taken out of the roster since) as a role, never as an id.
        func name(_ p: PersonID) -> String { names[p] ?? "（已不在名册）" }
        func subject(_ o: Occurrence) -> String {
            guard let s = o.subject else { return units[o.org]?.name ?? o.org }
            return dependants[s] ?? name(s)
        }
        /// What is open in the next `days` days (and everything overdue).
        func open(within days: Int) -> [Occurrence] {
            let end = today.adding(days: days)
            return open.filter { $0.due <= end && $0.windowStart <= end }
        }
    }

    func input(_ s: WebState, person: PersonID) throws(Refusal) -> PlanInput {
        do {
            return try s.workspace.planInput(forPerson: person)
        } catch {
            throw Refusal.unreadable
        }
    }

    /// The key a person's view is kept under now: one read of the database's change counter.
    func viewKey(_ s: WebState, person: PersonID, now: Int64) throws(Refusal) -> ViewCache.Key {
        let generation: Int64
        do { generation = try store(s).changeGeneration() } catch { throw Refusal.unreadable }
        return ViewCache.Key(person: person, database: generation, configuration: s.loadGeneration,
            day: Planner.today(at: now, zone: s.workspace.config.zone))
    }

    func view(_ s: WebState, person: PersonID, now: Int64) throws(Refusal) -> View {
        let key = try viewKey(s, person: person, now: now)
        if let v = cache.get(key) { return v }
        var v = View(try input(s, person: person), person: person, now: now, key: key)
        if !v.unnamed.isEmpty, let db = s.workspace.database {
            do {
                for m in try db.members(inBranches: [], orIDs: v.unnamed) { v.names[m.id] = m.name }
            } catch { throw Refusal.unreadable }
        }
        cache.put(key, v)
        return v
    }

    /// The occurrence a link names: among the person's open items, else found near its due date (wider if it moved).
    func occurrence(_ id: String, due: CivilDate?, _ v: View, _ s: WebState, now: Int64) throws(Refusal) -> Occurrence? {
        if let o = v.open.first(where: { $0.id == id }) { return o }
        let rule = String(id.prefix { $0 != ":" })
        let planner = Planner(try input(s, person: v.person))
        for span in [2, 400] {
            let center = due ?? v.today
            let found = planner.plan(PlanQuery(from: center.adding(days: -span), to: center.adding(days: span), now: now,
                rules: [rule])).first { $0.id == id }
            if let found { return found }
        }
        return nil
    }

    /// 「已由 X 于 Y 登记」 when the item is on record already.
    func recordedLine(_ s: WebState, _ v: View, _ id: String) throws(Refusal) -> String? {
        let r: RecordedCompletion?
        do { r = try store(s).recordedCompletion(for: id) } catch {
            throw Refusal.unreadable
        }
        guard let r else { return nil }
        let what = switch r.completion.outcome {
        case .done: "办结（办结日期 \(r.completion.date)）"
        case .waived: "不适用"
        }
        // Who: the person it was recorded for (`--by`, or the web's signed-in person); else it was recorded at the
        // command line, whose login name is no one's name here.
        let who = (r.completion.by ?? r.recordedBy)
        var name = v.names[who] ?? s.workspace.organization.people[who]?.name
        if name == nil, let db = s.workspace.database {
            name = (try? db.members(inBranches: [], orIDs: [who]))?.first?.name
        }
        return "已由 \(name ?? "管理员") 于 \(v.zone.minute(atUTC: r.recordedAt)) 登记为\(what)。无需再次登记。"
    }

    // MARK: Item pages

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

    func itemContext(_ req: Request, _ ctx: WebContext, _ s: inout WebState?) async throws(Refusal)
        -> (WebState, LinkToken, Action, View, Occurrence, Int64)
    {
        let st = try await state()
        s = st
        let now = backend.now()
        let token = ctx.parameters.get("token") ?? ""
        let t = try authorize(Substring(token), .item, st, now: now)
        guard let action = Action(rawValue: ctx.parameters.get("action") ?? "") else {
            throw Refusal(status: .notFound, title: "页面不存在", message: "请使用提醒邮件中的链接。")
        }
        let v = try view(st, person: t.person, now: now)
        guard let o = try occurrence(t.occurrence, due: t.due, v, st, now: now) else {
            throw Refusal(status: .notFound, title: "事项已不存在", message: "这项工作已不在计划中（相关情况可能已更正）。")
        }
        guard st.workspace.organization.mayRecord(o, by: t.person) else {
            throw Refusal(status: .forbidden, title: "不是您的事项", message: "这个链接所指的事项不由您负责，也不需要您督办。")
        }
        return (st, t, action, v, o, now)
    }

    func itemValues(_ o: Occurrence, _ v: View, person: PersonID) -> ItemValues {
        // The note (why) only on the responsible person's own page.
        let note = o.responsible == person ? o.event.flatMap { v.notes[$0] }.flatMap { $0.isEmpty ? nil : $0 } : nil
        return ItemValues(title: o.title, subject: v.subject(o), due: o.due.description, weekday: o.due.chineseWeekday,
            overdue: o.status == .overdue, daysOverdue: max(0, o.due.days(until: v.today)),
            responsible: v.name(o.responsible), note: note)
    }

    /// The links a checked token's holder is given on a page (their generation is therefore the current one), with
    /// the expiry `LinkMaker` gives every link.
    func links(_ s: WebState, _ t: LinkToken) -> LinkMaker {
        LinkMaker(publicURL: s.settings.publicURL, signer: s.signer, actionDays: s.settings.actionLinkDays,
            agendaDays: s.settings.agendaLinkDays, generations: [t.person: t.generation])
    }

    /// 我的待办 for the holder of a checked token.
    func agendaLink(_ s: WebState, _ t: LinkToken, now: Int64) -> String { links(s, t).agendaPath(t.person, now: now) }

    func itemPage(_ req: Request, _ ctx: WebContext) async throws -> Response {
        try await guarded { s in
            let (st, t, action, v, o, now) = try await itemContext(req, ctx, &s)
            let recorded = try recordedLine(st, v, o.id)
            let notes = action == .note ? ((try? store(st).progressNotes(occurrence: o.id)) ?? []) : []
            var nonce = [UInt8](repeating: 0, count: 16)
            for i in nonce.indices { nonce[i] = UInt8.random(in: 0...255) }
            let open = recorded == nil && o.status.isOpen
            return page("item", ItemPage(
                title: action.heading, heading: action.heading, item: itemValues(o, v, person: t.person), recorded: recorded,
                done: open && action == .done, waive: open && action == .waive, note: action == .note && recorded == nil,
                action: "", today: v.today.description, windowStart: o.windowStart.description,
                nonce: Handlers.hex(nonce),
                notes: notes.map { NoteLine(date: $0.date.description, text: $0.note) }, hasNotes: !notes.isEmpty,
                agenda: agendaLink(st, t, now: now)), status: .ok)
        }
    }

    struct ItemForm: Decodable {
        var date: String?
        var note: String?
        var amount: String?
        var reason: String?
        var nonce: String?
    }

    func form<T: Decodable>(_ req: Request, _ ctx: WebContext, as: T.Type) async throws -> T {
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

    func itemPost(_ req: Request, _ ctx: WebContext) async throws -> Response {
        try await guarded { s in
            let (st, t, action, v, o, now) = try await itemContext(req, ctx, &s)
            let agenda = agendaLink(st, t, now: now)
            if action != .note, let line = try recordedLine(st, v, o.id) {
                return page("result", Result(title: "已登记", message: line, agenda: agenda), status: .conflict)
            }
            let f = try await form(req, ctx, as: ItemForm.self)
            let actor = Actor(name: t.person, now: now, via: "the web from \(client(req, ctx, st))")
            let db = try store(st)
            let message: String
            do {
                switch action {
                case .done:
                    let d = try Handlers.date(f.date, today: v.today, notBefore: o.windowStart)
                    let amount = try Handlers.amount(f.amount)
                    guard try db.record(Completion(occurrence: o.id, date: d, by: t.person, note: Handlers.text(f.note, limit: 500),
                        amountFen: amount), actor: actor)
                    else { return page("result", Result(title: "已登记", message: try recordedLine(st, v, o.id) ?? "已登记。", agenda: agenda), status: .conflict) }
                    message = "已登记：\(o.title)（\(v.subject(o))）于 \(d) 办结。相关提醒不再发送。"
                case .waive:
                    guard let reason = Handlers.text(f.reason, limit: 500) else {
                        throw Refusal(status: .badRequest, title: "请填写原因", message: "登记不适用时，请写明原因。")
                    }
                    guard try db.record(Completion(occurrence: o.id, date: v.today, by: t.person, outcome: .waived(reason: reason)),
                        actor: actor)
                    else { return page("result", Result(title: "已登记", message: try recordedLine(st, v, o.id) ?? "已登记。", agenda: agenda), status: .conflict) }
                    message = "已登记：\(o.title)（\(v.subject(o))）本次不适用。相关提醒不再发送。"
                case .note:
                    let d = try Handlers.date(f.date, today: v.today, notBefore: nil)
                    guard let note = Handlers.text(f.note, limit: 1000) else {
                        throw Refusal(status: .badRequest, title: "请填写情况", message: "请写明需要登记的情况。")
                    }
                    guard let nonce = f.nonce, nonce.count == 32, nonce.allSatisfy(\.isHexDigit) else {
                        throw Refusal(status: .badRequest, title: "提交的内容有误", message: "请从链接重新打开页面后再提交。")
                    }
                    guard try db.addProgressNote(occurrence: o.id, person: t.person, date: d, note: note, nonce: nonce, actor: actor)
                    else { return page("result", Result(title: "已登记", message: "这次登记已经提交过，没有重复记录。", agenda: agenda), status: .conflict) }
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

    struct Result {
        var title: String
        var message: String
        var agenda: String?
    }

    // MARK: 我的待办

    struct AgendaItem {
        var anchor: String
        var title: String
        var subject: String
        var due: String
        var weekday: String
        var overdue: Bool
        var daysOverdue: Int
        var mine: Bool
        var responsible: String
        var occurrence: String
        var doneAction: String
        var page: String
        var today: String
        var windowStart: String
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
    }

    func agendaContext(_ ctx: WebContext, _ s: inout WebState?) async throws(Refusal) -> (WebState, LinkToken, String, View, Int64) {
        let st = try await state()
        s = st
        let now = backend.now()
        let token = ctx.parameters.get("token") ?? ""
        let t = try authorize(Substring(token), .agenda, st, now: now)
        return (st, t, token, try view(st, person: t.person, now: now), now)
    }

    func agendaPage(_ req: Request, _ ctx: WebContext) async throws -> Response {
        try await guarded { s in
            let (st, t, token, v, now) = try await agendaContext(ctx, &s)
            // The same link seen again before anything changed (a reload, a mail scanner's fetch): the page as
            // rendered then. Anything recorded changes the key.
            if let html = cache.page(v.key, token: token) { return Response.html(html) }
            let links = links(st, t)
            let items = v.open(within: 30).enumerated().map { index, o in
                AgendaItem(
                    anchor: "o\(index)", title: o.title, subject: v.subject(o),
                    due: o.due.description, weekday: o.due.chineseWeekday, overdue: o.status == .overdue,
                    daysOverdue: max(0, o.due.days(until: v.today)), mine: o.responsible == t.person,
                    responsible: v.name(o.responsible), occurrence: o.id, doneAction: "/me/\(token)/done",
                    page: links.itemPath(t.person, o, zone: v.zone, now: now),
                    today: v.today.description, windowStart: o.windowStart.description)
            }
            let members = v.own.map {
                Option(id: $0.id, name: $0.name, unit: v.units[$0.branch]?.name ?? $0.branch)
            }
            let kinds = EventKind.allCases.filter { $0 != .talkRequest }.map { Option(id: $0.rawValue, name: $0.chinese) }
            let feed = links.feed(t.person, now: now)
            let html = Pages.library.render(AgendaPage(
                name: v.name(t.person), today: v.today.description, count: items.count,
                overdueCount: items.filter(\.overdue).count, hasOverdue: items.contains(where: \.overdue), items: items, hasMembers: !members.isEmpty, members: members,
                kinds: kinds, eventAction: "/me/\(token)/event", feed: feed,
                report: Handlers.reportScope(t.person, st.workspace.organization) == nil ? nil
                    : links.reportPath(t.person, now: now)),
                withTemplate: "agenda") ?? ""
            cache.putPage(v.key, token: token, html)
            return Response.html(html)
        }
    }

    struct DoneForm: Decodable {
        var occurrence: String
        var date: String?
        /// "yes" from the confirmation page; absent from the list's own button, which only asks.
        var confirm: String?
    }

    /// What every item outside a person's list gets, alike in status and words whether it exists, is recorded, or
    /// belongs to someone else: an agenda link must not tell who else is cared for, or how (issue 28, defect 3).
    static let notOnList = Refusal(status: .forbidden, title: "不是您的待办",
        message: "这项工作不在您的待办中（或已经登记过），不能从这里登记。")

    struct Confirm {
        var title = "确认已办结"
        var item: ItemValues
        var date: String
        var occurrence: String
        var action: String
        var agenda: String
    }

    /// 已办结 from the list: first the confirmation page (a thumb scrolling past a button records nothing), then,
    /// with `confirm=yes`, the record.
    func agendaDone(_ req: Request, _ ctx: WebContext) async throws -> Response {
        try await guarded { s in
            let (st, t, token, v, now) = try await agendaContext(ctx, &s)
            let f = try await form(req, ctx, as: DoneForm.self)
            let agenda = "/me/\(token)"
            // The list first, before anything is looked up about the item.
            guard let o = v.open.first(where: { $0.id == f.occurrence }) else { throw Handlers.notOnList }
            let d = try Handlers.date(f.date, today: v.today, notBefore: o.windowStart)
            guard f.confirm == "yes" else {
                return page("confirm", Confirm(item: itemValues(o, v, person: t.person), date: d.description,
                    occurrence: o.id, action: "\(agenda)/done", agenda: agenda), status: .ok)
            }
            let actor = Actor(name: t.person, now: now, via: "the web from \(client(req, ctx, st))")
            do {
                guard try store(st).record(Completion(occurrence: o.id, date: d, by: t.person), actor: actor) else {
                    return page("result", Result(title: "已登记", message: try recordedLine(st, v, o.id) ?? "已登记。", agenda: agenda), status: .conflict)
                }
            } catch let e as StoreError {
                logger.error("a web action could not be recorded: \(e)")
                throw Refusal.unwritable
            }
            await backend.didRecord()
            return page("result", Result(title: "已登记", message: "已登记：\(o.title)（\(v.subject(o))）于 \(d) 办结。相关提醒不再发送。",
                agenda: agenda), status: .ok)
        }
    }

    struct EventForm: Decodable {
        var member: String
        var kind: String
        var date: String?
        var note: String?
    }

    func agendaEvent(_ req: Request, _ ctx: WebContext) async throws -> Response {
        try await guarded { s in
            let (st, t, token, v, now) = try await agendaContext(ctx, &s)
            let f = try await form(req, ctx, as: EventForm.self)
            let agenda = "/me/\(token)"
            guard let member = v.own.first(where: { $0.id == f.member }) else {
                throw Refusal(status: .forbidden, title: "不能为这位党员登记", message: "只能为您担任书记的党组织的党员登记情况。")
            }
            guard let kind = EventKind(rawValue: f.kind), kind != .talkRequest else {
                throw Refusal(status: .badRequest, title: "情况有误", message: "请从列表中选择情况。")
            }
            let d = try Handlers.parsedDate(f.date, today: v.today)
            let known = try input(st, person: t.person)
            if let problem = EventDateProblem.check(d, kind: kind, member: member, events: known.events, today: v.today,
                rules: known.rules, since: known.settings.since)
            {
                throw Refusal(status: .badRequest, title: "日期有误", message: problem.message(d, name: member.name, chinese: true) + "。")
            }
            let actor = Actor(name: t.person, now: now, via: "the web from \(client(req, ctx, st))")
            let db = try store(st)
            let event: Event
            do {
                event = try db.addEvent(
                    member: member.id, kind: kind, date: d, ends: nil, target: nil, note: Handlers.text(f.note, limit: 500),
                    today: v.today, knownMembers: v.known, knownPeople: v.known, actor: actor)
            } catch {
                throw Refusal(status: .badRequest, title: "未能登记", message: "这项情况没有被记录。请检查日期后重试。")
            }
            await backend.didRecord()
            // What the event opens, as `guanhuai event add` says.
            let input = try input(st, person: t.person)
            let opened = Planner(input).plan(PlanQuery(from: d.adding(days: -1), to: d.adding(days: 400), now: now))
                .filter { $0.event == event.id }
            let list = opened.map { "\($0.title)（期限 \($0.due)，责任人 \(v.name($0.responsible))）" }.joined(separator: "；")
            return page("result", Result(title: "已登记",
                message: "已登记：\(member.name) \(kind.chinese)（\(d)）。" + (opened.isEmpty ? "" : "需要办理：\(list)。"),
                agenda: agenda), status: .ok)
        }
    }

    // MARK: Calendar feed

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func digest(_ s: String) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in SHA256.hash(data: Array(s.utf8)) {
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    func feed(_ req: Request, _ ctx: WebContext) async throws -> Response {
        try await guarded { s in
            let st = try await state()
            s = st
            let now = backend.now()
            let file = ctx.parameters.get("file") ?? ""
            guard file.hasSuffix(".ics") else { throw Refusal(status: .notFound, title: "链接无效", message: "这个链接不完整。") }
            let t = try authorize(Substring(file.dropLast(4)), .feed, st, now: now)
            let v = try view(st, person: t.person, now: now)
            // Kept like 「我的待办」, under the same key: a calendar polling every few minutes, or 200 at once, reads
            // one counter and gets the feed as made, or 304 when it has it already.
            let cacheToken = "ics:" + file
            let body: String
            if let kept = cache.page(v.key, token: cacheToken) {
                body = kept
            } else {
                let events = v.open.map { o in
                    // Chat-level: the rule's chat title and the subject's name, never the note. SEQUENCE rises once,
                    // when the item becomes overdue and its summary says so.
                    let overdue = o.status == .overdue
                    return ICS.Event(
                        uid: Handlers.digest(t.person + "\n" + o.id).prefix(32) + "@guanhuai", sequence: overdue ? 1 : 0,
                        date: o.due, summary: (overdue ? "【逾期】" : "") + "\(v.chatTitles[o.rule] ?? "关怀事项")：\(v.subject(o))",
                        description: "责任人：\(v.name(o.responsible))；期限：\(o.due)")
                }
                body = ICS.calendar(name: "关怀待办 · \(v.name(t.person))", events: events, stamp: now)
                cache.putPage(v.key, token: cacheToken, body)
            }
            let etag = "\"" + Handlers.digest(body).prefix(32) + "\""
            if let match = req.headers[.ifNoneMatch], match.split(separator: ",").contains(where: {
                $0.trimmingCharacters(in: .whitespaces) == etag || $0.trimmingCharacters(in: .whitespaces) == "*"
            }) {
                return Response(status: .notModified, headers: [.eTag: etag, .cacheControl: "private, no-cache"])
            }
            return Response(status: .ok, headers: [.contentType: "text/calendar; charset=utf-8", .eTag: etag,
                .cacheControl: "private, no-cache"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
    }
}

/// The last views made, one per person (at most `capacity` people); a view is used only while its key holds.
final class ViewCache: Sendable {
    struct Key: Hashable, Sendable {
        var person: PersonID
        var database: Int64
        var configuration: Int
        var day: CivilDate
    }

    let capacity = 64
    private let entries = Mutex<[PersonID: (key: Key, view: Handlers.View)]>([:])
    /// Rendered agenda pages, per person: the key they were made under, and the page per link (at most 4 links).
    private let pages = Mutex<[PersonID: (key: Key, byToken: [String: String])]>([:])

    func page(_ key: Key, token: String) -> String? {
        pages.withLock { p in p[key.person].flatMap { $0.key == key ? $0.byToken[token] : nil } }
    }

    func putPage(_ key: Key, token: String, _ html: String) {
        pages.withLock { p in
            var entry: (key: Key, byToken: [String: String]) = p[key.person].flatMap { $0.key == key ? $0 : nil } ?? (key, [:])
            if entry.byToken.count >= 4 { entry.byToken.removeAll() }
            entry.byToken[token] = html
            if p[key.person] == nil, p.count >= capacity, let stale = p.keys.first { p[stale] = nil }
            p[key.person] = entry
        }
    }

    func get(_ key: Key) -> Handlers.View? {
        entries.withLock { e in e[key.person].flatMap { $0.key == key ? $0.view : nil } }
    }

    func put(_ key: Key, _ view: Handlers.View) {
        entries.withLock { e in
            if e[key.person] == nil, e.count >= capacity, let stale = e.first(where: { $0.value.key.database != key.database })?.key
                ?? e.keys.first
            {
                e[stale] = nil
            }
            e[key.person] = (key, view)
        }
    }
}

// The page values answer the templates' names directly (MustacheParent), rather than through swift-mustache's
// Mirror reflection: on a 160-item agenda, reflection was most of the page's time.
extension Handlers.AgendaItem: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "anchor": anchor
        case "title": title
        case "subject": subject
        case "due": due
        case "weekday": weekday
        case "overdue": overdue
        case "daysOverdue": daysOverdue
        case "mine": mine
        case "responsible": responsible
        case "occurrence": occurrence
        case "doneAction": doneAction
        case "page": page
        case "today": today
        case "windowStart": windowStart
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
        default: nil
        }
    }
}

extension Response {
    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
