import Foundation
import GuanhuaiCalendar
import GuanhuaiCore
import GuanhuaiStore
import GuanhuaiWorkspace
import Hummingbird

/// The 专项资金 on the pages, behind a person's 「我的待办」 link: a secretary applies for a member of their units,
/// each person involved sees the application and takes their step, and the 公示 lists what is in its period. Every
/// step goes through the Workspace's fund use cases, as `guanhuai fund` does.
extension Handlers {
    struct FundApplyForm: Decodable {
        var member: String
        var category: String
        var amount: String
        var reason: String
        var attachments: String?
        var family: String?
        var consent: String?
        var nonce: String
    }

    struct FundStepForm: Decodable {
        var verdict: String
        var words: String?
        var nonce: String
        /// 组织部's decision: the meeting, who attended (ids or names, separated by spaces or commas), the amount and
        /// its source; a payment: its date, amount and source.
        var meeting: String?
        var attendees: String?
        var amount: String?
        var source: String?
        var date: String?
    }

    struct FundPage {
        var title = "专项资金申请"
        var id: Int64
        var member: String
        var unit: String
        var category: String
        var amount: String
        var reason: String
        var attachments: String
        var appliedOn: String
        var stage: String
        var due: String
        var granted: String
        var steps: [StepLine]
        var hasSteps: Bool
        /// The verdicts this person may give now, each a button.
        var verdicts: [Option]
        var hasVerdicts: Bool
        /// 组织部 at the decision or at payment: the fields those steps need.
        var decideForm: Bool
        var payForm: Bool
        var moneyForm: Bool
        var sources: [Option]
        var today: String
        var asked: String
        var action: String
        var nonce: String
        var agenda: String
    }

    struct StepLine {
        var text: String
    }

    struct NoticePage {
        var title = "关怀帮扶专项资金公示"
        var heading: String
        var rows: [NoticeRow]
        var empty: Bool
        var contact: String
        var agenda: String
    }

    struct NoticeRow {
        var name: String
        var unit: String
        var category: String
        var amount: String
        var period: String
    }

    /// A fund use case's refusal, as a page.
    func funding<T>(_ body: () async throws(FundProblem) -> T) async throws(Refusal) -> T {
        do {
            return try await body()
        } catch {
            switch error {
            case .store(let e):
                logger.error("a fund step could not be recorded: \(e)")
                throw Refusal.unwritable
            case .noSuchApplication: throw Refusal(status: .notFound, title: "没有这份申请", message: error.message(chinese: true) + "。")
            case .refused, .notInvolved: throw Refusal(status: .forbidden, title: "不能办理", message: error.message(chinese: true))
            case .unknownMember, .unknownCategory: throw Refusal(status: .badRequest, title: "填写有误", message: error.message(chinese: true))
            }
        }
    }

    /// A secretary's application for a member of their own units (or a member's own).
    @Sendable func fundApply(_ req: Request, _ ctx: WebContext) async throws -> Response {
        let g = try ctx.granted()
        let (t, now) = (g.token, g.now)
        let v = try await view(g.state, person: t.person, now: now)
        let f = try await form(req, ctx, as: FundApplyForm.self)
        guard v.own.contains(where: { $0.id == f.member }) || f.member == t.person else {
            throw Refusal(status: .forbidden, title: "不能为这位党员申请", message: "只能为您担任书记的党组织的党员申请。")
        }
        guard let fen = Amount.fen(f.amount.trimmingCharacters(in: .whitespaces)), fen > 0 else {
            throw Refusal(status: .badRequest, title: "金额有误", message: "申请金额请填写以元为单位的数字，例如 3000 或 3000.50。")
        }
        guard let reason = Handlers.text(f.reason, limit: 1000) else {
            throw Refusal(status: .badRequest, title: "请写明事由", message: "请写明申请事由。")
        }
        let attachments = (f.attachments ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.prefix(20).map { String($0.prefix(200)) }
        let family = try await relatives(f.family, g.state.workspace)
        let actor = Actor(name: t.person, now: now, via: "the web from \(client(req, ctx, g.state))")
        let id = try await funding { () async throws(FundProblem) in
            try await g.state.workspace.fundApply(
                member: f.member, category: f.category, reason: reason, amountFen: Int64(fen), attachments: Array(attachments), family: family,
                consent: f.consent == "yes", by: t.person, today: v.today, actor: actor,
                // The list page (and its nonce) is kept until something changes: the member is part of the key, so
                // a second member's application from the same page is a second application, and the same one sent
                // twice is one.
                nonce: String(f.nonce.prefix(64)) + ":" + f.member)
        }
        await backend.didRecord()
        return page(
            "result",
            Result(
                title: "已提交", message: "已提交申请（编号 \(id)）：\(v.name(f.member))，\(f.category)，\(Amount.yuan(Int64(fen))) 元。待党支部审核。",
                agenda: "/me/\(g.raw)"), status: .ok)
    }

    /// One application, for those involved in it, with the step this person may take now.
    @Sendable func fundPage(_ req: Request, _ ctx: WebContext) async throws -> Response {
        let g = try ctx.granted()
        let (ws, person) = (g.state.workspace, g.token.person)
        let (a, c, steps) = try await application(ctx, g)
        let org = ws.organization
        guard FundProcedure.role(of: person, in: c, organizationDepartment: org.organizationDepartment) != nil else {
            throw Refusal(status: .forbidden, title: "不是您的申请", message: "这份申请与您无关，不能查看。")
        }
        let today = Planner.today(at: g.now, zone: ws.config.zone)
        let names = try await names(ws, Set([a.member] + steps.map(\.step.person)))
        let verdicts = Self.verdicts(for: c, person: person, organizationDepartment: org.organizationDepartment)
        let due = ws.config.fund.deadlines.due(a.stage, entered: a.stageSince, calendar: ws.workCalendar)
        let branch = try await memberBranch(ws, a.member)
        let values = FundPage(
            id: a.id, member: names[a.member] ?? a.member, unit: branch.flatMap { org.unit($0)?.name } ?? "", category: a.category,
            amount: Amount.yuan(a.amountAskedFen), reason: a.reason, attachments: a.attachments.joined(separator: "；"),
            appliedOn: a.appliedOn.description, stage: a.stage.words,
            due: due.map { $0 < today ? "\($0)（已逾期）" : $0.description } ?? "",
            granted: a.granted.map { "\($0.source.rawValue) \(Amount.yuan($0.amountFen)) 元" } ?? "",
            steps: steps.map { StepLine(text: Self.line($0, names)) }, hasSteps: !steps.isEmpty, verdicts: verdicts, hasVerdicts: !verdicts.isEmpty,
            decideForm: verdicts.contains { $0.id == "decide" }, payForm: verdicts.contains { $0.id == "pay" },
            moneyForm: verdicts.contains { $0.id == "decide" || $0.id == "pay" },
            sources: FundSource.allCases.map { Option(id: $0.rawValue, name: $0.rawValue) }, today: today.description,
            asked: a.granted.map { Amount.yuan($0.amountFen) } ?? Amount.yuan(a.amountAskedFen),
            action: "/me/\(g.raw)/fund/\(a.id)", nonce: UUID().uuidString, agenda: "/me/\(g.raw)")
        return page("fund", values, status: .ok)
    }

    /// A step from the application's page: the verdict is one the page offered, decided again by the use case.
    @Sendable func fundStep(_ req: Request, _ ctx: WebContext) async throws -> Response {
        let g = try ctx.granted()
        let (ws, person) = (g.state.workspace, g.token.person)
        let (a, _, _) = try await application(ctx, g)
        let f = try await form(req, ctx, as: FundStepForm.self)
        let words = Handlers.text(f.words, limit: 500) ?? ""
        let action: FundAction
        switch f.verdict {
        case "approve": action = .approve(opinion: words)
        case "return":
            guard !words.isEmpty else { throw Refusal(status: .badRequest, title: "请写明原因", message: "退回时请写明需要补充什么。") }
            action = .returnForMore(words: words)
        case "reject":
            guard !words.isEmpty else { throw Refusal(status: .badRequest, title: "请写明原因", message: "不予资助时请写明原因。") }
            action = .reject(words: words)
        case "resubmit": action = .resubmit
        case "withdraw": action = .withdraw(words: words)
        case "confirm": action = .confirmNotice
        case "object":
            guard !words.isEmpty else { throw Refusal(status: .badRequest, title: "请写明异议", message: "请写明收到的异议。") }
            action = .object(words: words)
        case "dismiss":
            guard !words.isEmpty else { throw Refusal(status: .badRequest, title: "请写明核实情况", message: "请写明异议的核实情况。") }
            action = .dismissObjection(words: words)
        case "decide", "pay":
            guard let fen = f.amount.flatMap({ Amount.fen($0.trimmingCharacters(in: .whitespaces)) }), fen > 0 else {
                throw Refusal(status: .badRequest, title: "金额有误", message: "金额请填写以元为单位的数字，例如 3000 或 3000.50。")
            }
            guard let source = f.source.flatMap(FundSource.init(rawValue:)) else {
                throw Refusal(status: .badRequest, title: "请选择资金来源", message: "请从列表中选择资金来源。")
            }
            let today = Planner.today(at: g.now, zone: ws.config.zone)
            if f.verdict == "pay" {
                let d = try Handlers.parsedDate(f.date, today: today)
                action = .pay(date: d, amountFen: Int64(fen), source: source)
            } else {
                let meeting = try Handlers.parsedDate(f.meeting, today: today)
                action = .decide(meeting: meeting, attendees: try attendees(f.attendees, ws), amountFen: Int64(fen), source: source)
            }
        default: throw Refusal(status: .badRequest, title: "操作有误", message: "请从页面上的按钮中选择。")
        }
        let today = Planner.today(at: g.now, zone: ws.config.zone)
        let actor = Actor(name: person, now: g.now, via: "the web from \(client(req, ctx, g.state))")
        let stage = try await funding { () async throws(FundProblem) in
            try await ws.fundStep(a.id, action, by: person, today: today, actor: actor, nonce: String(f.nonce.prefix(64)))
        }
        await backend.didRecord()
        return page(
            "result", Result(title: "已登记", message: "申请 \(a.id) 已登记，现为「\(stage.words)」。", agenda: "/me/\(g.raw)"), status: .ok)
    }

    /// The 公示: grants in their period that this person may see — name, unit, category, amount, the period and
    /// where to object; never the reason. Printable for the notice board.
    @Sendable func noticePage(_ req: Request, _ ctx: WebContext) async throws -> Response {
        let g = try ctx.granted()
        let (ws, person) = (g.state.workspace, g.token.person)
        let org = ws.organization
        let fund = ws.config.fund
        let inNotice: [FundApplication]
        do { inNotice = try await ws.store().fundApplications().filter { $0.stage == .notice } } catch { throw Refusal.unreadable }
        let viewerBranch = try await memberBranch(ws, person)
        var rows: [NoticeRow] = []
        let names = try await names(ws, Set(inNotice.map(\.member)))
        for a in inNotice {
            guard let branch = try await memberBranch(ws, a.member),
                FundNotice.visible(
                    to: person, viewerBranch: viewerBranch, grantBranch: branch, wholeCommittee: fund.noticeScope == .committee, in: org),
                let last = fund.deadlines.due(.notice, entered: a.stageSince, calendar: ws.workCalendar)
            else { continue }
            rows.append(
                NoticeRow(
                    name: names[a.member] ?? a.member, unit: org.unit(branch)?.name ?? branch, category: a.category,
                    amount: a.granted.map { Amount.yuan($0.amountFen) } ?? "", period: "\(a.stageSince) 至 \(last)"))
        }
        return page(
            "notice",
            NoticePage(
                heading: "关怀帮扶专项资金资助公示", rows: rows, empty: rows.isEmpty,
                contact: fund.objectionContact ?? g.state.settings.contact, agenda: "/me/\(g.raw)"), status: .ok)
    }

    // MARK: Helpers

    /// The application named in the path, its case as the procedure sees it, and its steps.
    func application(_ ctx: WebContext, _ g: Grant) async throws(Refusal) -> (FundApplication, FundCase, [FundStepRecord]) {
        let ws = g.state.workspace
        guard let id = ctx.parameters.get("id").flatMap({ Int64($0) }) else { throw Refusal(status: .notFound, title: "没有这份申请", message: "请从待办中打开申请。") }
        do {
            let store = try ws.store()
            guard let a = try await store.fundApplications().first(where: { $0.id == id }) else {
                // The same words as one that is not theirs: a link must not tell which applications exist.
                throw Refusal(status: .forbidden, title: "不是您的申请", message: "这份申请与您无关，不能查看。")
            }
            let steps = try await store.fundSteps(of: id)
            let branch = try await ws.member(a.member)?.branch
            return (a, ws.fundCase(a, branch: branch, steps: steps.map(\.step)), steps)
        } catch let r as Refusal {
            throw r
        } catch {
            throw Refusal.unreadable
        }
    }

    /// Who attended a decision, as typed: ids or the names of people of the organisation, separated by spaces,
    /// commas or 、. A name that is not one person's is refused, saying which.
    func attendees(_ text: String?, _ ws: Workspace) throws(Refusal) -> [PersonID] {
        let org = ws.organization
        var out: [PersonID] = []
        for word in (text ?? "").split(whereSeparator: { " ,，、;；\n".contains($0) }).map(String.init) {
            if org.people[word] != nil {
                out.append(word)
            } else {
                let named = org.people.values.filter { $0.name == word }.map(\.id)
                guard named.count == 1 else {
                    throw Refusal(status: .badRequest, title: "参会人员有误", message: "「\(word)」不是组织中唯一的一位同志，请写编号。")
                }
                out.append(named[0])
            }
        }
        return out
    }

    /// The relatives declared on an application, as typed: member or person ids, or names that name one of them.
    func relatives(_ text: String?, _ ws: Workspace) async throws(Refusal) -> [PersonID] {
        var out: [PersonID] = []
        for word in (text ?? "").split(whereSeparator: { " ,，、;；\n".contains($0) }).map(String.init).prefix(20) {
            if ws.organization.people[word] != nil {
                out.append(word)
                continue
            }
            if let m = try await { () async throws(Refusal) -> Member? in
                do { return try await ws.member(word) } catch { throw Refusal.unreadable }
            }() {
                out.append(m.id)
                continue
            }
            // A name: the stored roster's, or the roster file's before an import, and the organisation's people.
            var found: [String] = ws.config.members.filter { $0.name == word }.map(\.id)
            do { found += try await ws.store().members(idOrName: word).map(\.id) } catch { throw Refusal.unreadable }
            let ids = Set(found + ws.organization.people.values.filter { $0.name == word }.map(\.id))
            guard ids.count == 1, let id = ids.first else {
                throw Refusal(status: .badRequest, title: "亲属有误", message: "「\(word)」不是名册或组织中唯一的一位同志，请写编号。")
            }
            out.append(id)
        }
        return out
    }

    func memberBranch(_ ws: Workspace, _ id: PersonID) async throws(Refusal) -> UnitID? {
        do { return try await ws.member(id)?.branch } catch { throw Refusal.unreadable }
    }

    func names(_ ws: Workspace, _ ids: Set<PersonID>) async throws(Refusal) -> [PersonID: String] {
        var out: [PersonID: String] = [:]
        for id in ids {
            if let p = ws.organization.people[id] {
                out[id] = p.name
            } else if let m = try await { () async throws(Refusal) -> Member? in
                do { return try await ws.member(id) } catch { throw Refusal.unreadable }
            }() {
                out[id] = m.name
            }
        }
        return out
    }

    /// The buttons a person gets at the case's stage: a reviewer's three verdicts at their review, resubmission at a
    /// return, withdrawal for the member and their branch secretary until it is paid. What is offered is only a
    /// convenience: the use case decides again when it is pressed.
    static func verdicts(for c: FundCase, person: PersonID, organizationDepartment: PersonID) -> [Option] {
        var out: [Option] = []
        let reviewer = (c.stage == .branchReview && person == c.branchSecretary) || (c.stage == .generalReview && person == c.generalSecretary)
        if reviewer && person != c.member && !c.family.contains(person) {
            out += [Option(id: "approve", name: "同意"), Option(id: "return", name: "退回补充"), Option(id: "reject", name: "不同意")]
        }
        if c.stage == .returned && (person == c.branchSecretary || person == c.member) { out.append(Option(id: "resubmit", name: "补充后重新提交")) }
        if person == organizationDepartment && person != c.member && !c.family.contains(person) {
            switch c.stage {
            case .decision: out += [Option(id: "decide", name: "登记集体研究决定"), Option(id: "reject", name: "不予资助")]
            case .noticeCheck: out.append(Option(id: "confirm", name: "保密审查通过，开始公示"))
            case .notice: out.append(Option(id: "object", name: "登记异议"))
            case .held: out += [Option(id: "dismiss", name: "异议不成立，继续发放"), Option(id: "reject", name: "不予资助")]
            case .payment: out.append(Option(id: "pay", name: "登记发放"))
            default: break
            }
        }
        if !c.stage.isFinal && (person == c.member || person == c.branchSecretary || person == organizationDepartment) {
            out.append(Option(id: "withdraw", name: "撤回申请"))
        }
        return out
    }

    static func line(_ r: FundStepRecord, _ names: [PersonID: String]) -> String {
        let d = FundColumns.details(r.step.action)
        var text = "\(r.step.on) \(names[r.step.person] ?? r.step.person)（\(r.step.role.words)）→ \(r.step.to.words)"
        if let w = d.words, !w.isEmpty { text += "：\(w)" }
        if let m = d.meeting { text += "（会议 \(m)）" }
        if let f = d.amountFen, let s = d.source { text += " \(s) \(Amount.yuan(f)) 元" }
        return text
    }
}
