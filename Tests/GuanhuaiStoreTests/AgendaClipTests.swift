import Foundation
import GuanhuaiTestSupport
import Testing

/// `agenda` clips long names to their column with …: by scalars where each is a character of its own (CJK, ASCII,
/// Latin-1, full-width), by whole characters where one is made of several (a letter and its combining accent).
@Suite struct AgendaClipTests {
    @Test func longNamesAreClippedToTheirColumnAndNoCharacterIsCut() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        let roster = dir.url.appendingPathComponent("roster.csv")
        // A long Chinese name with middle dots, and a name whose é is an e and a combining acute (U+0301).
        let text = try String(contentsOf: roster, encoding: .utf8)
            .replacingOccurrences(of: "M014,秦丽娟,", with: "M014,阿卜杜热合曼··买买提依明,")
            .replacingOccurrences(of: "M003,郑国栋,", with: "M003,Ame\u{301}lie Dupont-Lefebvre,")
        try Data(text.utf8).write(to: roster)
        for what in ["orgs", "roster", "relations"] {
            let r = try runCLI(["import", what, "--config", config])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let agenda = try runCLI(["agenda", "--config", config, "--now", "2026-11-22", "--days", "366"])
        #expect(agenda.status == 0, "\(agenda.stderr)")
        let lines = agenda.stdout.split(separator: "\n").map(String.init)
        // 18 columns for the member: at most 17 of the name and its id, then …: 阿…买 is 16 (each dot takes one),
        // and the next 买 would make 18.
        let chinese = lines.filter { $0.contains("阿卜杜") }
        #expect(!chinese.isEmpty)
        #expect(chinese.allSatisfy { $0.contains("  阿卜杜热合曼··买…   ") }, "\(chinese.first ?? "")")
        // The accented name keeps its é whole (the accent is not cut from its letter).
        let accented = lines.filter { $0.contains("Dupont") }
        #expect(!accented.isEmpty)
        #expect(accented.allSatisfy { $0.unicodeScalars.contains("\u{301}") || $0.contains("\u{e9}") })
        #expect(accented.allSatisfy { $0.contains("Ame\u{301}lie Dupont-Lef…") }, "\(accented.first ?? "")")
    }
}
