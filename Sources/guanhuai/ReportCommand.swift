public import ArgumentParser
import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiReport
import GuanhuaiSystem
import GuanhuaiWorkspace

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: L("What was due in a period and what became of it, per unit (rolled up the tree), rule or person.", "统计一段时间内应办事项及办理情况，按单位（逐级汇总）、规则或人员。"),
        discussion: """
            Every figure comes from the same plan and completions as `guanhuai plan`. Coverage is done ÷ (due − waived);
            the median days late counts late completions only; 慰问金 is summed exactly.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, csv, xlsx, html, json
    }

    @OptionGroup var options: ConfigOption
    @Option(help: "A calendar year (default: this year).") var year: Int?
    @Option(help: "First day of the period (YYYY-MM-DD), with --to.") var from: String?
    @Option(help: "Last day of the period (YYYY-MM-DD), with --from.") var to: String?
    @Option(help: "Only this unit and the units below it (default: the whole committee).") var unit: String?
    @Option(name: .customLong("rule"), help: "Only this rule (repeatable).") var rules: [String] = []
    @Option(help: "Rows per unit, rule or person (the responsible people under --unit).") var by: Report.Grouping = .unit
    @Option(help: "table, csv (UTF-8 with BOM), xlsx (one sheet per grouping), html (A4, with a chart) or json (JSON Lines).")
    var format: Format = .table
    @Option(help: "Write to this file instead of standard output (xlsx needs one).") var output: String?
    @Option(help: "The present, for what is overdue (YYYY-MM-DD or YYYY-MM-DDTHH:MM). Default: now.") var now: String?

    func run() async throws {
        let (ws, nowInstant) = try await options.workspace(create: false, now: now)
        let zone = ws.config.zone
        let today = Planner.today(at: nowInstant, zone: zone)
        let (start, end) = try period(today: today)
        let input = try await ws.planInput()
        let org = input.organization
        let scope = unit ?? org.committee.id
        guard org.units[scope] != nil else {
            let known = org.units.values.sorted { $0.id < $1.id }.prefix(12).map { "\($0.id)（\($0.name)）" }
            throw UsageError(message: "--unit \"\(scope)\" is not a unit of the organisation; units: \(known.joined(separator: ", "))…")
        }
        for r in rules where !input.rules.contains(where: { $0.id == r }) {
            throw UsageError(message: "--rule \"\(r)\" is not a rule; rules: \(input.rules.map(\.id).joined(separator: ", "))")
        }
        if format == .xlsx && output == nil {
            throw UsageError(message: "--format xlsx writes a workbook: give --output FILE.xlsx")
        }
        let occ = Planner(input).plan(.outcomes(from: start, to: end, now: nowInstant, rules: Set(rules)))
        let names = Names(input)
        func report(_ g: Report.Grouping) -> Report {
            Report(
                occurrences: occ, organization: org, rules: input.rules, from: start, to: end, scope: scope, grouping: g,
                personName: { names.person($0) })
        }
        let r = report(by)
        // The 专项资金, for the whole committee only (its grants are 组织部's).
        let fund = scope == org.committee.id ? try await ws.fundReport(from: start, to: end, today: today, condolenceFen: r.total.amountFen) : nil
        let scopeName = scope == org.committee.id ? "全部单位" : (org.units[scope]?.name ?? scope)
        let data: Data
        switch format {
        case .table:
            var rows = [ReportOutput.header(by)] + r.rows.map { ReportOutput.cells($0, indent: true) }
            if by != .unit { rows.append(ReportOutput.cells(ReportOutput.totalRow(r), indent: false)) }
            var text = table(rows) + "\n\(scopeName) · \(start) 至 \(end) · 覆盖率 = 已办结 ÷（应办 − 不适用）\n"
            for t in fund?.tables ?? [] {
                text += "\n关怀帮扶专项资金 · \(t.title)\n" + table([t.header] + t.rows.map { $0.map(\.display) })
            }
            data = Data(text.utf8)
        case .csv: data = try ReportOutput.csv(r)
        case .json: data = Data(ReportOutput.jsonLines(r).utf8)
        case .html:
            data = Data(
                ReportOutput.html(
                    r, organization: org.committee.name, scope: scopeName,
                    generated: zone.minute(atUTC: nowInstant), fund: fund?.tables ?? []
                ).utf8)
        case .xlsx:
            // One sheet per grouping, the one asked for first.
            let order = [by] + Report.Grouping.allCases.filter { $0 != by }
            data = try ReportOutput.xlsx(order.map(report), title: "党内关怀帮扶工作情况统计", fund: fund?.tables ?? [])
        }
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw UsageError(message: "cannot write \(output): check that its folder exists and is writable")
            }
            FileHandle.standardError.write(Data("report written to \(output) (\(r.rows.count) rows)\n".utf8))
        } else {
            FileHandle.standardOutput.write(data)
        }
    }

    func period(today: CivilDate) throws -> (CivilDate, CivilDate) {
        if let year {
            guard from == nil, to == nil else { throw UsageError(message: "give --year, or --from and --to, not both") }
            guard let a = CivilDate(year, 1, 1), let b = CivilDate(year, 12, 31), a.isSupported else {
                throw UsageError(message: "--year \(year) is out of range")
            }
            return (a, b)
        }
        switch (from, to) {
        case (nil, nil): return (CivilDate(today.year, 1, 1)!, CivilDate(today.year, 12, 31)!)
        case (let f?, let t?):
            let a = try ArgumentDates.date(f, option: "--from")
            let b = try ArgumentDates.date(t, option: "--to")
            guard a <= b else { throw UsageError(message: "--from \(a) is after --to \(b)") }
            guard a.days(until: b) <= 3660 else { throw UsageError(message: "a report covers at most ten years") }
            return (a, b)
        default: throw UsageError(message: "give both --from and --to")
        }
    }
}

extension Report.Grouping: ExpressibleByArgument {}
