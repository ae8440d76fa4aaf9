import ArgumentParser
import Foundation
import GuanhuaiCalendar
import GuanhuaiCore
import GuanhuaiStore
import GuanhuaiSystem
import GuanhuaiWorkspace

/// `guanhuai fund …`: 组织部's side of the 关怀帮扶专项资金 (X九). Every step goes through the Workspace's fund use
/// cases, as the pages' do: the same checks, the same refusals (exit 2), the same audit.
struct FundCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fund",
        abstract: L(
            "The 关怀帮扶专项资金: applications, review, decision, 公示, payment and the fund's income.",
            "关怀帮扶专项资金：申请、审核、集体研究、公示、发放与资金收入。"),
        discussion: """
            申请 → 党支部审核 → 党总支审核 (where the branch has one) → 组织部集体研究 → 公示前保密审查 → 公示 → 发放.
            Steps are taken as 组织部 unless --by names someone else (a secretary's review handed in on paper).
            """,
        subcommands: [
            FundApply.self, FundReview.self, FundResubmit.self, FundDecide.self, FundConfirm.self, FundObject.self, FundDismiss.self,
            FundReject.self, FundPay.self, FundWithdraw.self, FundIncomeCommand.self, FundList.self, FundShow.self,
        ])
}

/// What every fund command shares: the workspace, who acts, today, and how a refusal is said.
struct FundContext {
    let ws: Workspace
    let actor: Actor
    let today: CivilDate
    let person: PersonID

    static func open(_ options: ConfigOption, by: String?) async throws -> FundContext {
        let ws = try await options.workspace(create: true)
        let actor = currentActor()
        let today = Planner.today(at: actor.now, zone: ws.config.zone)
        var person = ws.organization.organizationDepartment
        if let by { person = try await resolvePerson(by, in: ws, option: "--by") }
        return FundContext(ws: ws, actor: actor, today: today, person: person)
    }

    /// Runs a fund use case; a refusal or a problem exits 2 saying why.
    func run<T>(_ body: () async throws(FundProblem) -> T) async throws -> T {
        do { return try await body() } catch { throw UsageError(message: error.message()) }
    }

    /// Takes `action` on application `id` and says where it stands now.
    func step(_ id: Int64, _ action: FundAction) async throws {
        let stage = try await run { () async throws(FundProblem) in
            try await ws.fundStep(id, action, by: person, today: today, actor: actor, nonce: UUID().uuidString)
        }
        say(L("Application #\(id): \(action.name) recorded; now at \(stage.english) (\(stage.words)).", "申请 \(id)：已登记，现为「\(stage.words)」。"))
    }
}

func fen(_ text: String, option: String) throws -> Int64 {
    guard let f = Amount.fen(text), f > 0 else {
        throw UsageError(
            message: L(
                "\(option) \"\(text)\" is not an amount in yuan; write e.g. 5000 or 5000.50", "\(option)「\(text)」不是以元计的金额；请写如 5000 或 5000.50"))
    }
    return Int64(f)
}

func fundSource(_ text: String) throws -> FundSource {
    guard let s = FundSource(rawValue: text) ?? FundSource.allCases.first(where: { "\($0)" == text }) else {
        throw UsageError(
            message: L(
                "--source \"\(text)\" is not a source of the fund; use one of: \(FundSource.allCases.map(\.rawValue).joined(separator: ", "))",
                "--source「\(text)」不是专项资金的来源；可选：\(FundSource.allCases.map(\.rawValue).joined(separator: "、"))"))
    }
    return s
}

struct FundOptions: ParsableArguments {
    @OptionGroup var options: ConfigOption
    @Option(help: "Who takes the step (a person id or a unique name; default: 组织部).") var by: String?
}

struct FundApply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply", abstract: L("Record an application on a member's behalf.", "代党员登记一份申请。"))

    @OptionGroup var fund: FundOptions
    @Argument(help: "The member it is for (an id or a unique name).") var member: String
    @Option(help: "The category (one of [fund] categories).") var category: String
    @Option(help: "Why (sensitive: shown only to those who act on it).") var reason: String
    @Option(help: "The amount asked, in yuan.") var amount: String
    @Option(name: .customLong("attachment"), help: "An attachment's name (repeat for each; the files stay out of guanhuai).")
    var attachments: [String] = []
    @Option(name: .customLong("family"), help: "A relative in the organisation, who then takes no step on it (repeat).")
    var family: [String] = []
    @Flag(help: "The member (or family) agreed to the 公示. Required.") var consent = false
    @Option(help: "The day it was made (default: today).") var date: String?

    func run() async throws {
        let asked = try fen(amount, option: "--amount")
        let c = try await FundContext.open(fund.options, by: fund.by)
        let memberID = try await resolvePerson(member, in: c.ws, option: "MEMBER")
        var relatives: [PersonID] = []
        for f in family { relatives.append(try await resolvePerson(f, in: c.ws, option: "--family")) }
        let on = try date.map { try ArgumentDates.date($0, option: "--date") } ?? c.today
        let id = try await c.run { () async throws(FundProblem) in
            try await c.ws.fundApply(
                member: memberID, category: category, reason: reason, amountFen: asked, attachments: attachments, family: relatives,
                consent: consent, by: c.person, today: on, actor: c.actor, nonce: UUID().uuidString)
        }
        say(L("Application #\(id) recorded: it waits for the branch's review.", "已登记申请 \(id)，待党支部审核。"))
    }
}

struct FundReview: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review", abstract: L("Record a branch's or 党总支's review.", "登记党支部或党总支的审核意见。"))

    enum Verdict: String, ExpressibleByArgument, CaseIterable {
        case approve, `return`, reject
    }

    @OptionGroup var fund: FundOptions
    @Argument(help: "The application's number.") var id: Int64
    @Option(help: "approve, return (for more) or reject.") var verdict: Verdict
    @Option(help: "The reviewer's words (what is missing, on a return).") var words: String = ""

    func run() async throws {
        let c = try await FundContext.open(fund.options, by: fund.by)
        let action: FundAction =
            switch verdict {
            case .approve: .approve(opinion: words)
            case .return: .returnForMore(words: words)
            case .reject: .reject(words: words)
            }
        try await c.step(id, action)
    }
}

struct FundResubmit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resubmit", abstract: L("Send a returned application in again.", "补充后重新提交退回的申请。"))
    @OptionGroup var fund: FundOptions
    @Argument(help: "The application's number.") var id: Int64

    func run() async throws { try await FundContext.open(fund.options, by: fund.by).step(id, .resubmit) }
}

struct FundDecide: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decide", abstract: L("Record 组织部's collective decision.", "登记组织部集体研究决定。"))

    @OptionGroup var fund: FundOptions
    @Argument(help: "The application's number.") var id: Int64
    @Option(help: "The meeting's date.") var meeting: String
    @Option(name: .customLong("attendee"), help: "Who attended (repeat; at least two).") var attendees: [String] = []
    @Option(help: "The amount granted, in yuan.") var amount: String
    @Option(help: "The fund source: 本级留存党费, 党建工作专项经费, 财政划拨 or 捐赠.") var source: String

    func run() async throws {
        let granted = try fen(amount, option: "--amount")
        let s = try fundSource(source)
        let m = try ArgumentDates.date(meeting, option: "--meeting")
        let c = try await FundContext.open(fund.options, by: fund.by)
        var who: [PersonID] = []
        for a in attendees { who.append(try await resolvePerson(a, in: c.ws, option: "--attendee")) }
        try await c.step(id, .decide(meeting: m, attendees: who, amountFen: granted, source: s))
    }
}

struct FundConfirm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "confirm", abstract: L("Confirm the 公示 text (保密审查): the 公示 period starts.", "确认公示内容已经保密审查，公示开始。"))
    @OptionGroup var fund: FundOptions
    @Argument(help: "The application's number.") var id: Int64

    func run() async throws { try await FundContext.open(fund.options, by: fund.by).step(id, .confirmNotice) }
}

struct FundObject: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "object", abstract: L("Record an objection received during 公示: the grant is held.", "登记公示期间收到的异议，暂停发放。"))
    @OptionGroup var fund: FundOptions
    @Argument(help: "The application's number.") var id: Int64
    @Option(help: "The objection.") var words: String

    func run() async throws { try await FundContext.open(fund.options, by: fund.by).step(id, .object(words: words)) }
}

struct FundDismiss: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dismiss", abstract: L("Dismiss an objection after checking: the grant goes on to payment.", "异议经核实不成立，继续发放。"))
    @OptionGroup var fund: FundOptions
    @Argument(help: "The application's number.") var id: Int64
    @Option(help: "What the check found.") var words: String

    func run() async throws { try await FundContext.open(fund.options, by: fund.by).step(id, .dismissObjection(words: words)) }
}

struct FundReject: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reject", abstract: L("Refuse it (组织部, at its decision or on an objection).", "不予资助（组织部集体研究或异议核实后）。"))
    @OptionGroup var fund: FundOptions
    @Argument(help: "The application's number.") var id: Int64
    @Option(help: "Why.") var words: String

    func run() async throws { try await FundContext.open(fund.options, by: fund.by).step(id, .reject(words: words)) }
}

struct FundPay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pay", abstract: L("Record the payment of a grant.", "登记资助发放。"))
    @OptionGroup var fund: FundOptions
    @Argument(help: "The application's number.") var id: Int64
    @Option(help: "The day it was paid (default: today).") var date: String?
    @Option(help: "The amount paid, in yuan (as decided).") var amount: String
    @Option(help: "The source it was paid from (as decided).") var source: String

    func run() async throws {
        let paid = try fen(amount, option: "--amount")
        let s = try fundSource(source)
        let c = try await FundContext.open(fund.options, by: fund.by)
        let d = try date.map { try ArgumentDates.date($0, option: "--date") } ?? c.today
        try await c.step(id, .pay(date: d, amountFen: paid, source: s))
    }
}

struct FundWithdraw: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "withdraw", abstract: L("Withdraw an application (it stays on record, withdrawn).", "撤回申请（记录保留，状态为已撤回）。"))
    @OptionGroup var fund: FundOptions
    @Argument(help: "The application's number.") var id: Int64
    @Option(help: "Why.") var words: String = ""

    func run() async throws { try await FundContext.open(fund.options, by: fund.by).step(id, .withdraw(words: words)) }
}

struct FundIncomeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "income", abstract: L("Record money into the fund, or (without --amount) show each source's balance.", "登记资金收入；不带 --amount 时列出各来源余额。"))
    @OptionGroup var options: ConfigOption
    @Option(help: "The source: 本级留存党费, 党建工作专项经费, 财政划拨 or 捐赠.") var source: String?
    @Option(help: "The day it came in (default: today).") var date: String?
    @Option(help: "The amount, in yuan.") var amount: String?
    @Option(help: "A note (e.g. the voucher number).") var note: String?

    func run() async throws {
        let c = try await FundContext.open(options, by: nil)
        if let amount {
            guard let source else { throw UsageError(message: L("--amount needs --source", "--amount 须同时写 --source")) }
            let income = FundIncome(
                source: try fundSource(source), on: try date.map { try ArgumentDates.date($0, option: "--date") } ?? c.today,
                amountFen: try fen(amount, option: "--amount"))
            let id = try await c.run { () async throws(FundProblem) in try await c.ws.fundIncome(income, note: note, actor: c.actor) }
            say(L("Income #\(id) recorded.", "已登记收入（编号 \(id)）。"))
        }
        let balance = try await c.ws.fundBalance()
        say(L("Balance by source (income less what was granted):", "各来源余额（收入减已决定资助）："))
        for s in FundSource.allCases { say("  \(pad(s.rawValue, 18)) \(Amount.yuan(balance[s] ?? 0)) 元") }
    }
}

struct FundList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: L("List the applications, with each one's stage and its deadline.", "列出申请及其所处阶段和办理期限。"))
    @OptionGroup var options: ConfigOption
    @Flag(help: "Also those closed, rejected or withdrawn.") var all = false

    func run() async throws {
        let c = try await FundContext.open(options, by: nil)
        let store = try c.ws.store()
        let applications = try await store.fundApplications().filter { all || !$0.stage.isFinal }
        let deadlines = c.ws.config.fund.deadlines
        say(
            [
                pad(L("No.", "编号"), 5), pad(L("Member", "党员"), 14), pad(L("Category", "类别"), 14), pad(L("Asked", "申请金额"), 12),
                pad(L("Stage", "阶段"), 16), L("Due", "期限"),
            ].joined(separator: " "))
        for a in applications {
            let due = deadlines.due(a.stage, entered: a.stageSince, calendar: c.ws.workCalendar).map { d in
                d < c.today ? L("\(d) (overdue)", "\(d)（已逾期）") : d.description
            }
            say(
                [pad("\(a.id)", 5), pad(a.member, 14), pad(a.category, 14), pad(Amount.yuan(a.amountAskedFen), 12), pad(a.stage.words, 16), due ?? "-"]
                    .joined(separator: " "))
        }
        if applications.isEmpty { say(L("No applications.", "没有申请。")) }
    }
}

struct FundShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: L("One application with every step taken (组织部's view, the reason included).", "查看一份申请及其每一步（含申请事由）。"))
    @OptionGroup var options: ConfigOption
    @Argument(help: "The application's number.") var id: Int64

    func run() async throws {
        let c = try await FundContext.open(options, by: nil)
        let store = try c.ws.store()
        guard let a = try await store.fundApplications().first(where: { $0.id == id }) else {
            throw UsageError(message: FundProblem.noSuchApplication(id).message())
        }
        say(
            L(
                "Application #\(a.id) for \(a.member): \(a.category), \(Amount.yuan(a.amountAskedFen)) yuan asked",
                "申请 \(a.id)：\(a.member)，\(a.category)，申请 \(Amount.yuan(a.amountAskedFen)) 元"))
        say(
            L(
                "  applied \(a.appliedOn) by \(a.appliedBy); 公示 consent: \(a.consent ? "yes" : "no")",
                "  \(a.appliedOn) 由 \(a.appliedBy) 提出；同意公示：\(a.consent ? "是" : "否")"))
        say(L("  reason: \(a.reason)", "  事由：\(a.reason)"))
        if !a.attachments.isEmpty { say(L("  attachments: ", "  附件：") + a.attachments.joined(separator: "; ")) }
        if !a.family.isEmpty { say(L("  family (recused): ", "  亲属（回避）：") + a.family.joined(separator: ", ")) }
        if let g = a.granted {
            say(L("  granted: \(Amount.yuan(g.amountFen)) yuan from \(g.source.rawValue)", "  决定资助：\(g.source.rawValue) \(Amount.yuan(g.amountFen)) 元"))
        }
        let due = c.ws.config.fund.deadlines.due(a.stage, entered: a.stageSince, calendar: c.ws.workCalendar)
        say(L("  now: \(a.stage.words) since \(a.stageSince)", "  现为：\(a.stage.words)（自 \(a.stageSince)）") + (due.map { L(", due \($0)", "，期限 \($0)") } ?? ""))
        for r in try await store.fundSteps(of: id) {
            let d = FundColumns.details(r.step.action)
            var line = "  \(r.seq). \(r.step.on) \(r.step.action.name) \(r.step.person)（\(r.step.role.words)）→ \(r.step.to.words)"
            if let w = d.words, !w.isEmpty { line += "：\(w)" }
            if let m = d.meeting {
                line += L(
                    " meeting \(m), attended by \(d.attendees.map { FundColumns.list($0).joined(separator: ", ") } ?? "")",
                    " 会议 \(m)，参会 \(d.attendees.map { FundColumns.list($0).joined(separator: "、") } ?? "")")
            }
            if let f = d.amountFen, let s = d.source { line += " \(s) \(Amount.yuan(f)) 元" }
            if let via = r.via { line += " (\(via))" }
            say(line)
        }
    }
}
