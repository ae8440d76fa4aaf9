import Foundation
import GuanhuaiCalendar
import GuanhuaiCore
import GuanhuaiTestSupport
import Testing

@testable import GuanhuaiConfig

/// Files as offices save them (issue 28, defect 1): Notepad's CRLF, an old editor's lone CR, a mix after pasting,
/// a BOM, tabs, trailing spaces, no last newline. Every shipped example file, so rewritten, loads and plans exactly
/// what the original does, and a mistake in it is reported at the same line.
@Suite struct OfficeFileTests {
    /// A whole-file rewrite of one file's bytes, as an editor on another system would save it.
    enum Mutation: String, CaseIterable, CustomTestStringConvertible {
        case crlf, cr, mixed, bom, bomCRLF, trailingSpaces, tabs, noFinalNewline

        var testDescription: String { rawValue }

        func apply(_ text: String, file: String) -> [UInt8] {
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let toml = file.hasSuffix(".toml")
            switch self {
            case .crlf, .bomCRLF:
                let bytes = Array(lines.joined(separator: "\r\n").utf8)
                return self == .bomCRLF ? [0xEF, 0xBB, 0xBF] + bytes : bytes
            case .cr: return Array(lines.joined(separator: "\r").utf8)
            case .mixed:
                var out = ""
                for (i, l) in lines.enumerated() {
                    out += l
                    if i < lines.count - 1 { out += ["\r\n", "\n", "\r"][i % 3] }
                }
                return Array(out.utf8)
            case .bom: return [0xEF, 0xBB, 0xBF] + Array(text.utf8)
            case .trailingSpaces:
                // Not inside a TOML multi-line string or a template: there a space is text.
                lines = lines.map { $0.isEmpty || $0.hasSuffix("\"\"\"") ? $0 : $0 + "  \t " }
                return Array(lines.joined(separator: "\n").utf8)
            case .tabs:
                lines = lines.map { l in
                    if toml {
                        // `key = value` → `key\t=\tvalue`, and indentation by tabs.
                        let indent = l.prefix { $0 == " " }
                        let rest = l.dropFirst(indent.count)
                        return String(repeating: "\t", count: indent.isEmpty ? 0 : 1)
                            + (rest.hasPrefix("#") ? String(rest) : rest.replacingOccurrences(of: " = ", with: "\t=\t"))
                    }
                    return l.replacingOccurrences(of: ",", with: "\t,\t")  // CSV: a tab either side of each cell
                }
                return Array(lines.joined(separator: "\n").utf8)
            case .noFinalNewline:
                var t = Substring(text)
                while t.last == "\n" { t.removeLast() }
                return Array(t.utf8)
            }
        }
    }

    static let files = [
        "config.toml", "rules.toml", "organization.toml", "holidays.toml", "roster.csv", "relations.csv",
        "events.csv",
    ]

    /// What a plan is, for comparing two: every occurrence with its dates, people and reminders.
    static func signature(_ c: Configuration) -> [String] {
        let from = CivilDate(2026, 1, 1)!
        return Planner(c.planInput()).plan(PlanQuery(from: from, to: from.adding(days: 730), now: Example.noon("2026-11-22")))
            .map { o in
                "\(o.id) \(o.windowStart) \(o.due) \(o.status) \(o.responsible) \(o.subject ?? "-") "
                    + o.reminders.map { "\($0.at)/\($0.kind)/\($0.to.joined(separator: "+"))" }.joined(separator: ",")
            }
    }

    static let original = signature(Example.config)

    @Test(arguments: Mutation.allCases)
    func everyExampleFileLoadsAndPlansTheSame(_ m: Mutation) throws {
        let scratch = try Scratch()
        let config = try scratch.exampleCopy()
        for f in OfficeFileTests.files {
            let path = scratch.url.appendingPathComponent(f)
            let text = try String(contentsOf: path, encoding: .utf8)
            try Data(m.apply(text, file: f)).write(to: path)
        }
        let loaded = try Configuration.load(path: config)
        let plan = OfficeFileTests.signature(loaded)
        #expect(plan.count == OfficeFileTests.original.count)
        #expect(plan == OfficeFileTests.original, "first difference: \(zip(plan, OfficeFileTests.original).first { $0 != $1 }.map { "\($0) vs \($1)" } ?? "-")")
        #expect(loaded.organization.units.mapValues(\.name) == Example.config.organization.units.mapValues(\.name))
        #expect(loaded.members.map(\.name) == Example.config.members.map(\.name))
    }

    /// A mistake is reported at the same line whatever the line ends: the crash of issue 28 was here (the key's line
    /// looked up in text split on "\n", which a CRLF file has none of as a character of its own).
    @Test(arguments: Mutation.allCases)
    func aMistakeIsAtTheSameLine(_ m: Mutation) throws {
        let scratch = try Scratch()
        let config = try scratch.exampleCopy()
        let text = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "send_time = \"08:30\"", with: "send_time = \"8h30\"")
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("8h30") }! + 1
        try Data(m.apply(text, file: "config.toml")).write(to: URL(fileURLWithPath: config))
        #expect { try Configuration.load(path: config) } throws: { e in
            "\(e)".contains("line \(line)") || "\(e)".contains("第 \(line) 行")
        }
        // The same for a rules file and a CSV row.
        let rules = scratch.url.appendingPathComponent("rules.toml")
        let rulesText = try String(contentsOf: rules, encoding: .utf8).replacingOccurrences(of: "years = 50", with: "years = 500")
        let rulesLine = rulesText.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("years = 500") }! + 1
        try Data(m.apply(rulesText, file: "rules.toml")).write(to: rules)
        #expect(throws: InputError.self) { try RulesFile.load(path: rules.path) }
        do { _ = try RulesFile.load(path: rules.path) } catch { #expect(error.location == "line \(rulesLine)", "\(error)") }
    }

    @Test(arguments: Mutation.allCases)
    func aBadRosterRowIsTheSameRow(_ m: Mutation) throws {
        let roster = try String(contentsOf: Example.root.appendingPathComponent("Config/roster.csv"), encoding: .utf8)
        var lines = roster.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[4] = lines[4].replacingOccurrences(of: "1950-07-21", with: "1950-13-21")
        let bytes = m.apply(lines.joined(separator: "\n"), file: "roster.csv")
        let (text, _) = try TextFile.decode(Data(bytes), file: "roster.csv")
        #expect { try RosterFile.parse(text: text, file: "roster.csv", organization: Example.config.organization) } throws: { e in
            "\(e)".contains("row 5") || "\(e)".contains("第 5 行")
        }
    }

    /// UTF-16, which Notepad calls "Unicode": refused, saying what it is and what to do — never read as garbage.
    @Test(arguments: [[UInt8(0xFF), 0xFE], [0xFE, 0xFF], []])
    func utf16IsRefusedWithAClearMessage(_ bom: [UInt8]) throws {
        let text = "[guanhuai]\ntime_zone = \"Asia/Shanghai\"\n"
        var bytes = bom
        for u in text.utf16 {
            let pair: [UInt8] = [UInt8(u & 0xFF), UInt8(u >> 8)]
            bytes += bom == [0xFE, 0xFF] ? pair.reversed() : pair
        }
        #expect { try TextFile.decode(Data(bytes), file: "config.toml") } throws: { e in
            "\(e)".contains("UTF-16") && "\(e)".contains("UTF-8")
        }
    }

    @Test func lineEndsAreNormalisedInOnePass() {
        var b = Array("a\r\nb\rc\n\r\nd\r".utf8)
        TextFile.normalizeLineEnds(&b)
        #expect(String(decoding: b, as: UTF8.self) == "a\nb\nc\n\nd\n")
        #expect(TextFile.normalized("x\r\n") == "x\n")
        // GB18030 keeps its bytes: 0x0D never stands inside a character.
        var g: [UInt8] = [0xD6, 0xD0, 0x0D, 0x0A, 0xCE, 0xC4]
        TextFile.normalizeLineEnds(&g)
        #expect(g == [0xD6, 0xD0, 0x0A, 0xCE, 0xC4])
    }
}

/// `plan --now T` plans a scenario as it would stand at T: a file's date is in the future only after both T and
/// the wall clock (issue 28, defect 7), so a scenario in a later year loads, and a plan of the past still does.
@Suite struct NowIsTodayForEveryCheckTests {
    @Test func anEventBeforeNowButAfterTheWallClockIsAccepted() throws {
        let scratch = try Scratch()
        let config = try scratch.exampleCopy()
        let later = CivilDate(Calendar(identifier: .gregorian).component(.year, from: Date()) + 2, 3, 1)!
        let events = scratch.url.appendingPathComponent("events.csv")
        let text = try String(contentsOf: events, encoding: .utf8) + "E-late,M003,患病住院,\(later.adding(days: -10)),,,\n"
        try Data(text.utf8).write(to: events)
        let at = try runCLI([
            "plan", "--config", config, "--now", later.description, "--from", later.adding(days: -30).description,
            "--to", later.adding(days: 60).description, "--format", "json", "--rule", "must-visit",
        ])
        #expect(at.status == 0, "\(at.stderr)")
        #expect(at.stdout.contains("\"must-visit:E-late"), "\(at.stdout)")
        // Without --now, the wall clock is today and the same file is refused as dated in the future.
        let now = try runCLI(["plan", "--config", config])
        #expect(now.status == 2 && now.stderr.contains("events.csv"), "\(now.stderr)")
    }
}
