import ArgumentParser
import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiStore
import GuanhuaiSystem
import GuanhuaiWorkspace

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: L("Show the obligations that fall due, who answers for them, and when reminders go out.", "显示到期事项、责任人和提醒发送时间。"),
        discussion: """
            Without --from and --to the plan covers 1 January of the current year to a year from today.
            --format json prints JSON Lines, one occurrence per line, the same bytes for the same inputs.
            """
    )

    @OptionGroup var options: ConfigOption

    @Option(help: "First day of the plan (YYYY-MM-DD).")
    var from: String?

    @Option(help: "Last day of the plan (YYYY-MM-DD).")
    var to: String?

    @Option(help: "The present, for overdue status (YYYY-MM-DD or YYYY-MM-DDTHH:MM[+08:00]). Default: now.")
    var now: String?

    @Option(name: .customLong("rule"), help: "Only this rule (repeatable).")
    var rules: [String] = []

    @Option(help: "Only what this person (an id or a unique name) is responsible for or reminded of.")
    var person: String?
    @Option(help: "Only the obligations of this unit and the units below it.") var unit: String?

    @Option(help: "table (for people) or json (JSON Lines).")
    var format: Format = .table

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    func run() async throws {
        let (workspace, nowInstant) = try await options.workspace(create: false, now: now)
        let config = workspace.config
        var person: PersonID?
        if let given = self.person { person = try await resolvePerson(given, in: workspace, option: "--person") }
        let within = try unitFilter(unit, workspace.organization)
        let input = try await (person != nil ? workspace.planInput(forPerson: person!) : workspace.planInput())
        let planner = Planner(input)
        let today = planner.today(at: nowInstant)
        let fromDate = try from.map { try ArgumentDates.date($0, option: "--from") } ?? CivilDate(today.year, 1, 1)!
        let toDate = try to.map { try ArgumentDates.date($0, option: "--to") } ?? today.adding(days: 365)
        guard fromDate <= toDate else { throw UsageError(message: "--from \(fromDate) is after --to \(toDate)") }
        let known = Set(config.rules.map(\.id))
        for r in rules where !known.contains(r) {
            throw UsageError(message: "--rule \"\(r)\" is not a rule; known rules: \(known.sorted().joined(separator: ", "))")
        }
        let query = PlanQuery(from: fromDate, to: toDate, now: nowInstant, rules: Set(rules), person: person)
        let out = BufferedOutput()
        switch format {
        case .json:
            // Streamed: each occurrence written as the planner hands it out, with its reminders.
            planner.forEach(query) { o in
                if within(o) { out.writeJSONLine(o) }
            }
        case .table:
            // The column widths need every row first; each row keeps its cells, not the occurrence.
            var table = PlanTable(names: Names(input))
            planner.forEach(query) { o in
                if within(o) { table.add(o, next: o.reminders.first { $0.at >= nowInstant }) }
            }
            table.write(to: out)
        }
        out.flush()
    }
}

/// The table for people: grouped by due date, Chinese titles, aligned columns. Built as the planner hands the plan
/// out: per row only its due date, status and five cells (each with its width, measured once); the column widths need
/// every row before the first line is written.
struct PlanTable {
    let names: Names
    static let header = ["事项", "对象", "责任人", "状态", "下次提醒"]
    private var due: [CivilDate] = []
    private var open = 0
    /// Five cells a row, flat: one array rather than one per row.
    private var cells: [String] = []
    private var cellWidths: [Int32] = []
    private var widths = PlanTable.header.map(displayWidth)

    init(names: Names) { self.names = names }

    /// A row for `o`, whose next reminder (at or after now) is `next`.
    mutating func add(_ o: Occurrence, next: Reminder?) {
        due.append(o.due)
        if o.status.isOpen { open += 1 }
        cell(o.title, 0)
        cell(names.subject(o), 1)
        cell(names.person(o.responsible), 2)
        cell(o.waivedReason.map { o.status.chinese + "：\($0)" } ?? o.status.chinese, 3)
        cell(next.map(PlanTable.sendTime) ?? "—", 4)
    }

    private mutating func cell(_ c: String, _ i: Int) {
        let w = displayWidth(c)
        widths[i] = max(widths[i], w)
        cells.append(c)
        cellWidths.append(Int32(w))
    }

    /// `2027-02-05 08:30`: the reminder's local day and time.
    static func sendTime(_ r: Reminder) -> String {
        let (_, second) = Timestamp.split(r.at + Int64(r.offsetSeconds))
        let (h, m) = (second / 3600, second / 60 % 60)
        return "\(r.localDate) \(h < 10 ? "0" : "")\(h):\(m < 10 ? "0" : "")\(m)"
    }

    func write(to out: BufferedOutput) {
        if due.isEmpty {
            out.write("（无待办事项）No obligations in this period.\n")
            return
        }
        func line(_ cell: (Int) -> (String, Int)) {
            out.write("  ")
            for i in 0..<5 {
                let (c, w) = cell(i)
                out.write(c)
                out.spaces(widths[i] - w + (i < 4 ? 2 : 0))
            }
            out.write("\n")
        }
        let header = PlanTable.header
        var current: CivilDate?
        for (k, d) in due.enumerated() {
            if d != current {
                if current != nil { out.write("\n") }
                out.write("到期 \(d)（\(d.chineseWeekday)）\n")
                line { (header[$0], displayWidth(header[$0])) }
                current = d
            }
            line { (cells[k * 5 + $0], Int(cellWidths[k * 5 + $0])) }
        }
        out.write("\n共 \(due.count) 项，其中未完成 \(open) 项。\n")
    }
}

/// Names for people to read, from ids.
struct Names {
    let input: PlanInput
    /// Members' names by id: the names alone, not a copy of every member.
    let memberNames: [PersonID: String]

    init(_ input: PlanInput) {
        self.input = input
        var names: [PersonID: String] = [:]
        names.reserveCapacity(input.members.count)
        for m in input.members where names[m.id] == nil { names[m.id] = m.name }
        memberNames = names
    }

    func person(_ id: PersonID) -> String { input.organization.people[id]?.name ?? memberNames[id] ?? id }

    func subject(_ o: Occurrence) -> String {
        guard let s = o.subject else { return input.organization.unit(o.org)?.name ?? o.org }
        if let name = memberNames[s] { return "\(name)（\(s)）" }
        if let d = input.dependants.first(where: { $0.id == s }) { return "\(d.name)（\(d.id)）" }
        return person(s)
    }
}
