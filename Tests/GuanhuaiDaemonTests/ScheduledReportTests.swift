import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiStore
import GuanhuaiTestSupport
import Testing

/// `[report]` and `[metrics]`: the monthly report through the outbox to a real SMTP server (aiosmtpd), its workbook
/// read back with openpyxl; /metrics read by prometheus_client's parser and compared with `guanhuai report`.
@Suite(.serialized) struct ScheduledReportTests {
    static let extra = """

        [report]
        on = "*-*-01 09:00"

        [metrics]
        listen = "127.0.0.1:0"

        """

    @Test func firesPeriodsAndRecipientsArePure() throws {
        let zone = ZoneRules.named("Asia/Shanghai")!
        let on = try CalendarExpression("*-*-01 09:00")
        let fires = ReportSchedule.fires(on, after: beijing("2027-06-30 20:00:00"), through: beijing("2027-09-01 10:00:00"), zone: zone)
        #expect(fires == [beijing("2027-07-01 09:00:00"), beijing("2027-08-01 09:00:00"), beijing("2027-09-01 09:00:00")])
        // Exactly at the time counts; the mark itself does not (it was processed).
        #expect(
            ReportSchedule.fires(on, after: beijing("2027-07-01 09:00:00"), through: beijing("2027-08-01 09:00:00"), zone: zone)
                == [beijing("2027-08-01 09:00:00")])
        // Ten years down: the latest twelve months, not 120 mails.
        #expect(ReportSchedule.fires(on, after: beijing("2017-01-01 00:00:00"), through: beijing("2027-01-02 00:00:00"), zone: zone).count == 12)
        let p = ReportSchedule.period(firedAt: beijing("2027-01-01 09:00:00"), zone: zone)
        #expect(p.from == CivilDate(2026, 12, 1) && p.to == CivilDate(2026, 12, 31))
        let feb = ReportSchedule.period(firedAt: beijing("2028-03-01 09:00:00"), zone: zone)
        #expect(feb.to == CivilDate(2028, 2, 29))
        let who = ReportSchedule.recipients(Example.config.organization, generalBranches: true)
        #expect(who.map { "\($0.person)→\($0.scope)" } == ["ZZB→dw", "S02→li", "S01→wen"])
        #expect(ReportSchedule.recipients(Example.config.organization, generalBranches: false).count == 1)
    }

    func reportMails(_ rig: borrowing Rig) -> [URL] {
        rig.messages.filter { url in
            ((try? rig.headers(url)["Subject"]) ?? "").hasPrefix("【关怀工作月报】")
        }
    }

    @Test func theMonthlyReportReachesTheServerOncePerPeriodAndAMissedOneIsCaughtUpOnce() async throws {
        let rig = try Rig { $0 + Self.extra }
        let server = try rig.smtp()
        try setClock(rig.clock, beijing("2027-06-30 20:00:00"))
        var daemon = try rig.daemon("first")
        #expect(try await eventually(20) { daemon.stderr.contains("first run") }, "\(daemon.stderr)")
        try setClock(rig.clock, beijing("2027-07-01 09:00:30"))
        #expect(try await eventually(30) { reportMails(rig).count >= 3 && rig.mailSettled }, "\(daemon.stderr)")
        let june = reportMails(rig)
        #expect(june.count == 3)
        var byAddress: [String: URL] = [:]
        for m in june { byAddress[recipient(rig, m)] = m }
        // 组织部 and the two 党总支 secretaries, at the addresses the organisation file gives them.
        let people = Example.config.organization.people
        let wenSecretary = try #require(people["S01"]?.email)
        let liSecretary = try #require(people["S02"]?.email)
        #expect(Set(byAddress.keys) == ["zzb@example.edu.cn", wenSecretary, liSecretary], "\(byAddress.keys)")

        // 组织部's mail: HTML and text, the workbook attached under its Chinese name, its first sheet the same as
        // `guanhuai report` for June on the same data, cell for cell.
        let zzb = try #require(byAddress["zzb@example.edu.cn"])
        let save = rig.dir.url.appendingPathComponent("attachments")
        try FileManager.default.createDirectory(at: save, withIntermediateDirectories: true)
        let parsed = try JSONSerialization.jsonObject(with: try runTool(venvPython, [checkMailScript, zzb.path, save.path])) as! [String: Any]
        #expect((parsed["defects"] as! [String]).isEmpty, "\(parsed["defects"]!)")
        let headers = parsed["headers"] as! [String: String]
        #expect(headers["Subject"] == "【关怀工作月报】2027年6月 · 全部单位")
        let parts = parsed["parts"] as! [String: String]
        #expect(parts["text/html"]?.contains("<svg") == true)
        #expect(parts["text/plain"]?.contains("2027-06-01 至 2027-06-30") == true, "\(parts["text/plain"] ?? "")")
        let attachments = parsed["attachments"] as! [[String: String]]
        #expect(attachments.count == 1)
        let a = try #require(attachments.first)
        #expect(a["filename"] == "关怀工作统计-2027-06-dw.xlsx")
        #expect(a["content_type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        let csv = rig.dir.url.appendingPathComponent("june.csv").path
        let cli = try runCLI(
            [
                "report", "--config", rig.config, "--from", "2027-06-01", "--to", "2027-06-30",
                "--now", "2027-07-01T09:00", "--format", "csv", "--output", csv,
            ], environment: ["CREDENTIALS_DIRECTORY": rig.dir.url.path])
        #expect(cli.status == 0, "\(cli.stderr)")
        let check = Example.root.appendingPathComponent("Tests/GuanhuaiStoreTests/check_xlsx.py").path
        let same = try JSONSerialization.jsonObject(with: try runTool(venvPython, [check, try #require(a["path"]), csv])) as! [String: Any]
        #expect(same["ok"] as? Bool == true, "\(same)")
        #expect(same["sheets"] as? [String] == ["按单位", "按事项", "按责任人"])
        // A 党总支 secretary's report covers their own 党总支 only.
        #expect(try rig.headers(try #require(byAddress[wenSecretary]))["Subject"] == "【关怀工作月报】2027年6月 · 文学院党总支")
        #expect(try rig.headers(try #require(byAddress[liSecretary]))["Subject"] == "【关怀工作月报】2027年6月 · 理学院党总支")

        // A restart sends nothing again.
        daemon.signal(SIGTERM)
        #expect(await daemon.waitExit(timeout: 20) == 0)
        daemon = try rig.daemon("second")
        try await Task.sleep(for: .seconds(3))
        #expect(reportMails(rig).count == 3, "\(daemon.stderr)")
        daemon.signal(SIGTERM)
        #expect(await daemon.waitExit(timeout: 20) == 0)

        // Down over 1 August: July's report comes once, when the daemon is back.
        try setClock(rig.clock, beijing("2027-08-01 10:00:00"))
        daemon = try rig.daemon("third")
        #expect(try await eventually(40) { reportMails(rig).count >= 6 && rig.mailSettled }, "\(daemon.stderr)")
        try await Task.sleep(for: .seconds(2))
        let subjects = try reportMails(rig).map { try rig.headers($0)["Subject"] ?? "" }
        #expect(subjects.filter { $0.contains("2027年7月") }.count == 3)
        #expect(subjects.count == 6, "\(subjects)")
        let late = try #require(reportMails(rig).first { (try? rig.headers($0)["Subject"])??.contains("2027年7月") == true })
        #expect(try rig.headers(late)["Message-ID"]?.contains("report.2027-07") == true)
        _ = server
    }

    static let promtool = "/usr/bin/promtool"

    /// The alert rule README shows (Config/prometheus/guanhuai.rules.yml), tested by Prometheus itself: it fires after
    /// two days without a send while messages wait, and not in a quiet week with nothing waiting.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: promtool), "needs Debian's prometheus (Tools/install-deps)"))
    func theAlertRuleFiresWhenNothingIsSentWhileMessagesWait() throws {
        let test = Example.root.appendingPathComponent("Tests/prometheus/guanhuai.rules.test.yml").path
        let out = String(decoding: try runTool(Self.promtool, ["test", "rules", test]), as: UTF8.self)
        #expect(out.contains("SUCCESS"), "\(out)")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: promtool), "needs Debian's prometheus (Tools/install-deps)"))
    func metricsAreReadByPrometheusClientAndAgreeWithTheReport() async throws {
        let rig = try Rig { $0 + Self.extra }
        let server = try rig.smtp()
        let now = EndToEndTests.start
        try setClock(rig.clock, now)
        let daemon = try rig.daemon()
        let total = expectedRecipients(after: now, through: EndToEndTests.sendTime).values.reduce(0, +)
        #expect(try await eventually(25) { rig.messages.count >= total && rig.mailSettled }, "\(daemon.stderr)")
        var url: String?
        #expect(
            try await eventually(10) {
                url =
                    daemon.stderr.split(separator: "\n").compactMap { line in
                        line.range(of: "metrics at ").map { String(line[$0.upperBound...]).trimmingCharacters(in: .whitespaces) }
                    }.first
                return url != nil
            })
        let script = Example.root.appendingPathComponent("Tests/GuanhuaiDaemonTests/Servers/check_metrics.py").path
        let page = rig.dir.url.appendingPathComponent("metrics.txt").path
        let samples = try JSONSerialization.jsonObject(with: try runTool(venvPython, [script, try #require(url), page])) as! [[String: Any]]
        // Prometheus's own linter takes the page as it is (names, help, types, units).
        let lint = Process()
        lint.executableURL = URL(fileURLWithPath: Self.promtool)
        lint.arguments = ["check", "metrics"]
        lint.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: page))
        let lintOut = Pipe()
        lint.standardOutput = lintOut
        lint.standardError = lintOut
        try lint.run()
        lint.waitUntilExit()
        #expect(lint.terminationStatus == 0, "\(String(decoding: lintOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { ($0["name"] as? String) == name && ($0["labels"] as? [String: String]) == labels }?["value"] as? Double
        }
        func sum(_ name: String, where keep: ([String: String]) -> Bool) -> Int {
            Int(
                samples.filter { ($0["name"] as? String) == name && keep($0["labels"] as! [String: String]) }
                    .reduce(0.0) { $0 + ($1["value"] as! Double) })
        }
        // The outbox and the deliveries: what reached the server.
        let sent = rig.messages.count
        #expect(value("guanhuai_outbox_messages", ["channel": "mail", "state": "sent"]).map(Int.init) == sent)
        #expect(value("guanhuai_deliveries_total", ["channel": "mail", "result": "sent"]).map(Int.init) == sent)
        #expect((value("guanhuai_last_successful_send_timestamp_seconds") ?? 0) >= Double(EndToEndTests.sendTime))
        #expect(value("guanhuai_config_generation") == 0)
        #expect(value("guanhuai_last_plan_seconds") != nil)
        // Obligations: per unit and per rule, the same as `guanhuai report --year 2027` at the same moment.
        func report(_ by: String) throws -> [[String: Any]] {
            let r = try runCLI(
                [
                    "report", "--config", rig.config, "--year", "2027", "--format", "json", "--by", by,
                    "--now", "2027-06-01T08:30",
                ], environment: ["CREDENTIALS_DIRECTORY": rig.dir.url.path])
            #expect(r.status == 0, "\(r.stderr)")
            return r.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        }
        let units = try report("unit")
        let parents = Set(units.compactMap { $0["parent"] as? String })
        var checked = 0
        for row in units where !parents.contains(row["key"] as! String) {
            let unit = row["key"] as! String
            #expect(sum("guanhuai_obligations_overdue") { $0["unit"] == unit } == row["overdue"] as! Int, "\(unit)")
            #expect(sum("guanhuai_obligations_open") { $0["unit"] == unit } == row["not_yet_due"] as! Int, "\(unit)")
            checked += 1
        }
        #expect(checked >= 5)
        for row in try report("rule") {
            let rule = row["key"] as! String
            #expect(sum("guanhuai_obligations_overdue") { $0["rule"] == rule } == row["overdue"] as! Int, "\(rule)")
            #expect(sum("guanhuai_obligations_open") { $0["rule"] == rule } == row["not_yet_due"] as! Int, "\(rule)")
        }
        #expect(sum("guanhuai_obligations_overdue") { _ in true } > 0)
        // Ids only: no member's or unit's name is a label.
        let labels = samples.flatMap { ($0["labels"] as! [String: String]).values }
        #expect(!labels.contains { $0.unicodeScalars.contains { $0.value > 0x2E80 } }, "\(labels)")
        _ = server
    }
}
