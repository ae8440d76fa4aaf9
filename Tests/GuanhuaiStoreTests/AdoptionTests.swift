import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiStore
import GuanhuaiTestSupport
import Testing

/// A committee's first day: a start date (`[guanhuai] since`, else the first roster import) before which
/// obligations are history — never overdue, never reminded — and the README's first commands without noise.
@Suite struct AdoptionTests {
    func planLines(_ config: String, from: String, to: String, now: String? = nil) throws -> [[String: Any]] {
        let r = try runCLI(["plan", "--config", config, "--format", "json", "--from", from, "--to", to] + (now.map { ["--now", $0] } ?? []))
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    /// A second 吴振宇 (M099) on the example roster, to make that name ambiguous.
    func addSecondWuZhenyu(_ dir: borrowing Scratch) throws {
        let rosterPath = dir.url.appendingPathComponent("roster.csv")
        let roster = try String(contentsOf: rosterPath, encoding: .utf8)
        try Data((roster + "M099,吴振宇,男,1980-01-01,2005-07-01,2006-07-01,理学院教师党支部,,,,正常\n").utf8).write(to: rosterPath)
    }

    @Test func aFreshInstallStartsOnItsFirstRosterImportAndItsPastIsHistory() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        let today = Planner.today(at: Int64(Date().timeIntervalSince1970), zone: Example.config.zone)
        // The README's order, with nothing to worry about on the way.
        let orgs = try runCLI(["import", "orgs", "--config", config])
        #expect(orgs.status == 0 && !orgs.stdout.contains("Note:"), "\(orgs.stdout)")
        let roster = try runCLI(["import", "roster", "--config", config])
        #expect(roster.stdout.contains("Reminders start today (\(today))"), "\(roster.stdout)")
        let relations = try runCLI(["import", "relations", "--config", config])
        #expect(relations.status == 0 && !relations.stdout.contains("Note:"), "\(relations.stdout)")
        // Said once: a second import does not say it again.
        #expect(!(try runCLI(["import", "roster", "--config", config])).stdout.contains("Reminders start"))
        // The first agenda opens on what is ahead, not on years of history.
        let agenda = try runCLI(["agenda", "--config", config, "--person", "ZZB"])
        #expect(agenda.status == 0)
        #expect(agenda.stdout.contains("\n0 项逾期"), "\(agenda.stdout)")
        // It fits a 100-column terminal: each id on a line of its own, as the command that closes it.
        let everyone = try runCLI(["agenda", "--config", config, "--days", "366"])
        let width =
            everyone.stdout.split(separator: "\n").map { line in
                line.unicodeScalars.reduce(0) { $0 + (($1.value >= 0x2E80 && $1.value <= 0xA4CF) || ($1.value >= 0xFF00 && $1.value <= 0xFF60) ? 2 : 1) }
            }.max() ?? 0
        #expect(width <= 100 && width > 40, "\(everyone.stdout)")
        #expect(everyone.stdout.contains("guanhuai done branch-annual-talk:"))
        // Everything due before today is history, with no reminder; nothing after it is.
        let lines = try planLines(config, from: "2011-01-01", to: today.adding(days: 60).description)
        let before = lines.filter { ($0["due"] as! String) < today.description }
        let after = lines.filter { ($0["due"] as! String) >= today.description }
        #expect(before.count > 100 && !after.isEmpty)
        #expect(before.allSatisfy { ["history", "done", "waived"].contains($0["status"] as! String) })
        #expect(before.filter { $0["status"] as? String == "history" }.allSatisfy { ($0["reminders"] as! [Any]).isEmpty })
        #expect(!after.contains { $0["status"] as? String == "history" })
        // The table says 历史; check says from when and why.
        let table = try runCLI(["plan", "--config", config, "--from", "2016-01-01", "--to", "2016-12-31"])
        #expect(table.stdout.contains("历史"))
        let check = try runCLI(["check", "--config", config])
        #expect(check.stdout.contains("reminders start \(today) (the day the roster was first imported)"), "\(check.stdout)")
        // A history item can still be recorded from the 台账.
        let old = try #require(before.first { $0["status"] as? String == "history" && ($0["occurrence"] as! String).hasPrefix("branch-annual-talk:") })
        let id = old["occurrence"] as! String
        let done = try runCLI(["done", id, "--date", old["due"] as! String, "--config", config])
        #expect(done.status == 0, "\(done.stderr)")
        #expect(try planLines(config, from: "2011-01-01", to: today.description).first { $0["occurrence"] as? String == id }?["status"] as? String == "done")
    }

    @Test func sinceInTheConfigurationDecidesAndCheckSaysSo() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "[guanhuai]\n", with: "[guanhuai]\nsince = \"2026-01-01\"\n").utf8)
            .write(to: URL(fileURLWithPath: config))
        for what in ["orgs", "roster"] {
            let r = try runCLI(["import", what, "--config", config])
            #expect(r.status == 0 && !r.stdout.contains("Reminders start"), "\(r.stdout)")
        }
        let lines = try planLines(config, from: "2025-01-01", to: "2026-06-30", now: "2026-07-01")
        #expect(lines.filter { ($0["due"] as! String) < "2026-01-01" }.allSatisfy { $0["status"] as? String != "overdue" })
        #expect(lines.contains { ($0["due"] as! String) < "2026-01-01" && $0["status"] as? String == "history" })
        #expect(lines.contains { ($0["due"] as! String) >= "2026-01-01" && $0["status"] as? String == "overdue" })
        #expect(try runCLI(["check", "--config", config]).stdout.contains("reminders start 2026-01-01 ([guanhuai] since)"))
        // A date that is not one is refused where it is written.
        try Data(text.replacingOccurrences(of: "[guanhuai]\n", with: "[guanhuai]\nsince = \"2026-13-01\"\n").utf8)
            .write(to: URL(fileURLWithPath: config))
        let bad = try runCLI(["check", "--config", config])
        #expect(bad.status == 2)
        #expect(bad.stdout.contains("since") && bad.stdout.contains("is not a date"), "\(bad.stdout)\(bad.stderr)")
    }

    /// The planner alone: with `since`, what falls due before it is history without reminders; the rest is as without.
    @Test func thePlannerMarksHistoryAndRemindsNothingOfIt() {
        var input = Example.config.planInput()
        let query = PlanQuery(from: CivilDate(2025, 1, 1)!, to: CivilDate(2027, 12, 31)!, now: Example.noon("2027-03-01"))
        let without = Planner(input).plan(query)
        input.settings.since = CivilDate(2027, 1, 1)
        let with = Planner(input).plan(query)
        #expect(with.map(\.id) == without.map(\.id))
        for (a, b) in zip(without, with) {
            if a.due < CivilDate(2027, 1, 1)! && a.status.isOpen {
                #expect(b.status == .history && b.reminders.isEmpty, "\(a.id)")
            } else {
                #expect(a == b, "\(a.id)")
            }
        }
        #expect(with.contains { $0.status == .history })
    }

    /// A unit's items of one rule and period closed at once: listed, asked (refused without a terminal and --yes),
    /// exactly those recorded, one audit row with the count; `--by` and `--person` take a unique name.
    @Test func aBulkRecordClosesExactlyWhatItListsAndIsAuditedOnce() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        try addSecondWuZhenyu(dir)
        for what in ["orgs", "roster", "relations"] { #expect(try runCLI(["import", what, "--config", config]).status == 0) }
        let today = Planner.today(at: Int64(Date().timeIntervalSince1970), zone: Example.config.zone)
        let year = String(today.year)
        let bulk = [
            "done", "--rule", "branch-annual-talk", "--unit", "wen-t", "--period", year, "--date", today.description,
            "--by", "周海燕", "--config", config,
        ]
        func statuses() throws -> [String: String] {
            Dictionary(
                uniqueKeysWithValues: try planLines(config, from: "\(year)-01-01", to: "\(year)-12-31").map {
                    ($0["occurrence"] as! String, $0["status"] as! String)
                })
        }
        let before = try statuses()
        // No terminal, no --yes: the list, a refusal, nothing written.
        let asked = try runCLI(bulk)
        #expect(asked.status == 2 && asked.stderr.contains("add --yes"), "\(asked.stderr)")
        #expect(try statuses() == before)
        let listed = Set(
            asked.stdout.split(separator: "\n").compactMap { line in
                line.split(separator: " ").last.map(String.init).flatMap { $0.hasPrefix("branch-annual-talk:") ? $0 : nil }
            })
        #expect(listed.count >= 5)
        #expect(listed.allSatisfy { before[$0] == "pending" || before[$0] == "overdue" || before[$0] == "history" })
        let done = try runCLI(bulk + ["--yes"])
        #expect(done.status == 0 && done.stdout.contains("Recorded \(listed.count) items"), "\(done.stdout)\(done.stderr)")
        let after = try statuses()
        for (id, status) in after {
            #expect(status == (listed.contains(id) ? "done" : before[id]), "\(id)")
        }
        let log = try AppDatabase(path: dir.databasePath).auditLog(limit: 3)
        #expect(log.first?.action == "done-bulk" && log.first?.summary == "\(listed.count) items by M001", "\(log)")
        #expect(log.dropFirst().first?.action != "done", "one audit row, not one per item")
        // Again: nothing left to close.
        #expect(try runCLI(bulk + ["--yes"]).status == 2)
        // waive works the same way.
        let waive = try runCLI([
            "waive", "--rule", "branch-annual-talk", "--unit", "li-t", "--period", year, "--reason", "支部改选，次年补谈",
            "--yes", "--config", config,
        ])
        #expect(waive.status == 0, "\(waive.stderr)")
        #expect(try statuses().filter { $0.key.hasPrefix("branch-annual-talk:") && $0.value == "waived" }.count >= 1)
        // Names: a unique one is taken, an ambiguous one names both.
        #expect(try runCLI(["agenda", "--person", "周海燕", "--config", config]).status == 0)
        let ambiguous = try runCLI(["agenda", "--person", "吴振宇", "--config", config])
        #expect(ambiguous.status == 2 && ambiguous.stderr.contains("M002") && ambiguous.stderr.contains("M099"), "\(ambiguous.stderr)")
        // --unit narrows plan and agenda to a subtree.
        let units = Set(try planLines(config, from: "\(year)-01-01", to: "\(year)-12-31").map { $0["org"] as! String })
        #expect(units.count > 3)
        let r = try runCLI(["plan", "--unit", "wen", "--format", "json", "--from", "\(year)-01-01", "--to", "\(year)-12-31", "--config", config])
        let wen = Set(r.stdout.split(separator: "\n").map { (try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["org"] as! String })
        #expect(wen == Set(["wen", "wen-t", "wen-s"].filter { units.contains($0) }) && !wen.isEmpty, "\(wen)")
        #expect(try runCLI(["agenda", "--unit", "nope", "--config", config]).status == 2)
    }

    /// History from the spreadsheet: a GB18030 台账 (as Excel on Chinese Windows saves it) with two bad rows imports
    /// nothing and lists both; fixed, it records exactly its rows, once, and the report sums its 金额.
    @Test func completionsFromAGB18030SpreadsheetImportAllOrNothing() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        try addSecondWuZhenyu(dir)
        for what in ["orgs", "roster"] { #expect(try runCLI(["import", what, "--config", config]).status == 0) }
        func gb18030(_ name: String, _ text: String) throws -> String {
            let path = dir.url.appendingPathComponent(name).path
            try runTool("/usr/bin/iconv", ["-f", "UTF-8", "-t", "GB18030"], input: Data(text.utf8)).write(to: URL(fileURLWithPath: path))
            return path
        }
        let header = "编号,姓名,事项,年度,日期,办理人,备注,金额\n"
        let good = [
            "M003,郑国栋,支部书记年度谈心谈话,2025,2025-11-20,周海燕,谈心谈话,",
            ",孙淑芬,branch-annual-talk,2025,2025年12月1日,M001,,",
            "M005,,branch-annual-talk,2025,2025/12/02,,,300.50",
        ]
        let bad = try gb18030(
            "bad.csv",
            header + good.joined(separator: "\n") + "\n"
                + ",吴振宇,branch-annual-talk,2025,2025-11-20,,,\n"  // two members of that name
                + "M006,,branch-annual-talk,2025,2025-11-20,,,五百\n")  // not an amount
        let refused = try runCLI(["import", "completions", bad, "--config", config])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("row 5, 姓名") && refused.stderr.contains("M002") && refused.stderr.contains("M099"), "\(refused.stderr)")
        #expect(refused.stderr.contains("row 6, 金额"), "\(refused.stderr)")
        let stateBefore = try runCLI(["plan", "--config", config, "--format", "json", "--from", "2025-01-01", "--to", "2025-12-31", "--now", "2026-01-02"])
        #expect(!stateBefore.stdout.contains("\"done\""), "nothing was recorded")
        let file = try gb18030("good.csv", header + good.joined(separator: "\n") + "\n")
        let dry = try runCLI(["import", "completions", file, "--dry-run", "--config", config])
        #expect(dry.status == 0 && dry.stdout.contains("3 would be recorded"), "\(dry.stdout)\(dry.stderr)")
        let ok = try runCLI(["import", "completions", file, "--config", config])
        #expect(ok.status == 0 && ok.stdout.contains("3 recorded"), "\(ok.stdout)\(ok.stderr)")
        let again = try runCLI(["import", "completions", file, "--config", config])
        #expect(again.stdout.contains("0 recorded, 3 on record already"), "\(again.stdout)")
        let lines = try planLines(config, from: "2025-01-01", to: "2025-12-31", now: "2026-01-02")
        let done = Set(lines.filter { $0["status"] as? String == "done" }.map { $0["occurrence"] as! String })
        #expect(done == ["branch-annual-talk:2025:M003", "branch-annual-talk:2025:M004", "branch-annual-talk:2025:M005"], "\(done)")
        let m003 = try #require(lines.first { $0["occurrence"] as? String == "branch-annual-talk:2025:M003" })
        #expect(m003["closed_on"] as? String == "2025-11-20" && m003["closed_by"] as? String == "M001")
        let report = try runCLI(["report", "--config", config, "--year", "2025", "--now", "2026-01-02", "--format", "json"])
        let top = try #require(report.stdout.split(separator: "\n").first.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] })
        #expect(top["amount_fen"] as? Int == 30050)
    }

    @Test func checkAndCalendarShowTheHolidayTable() throws {
        let today = Planner.today(at: Int64(Date().timeIntervalSince1970), zone: Example.config.zone)
        let check = try runCLI(["check", "--config", Example.configPath])
        #expect(check.stdout.contains("holiday table") && check.stdout.contains("2025, 2026, 2027"), "\(check.stdout)")
        // From 1 December, next year's table is asked for: missing, or provisional (statutory days only, no 调休).
        let table = try #require(Example.config.workCalendar)
        let next = today.year + 1
        let missing = "the holiday table has no \(next) yet"
        let provisional = "the holiday table's \(next) is provisional"
        #expect(check.stdout.contains(missing) == (today.month == 12 && !table.covers(year: next)), "\(check.stdout)")
        #expect(
            check.stdout.contains(provisional) == (today.month == 12 && table.covers(year: next) && !table.isFinal(year: next)),
            "\(check.stdout)")
        #expect(check.status == 0, "warnings do not fail the check: \(check.stdout)\(check.stderr)")
        // 2027 is provisional: the notice was not out when the table was written; 国庆 is its three statutory days.
        #expect(table.covers(year: 2027) && !table.isFinal(year: 2027) && table.isFinal(year: 2026))
        #expect(!table.isWorkday(CivilDate(2027, 10, 1)!) && table.isWorkday(CivilDate(2027, 10, 4)!))
        #expect(!table.isWorkday(CivilDate(2027, 2, 8)!), "初三, a Monday, is a statutory day off")
        let cal = try runCLI([
            "calendar", "*-*-01", "--iterations", "12", "--base-time", "2025-12-31", "--zone", "Asia/Shanghai",
            "--workdays", "--config", Example.configPath,
        ])
        #expect(cal.status == 0, "\(cal.stderr)")
        #expect(cal.stdout.contains("Thu 2026-10-01 00:00:00 CST  节假日  next-workday → 2026-10-08"), "\(cal.stdout)")
        #expect(cal.stdout.contains("Sun 2026-03-01 00:00:00 CST  周末  next-workday → 2026-03-02  previous-workday → 2026-02-28"))
        #expect(cal.stdout.contains("Wed 2026-04-01 00:00:00 CST  工作日"))
    }

    @Test(arguments: [
        ("[[year]]\nyear = 2026\noff = [\"2026-10-01\"]\n", "name the notice"),
        ("[[year]]\nyear = 2026\nsource = \"通知\"\noff = [\"2026-10-01..2026-09-30\"]\n", "is not a day of 2026 or a range"),
        ("[[year]]\nyear = 2026\nsource = \"通知\"\noff = [\"2025-10-01\"]\n", "is not a day of 2026"),
        ("[[year]]\nyear = 2026\nsource = \"通知\"\nwork = [\"2026-10-08\"]\n", "is a weekday already"),
        ("[[year]]\nyear = 2026\nsource = \"通知\"\noff = [\"2026-10-10\"]\nwork = [\"2026-10-10\"]\n", "both a day off and a working day"),
        ("[[year]]\nyear = 2026\nsource = \"a\"\n[[year]]\nyear = 2026\nsource = \"b\"\n", "given twice"),
        ("[[year]]\nyear = 2026\nsource = \"通知\"\nholidays = 3\n", "unknown key"),
        ("[[[year]]]\n", "holidays.toml"),
    ])
    func aBadHolidayTableIsRefusedWhereItIsWrong(_ text: String, _ says: String) throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        _ = try dir.write("holidays.toml", text)
        let r = try runCLI(["check", "--config", config])
        #expect(r.status == 2)
        #expect((r.stdout + r.stderr).contains(says) && (r.stdout + r.stderr).contains("holidays.toml"), "\(r.stdout)\(r.stderr)")
    }

    /// The quota check names who is short, of what, and by how many: in the reminder's title and in `check`.
    @Test func theQuotaCheckSaysWhoIsMissingWhat() throws {
        let occ = Example.plan(from: "2027-01-01", to: "2027-01-31", now: "2026-12-01", rules: ["leader-contact-quota"])
        #expect(!occ.isEmpty)
        let expected = QuotaShortfall.all(
            Example.config.planInput(), members: Dictionary(uniqueKeysWithValues: Example.config.members.map { ($0.id, $0) }),
            leaderMin: 2, cadreMin: 1)
        #expect(Set(occ.map { $0.subject! }) == Set(expected.map(\.person)))
        for o in occ {
            #expect(o.title.contains("名，至少") && o.title.contains("缺"), "\(o.title)")
        }
        let check = try runCLI(["check", "--config", Example.configPath])
        for s in expected { #expect(check.stdout.contains(s.chinese), "\(check.stdout)") }
    }

    /// Staff read Chinese: under a zh locale, check, status and the import reports speak it; English otherwise.
    @Test func checkStatusAndImportsFollowTheLocale() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        var zh = ProcessInfo.processInfo.environment
        zh["LANG"] = "zh_CN.UTF-8"
        zh["LC_ALL"] = nil
        let orgs = try runCLI(["import", "orgs", "--config", config], environment: zh)
        #expect(orgs.stdout.contains("新增") && orgs.stdout.contains("未变"), "\(orgs.stdout)")
        let roster = try runCLI(["import", "roster", "--config", config], environment: zh)
        #expect(roster.stdout.contains("党员 40 名") && roster.stdout.contains("提醒自今天"), "\(roster.stdout)")
        let check = try runCLI(["check", "--config", config], environment: zh)
        #expect(check.stdout.contains("正常   ") && check.stdout.contains("规则 26 条") && !check.stdout.contains("ok     "), "\(check.stdout)")
        let status = try runCLI(["status", "--config", config], environment: zh)
        #expect(status.stdout.contains("接下来的发送时间") && status.stdout.contains("发件箱"), "\(status.stdout)")
        let english = try runCLI(["status", "--config", config])
        #expect(english.stdout.contains("Next send times") && english.stdout.contains("Outbox"), "\(english.stdout)")
        // Errors in the files staff keep, and in the commands they run, say where and what in Chinese.
        let bad = try dir.write("completions.csv", "编号,姓名,事项,年度,日期\nM003,不是此人,branch-annual-talk,2025,2025-11-01\nM999,,branch-annual-talk,2025,2025-11-01\n")
        let imported = try runCLI(["import", "completions", bad, "--config", config], environment: zh)
        #expect(imported.status == 2)
        #expect(imported.stderr.contains("第 2 行，姓名：「不是此人」不是 M003 的姓名"), "\(imported.stderr)")
        #expect(imported.stderr.contains("第 3 行，编号：名册上没有编号为「M999」的党员"), "\(imported.stderr)")
        let done = try runCLI(["done", "no-such-rule:2025:M003", "--config", config], environment: zh)
        #expect(done.status == 2 && done.stderr.contains("没有规则「no-such-rule」"), "\(done.stderr)")
        let date = try runCLI(["agenda", "--now", "2026-13-01", "--config", config], environment: zh)
        #expect(date.status == 2 && date.stderr.contains("不是日期"), "\(date.stderr)")
        let help = try runCLI(["--help"], environment: zh)
        #expect(help.stdout.contains("登记事项已办结，不再提醒。"), "\(help.stdout)")
        let englishHelp = try runCLI(["--help"])
        #expect(englishHelp.stdout.contains("Record that an obligation was carried out"), "\(englishHelp.stdout)")
    }

    /// SMS needs a mainland mobile number: anything else is refused at import with its row; 短信 = 否 opts out.
    @Test func aMobileNumberMustBeMainlandAndSMSCanBeRefused() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        _ = try runCLI(["import", "orgs", "--config", config])
        let header = "编号,姓名,入党日期,所在支部,手机,短信\n"
        let bad = try dir.write("bad.csv", header + "M001,周海燕,1990-02-14,文学院教师党支部,+852 9123 4567,\nM002,吴振宇,1992-02-29,文学院教师党支部,139 0000 0002,也许\n")
        let r = try runCLI(["import", "roster", bad, "--config", config])
        #expect(r.status == 2)
        #expect(r.stderr.contains("row 2, 手机") && r.stderr.contains("not a mainland China mobile number"), "\(r.stderr)")
        #expect(r.stderr.contains("row 3, 短信"), "\(r.stderr)")
        let good = try dir.write("good.csv", header + "M001,周海燕,1990-02-14,文学院教师党支部,+86 139-0000-0001,否\nM002,吴振宇,1992-02-29,文学院教师党支部,13900000002,是\n")
        let ok = try runCLI(["import", "roster", good, "--config", config])
        #expect(ok.status == 0, "\(ok.stderr)")
        let db = try AppDatabase(path: dir.url.appendingPathComponent("state/guanhuai.sqlite").path)
        let members = Dictionary(try db.snapshot().members.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(members["M001"]?.mobile == "13900000001" && members["M001"]?.smsOptOut == true)
        #expect(members["M002"]?.smsOptOut == false)
    }

    @Test func bothProgramsSayTheirVersion() throws {
        let r = try runCLI(["--version"])
        #expect(r.status == 0 && r.stdout.hasPrefix("guanhuai \(GuanhuaiVersion.string)"))
    }
}
