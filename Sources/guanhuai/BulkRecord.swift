import ArgumentParser
import Foundation
import GuanhuaiCalendar
import GuanhuaiCore
import GuanhuaiStore
import GuanhuaiSystem
import GuanhuaiWorkspace

/// `done`/`waive` for a whole unit's items of one rule and period at once: a committee closing its 台账 history,
/// or a branch that held every annual talk in one meeting. Lists first, asks (unless --yes), audited as one action.
struct BulkOptions: ParsableArguments {
    @Option(help: "Bulk: every item of this rule (with --period; instead of an occurrence id).") var rule: String?
    @Option(help: "Bulk: only this unit and the units below it (default: every unit).") var unit: String?
    @Option(help: "Bulk: the period, as the ids show it: a year (2026), a month (2026-12), a half-year (2026-H1).")
    var period: String?
    @Flag(help: "Bulk: do it without asking.") var yes = false

    var isBulk: Bool { rule != nil || unit != nil || period != nil }

    /// The items the selection closes: the rule's open and history items of the period in the unit's subtree.
    func select(_ input: PlanInput, now: Int64) throws -> [Occurrence] {
        guard let rule else {
            throw UsageError(
                message: L(
                    "give an occurrence id, or --rule with --period for a bulk record",
                    "请给出事项编号；批量登记请用 --rule 加 --period"))
        }
        guard input.rules.contains(where: { $0.id == rule }) else {
            throw UsageError(
                message: L(
                    "--rule \"\(rule)\" is not a rule; rules: \(input.rules.map(\.id).joined(separator: ", "))",
                    "--rule「\(rule)」不是规则；规则有：\(input.rules.map(\.id).joined(separator: "、"))"))
        }
        guard let period, let year = Int(period.prefix(4)), period.count >= 4, (1900...2200).contains(year) else {
            throw UsageError(
                message: L(
                    "--period is needed with --rule: a year (2026), a month (2026-12) or a half-year (2026-H1), as the ids show it",
                    "--rule 需要配合 --period：年度（2026）、月份（2026-12）或半年（2026-H1），与事项编号中的写法相同"))
        }
        let within = try unitFilter(unit, input.organization)
        let occ = Planner(input).plan(
            PlanQuery(
                from: CivilDate(year - 1, 1, 1)!, to: CivilDate(year + 1, 12, 31)!, now: now,
                rules: [rule]))
        return occ.filter { o in
            o.status.isRecordable && OccurrenceID(o.id)?.period == period && within(o)
        }
    }

    /// Shows the list and asks; true to go ahead.
    func confirm(_ items: [Occurrence], verb: String, names: Names) throws -> Bool {
        guard !items.isEmpty else {
            throw UsageError(
                message: L(
                    "nothing to record: no open or past item of --rule \(rule ?? "") for --period \(period ?? "")\(unit.map { " under --unit \($0)" } ?? "")",
                    "没有可登记的事项：--rule \(rule ?? "") 在 --period \(period ?? "")\(unit.map { "、--unit \($0) 下" } ?? "") 没有未办或历史事项"))
        }
        var rows = [["到期", "事项", "对象", "责任人", "状态", "编号"]]
        for o in items {
            rows.append([o.due.description, o.title, names.subject(o), names.person(o.responsible), o.status.chinese, o.id])
        }
        say(table(rows))
        if yes { return true }
        guard isatty(STDIN_FILENO) == 1 else {
            throw UsageError(
                message: L(
                    "\(items.count) items would be recorded as \(verb); to go ahead without a terminal, add --yes",
                    "将有 \(items.count) 项登记为\(verb)；不在终端上运行时，请加 --yes 确认"))
        }
        FileHandle.standardOutput.write(Data(L("Record these \(items.count) items as \(verb)? [y/N] ", "将这 \(items.count) 项登记为\(verb)？[y/N] ").utf8))
        let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        return answer == "y" || answer == "yes" || answer == "是"
    }

    var auditTarget: String { "\(rule ?? "")/\(unit ?? "all")/\(period ?? "")" }
}

/// What `done` and `waive` record: the one occurrence an id names, or the ones the bulk options select (listed and
/// confirmed first), or nothing when the person said no.
enum Chosen {
    case one(Occurrence, id: String)
    case many([Occurrence])
    case declined
}

extension BulkOptions {
    /// Either an occurrence id or a selection, never both. `verb` is what the confirmation says will be done.
    func choose(_ occurrence: String?, verb: String, input: PlanInput, names: Names, around: CivilDate, now: Int64) throws
        -> Chosen
    {
        guard let occurrence else {
            let items = try select(input, now: now)
            guard try confirm(items, verb: verb, names: names) else {
                say(L("Nothing recorded.", "未登记任何事项。"))
                return .declined
            }
            return .many(items)
        }
        guard !isBulk else {
            throw UsageError(
                message: L(
                    "give an occurrence id or --rule/--unit/--period, not both",
                    "请给出事项编号或 --rule/--unit/--period，不能两者都给"))
        }
        return .one(try findOccurrence(occurrence, in: input, around: around, now: now), id: occurrence)
    }
}
