import Foundation
import GuanhuaiTestSupport
import Testing

/// `plan --format json` is read by scripts: its bytes are pinned. The fixture was written by the serializer that built
/// each line as a String from the whole plan (commit 229b863); the streaming writer must give the same bytes.
@Suite struct PlanOutputTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/plan-2026-2027H1.jsonl")

    @Test func planJSONIsByteForByteThePinnedOutput() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        // A title needing every kind of escape: a quote, a backslash, a tab and a control character.
        let rules = dir.url.appendingPathComponent("rules.toml")
        let text = try String(contentsOf: rules, encoding: .utf8).replacingOccurrences(
            of: "title = \"七一走访慰问\"", with: #"title = "七一走访慰问 \"重点\" \\ 附\t注\u0001""#)
        try Data(text.utf8).write(to: rules)
        for what in ["orgs", "roster", "relations"] {
            let r = try runCLI(["import", what, "--config", config])
            #expect(r.status == 0, "\(r.stderr)")
        }
        // Closures of each kind: an event's visit opened, a talk done by someone, a subsidy paid with an amount.
        for args in [
            ["event", "add", "M014", "患病住院", "--date", "2026-11-20", "--note", "胃出血住院"],
            ["done", "branch-annual-talk:2026:M014", "--date", "2026-03-02", "--by", "M001", "--note", "谈心"],
            ["done", "monthly-subsidy:2026-02:M015", "--date", "2026-02-10", "--amount", "500.50"],
        ] {
            let r = try runCLI(args + ["--config", config])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let r = try runCLI([
            "plan", "--config", config, "--now", "2026-11-22", "--from", "2026-01-01", "--to", "2027-06-30",
            "--format", "json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let expected = try String(contentsOf: Self.fixture, encoding: .utf8)
        let got = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let want = expected.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(got.count == want.count)
        for (i, (g, w)) in zip(got, want).enumerated() where g != w {
            Issue.record("line \(i + 1) differs:\n got  \(g)\n want \(w)")
            break
        }
        #expect(r.stdout == expected)
        // What the pin covers: escapes, a null subject, closures with and without an amount, reminders.
        #expect(expected.contains(#"\"重点\" \\ 附\t注\u0001"#))
        #expect(expected.contains(#""amount_fen":50050"#) && expected.contains(#""closed_by":"M001""#))
        #expect(expected.contains(#""subject":null"#))
    }
}
