import Foundation
import GuanhuaiCalendar
import GuanhuaiCore
import GuanhuaiTestSupport
import Testing

@testable import GuanhuaiConfig

/// Inputs the independent fault tests found crashing or silently accepted (issue "Nothing a user writes …").
@Suite struct HardeningTests {
    static let rules = try! String(contentsOf: Example.root.appendingPathComponent("Config/rules.toml"), encoding: .utf8)

    /// toml++ asserts on these table headers (an abort before; undefined behaviour in a release build). Each now gets
    /// a message with its line, and the process lives to say it.
    @Test(arguments: [
        "[[[ x", "[=]", "[[ ,]]", "[.]", "[#]", "[[a]] b", "[\"unclosed", "[a.]", "[]", "[[]]",
        "\u{FEFF}[\u{0C}-e[", "\u{3000}[=]", " \u{00A0}[[ [x]]",
    ])
    func aBadTableHeaderIsAMessageNotAnAbort(_ header: String) throws {
        let text = HardeningTests.rules + "\n" + header + "\n"
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).count - 1
        #expect(throws: InputError.self) { try RulesFile.parse(text, file: "rules.toml") }
        do { _ = try RulesFile.parse(text, file: "rules.toml") } catch {
            #expect(error.location == "line \(line)", "\(error)")
        }
        #expect(throws: InputError.self) { try OrganizationFile.parse(header + "\n", file: "organization.toml") }
        // The fuzzer's find, byte for byte: a byte-order mark, then "[" and a form feed.
        #expect(throws: InputError.self) {
            try OrganizationFile.parse(String(decoding: [0xEF, 0xBB, 0xBF, 0x5B, 0x0C, 0, 0, 0, 0x2D, 0, 0x65, 0x5B, 0xD8], as: UTF8.self), file: "o.toml")
        }
    }

    /// toml++ also asserts when a value is missing where one must stand (libFuzzer's second find: an array in an
    /// inline table ending `"x",}}}`). Each is a message with its line.
    @Test(arguments: [
        "a = ,", "a = [1, }", "a = [,]", "a = [1,,2]", "a = { b = 1, }", "a = {,}", "a =", "a = # none",
        "n = { kind = \"event\", events = [\n  \"x\",}}}",
    ])
    func aMissingValueIsAMessageNotAnAbort(_ entry: String) throws {
        let text = "[committee]\nid = \"c\"\n" + entry + "\n"
        #expect { try OrganizationFile.parse(text, file: "organization.toml") } throws: { e in
            "\(e)".contains("organization.toml line ") && "\(e)".contains("missing")
        }
    }

    /// What TOML allows stays allowed: empty arrays and tables, a trailing comma in an array, arrays across lines.
    @Test func valuesThatAreThereAreNotMissing() throws {
        let text = "a = []\nb = {}\nc = [1, 2,]\nd = [\n  1, # one\n  2,\n]\ne = { x = [ ], y = { } }\nf = \"=,]\"\n"
        _ = try TOMLStructure(text)
    }

    @Test func headersInsideValuesAndStringsAreNotHeaders() throws {
        // A multi-line array whose lines start with "[", and a multi-line string holding "[[[": valid TOML.
        let text = "a = [\n  [1, 2],\n  [{ x = 1 }],\n]\ns = \"\"\"\n[[[ not a header\n\"\"\"\n[committee]  # the committee\nid = \"c\"\n"
        let s = try TOMLStructure(text)
        #expect(s.headers == [TOMLStructure.Header(line: 8, path: "committee", isArray: false)])
    }

    @Test func aKeyUnderAHeaderWithACommentHasItsLine() throws {
        let text = HardeningTests.rules.replacingOccurrences(of: "[[rule]]\nid = \"glory-50\"", with: "[[rule]]   # 光荣在党50年\nid = \"glory-50\"")
            .replacingOccurrences(of: "years = 50", with: "years = 500")
        do {
            _ = try RulesFile.parse(text, file: "rules.toml")
            Issue.record("a 500-year milestone was accepted")
        } catch {
            #expect(error.location != nil, "\(error)")
            #expect(error.description.contains("years"))
        }
    }

    @Test(arguments: ["07-01+999999999999999d", "05-15+9223372036854775807d", "07-01-367d", "春节+400d"])
    func aHugeOffsetIsRefusedWithItsKey(_ due: String) throws {
        let text = HardeningTests.rules.replacingOccurrences(of: "due = \"07-01\"", with: "due = \"\(due)\"")
        #expect(text != HardeningTests.rules)
        do {
            _ = try RulesFile.parse(text, file: "rules.toml")
            Issue.record("accepted \(due)")
        } catch {
            #expect(error.description.contains("due") && error.location != nil, "\(error)")
        }
    }

    @Test func dateArithmeticNeverTraps() {
        let d = CivilDate(2027, 7, 1)!
        #expect(d.adding(days: .max).adding(days: .max) == d.adding(days: .max))
        #expect(d.adding(days: .min) < d)
        #expect(d.days(until: d.adding(days: .max)) > 0)
        #expect(d.adding(months: .max) > d && d.adding(months: .min) < d)
        #expect(CivilDate(Int.max, 1, 1) == nil)
    }

    @Test func aWindowThatOpensAfterItIsDueIsRefused() throws {
        let text = HardeningTests.rules.replacingOccurrences(of: "window_start = \"06-01\"", with: "window_start = \"07-15\"")
        #expect(text != HardeningTests.rules)
        #expect { try RulesFile.parse(text, file: "rules.toml") } throws: { "\($0)".contains("window_start") }
    }

    @Test func aCalendarThatNeverFiresIsRefused() throws {
        let text = HardeningTests.rules.replacingOccurrences(of: "on = \"*-05,11-01\"", with: "on = \"*-02-30\"")
        #expect(text != HardeningTests.rules)
        #expect { try RulesFile.parse(text, file: "rules.toml") } throws: { "\($0)".contains("never happens") }
    }

    @Test func textThatIsNeitherUTF8NorGB18030SaysWhere() throws {
        let dir = try Scratch()
        var bytes = Array("[guanhuai]\nsend_time = \"08:30\"\nname = \"".utf8)
        bytes += [0xFF, 0xFE, 0xFF, 0x22, 0x0A]
        let path = dir.url.appendingPathComponent("config.toml").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect { try Configuration.load(path: path) } throws: { e in
            let s = "\(e)"
            return s.contains("line 3") && s.contains("byte") && s.contains("UTF-8 in your editor") && !s.contains("CSV UTF-8")
        }
    }

    @Test func aMissingFileIsReportedWhereConfigNamesIt() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        try FileManager.default.removeItem(at: dir.url.appendingPathComponent("relations.csv"))
        #expect { try Configuration.load(path: config) } throws: { e in
            let s = "\(e)"
            return s.hasPrefix(config + " line ") && s.contains("[files], relations") && s.contains("does not exist")
        }
        try FileManager.default.removeItem(at: dir.url.appendingPathComponent("rules.toml"))
        #expect { try Configuration.load(path: config) } throws: { "\($0)".contains("[files], rules") }
    }

    @Test func anSMTPUserWithoutTLSIsRefusedAtLoad() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        try appendTOML(
            """

            [channels.mail]
            type = "smtp"
            host = "127.0.0.1"
            security = "none"
            user = "u"
            password_credential = "p"
            from = "a@example.edu.cn"
            """, to: config)
        #expect { try Configuration.loadSettings(path: config) } throws: { "\($0)".contains("in clear") }
    }

    @Test func rosterRowsThatCannotBeTrueAreRefused() throws {
        let org = Example.config.organization
        let header = "编号,姓名,性别,出生日期,入党日期,转正日期,所在支部,邮箱,手机,标签,状态\n"
        let branch = try #require(org.units(of: .branch).first).name
        let rows = [
            "X1,甲,男,1990-01-01,1985-01-01,,\(branch),,,,正常",  // joined before birth
            "X2,乙,男,1990-01-01,2030-01-01,,\(branch),,,,正常",  // joined in the future
            "X4,丁,男,1890-01-01,2015-01-01,,\(branch),,,,正常",  // born before 1901
        ]
        let today = CivilDate(2026, 12, 3)!
        do {
            _ = try RosterFile.parse(
                text: header + rows.joined(separator: "\n") + "\n", file: "roster.csv",
                organization: org, today: today)
            Issue.record("accepted")
        } catch {
            let text = "\(error)"
            #expect(text.contains("row 2, 入党日期") && text.contains("date of birth"), "\(text)")
            #expect(text.contains("row 3, 入党日期") && text.contains("future"), "\(text)")
            #expect(text.contains("row 4, 出生日期") && text.contains("out of range"), "\(text)")
        }
    }

    @Test func aLongNameIsRefusedWithItsRowAndColumn() throws {
        let org = Example.config.organization
        let branch = try #require(org.units(of: .branch).first).name
        let text = "编号,姓名,入党日期,所在支部\nX1,甲,2015-01-01,\(branch)\nX3,\(String(repeating: "名", count: 65)),2015-01-01,\(branch)\n"
        #expect { try RosterFile.parse(text: text, file: "roster.csv", organization: org) } throws: {
            "\($0)".contains("row 3, 姓名") && "\($0)".contains("at most 64")
        }
    }

    @Test func aTenMegabyteCellIsRefusedByRow() throws {
        let org = Example.config.organization
        let branch = try #require(org.units(of: .branch).first).name
        let text = "编号,姓名,入党日期,所在支部,标签\nX1,甲,2015-01-01,\(branch),\(String(repeating: "a", count: 10_000_000))\n"
        #expect { try RosterFile.parse(text: text, file: "roster.csv", organization: org) } throws: { "\($0)".contains("row 2") }
    }

    /// Dates that cannot have happened yet, in the files config.toml names: `check` and `plan` refuse them by row.
    @Test func aChildBornOrAnEventDatedInTheFutureIsRefusedThroughTheConfiguration() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        let now = Example.noon("2026-12-03")
        #expect(throws: Never.self) { try Configuration.load(path: config, now: now) }
        let relations = dir.url.appendingPathComponent("relations.csv")
        let original = try String(contentsOf: relations, encoding: .utf8)
        try Data((original + "未成年子女,M025,K025-9,金小未,2030-01-01,\n").utf8).write(to: relations)
        #expect { try Configuration.load(path: config, now: now) } throws: { e in
            let s = "\(e)"
            return s.contains("relations.csv row 16, 出生日期") && s.contains("2030-01-01 is in the future")
        }
        try Data(original.utf8).write(to: relations)
        let events = dir.url.appendingPathComponent("events.csv")
        try Data((try String(contentsOf: events, encoding: .utf8) + "E2030-001,M017,患病住院,2030-01-01,,,\n").utf8).write(to: events)
        #expect { try Configuration.load(path: config, now: now) } throws: { e in
            "\(e)".contains("events.csv row") && "\(e)".contains("日期: 2030-01-01 is in the future")
        }
        // The daemon loads without `now` (its clock may be a test clock set in the past): the same files load.
        #expect(throws: Never.self) { try Configuration.load(path: config) }
    }

    @Test func aRosterLongerThanMaxMembersIsRefusedAtTheFirstRowTooMany() throws {
        let org = Example.config.organization
        let branch = try #require(org.units(of: .branch).first).name
        let rows = (1...3).map { "X\($0),甲\($0),2015-01-01,\(branch)" }.joined(separator: "\n")
        let text = "编号,姓名,入党日期,所在支部\n" + rows + "\n"
        #expect(try RosterFile.parse(text: text, file: "roster.csv", organization: org, maxMembers: 3).count == 3)
        #expect { try RosterFile.parse(text: text, file: "roster.csv", organization: org, maxMembers: 2) } throws: {
            "\($0)".contains("roster.csv row 4") && "\($0)".contains("max_members = 2")
        }
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        let toml = try String(contentsOfFile: config, encoding: .utf8)
        try Data(toml.replacingOccurrences(of: "[files]\n", with: "[files]\nmax_members = 10\n").utf8).write(to: URL(fileURLWithPath: config))
        #expect { try Configuration.load(path: config) } throws: { "\($0)".contains("max_members = 10") }
    }
}

/// The roster's work-app columns (企业微信, 钉钉, 飞书) and 提醒方式: read, checked, and a userid never shared.
@Suite struct WorkAppColumnTests {
    @Test func theColumnsAreReadAndCheckedAndAUseridIsNeverShared() throws {
        let org = Example.config.organization
        let branch = try #require(org.units(of: .branch).first).name
        let header = "编号,姓名,入党日期,所在支部,企业微信,钉钉,飞书,提醒方式\n"
        let good = try RosterFile.parse(
            text: header + "X1,甲,2015-01-01,\(branch),zhangsan,ding-1,ou_7d8a,仅应用\r\nX2,乙,2015-01-01,\(branch),,,,\r\n", file: "roster.csv",
            organization: org)
        #expect(good[0].apps == AppUserIDs(wecom: "zhangsan", dingtalk: "ding-1", feishu: "ou_7d8a") && good[0].reach == .app)
        #expect(good[1].apps.isEmpty && good[1].reach == nil)
        let rows = [
            "X1,甲,2015-01-01,\(branch),zhang san,,,",  // a space
            "X2,乙,2015-01-01,\(branch),lisi|wangwu,,,",  // two recipients in one
            "X3,丙,2015-01-01,\(branch),lisi,,,",
            "X4,丁,2015-01-01,\(branch),lisi,,,",  // lisi again
            "X5,戊,2015-01-01,\(branch),,,,短信",
        ]
        #expect { try RosterFile.parse(text: header + rows.joined(separator: "\n"), file: "roster.csv", organization: org) } throws: { e in
            let text = "\(e)"
            return text.contains("row 2, 企业微信") && text.contains("row 3, 企业微信") && text.contains("row 5, 企业微信")
                && text.contains("row 4") && text.contains("row 6, 提醒方式")
        }
    }

    @Test func theOrganisationFileTakesUseridsAndReachAndRefusesASharedOne() throws {
        let dir = try Scratch()
        let base = """
            [committee]
            id = "dw"
            name = "党委"
            secretary = "L01"
            organization_department = "ZZB"

            [[person]]
            id = "ZZB"
            name = "组织部"
            wecom_userid = "zzb"
            feishu_user_id = "ou_zzb"
            reach = "仅应用"

            [[person]]
            id = "L01"
            name = "书记"
            wecom_userid = "WECOM"

            """
        let ok = try dir.write("organization.toml", base.replacingOccurrences(of: "WECOM", with: "shuji"))
        let org = try OrganizationFile.load(path: ok)
        #expect(org.people["ZZB"]?.feishuUserID == "ou_zzb" && org.people["ZZB"]?.reach == .app)
        let shared = try dir.write("shared.toml", base.replacingOccurrences(of: "WECOM", with: "zzb"))
        #expect { try OrganizationFile.load(path: shared) } throws: { "\($0)".contains("wecom_userid") && "\($0)".contains("also person ZZB") }
    }
}
