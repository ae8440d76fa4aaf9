import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiTestSupport
import Testing

/// `guanhuai report` against figures computed here, independently, from `guanhuai plan --format json`.
@Suite(.serialized) struct ReportTests {
    struct PlanLine: Decodable {
        var occurrence: String
        var rule: String
        var org: String
        var responsible: String
        var due: String
        var status: String
        var closed_on: String?
        var amount_fen: Int?
    }

    struct ReportLine: Decodable {
        var group: String
        var key: String
        var parent: String?
        var due: Int
        var on_time: Int
        var late: Int
        var overdue: Int
        var not_yet_due: Int
        var waived: Int
        var coverage: Double?
        var median_days_late: Double?
        var amount_fen: Int
    }

    /// The example on a database, with completions recorded through the CLI: on time, late, waived, one with 慰问金.
    static func recorded(_ dir: borrowing Scratch) throws -> (config: String, plan: [PlanLine]) {
        let config = try dir.exampleCopy()
        // A committee that has used guanhuai for years: this year's obligations all count.
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "[guanhuai]\n", with: "[guanhuai]\nsince = \"2020-01-01\"\n").utf8)
            .write(to: URL(fileURLWithPath: config))
        for what in ["orgs", "roster", "relations"] { #expect(try runCLI(["import", what, "--config", config]).status == 0) }
        let today = Planner.today(at: Int64(Date().timeIntervalSince1970), zone: Example.config.zone)
        let year = String(today.year)
        let before = try plan(config, year)
        let closable = before.filter { $0.status == "overdue" }
        #expect(closable.count >= 12)
        for (i, o) in closable.prefix(12).enumerated() {
            var args: [String]
            switch i % 4 {
            case 0: args = ["done", o.occurrence, "--date", o.due]  // on time
            case 1: args = ["done", o.occurrence, "--date", today.description]  // late
            case 2: args = ["waive", o.occurrence, "--reason", "已调出本单位"]
            default: args = ["done", o.occurrence, "--date", CivilDate(parsing: o.due)!.adding(days: 3).description]
            }
            args += ["--config", config]
            if i == 1 { args += ["--amount", "500.50"] }
            if i == 5 { args += ["--amount", "1000"] }
            let r = try runCLI(args)
            #expect(r.status == 0, "\(args) \(r.stderr)")
        }
        return (config, try plan(config, year))
    }

    static func plan(_ config: String, _ year: String) throws -> [PlanLine] {
        let r = try runCLI(["plan", "--config", config, "--format", "json", "--from", "\(year)-01-01", "--to", "\(year)-12-31"])
        // plan lists what overlaps the period; the report counts what fell due in it.
        return try r.stdout.split(separator: "\n").map { try JSONDecoder().decode(PlanLine.self, from: Data($0.utf8)) }
            .filter { $0.due.hasPrefix(year) }
    }

    @Test func everyFigureEqualsWhatThePlanSaysAndUnitsRollUp() throws {
        let dir = try Scratch()
        let (config, plan) = try Self.recorded(dir)
        let year = String(plan.first!.due.prefix(4))
        let r = try runCLI(["report", "--config", config, "--year", year, "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try r.stdout.split(separator: "\n").map { try JSONDecoder().decode(ReportLine.self, from: Data($0.utf8)) }
        let org = Example.config.organization
        // Independently: each unit's figures are those of every occurrence whose unit has it in its lineage.
        var checked = 0
        for row in rows {
            let mine = plan.filter { o in org.lineage(of: o.org).contains { $0.id == row.key } }
            let onTime = mine.filter { $0.status == "done" && $0.closed_on! <= $0.due }
            let late = mine.filter { $0.status == "done" && $0.closed_on! > $0.due }
            let waived = mine.filter { $0.status == "waived" }.count
            #expect(row.due == mine.count, "\(row.key)")
            #expect(row.on_time == onTime.count && row.late == late.count && row.waived == waived, "\(row.key)")
            #expect(row.overdue == mine.filter { $0.status == "overdue" }.count, "\(row.key)")
            #expect(row.not_yet_due == mine.filter { $0.status == "pending" }.count, "\(row.key)")
            #expect(row.amount_fen == mine.compactMap(\.amount_fen).reduce(0, +), "\(row.key)")
            let denominator = mine.count - waived
            if denominator > 0 {
                #expect(abs(row.coverage! - Double(onTime.count + late.count) / Double(denominator)) < 0.0001, "\(row.key)")
            }
            let days = late.map { CivilDate(parsing: $0.due)!.days(until: CivilDate(parsing: $0.closed_on!)!) }.sorted()
            if !days.isEmpty {
                let m = days.count % 2 == 1 ? Double(days[days.count / 2]) : Double(days[days.count / 2 - 1] + days[days.count / 2]) / 2
                #expect(row.median_days_late == m, "\(row.key)")
            } else {
                #expect(row.median_days_late == nil)
            }
            // Rolled up: a unit is its own obligations plus its children's rows.
            let children = rows.filter { $0.parent == row.key }
            let own = plan.filter { $0.org == row.key }.count
            #expect(row.due == own + children.map(\.due).reduce(0, +), "\(row.key)")
            checked += 1
        }
        #expect(checked == org.units.count, "a row per unit")
        let top = try #require(rows.first)
        #expect(top.key == org.committee.id && top.due == plan.count && top.amount_fen == 150_050)
        #expect(top.on_time >= 3 && top.late >= 3 && top.waived >= 3)

        // By rule and by person: the same totals.
        for by in ["rule", "person"] {
            let out = try runCLI(["report", "--config", config, "--year", year, "--format", "json", "--by", by])
            let grouped = try out.stdout.split(separator: "\n").map { try JSONDecoder().decode(ReportLine.self, from: Data($0.utf8)) }
            #expect(grouped.map(\.due).reduce(0, +) == plan.count, "\(by)")
            #expect(grouped.map(\.amount_fen).reduce(0, +) == 150_050, "\(by)")
        }
        // A subtree: only its units.
        let sub = try runCLI(["report", "--config", config, "--year", year, "--format", "json", "--unit", "wen"])
        let subRows = try sub.stdout.split(separator: "\n").map { try JSONDecoder().decode(ReportLine.self, from: Data($0.utf8)) }
        #expect(subRows.map(\.key) == ["wen", "wen-s", "wen-t"])
    }

    /// LibreOffice (Debian's, headless) opens the workbook and saves its first sheet as CSV, as shown: every cell
    /// equals the CSV report's, numbers in their formats (percent, yuan with two decimals) included.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/soffice"), "needs libreoffice-calc-nogui (Tools/install-deps)"))
    func theWorkbookOpensInLibreOffice() throws {
        let dir = try Scratch()
        let (config, plan) = try Self.recorded(dir)
        let year = String(plan.first!.due.prefix(4))
        let csv = dir.url.appendingPathComponent("r.csv").path
        let xlsx = dir.url.appendingPathComponent("r.xlsx").path
        for (format, file) in [("csv", csv), ("xlsx", xlsx)] {
            let r = try runCLI(["report", "--config", config, "--year", year, "--format", format, "--output", file])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let out = dir.url.appendingPathComponent("lo")
        // 59,34,76,1: semicolon (the amounts show thousands separators), double quote, UTF-8, from line 1; values
        // as the cells show them.
        _ = try runTool(
            "/usr/bin/soffice",
            [
                "-env:UserInstallation=file://\(dir.url.path)/lo-profile", "--headless",
                "--convert-to", "csv:Text - txt - csv (StarCalc):59,34,76,1", "--outdir", out.path, xlsx,
            ])
        func rows(_ path: String, separator: Character) throws -> [[String]] {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            return text.split(whereSeparator: \.isNewline).map { line in
                line.split(separator: separator, omittingEmptySubsequences: false).map {
                    $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"\u{FEFF}\u{3000} "))
                }
            }
        }
        // The workbook shows 1,500.50 where the CSV has 1500.50.
        let office = try rows(out.appendingPathComponent("r.csv").path, separator: ";").map { row in
            row.map { $0.first?.isNumber == true ? $0.replacingOccurrences(of: ",", with: "") : $0 }
        }
        let ours = try rows(csv, separator: ",").map { Array($0.dropFirst(2)) }  // the CSV leads with the id and the parent
        #expect(office.count == ours.count && office.count > 3)
        #expect(office == ours)
        #expect(ours.contains { $0.last != "0.00" && $0.last != "慰问金（元）" }, "an amount was recorded")
    }

    @Test func csvXlsxAndHTMLCarryTheSameFigures() throws {
        let dir = try Scratch()
        let (config, plan) = try Self.recorded(dir)
        let year = String(plan.first!.due.prefix(4))
        let csv = dir.url.appendingPathComponent("r.csv").path
        let xlsx = dir.url.appendingPathComponent("r.xlsx").path
        let html = dir.url.appendingPathComponent("r.html").path
        for (format, file) in [("csv", csv), ("xlsx", xlsx), ("html", html)] {
            let r = try runCLI(["report", "--config", config, "--year", year, "--format", format, "--output", file])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: csv))
        #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF], "UTF-8 with a BOM for Excel")
        #expect(String(decoding: bytes, as: UTF8.self).contains("应办,按期办结"))
        // openpyxl reads the workbook; its unit sheet matches the CSV cell for cell.
        let check = Example.root.appendingPathComponent("Tests/GuanhuaiStoreTests/check_xlsx.py").path
        let out = try runTool(venvPython, [check, xlsx, csv])
        let result = try JSONSerialization.jsonObject(with: out) as! [String: Any]
        #expect(result["ok"] as? Bool == true, "\(result)")
        #expect(result["sheets"] as? [String] == ["按单位", "按事项", "按责任人"], "\(result)")
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("<svg") && page.contains("@page { size: A4"))
        #expect(page.contains("覆盖率") && page.contains(Example.config.organization.committee.name))
        #expect(!page.contains("{{"))
        // Headless chromium prints it to a PDF (and, for the README, a PNG of page one at A4 width).
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), "chromium is installed by Tools/install-deps")
        let pdf = dir.url.appendingPathComponent("r.pdf").path
        _ = try runTool(
            "/usr/bin/chromium",
            [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                "--print-to-pdf=\(pdf)", "file://\(html)",
            ])
        let head = try Data(contentsOf: URL(fileURLWithPath: pdf)).prefix(5)
        #expect(String(decoding: head, as: UTF8.self) == "%PDF-")
        let png =
            ProcessInfo.processInfo.environment["GUANHUAI_SCREENSHOTS"].map { $0 + "/report.png" }
            ?? dir.url.appendingPathComponent("report.png").path
        _ = try runTool(
            "/usr/bin/chromium",
            [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--window-size=794,1123", "--screenshot=\(png)", "file://\(html)",
            ])
        #expect(FileManager.default.fileExists(atPath: png))
        // Refused: xlsx to standard output, an unknown unit, both --year and --from.
        #expect(try runCLI(["report", "--config", config, "--format", "xlsx"]).status == 2)
        let unknown = try runCLI(["report", "--config", config, "--unit", "nope"])
        #expect(unknown.status == 2 && unknown.stderr.contains("--unit \"nope\" is not a unit"))
        #expect(try runCLI(["report", "--config", config, "--year", "2026", "--from", "2026-01-01", "--to", "2026-02-01"]).status == 2)
    }
}
