import Foundation
import GuanhuaiTestSupport
import Testing

/// `guanhuai fund …`, 组织部's side of the 专项资金, on the example committee, on SQLite and on PostgreSQL: an
/// application on a member's behalf through every step to payment, each step refused where the rules refuse it (exit
/// 2, saying why in the operator's words), the balance, the list and one application's record.
@Suite struct FundCommandTests {
    static var engines: [String] { ["SQLite"] + (PostgresServer.enabled ? ["PostgreSQL"] : []) }

    @Test(arguments: engines)
    func anApplicationGoesThroughEveryStepAndEachRefusalSaysWhy(engine: String) async throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        if engine == "PostgreSQL" {
            let pg = try await PostgresServer.sharedServer().newDatabase()
            let text = try String(contentsOfFile: config, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !$0.hasPrefix("path = ") }.joined(separator: "\n")
                .replacingOccurrences(of: "[database]", with: "[database]\nurl = \"\(pg)\"\n")
            try Data(text.utf8).write(to: URL(fileURLWithPath: config))
        }
        // Every command runs off the cooperative pool: a test blocked in waitUntilExit there starves the others.
        func cli(_ args: [String], chinese: Bool = false) async throws -> ToolResult {
            var env = ProcessInfo.processInfo.environment
            if chinese { env["LANG"] = "zh_CN.UTF-8" }
            let e = env
            return try await offThePool { try runCLI(args, environment: e) }
        }
        for what in ["orgs", "roster"] { #expect(try await cli(["import", what, "--config", config]).status == 0) }
        func fund(_ args: String..., chinese: Bool = false) async throws -> ToolResult {
            try await cli(["fund"] + args + ["--config", config], chinese: chinese)
        }
        func refused(_ r: ToolResult, _ words: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(r.status == 2, "\(r.stdout)\(r.stderr)", sourceLocation: sourceLocation)
            #expect(r.stderr.contains(words), "\(r.stderr)", sourceLocation: sourceLocation)
            for leak in ["Swift.", "FundProblem", "FundRefusal", "Optional(", "StoreError"] {
                #expect(!r.stderr.contains(leak), "\(r.stderr)", sourceLocation: sourceLocation)
            }
        }
        // M014 (文学院教师党支部, secretary M001, under 文学院党总支, secretary S01).
        refused(try await fund("apply", "M014", "--category", "大病", "--reason", "胃出血住院", "--amount", "5000", "--by", "M001"), "consent")
        refused(try await fund("apply", "M014", "--category", "买房", "--reason", "x", "--amount", "5000", "--consent"), "not a category")
        refused(try await fund("apply", "M014", "--category", "大病", "--reason", "x", "--amount", "5000", "--consent", "--by", "M026"), "branch secretary")
        refused(try await fund("apply", "M014", "--category", "大病", "--reason", "x", "--amount", "五千", "--consent"), "not an amount")
        let applied = try await fund(
            "apply", "M014", "--category", "大病", "--reason", "胃出血住院，自付较多", "--amount", "5000", "--attachment", "诊断证明.pdf",
            "--family", "M015", "--consent", "--by", "M001")
        #expect(applied.status == 0 && applied.stdout.contains("#1"), "\(applied.stderr)")

        // 组织部 cannot review for the branch, the relative cannot review, 组织部 cannot pay before 公示.
        refused(try await fund("review", "1", "--verdict", "approve"), "for the branch secretary, not 组织部")
        refused(try await fund("pay", "1", "--amount", "5000", "--source", "本级留存党费"), "only after the decision and the 公示 period")
        refused(try await fund("review", "1", "--verdict", "approve", "--by", "M015"), "takes no step")
        // Returned for more, sent in again, approved by the branch and the 党总支.
        #expect(try await fund("review", "1", "--verdict", "return", "--words", "请补充费用清单", "--by", "M001").status == 0)
        refused(
            try await fund("decide", "1", "--meeting", "2026-12-07", "--attendee", "L01", "--attendee", "L02", "--amount", "3000", "--source", "捐赠"),
            "not a step at returned")
        #expect(try await fund("resubmit", "1", "--by", "M001").status == 0)
        #expect(try await fund("review", "1", "--verdict", "approve", "--words", "情况属实", "--by", "M001").status == 0)
        refused(try await fund("review", "1", "--verdict", "approve", "--by", "M001"), "for the 党总支 secretary")
        #expect(try await fund("review", "1", "--verdict", "approve", "--by", "S01").status == 0)

        // The decision: not by a reviewer, not above the balance (the figures shown, in Chinese for staff).
        let attendees = ["--attendee", "L01", "--attendee", "L02"]
        refused(
            try await fund("decide", "1", "--meeting", "2026-12-07", "--attendee", "L01", "--attendee", "S01", "--amount", "3000", "--source", "捐赠"),
            "a reviewer of this application cannot take part")
        refused(
            try await cli(
                ["fund", "decide", "1", "--meeting", "2026-12-07"] + attendees + ["--amount", "3000", "--source", "捐赠", "--config", config],
                chinese: true), "捐赠余额 0 元，不足以资助 3000 元")
        let income = try await fund("income", "--source", "捐赠", "--amount", "10000", "--date", "2026-12-01", "--note", "校友捐赠")
        #expect(income.status == 0 && income.stdout.contains("捐赠") && income.stdout.contains("10000"), "\(income.stdout)\(income.stderr)")
        #expect(
            try await cli(["fund", "decide", "1", "--meeting", "2026-12-07"] + attendees + ["--amount", "3000", "--source", "捐赠", "--config", config]).status
                == 0)
        #expect(try await fund("income").stdout.contains("7000"), "the grant is committed from the decision")
        // 公示 only after the 保密审查; an objection holds it; dismissed, it is paid as decided.
        refused(try await fund("pay", "1", "--amount", "3000", "--source", "捐赠"), "only after")
        #expect(try await fund("confirm", "1").status == 0)
        #expect(try await fund("object", "1", "--words", "有人反映情况不实").status == 0)
        refused(try await fund("pay", "1", "--amount", "3000", "--source", "捐赠"), "only after")
        #expect(try await fund("dismiss", "1", "--words", "经核实情况属实").status == 0)
        refused(try await fund("pay", "1", "--amount", "2000", "--source", "捐赠"), "must be what was decided")
        #expect(try await fund("pay", "1", "--date", "2026-12-20", "--amount", "3000", "--source", "捐赠").status == 0)
        refused(try await fund("withdraw", "1"), "nothing more can be done")

        let list = try await fund("list", "--all", chinese: true)
        #expect(list.status == 0 && list.stdout.contains("已发放办结") && list.stdout.contains("大病"), "\(list.stdout)\(list.stderr)")
        #expect(try await fund("list").stdout.contains("No applications"))
        let show = try await fund("show", "1", chinese: true)
        for words in ["胃出血住院，自付较多", "诊断证明.pdf", "M015", "请补充费用清单", "会议 2026-12-07", "捐赠 3000 元", "已发放办结"] {
            #expect(show.stdout.contains(words), "\(words) not in \(show.stdout)")
        }
        refused(try await fund("show", "9"), "no application #9")

        // The report has the fund: by stage, grants and payments, the balance per source, the time per step; the
        // 慰问金 of completions named apart. The workbook has it as a sheet of numbers; the web report as tables.
        let report = try await cli(["report", "--config", config])
        #expect(report.status == 0, "\(report.stderr)")
        for words in ["关怀帮扶专项资金 · 资金余额", "关怀帮扶专项资金 · 各环节用时（工作日）", "已发放办结", "不属专项资金"] {
            #expect(report.stdout.contains(words), "\(words) not in \(report.stdout)")
        }
        #expect(
            report.stdout.split(separator: "\n").contains {
                $0.hasPrefix("捐赠") && $0.split(separator: " ").map(String.init) == ["捐赠", "10000", "3000", "7000"]
            })
        let xlsx = dir.url.appendingPathComponent("r.xlsx").path
        #expect(try await cli(["report", "--config", config, "--format", "xlsx", "--output", xlsx]).status == 0)
        let read = try await offThePool {
            try runTool(
                venvPython,
                [
                    "-c",
                    """
                    import json, sys
                    from openpyxl import load_workbook
                    wb = load_workbook(sys.argv[1])
                    ws = wb["专项资金"]
                    print(json.dumps({"sheets": wb.sheetnames, "rows": [[c.value for c in r] for r in ws.iter_rows()]}, ensure_ascii=False))
                    """, xlsx,
                ])
        }
        let book = try JSONSerialization.jsonObject(with: read) as! [String: Any]
        #expect((book["sheets"] as? [String])?.last == "专项资金", "\(book)")
        let cells = (book["rows"] as? [[Any]] ?? []).map { $0.map { "\($0)" } }
        #expect(cells.contains { $0.prefix(4) == ["捐赠", "10000", "3000", "7000"] }, "\(cells)")
    }
}
