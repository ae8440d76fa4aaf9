import ArgumentParser
import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiStore
import GuanhuaiSystem
import GuanhuaiWorkspace

func say(_ s: String) { FileHandle.standardOutput.write(Data((s + "\n").utf8)) }

// MARK: import

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: L(
            "Import the roster, the organisation, the relations or completions into the database (one transaction each).", "将名册、组织、关系或办理记录导入数据库（每次一个事务）。"),
        subcommands: [ImportRoster.self, ImportOrgs.self, ImportRelations.self, ImportCompletions.self]
    )
}

/// What every `import` takes: the configuration, the file (default: the one config.toml names) and --dry-run.
struct ImportOptions: ParsableArguments {
    @OptionGroup var options: ConfigOption
    @Argument(help: "The file to import (default: the one config.toml names).") var file: String?
    @Flag(help: "Report what would change; write nothing.") var dryRun = false

    /// The workspace to import into (a dry run creates no database).
    func workspace(organizationOnly: Bool = false) async throws -> Workspace {
        try await options.workspace(create: !dryRun, organizationOnly: organizationOnly)
    }

    /// The store the import writes: SQLite or PostgreSQL, as the configuration says (for a dry run before the
    /// SQLite file exists, an empty one in memory).
    func store(_ ws: Workspace) throws -> any CommitteeStore {
        try ws.database ?? AppDatabase()
    }

    /// The end of every import: what changed, and for a dry run that nothing was written.
    func finish(_ path: String, _ report: ImportReport, notes: [String] = []) {
        say(
            L(
                "\(path): \(report.added.count) added, \(report.changed.count) changed, \(report.unchanged) unchanged, \(report.removed.count) removed.",
                "\(path)：新增 \(report.added.count)，变更 \(report.changed.count)，未变 \(report.unchanged)，删除 \(report.removed.count)。"))
        if !report.removed.isEmpty { say(L("Removed: ", "已删除：") + report.removed.joined(separator: ", ")) }
        notes.forEach(say)
        if dryRun { say(L("Dry run: nothing was written.", "试运行：没有写入任何内容。")) }
    }
}

struct ImportRoster: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roster",
        abstract: L(
            "Import a roster CSV. A file with any bad row imports nothing; a member missing from it is listed, never deleted.",
            "导入名册 CSV。有任何一行出错则整个文件不导入；文件中缺少的党员会列出，但不会删除。"),
        discussion: "UTF-8 (with or without BOM) or GB18030. Importing the same file twice changes nothing."
    )

    @OptionGroup var args: ImportOptions
    @Flag(help: "Mark members missing from the file as 转出 today.") var prune = false

    func run() async throws {
        let ws = try await args.workspace(organizationOnly: true)
        let path = args.file ?? ws.config.files.roster
        let org = ws.organization
        let actor = currentActor()
        let today = Planner.today(at: actor.now, zone: ws.config.zone)
        let members = try RosterFile.load(path: path, organization: org, today: today, maxMembers: ws.config.files.maxMembers)
        let db = try args.store(ws)
        let first = try await db.rosterFirstImported() == nil
        let report = try await db.importRoster(members, dryRun: args.dryRun, prune: prune, today: today, actor: actor)
        say(
            L(
                "\(path): \(members.count) members — \(report.added.count) added, \(report.changed.count) changed, \(report.unchanged) unchanged.",
                "\(path)：党员 \(members.count) 名——新增 \(report.added.count)，变更 \(report.changed.count)，未变 \(report.unchanged)。"))
        if !report.missing.isEmpty {
            let names = try await db.members(inBranches: [], orIDs: Set(report.missing)).map { "\($0.id) \($0.name)" }
            if prune {
                say("Marked 转出 \(today) (not in this roster): \(names.joined(separator: ", "))")
            } else {
                say("On the database but not in this roster (kept; --prune marks them 转出 \(today)): \(names.joined(separator: ", "))")
            }
        }
        if args.dryRun {
            say(L("Dry run: nothing was written.", "试运行：没有写入任何内容。"))
        } else if first, ws.config.since == nil {
            // Said once: the first import is when a committee starts, and what came before it is history.
            say(
                L(
                    "Reminders start today (\(today)): obligations due before it are history — never overdue, never reminded. "
                        + "To start on another day, set [guanhuai] since = \"YYYY-MM-DD\" in \(ws.config.path).",
                    "提醒自今天（\(today)）起：此前到期的事项为「历史」，不算逾期，也不提醒。"
                        + "要从别的日期开始，在 \(ws.config.path) 的 [guanhuai] 中写 since = \"YYYY-MM-DD\"。"))
        }
    }
}

struct ImportOrgs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orgs", abstract: L("Import the organisation file (committee, units, people).", "导入组织文件（党委、单位、人员）。"))

    @OptionGroup var args: ImportOptions

    func run() async throws {
        let ws = try await args.workspace(organizationOnly: true)
        let path = args.file ?? ws.config.files.organization
        let org = try OrganizationFile.load(path: path)
        let db = try args.store(ws)
        let report = try await db.importOrganization(org, dryRun: args.dryRun, actor: currentActor())
        var known = Set(org.people.keys).union(try await db.snapshot(includingOrganization: false).members.map(\.id))
            .union(ws.config.members.map(\.id))
        if try await !db.holdings().roster {
            // The README's order imports the organisation first: people on the roster file about to be imported
            // are not "missing". A roster file that does not load yet is reported when it is imported.
            let today = Planner.today(at: currentActor().now, zone: ws.config.zone)
            if let roster = try? RosterFile.load(
                path: ws.config.files.roster, organization: org, today: today,
                maxMembers: ws.config.files.maxMembers)
            {
                known.formUnion(roster.map(\.id))
            }
        }
        args.finish(
            path, report,
            notes: Configuration.unknownPeople(org, known: known).map { unit, p in
                let who = unit.map { org.units[$0]?.name ?? $0 } ?? "[committee] organization_department"
                return "Note: \(who) names \(p), who is neither a [[person]] nor on the roster yet."
            })
    }
}

struct ImportCompletions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "completions",
        abstract: L("Import what was done from a spreadsheet (台账): 编号/姓名, 事项, 年度/期间, 日期[, 办理人, 备注, 金额].", "从台账导入已办记录：编号/姓名、事项、年度/期间、日期[、办理人、备注、金额]。"),
        discussion: """
            UTF-8 (with or without BOM) or GB18030. 事项 is a rule id or its title; 年度 or 期间 the obligation's period
            as its id shows it. A file with any bad row imports nothing and lists every bad row. What is on record
            already is left as it is, so importing the same file twice changes nothing.
            """)

    @OptionGroup var options: ConfigOption
    @Argument(help: "The CSV file.") var file: String
    @Flag(help: "Check the file and report what would be recorded; write nothing.") var dryRun = false

    func run() async throws {
        let ws = try await options.workspace(create: !dryRun)
        let actor = currentActor()
        let input = try await ws.planInput()
        let today = Planner.today(at: actor.now, zone: ws.config.zone)
        let completions = try CompletionsFile.load(path: file, input: input, today: today)
        if dryRun {
            let recorded = Set(input.completions.map(\.occurrence))
            let new = completions.filter { !recorded.contains($0.occurrence) }.count
            say(
                L(
                    "\(file): \(completions.count) rows — \(new) would be recorded, \(completions.count - new) on record already.",
                    "\(file)：\(completions.count) 行——将记录 \(new) 项，已有记录 \(completions.count - new) 项。"))
            say(L("Dry run: nothing was written.", "试运行：没有写入任何内容。"))
            return
        }
        let n = try await ws.store().recordAll(completions, actor: actor, action: .importCompletions, target: file)
        say(
            L(
                "\(file): \(completions.count) rows — \(n) recorded, \(completions.count - n) on record already.",
                "\(file)：\(completions.count) 行——已记录 \(n) 项，此前已有记录 \(completions.count - n) 项。"))
    }
}

struct ImportRelations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relations", abstract: L("Import the relations CSV (leader contacts, pairings, links, minor children).", "导入关系 CSV（领导联系、结对帮扶、委员挂联、未成年子女）。")
    )

    @OptionGroup var args: ImportOptions

    func run() async throws {
        let ws = try await args.workspace()
        guard let path = args.file ?? ws.config.files.relations else {
            throw UsageError(
                message: L(
                    "name the relations file, or set [files] relations in the configuration",
                    "请给出关系文件，或在配置中设置 [files] relations"))
        }
        let input = try await ws.planInput()
        let (relations, dependants) = try RelationsFile.load(
            path: path, organization: input.organization, members: input.members,
            today: Planner.today(at: ConfigOption.realNow, zone: ws.config.zone))
        let db = try args.store(ws)
        let report = try await db.importRelations(relations, dependants: dependants, dryRun: args.dryRun, actor: currentActor())
        args.finish(path, report)
    }
}

// MARK: events

struct EventCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "event", abstract: L("Record what happened to a member, or list it.", "登记党员发生的事件，或列出已登记的事件。"),
        subcommands: [EventAdd.self, EventList.self])
}

struct EventAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: L("Record an event: an illness, a bereavement, a discipline, a talk request, a death, …", "登记事件：生病、亲属去世、受处分、要求谈话、去世……"),
        discussion: "KIND is a Chinese name or a slug: \(EventKind.allCases.map { "\($0.chinese) (\($0.rawValue))" }.joined(separator: ", "))."
    )

    @OptionGroup var options: ConfigOption
    @Argument(help: "The member's id.") var member: String
    @Argument(help: "The kind of event.") var kind: String
    @Option(help: "When it happened (YYYY-MM-DD).") var date: String
    @Option(help: "The end date (a discipline's effect).") var ends: String?
    @Option(name: .customLong("with"), help: "The person asked (a talk request, 约谈).") var target: String?
    @Option(help: "A note (kept in the database and in e-mail to the responsible; never in chat messages or logs).")
    var note: String?

    func run() async throws {
        guard let k = EventKind(name: kind) else {
            throw UsageError(
                message: L(
                    "unknown event kind \"\(kind)\"; use one of \(EventKind.allCases.map(\.chinese).joined(separator: "、")) or their slugs (guanhuai event add --help)",
                    "不认识的事件类型「\(kind)」；请用 \(EventKind.allCases.map(\.chinese).joined(separator: "、")) 之一或其英文代号（guanhuai event add --help）"))
        }
        let d = try ArgumentDates.date(date, option: "--date")
        let e = try ends.map { try ArgumentDates.date($0, option: "--ends") }
        let ws = try await options.workspace(create: true)
        let actor = currentActor()
        let input = try await ws.planInput()
        let today = Planner.today(at: actor.now, zone: input.settings.zone)
        guard input.members.contains(where: { $0.id == member }) else {
            throw UsageError(
                message: L(
                    "unknown member \"\(member)\"; check the id (guanhuai import roster loads the roster)",
                    "没有党员「\(member)」；请检查编号（名册由 guanhuai import roster 导入）"))
        }
        guard let m = input.members.first(where: { $0.id == member }) else {
            throw UsageError(message: L("unknown member \"\(member)\"", "没有党员「\(member)」"))
        }
        let event = try await recording(option: "--date", names: Names(input)) { () async throws(RecordingProblem) in
            try await ws.recordEvent(
                member: m, kind: k, date: d, ends: e, target: target, note: note, input: input, today: today,
                actor: actor)
        }
        say("Recorded \(event.id): \(k.chinese) for \(member) on \(d). It takes effect in the next plan and within a minute in guanhuaid.")
    }
}

struct EventList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: L("List recorded events.", "列出已登记的事件。"))

    @OptionGroup var options: ConfigOption
    @Option(help: "Only this member's events.") var member: String?
    @Flag(help: "Show the notes as well (they may be sensitive).") var notes = false

    func run() async throws {
        let ws = try await options.workspace(create: false)
        let input = try await ws.planInput()
        let names = Names(input)
        let events = input.events.filter { member == nil || $0.member == member }.sorted { ($0.date, $0.id) < ($1.date, $1.id) }
        if events.isEmpty {
            say("（无事件）No events recorded.")
            return
        }
        var rows = [["编号", "日期", "党员", "类型", "结束日期", "对象"] + (notes ? ["备注"] : [])]
        for e in events {
            rows.append(
                [
                    e.id, e.date.description, "\(names.person(e.member))（\(e.member)）", e.kind.chinese,
                    e.ends?.description ?? "", e.target.map(names.person) ?? "",
                ] + (notes ? [e.note ?? ""] : []))
        }
        say(table(rows))
    }
}

/// `--unit U`: a test for "this unit or a unit below it"; everything without the option.
func unitFilter(_ unit: String?, _ org: Organization) throws -> (Occurrence) -> Bool {
    guard let unit else { return { _ in true } }
    guard org.units[unit] != nil else {
        let known = org.units.values.sorted { $0.id < $1.id }.prefix(12).map { "\($0.id)（\($0.name)）" }
        throw UsageError(
            message: L(
                "--unit \"\(unit)\" is not a unit of the organisation; units: \(known.joined(separator: ", "))",
                "--unit「\(unit)」不是本组织的单位；单位有：\(known.joined(separator: "、"))"))
    }
    var inside: [UnitID: Bool] = [:]
    for u in org.units.keys { inside[u] = org.lineage(of: u).contains { $0.id == unit } }
    return { inside[$0.org] ?? false }
}

func table(_ rows: [[String]]) -> String {
    var widths = [Int](repeating: 0, count: rows.map(\.count).max() ?? 0)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], displayWidth(c)) } }
    return rows.map { r in r.enumerated().map { pad($1, widths[$0]) }.joined(separator: "  ") }.joined(separator: "\n")
}

// MARK: agenda

struct AgendaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agenda",
        abstract: L("What is open: overdue first, then what falls due in the next days, soonest first.", "未办事项：先列逾期的，再按到期先后列出近几天到期的。"))

    @OptionGroup var options: ConfigOption
    @Option(help: "Only what this person (an id or a unique name) is responsible for or reminded of.") var person: String?
    @Option(help: "Only the obligations of this unit and the units below it.") var unit: String?
    @Option(help: "How many days ahead.") var days = 30
    @Option(help: "The present (YYYY-MM-DD or YYYY-MM-DDTHH:MM). Default: now.") var now: String?

    func run() async throws {
        guard (0...3660).contains(days) else {
            throw UsageError(
                message: L(
                    "--days must be 0 to 3660",
                    "--days 须在 0 到 3660 之间"))
        }
        let (ws, nowInstant) = try await options.workspace(create: false, now: now)
        var person: PersonID?
        if let given = self.person { person = try await resolvePerson(given, in: ws, option: "--person") }
        let within = try unitFilter(unit, ws.organization)
        let input = try await (person != nil ? ws.planInput(forPerson: person!) : ws.planInput())
        let planner = Planner(input)
        let today = planner.today(at: nowInstant)
        let horizon = today.adding(days: days)
        // What is open needs no reminders: who they would reach is decided without making them (a person's agenda),
        // and 组织部's agenda over a large committee was mostly the making of a year of reminders.
        // Nothing due before the start date is open (it is history): a new installation plans only since then.
        let yearAgo = today.adding(days: -366)
        let from = input.settings.since.map { max(yearAgo, $0) } ?? yearAgo
        var query = PlanQuery(from: min(from, horizon), to: horizon, now: nowInstant, person: person)
        query.withReminders = false
        let names = Names(input)
        // Within 100 columns: long titles and names clipped, each item's id (what `done` takes) on a line of its own.
        // Written as it goes, in large writes: 组织部's agenda can be hundreds of thousands of lines.
        let header = ["到期", "事项", "对象", "责任人", "状态"]
        // What is open, taken from the plan as it is handed out (the plan itself is never held): per item its due
        // date, status and id, and the three clipped columns flat in one array, each cell's width measured once.
        var open: [(due: CivilDate, status: Occurrence.Status, id: String)] = []
        var cells: [String] = []
        var cellWidths: [Int32] = []
        var widths = header.map(displayWidth)
        widths[0] = max(widths[0], 10)
        func add(_ c: String, _ w: Int, _ i: Int) {
            widths[i] = max(widths[i], w)
            cells.append(c)
            cellWidths.append(Int32(w))
        }
        // A few dozen titles over hundreds of thousands of rows, each clipped once; the last one first (rows of one
        // rule follow each other, and hashing a Chinese string normalises it).
        var titles: [String: (String, Int)] = [:]
        var lastTitle: (String, (String, Int))?
        planner.forEach(query) { o in
            guard o.status.isOpen, o.due <= horizon, o.windowStart <= horizon, within(o) else { return }
            open.append((o.due, o.status, o.id))
            let title: (String, Int)
            if let (t, c) = lastTitle, t == o.title {
                title = c
            } else if let c = titles[o.title] {
                title = c
            } else {
                title = clipMeasured(o.title, 24)
                titles[o.title] = title
            }
            lastTitle = (o.title, title)
            add(title.0, title.1, 1)
            let subject = clipMeasured(names.subject(o), 18)
            add(subject.0, subject.1, 2)
            let person = clipMeasured(names.person(o.responsible), 12)
            add(person.0, person.1, 3)
            widths[4] = max(widths[4], displayWidth(o.status.chinese))
        }
        if open.isEmpty {
            say("（无待办）Nothing open for the next \(days) days.")
            return
        }
        let out = BufferedOutput()
        func cell(_ s: String, _ w: Int, _ i: Int) {
            out.write(s)
            out.spaces(widths[i] - w + (i < 4 ? 2 : 0))
        }
        for (i, h) in header.enumerated() { cell(h, displayWidth(h), i) }
        out.write("\n")
        var overdue = 0
        // A 专项资金 stage is closed by taking its step (`guanhuai fund …`), not by `done`.
        let fundPrefix = ws.fundRule.map { $0 + ":" }
        for (k, o) in open.enumerated() {
            let due = o.due.description
            cell(due, due.utf8.count, 0)
            for i in 0..<3 { cell(cells[k * 3 + i], Int(cellWidths[k * 3 + i]), i + 1) }
            cell(o.status.chinese, displayWidth(o.status.chinese), 4)
            if let p = fundPrefix, o.id.hasPrefix(p) {
                out.write("\n            guanhuai fund show ")
                out.write(String(o.id.dropFirst(p.count).prefix { $0 != ":" }))
            } else {
                out.write("\n            guanhuai done ")
                out.write(o.id)
            }
            out.write("\n")
            if o.status == .overdue { overdue += 1 }
        }
        out.flush()
        say("\n\(overdue) 项逾期，共 \(open.count) 项。记录完成：运行该项下面的命令，可加 --date D --by 人员 --note 备注")
    }
}
