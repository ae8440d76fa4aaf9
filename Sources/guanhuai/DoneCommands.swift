import ArgumentParser
import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiStore
import GuanhuaiSystem
import GuanhuaiWorkspace

// MARK: done, waive

/// Finds an occurrence by id, planning only its rule around the given date.
func findOccurrence(_ id: String, in input: PlanInput, around date: CivilDate, now: Int64) throws -> Occurrence {
    guard let parsed = OccurrenceID(id) else {
        throw UsageError(
            message: L(
                "\"\(id)\" is not an occurrence id (rule:period:key, e.g. political-birthday:2027:M002); `guanhuai agenda` lists the open ones with their ids",
                "「\(id)」不是事项编号（规则:期间:对象，如 political-birthday:2027:M002）；`guanhuai agenda` 列出未办事项及其编号"))
    }
    guard input.rules.contains(where: { $0.id == parsed.rule }) else {
        throw UsageError(
            message: L(
                "unknown occurrence \"\(id)\": no rule \"\(parsed.rule)\"; `guanhuai agenda` lists the open ones with their ids",
                "没有事项「\(id)」：没有规则「\(parsed.rule)」；`guanhuai agenda` 列出未办事项及其编号"))
    }
    guard let found = Planner(input).occurrence(parsed, around: date, now: now) else {
        throw UsageError(
            message: L(
                "unknown occurrence \"\(id)\"; `guanhuai agenda` lists the open ones with their ids",
                "没有事项「\(id)」；`guanhuai agenda` 列出未办事项及其编号"))
    }
    return found
}

/// Runs one of the workspace's recordings (`Workspace.recordDone` and the rest, which decide), and says a refusal
/// as the command line does: the option it is about, the item's id, and exit 2.
@discardableResult
func recording<T>(option: String, names: Names, id o: Occurrence? = nil, _ body: () async throws(RecordingProblem) -> T)
    async throws -> T
{
    do {
        return try await body()
    } catch {
        let about = o.map { "\($0.id): " } ?? ""
        switch error {
        case .date, .eventDate:
            throw UsageError(message: option + " " + error.message(name: names.person))
        case .closed:
            throw UsageError(message: about + error.message(name: names.person) + (o?.waivedReason.map { "（\($0)）" } ?? ""))
        case .fundStage:
            throw UsageError(message: about + error.message(name: names.person))
        case .notAllowed:
            throw UsageError(message: "--by: " + about + error.message(name: names.person))
        case .store(let e):
            throw e
        }
    }
}

struct DoneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "done", abstract: L("Record that an obligation was carried out; its reminders stop.", "登记事项已办结，不再提醒。"),
        discussion: """
            One item by its id, or a unit's items of one rule and period at once:
              guanhuai done --rule branch-annual-talk --unit wen-t --period 2026 --date 2026-11-30 --by 周海燕
            lists them, asks, and records them in one transaction (--yes: without asking).
            """)

    @OptionGroup var options: ConfigOption
    @Argument(help: "The occurrence id, as `guanhuai agenda` shows it (or --rule … for several).") var occurrence: String?
    @OptionGroup var bulk: BulkOptions
    @Option(help: "When it was done (default: today).") var date: String?
    @Option(help: "Who did it (a person id or a unique name).") var by: String?
    @Option(help: "A note (kept in the database; never in chat messages or logs).") var note: String?
    @Option(help: "慰问金 handed over, in yuan (e.g. 500 or 500.50); kept exactly, and summed by `guanhuai report`.")
    var amount: String?

    func run() async throws {
        let fen = try amount.map { a throws -> Int in
            guard let f = Amount.fen(a) else {
                throw UsageError(
                    message: L(
                        "--amount \"\(a)\" is not an amount in yuan; write e.g. 500 or 500.50",
                        "--amount「\(a)」不是以元计的金额；请写如 500 或 500.50"))
            }
            return f
        }
        let ws = try await options.workspace(create: true)
        let actor = currentActor()
        let input = try await ws.planInput()
        let today = Planner.today(at: actor.now, zone: input.settings.zone)
        let d = try date.map { try ArgumentDates.date($0, option: "--date") } ?? today
        if let problem = CompletionDateProblem.check(d, today: today, windowStart: nil) {
            throw UsageError(message: "--date " + problem.message(d, chinese: Lang.chinese))
        }
        var by: PersonID?
        if let given = self.by { by = try await resolvePerson(given, in: ws, option: "--by") }
        let names = Names(input)
        switch try bulk.choose(occurrence, verb: L("done on \(d)", "于 \(d) 办结"), input: input, names: names, around: d, now: actor.now) {
        case .declined: return
        case .many(let items):
            let n = try await recording(option: "--date", names: names) { () async throws(RecordingProblem) in
                try await ws.recordAll(
                    items, .done, date: d, by: by, note: note, amountFen: fen, today: today, actor: actor,
                    target: bulk.auditTarget)
            }
            say(L("Recorded \(n) items as done on \(d). Their reminders stop.", "已登记 \(n) 项于 \(d) 办结，不再提醒。"))
        case .one(let o, let id):
            try await recording(option: "--date", names: names, id: o) { () async throws(RecordingProblem) in
                _ = try await ws.recordDone(o, date: d, by: by, note: note, amountFen: fen, today: today, actor: actor)
            }
            let amount = fen.map { Report.Figures.yuan($0) }
            say(
                L(
                    "Recorded: \(o.title) — \(id) done on \(d)" + (amount.map { ", 慰问金 \($0) 元" } ?? "") + ". Its reminders stop.",
                    "已登记：\(o.title) — \(id) 于 \(d) 办结" + (amount.map { "，慰问金 \($0) 元" } ?? "") + "，不再提醒。"))
        }
    }
}

struct WaiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waive", abstract: L("Record that an obligation does not apply this time, and why.", "登记事项本次不适用（免办）及原因。"))

    @OptionGroup var options: ConfigOption
    @Argument(help: "The occurrence id, as `guanhuai agenda` shows it (or --rule … for several).") var occurrence: String?
    @OptionGroup var bulk: BulkOptions
    @Option(help: "Why it does not apply.") var reason: String

    func run() async throws {
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw UsageError(
                message: L(
                    "--reason must say why",
                    "--reason 须写明原因"))
        }
        let ws = try await options.workspace(create: true)
        let actor = currentActor()
        let input = try await ws.planInput()
        let today = Planner.today(at: actor.now, zone: input.settings.zone)
        let names = Names(input)
        switch try bulk.choose(occurrence, verb: L("waived (\(reason))", "免办（\(reason)）"), input: input, names: names, around: today, now: actor.now) {
        case .declined: return
        case .many(let items):
            let n = try await recording(option: "--reason", names: names) { () async throws(RecordingProblem) in
                try await ws.recordAll(
                    items, .waived(reason: reason), date: today, by: nil, today: today, actor: actor, target: bulk.auditTarget)
            }
            say(L("Recorded \(n) items as waived. Their reminders stop.", "已登记 \(n) 项免办，不再提醒。"))
        case .one(let o, let id):
            try await recording(option: "--reason", names: names, id: o) { () async throws(RecordingProblem) in
                _ = try await ws.recordWaiver(o, reason: reason, by: nil, today: today, actor: actor)
            }
            say(L("Recorded: \(o.title) — \(id) waived. Its reminders stop.", "已登记：\(o.title) — \(id) 免办，不再提醒。"))
        }
    }
}
