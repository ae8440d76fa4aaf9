import Foundation
public import GuanhuaiCalendar
public import GuanhuaiCore
import GuanhuaiSystem

/// Completions from a committee's spreadsheet (台账): 编号 and/or 姓名, 事项 (rule id or title), 年度 or 期间, 日期,
/// and optionally 办理人, 备注, 金额. UTF-8 or GB18030. Each row must name one obligation that exists (the planner
/// is asked); every bad row is reported with its row and column, and a file with any bad row imports nothing.
public enum CompletionsFile {
    public static let required = ["事项", "日期"]
    public static let optional = ["编号", "姓名", "年度", "期间", "办理人", "备注", "金额"]

    public static func load(path: String, input: PlanInput, today: CivilDate) throws(InputErrors) -> [Completion] {
        let table: CSVTable
        do {
            table = try CSVTable(path: path, required: required, optional: optional)
        } catch {
            throw InputErrors([error])
        }
        var errors: [InputError] = []
        var byName: [String: [PersonID]] = [:]
        var memberIDs = Set<PersonID>()
        for m in input.members {
            byName[m.name, default: []].append(m.id)
            memberIDs.insert(m.id)
        }
        var peopleByName: [String: [PersonID]] = byName
        for p in input.organization.people.values where !memberIDs.contains(p.id) { peopleByName[p.name, default: []].append(p.id) }
        let rulesByName = Dictionary(input.rules.flatMap { [($0.id, $0), ($0.title, $0)] }, uniquingKeysWith: { a, _ in a })
        struct Row {
            var number: Int
            var completion: Completion
            var rule: Rule
            var year: Int
            var subject: PersonID
            var period: String
        }
        var rows: [Row] = []
        for (number, cells) in table.rows {
            func fail(_ field: String, _ message: String) {
                errors.append(InputError(file: table.file, location: "row \(number)", field: field, message: message))
            }
            // Who: 编号 first; 姓名 must then agree, or alone be unique.
            let id = table.value(cells, "编号")
            let name = table.value(cells, "姓名")
            var subject: PersonID?
            if let id {
                if !memberIDs.contains(id) {
                    fail("编号", L("no member \"\(id)\" on the roster", "名册上没有编号为「\(id)」的党员"))
                    continue
                }
                if let name, !(byName[name] ?? []).contains(id) {
                    fail("姓名", L("\"\(name)\" is not the name of member \(id)", "「\(name)」不是 \(id) 的姓名"))
                    continue
                }
                subject = id
            } else if let name {
                let ids = byName[name] ?? []
                if ids.isEmpty {
                    fail("姓名", L("no member named \"\(name)\" on the roster", "名册上没有名叫「\(name)」的党员"))
                    continue
                }
                if ids.count > 1 {
                    fail(
                        "姓名",
                        L(
                            "\"\(name)\" names \(ids.count) members (\(ids.sorted().joined(separator: ", "))); add the 编号 column",
                            "名叫「\(name)」的党员有 \(ids.count) 名（\(ids.sorted().joined(separator: "、"))）；请加上「编号」列"))
                    continue
                }
                subject = ids[0]
            } else {
                fail("编号", L("give the member's 编号 or 姓名", "请填写党员的编号或姓名"))
                continue
            }
            guard let what = table.value(cells, "事项") else {
                fail("事项", L("name the obligation: a rule id or its title", "请写明事项：规则编号或名称"))
                continue
            }
            guard let rule = rulesByName[what] else {
                fail(
                    "事项",
                    L(
                        "unknown obligation \"\(what)\"; use a rule id or title from rules.toml (e.g. branch-annual-talk, 支部书记年度谈心谈话)",
                        "不认识的事项「\(what)」；请用 rules.toml 中的规则编号或名称（如 branch-annual-talk、支部书记年度谈心谈话）"))
                continue
            }
            guard let period = table.value(cells, "期间") ?? table.value(cells, "年度") else {
                fail("年度", L("give 年度 (2025) or 期间 (2025-12) as the obligation's period", "请填写年度（2025）或期间（2025-12）"))
                continue
            }
            guard period.count >= 4, let year = Int(period.prefix(4)), (1900...2200).contains(year) else {
                fail(
                    table.value(cells, "期间") != nil ? "期间" : "年度",
                    L(
                        "\"\(period)\" is not a period; write a year (2025), a month (2025-12) or a half-year (2025-H1)",
                        "「\(period)」不是期间；请写年度（2025）、月份（2025-12）或半年（2025-H1）"))
                continue
            }
            guard let dateText = table.value(cells, "日期"), let date = CivilDate(parsing: dateText) else {
                fail(
                    "日期",
                    L(
                        "\"\(table.value(cells, "日期") ?? "")\" is not a date; write YYYY-MM-DD, YYYY/M/D or YYYY年M月D日",
                        "「\(table.value(cells, "日期") ?? "")」不是日期；请写成 YYYY-MM-DD、YYYY/M/D 或 YYYY年M月D日"))
                continue
            }
            if let problem = date.pastDateProblem(today: today) {
                fail("日期", problem)
                continue
            }
            var by: PersonID?
            if let who = table.value(cells, "办理人") {
                if input.organization.people[who] != nil || memberIDs.contains(who) {
                    by = who
                } else {
                    let ids = peopleByName[who] ?? []
                    if ids.count != 1 {
                        fail(
                            "办理人",
                            ids.isEmpty
                                ? L("no member or person \"\(who)\"", "没有「\(who)」这个人")
                                : L(
                                    "\"\(who)\" names \(ids.count) people (\(ids.sorted().joined(separator: ", "))); give the id",
                                    "名叫「\(who)」的有 \(ids.count) 人（\(ids.sorted().joined(separator: "、"))）；请写编号"))
                        continue
                    }
                    by = ids[0]
                }
            }
            var fen: Int?
            if let amount = table.value(cells, "金额") {
                guard let f = Amount.fen(amount) else {
                    fail("金额", L("\"\(amount)\" is not an amount in yuan; write e.g. 500 or 500.50", "「\(amount)」不是以元计的金额；请写如 500 或 500.50"))
                    continue
                }
                fen = f
            }
            let occurrence = "\(rule.id):\(period):\(subject!)"
            rows.append(
                Row(
                    number: number,
                    completion: Completion(
                        occurrence: occurrence, date: date, by: by,
                        note: table.value(cells, "备注"), amountFen: fen), rule: rule, year: year, subject: subject!, period: period))
        }
        // Does each row name an obligation that exists? One plan over the rules and years the file names.
        if !rows.isEmpty {
            let years = rows.map(\.year)
            let occ = Planner(input).plan(
                PlanQuery(
                    from: CivilDate(years.min()! - 1, 1, 1)!, to: CivilDate(years.max()! + 1, 12, 31)!,
                    now: Int64(today.dayNumber) * 86400, rules: Set(rows.map(\.rule.id))))
            var byID: [String: Occurrence] = [:]
            for o in occ { byID[o.id] = o }
            var seen: [String: Int] = [:]
            for r in rows {
                func fail(_ field: String, _ message: String) {
                    errors.append(InputError(file: table.file, location: "row \(r.number)", field: field, message: message))
                }
                guard let o = byID[r.completion.occurrence] else {
                    fail(
                        "事项",
                        L(
                            "\(r.rule.title) has no obligation for \(r.subject) in \(r.period) (the plan has none: check 年度/期间 and that the rule applies to this member)",
                            "\(r.subject) 在 \(r.period) 没有「\(r.rule.title)」这一事项（请检查年度/期间，以及该规则是否适用于此人）"))
                    continue
                }
                if r.completion.date < o.windowStart {
                    fail(
                        "日期",
                        L(
                            "\(r.completion.date) is before the obligation's window opens (\(o.windowStart))",
                            "\(r.completion.date) 早于该事项的开始日期（\(o.windowStart)）"))
                }
                if let first = seen[o.id] {
                    fail("事项", L("the same obligation as row \(first) (\(o.id))", "与第 \(first) 行是同一事项（\(o.id)）"))
                }
                seen[o.id] = r.number
            }
        }
        if !errors.isEmpty {
            func row(_ e: InputError) -> Int { Int(e.location?.split(separator: " ").last ?? "") ?? 0 }
            throw InputErrors(errors.enumerated().sorted { (row($0.element), $0.offset) < (row($1.element), $1.offset) }.map(\.element))
        }
        return rows.map(\.completion)
    }
}
