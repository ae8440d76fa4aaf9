import Foundation
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiTestSupport
import Testing

@Suite struct BadInputTests {
    func loadError(_ configPath: String) -> InputErrors? {
        do {
            _ = try Configuration.load(path: configPath)
            return nil
        } catch {
            return error
        }
    }

    func replace(_ file: String, in dir: borrowing Scratch, _ old: String, _ new: String) throws {
        let p = dir.url.appendingPathComponent(file)
        let text = try String(contentsOf: p, encoding: .utf8)
        #expect(text.contains(old), "fixture text not found: \(old)")
        try Data(text.replacingOccurrences(of: old, with: new).utf8).write(to: p)
    }

    @Test func malformedTOMLNamesTheFileAndLine() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        try replace("rules.toml", in: dir, "title = \"七一走访慰问\"", "title = \"七一走访慰问")
        let e = try #require(loadError(config)?.errors.first)
        #expect(e.file.hasSuffix("rules.toml"))
        let lines = try String(contentsOf: dir.url.appendingPathComponent("rules.toml"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
        let broken = lines.firstIndex { $0.hasPrefix("title = \"七一走访慰问") }! + 1
        #expect(e.location == "line \(broken)", "\(e)")
    }

    @Test func unknownKeyInARuleNamesTheRuleTheKeyAndItsLine() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        try replace("rules.toml", in: dir, "id = \"glory-50\"\n", "id = \"glory-50\"\nwindw = 3\n")
        let e = try #require(loadError(config)?.errors.first)
        #expect(e.field == "rule #18 (glory-50), windw", "\(e)")
        #expect(e.message.contains("unknown key \"windw\""))
        let lines = try String(contentsOf: dir.url.appendingPathComponent("rules.toml"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
        let expected = lines.firstIndex { $0.hasPrefix("windw") }! + 1
        #expect(e.location == "line \(expected)")
    }

    @Test func unknownTriggerKindListsTheKnownOnes() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        try replace(
            "rules.toml", in: dir, "kind = \"fixed-annual\", window_start = \"06-01\"",
            "kind = \"yearly-ish\", window_start = \"06-01\"")
        let e = try #require(loadError(config)?.errors.first)
        #expect(e.description.contains("rule #2 (july-first-visit)"))
        #expect(e.message.contains("unknown trigger kind \"yearly-ish\""))
        #expect(e.message.contains("lunar-annual"))
    }

    @Test func badCalendarExpressionInARuleSaysWhereAndHowToCheck() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        try replace("rules.toml", in: dir, "on = \"*-05,11-01\"", "on = \"*-05,13-01\"")
        let e = try #require(loadError(config)?.errors.first)
        #expect(e.message.contains("guanhuai calendar"))
        #expect(e.field?.contains("hardship-register-review") == true)
    }

    @Test func unknownConfigKeyAndBadZone() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        try replace("config.toml", in: dir, "time_zone = \"Asia/Shanghai\"", "time_zone = \"Asia/Peking\"")
        let e = try #require(loadError(config)?.errors.first)
        #expect(e.description.contains("config.toml line 4, [guanhuai], time_zone: unknown time zone \"Asia/Peking\""))
        try replace("config.toml", in: dir, "time_zone = \"Asia/Peking\"", "time_zone = \"Asia/Shanghai\"\nsendtime = \"09:00\"")
        let k = try #require(loadError(config)?.errors.first)
        #expect(k.description.contains("config.toml line 5, [guanhuai], sendtime: unknown key \"sendtime\""), "\(k)")
    }

    @Test(arguments: [
        ("[channels.r]\ntype = \"wecomm\"\n", "unknown channel type \"wecomm\"; use smtp, sendmail, webhook, wecom"),
        ("[channels.r]\ntype = \"wecom\"\n", "wecom needs key_credential = \"ID\""),
        ("[channels.r]\ntype = \"webhook\"\nurl = \"https://h/p\"\n", "secret_credential = \"ID\" names a systemd credential"),
        ("[channels.r]\ntype = \"wecom\"\nkey_credential = \"k\"\nurl = \"https://h/p?key=abc\"\n", "keep tokens out of url"),
        ("[channels.r]\ntype = \"feishu\"\nformat = \"markdown\"\n", "unknown key \"format\"; known keys here: ca_file, hook_credential"),
        (
            "[channels.r]\ntype = \"wecom-app\"\ncorpid = \"ww1\"\nagentid = 1000002\nsecret_credential = \"s\"\nin_flight = 0\n",
            "\"in_flight\" is 0; it must be from 1 to 16"
        ),
        (
            "[channels.r]\ntype = \"feishu-app\"\napp_id = \"cli_1\"\napp_secret_credential = \"s\"\nper_minute = -5\n",
            "\"per_minute\" is -5; it must be from 0 to 100000"
        ),
        (
            "[channels.r]\ntype = \"wecom\"\nkey_credential = \"k\"\n[routing]\nwebhooks = [\"nope\"]\n",
            "\"nope\" is not a webhook, wecom, dingtalk or feishu channel; configured: r"
        ),
        (
            "[channels.r]\ntype = \"wecom\"\nkey_credential = \"k\"\n[routing.units]\n\"no-such-unit\" = \"r\"\n",
            "\"no-such-unit\" is not a unit of the organisation"
        ),
    ])
    func badChannelsAndRoutingSayWhatToWrite(_ extra: String, _ says: String) throws {
        try appendedConfigSays(extra, says)
    }

    @Test(arguments: [
        ("[web]\nlisten = \"8470\"\npublic_url = \"https://g.example\"\nweb_key_credential = \"k\"\n", "is not HOST:PORT; write e.g. \"127.0.0.1:8470\""),
        ("[web]\nlisten = \"127.0.0.1:99999\"\npublic_url = \"https://g.example\"\nweb_key_credential = \"k\"\n", "is not HOST:PORT"),
        ("[web]\nweb_key_credential = \"k\"\n", "public_url"),
        ("[web]\npublic_url = \"guanhuai.example.edu.cn\"\nweb_key_credential = \"k\"\n", "public_url must be the https:// address people reach"),
        ("[web]\npublic_url = \"https://g.example\"\n", "web_key_credential"),
        ("[web]\npublic_url = \"https://dw.example.edu.cn/guanhuai\"\nweb_key_credential = \"k\"\n", "has a path (/guanhuai)"),
        ("[report]\non = \"*-*-32 09:00\"\n", "check it with: guanhuai calendar"),
        ("[report]\non = \"*-02-30 09:00\"\n", "never happens"),
        ("[report]\nto = \"zzb\"\n", "unknown key \"to\""),
        ("[metrics]\nlisten = \"localhost\"\n", "is not HOST:PORT; write e.g. \"127.0.0.1:9464\""),
        ("[web]\npublic_url = \"https://g.example\"\nweb_key_credential = \"k\"\naction_link_days = 0\n", "action_link_days"),
        ("[web]\npublic_url = \"https://g.example\"\nweb_key_credential = \"k\"\nlink_days = 3\n", "unknown key \"link_days\""),
    ])
    func badWebSettingsSayWhatToWrite(_ extra: String, _ says: String) throws {
        try appendedConfigSays(extra, says)
    }

    @Test func aShortWebKeySaysHowToMakeOne() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try Data((text + "\n[web]\npublic_url = \"https://g.example\"\nweb_key_credential = \"k\"\n").utf8).write(to: URL(fileURLWithPath: config))
        _ = try dir.write("k", "short\n")
        let web = try #require(try Configuration.load(path: config).web)
        #expect(web.publicURL == "https://g.example" && web.host == "127.0.0.1" && web.port == 8470)
        #expect(throws: InputError.self) { try web.keyBytes(environment: ["CREDENTIALS_DIRECTORY": dir.url.path]) }
        do { _ = try web.keyBytes(environment: ["CREDENTIALS_DIRECTORY": dir.url.path]) } catch {
            #expect(error.message.contains("openssl rand -base64 48"), "\(error)")
        }
        _ = try dir.write("k", String(repeating: "x", count: 40) + "\n")
        #expect(try web.keyBytes(environment: ["CREDENTIALS_DIRECTORY": dir.url.path]).count == 40)
    }

    func appendedConfigSays(_ extra: String, _ says: String) throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try Data((text + "\n" + extra).utf8).write(to: URL(fileURLWithPath: config))
        let e = try #require(loadError(config)?.errors.first)
        #expect(e.description.contains(says), "\(e)")
        #expect(e.description.contains("config.toml"), "\(e)")
    }

    @Test func everyBadRosterRowIsListedWithItsRowAndColumn() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        try replace("roster.csv", in: dir, "M005,钱卫东,男,1955-01-30,1978-03-01", "M005,钱卫东,男,1955-01-30,1978-13-01")
        try replace("roster.csv", in: dir, "理学院离退休党支部,fengdesheng", "化学院党支部,fengdesheng")
        try replace("roster.csv", in: dir, "M019,施雅琴", "M018,施雅琴")
        try replace("roster.csv", in: dir, "基层一线,正常", "一线,正常")
        let errors = try #require(loadError(config)).errors
        let text = errors.map(\.description)
        #expect(text.contains { $0.hasSuffix("roster.csv row 6, 入党日期: \"1978-13-01\" is not a date; write YYYY-MM-DD, YYYY/M/D or YYYY年M月D日") }, "\(text)")
        #expect(text.contains { $0.contains("row 7, 所在支部: unknown branch \"化学院党支部\"") })
        #expect(text.contains { $0.contains("row 20, 编号: \"M018\" is also the id on row 19") })
        #expect(text.contains { $0.contains("row 22, 标签: unknown tag \"一线\"") })
        #expect(errors.count == 4)
    }

    @Test func rosterInGB18030AndWithABOMReadsTheSame() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        let utf8 = try String(contentsOf: dir.url.appendingPathComponent("roster.csv"), encoding: .utf8)
        // iconv is the reference encoder, as Excel's GB18030 output would be.
        let gb = try runTool("/usr/bin/iconv", ["-f", "UTF-8", "-t", "GB18030"], input: Data(utf8.utf8))
        #expect(String(data: gb, encoding: .utf8) == nil, "the GB18030 bytes must not also be valid UTF-8")
        try gb.write(to: dir.url.appendingPathComponent("roster.csv"))
        let fromGB = try Configuration.load(path: config)
        #expect(fromGB.members == Example.config.members)
        try (Data([0xEF, 0xBB, 0xBF]) + Data(utf8.utf8)).write(to: dir.url.appendingPathComponent("roster.csv"))
        #expect(try Configuration.load(path: config).members == Example.config.members)
    }

    @Test func rosterDateFormsAndStatuses() throws {
        let m = Example.config.membersByID
        #expect(m["M030"]?.joined == date("2025-05-04"))  // 2025年5月4日
        #expect(m["M031"]?.joined == date("2023-12-01"))  // 2023/12/1
        #expect(m["M023"]?.status == .deceased(date("2026-03-04")))
        #expect(m["M024"]?.status == .transferredOut(date("2026-09-01")))
        #expect(m["M017"]?.tags == [.seriouslyIllElderly, .hardship])
        #expect(m["M022"]?.tags == [.frontLine])  // 对口支援
        #expect(m["M015"]?.tags == [.longTermHardship, .hardship])
    }

    @Test func sendTestSaysWhyAChannelURLIsWrongOrUnreachable() throws {
        let noKey = try runCLI(["send-test", "--via", "wecom+http://127.0.0.1:1/cgi-bin/webhook/send"])
        #expect(noKey.status == 2 && noKey.stderr.contains("wecom needs key=…"), "\(noKey.stderr)")
        let notMobile = try runCLI(["send-test", "--via", "dingtalk+http://127.0.0.1:1/robot/send?access_token=t", "--to", "a@b"])
        #expect(notMobile.status == 2 && notMobile.stderr.contains("is not a mobile number"), "\(notMobile.stderr)")
        let refused = try runCLI(["send-test", "--via", "wecom+http://127.0.0.1:1/cgi-bin/webhook/send?key=k"])
        #expect(refused.status == 1 && refused.stderr.contains("not delivered — temporary failure"), "\(refused.stderr)")
        // Without journald, sd_journal_sendv "succeeds" into the void; send-test must not say it was written.
        if !FileManager.default.fileExists(atPath: "/run/systemd/journal/socket") {
            let journal = try runCLI(["send-test", "--via", "journal:"])
            #expect(journal.status == 1 && journal.stderr.contains("the journal cannot be reached"), "\(journal.stderr)")
        }
    }

    @Test func theCommandLineExitsTwoWithTheMessageOnBadInput() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        try replace("roster.csv", in: dir, "1978-03-01", "1978-02-30")
        let r = try runCLI(["plan", "--config", config])
        #expect(r.status == 2)
        #expect(r.stderr.contains("roster.csv row 6, 入党日期: \"1978-02-30\" is not a date"))
        #expect(!r.stderr.contains("InputError"), "no Swift type names in front of a user")
        #expect(r.stdout.isEmpty)
        let usage = try runCLI(["plan", "--config", Example.configPath, "--from", "2027-02-30"])
        #expect(usage.status == 2 && usage.stderr.contains("--from \"2027-02-30\" is not a date"))
        let unknown = try runCLI(["plan", "--frm", "x"])
        #expect(unknown.status == 2)
        let missing = try runCLI(["plan", "--config", dir.url.appendingPathComponent("nope.toml").path])
        #expect(missing.status == 2 && missing.stderr.contains("nope.toml: does not exist"))
    }

    @Test func theCommandLinePrintsJSONLines() throws {
        let r = try runCLI([
            "plan", "--config", Example.configPath, "--now", "2026-11-22", "--from", "2027-02-01",
            "--to", "2027-02-28", "--rule", "political-birthday", "--format", "json",
        ])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for key in [
                "occurrence", "rule", "title", "subject", "org", "responsible", "window_start", "due", "status",
                "reminders",
            ] {
                #expect(obj[key] != nil, "\(key)")
            }
            #expect(obj["rule"] as? String == "political-birthday")
        }
        let table = try runCLI([
            "plan", "--config", Example.configPath, "--now", "2026-11-22", "--from", "2027-02-01",
            "--to", "2027-02-28", "--person", "M001",
        ])
        #expect(table.stdout.contains("到期 2027-02-28（周日）") && table.stdout.contains("政治生日"))
    }

    /// `guanhuai calendar` prints the elapses `systemd-analyze calendar` prints, for the same base time.
    @Test(
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "systemd-analyze is not installed"),
        arguments: [
            ("2026-11-22", "UTC"), ("2026-11-22T09:15:00", "UTC"), ("2026-12-30 23:59:59 UTC", "Asia/Shanghai"),
            ("@1798675200", "Asia/Shanghai"), ("Wed 2026-12-30 10:00", "UTC"), ("26-12-30 10:00:00.5", "Asia/Shanghai"),
            ("2026-12-30 10:00 CST", "Asia/Shanghai"), ("2026-03-29 02:30", "Europe/Berlin"),
        ])
    func calendarCommandAgreesWithSystemdAnalyze(_ base: String, _ zone: String) throws {
        let env = ["TZ": zone, "PATH": "/usr/bin:/bin"]
        func elapses(_ text: String) -> [String] {
            text.split(separator: "\n").filter { $0.contains("Next elapse:") || $0.contains("Iter. #") }
                .map { String($0.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces) }
        }
        for expr in ["*-*-* 08:30", "Mon..Fri *-*-* 18:00", "*-05,11-01"] {
            let ours = try runCLI(["calendar", "--iterations", "3", "--base-time", base, expr], environment: env)
            let theirs = try runTool(
                "/usr/bin/env",
                [
                    "TZ=\(zone)", "/usr/bin/systemd-analyze", "calendar", "--iterations=3",
                    "--base-time=\(base.replacingOccurrences(of: #"^(\d{4}-\d\d-\d\d)T"#, with: "$1 ", options: .regularExpression))", expr,
                ])
            #expect(ours.status == 0)
            #expect(elapses(ours.stdout) == elapses(String(decoding: theirs, as: UTF8.self)), "\(expr) from \(base)")
        }
    }
}
