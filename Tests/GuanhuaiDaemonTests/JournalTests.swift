import Foundation
import GuanhuaiTestSupport
import Testing

/// Journal entries read back from a real journald (../shared/systemd.md, recipe 2).
@Suite struct JournalTests {
    @Test(
        .enabled(
            if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/lib/systemd/systemd-journald"),
            "a private journald needs root and systemd-journald"))
    func remindersAndLogsAreStructuredEntriesWithoutNotes() async throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        // An illness recorded with a sensitive note on the morning of the send time: it is in the digest, and its
        // note must never reach the journal.
        let events = dir.url.appendingPathComponent("events.csv")
        try Data((try String(contentsOf: events, encoding: .utf8) + "E-T1,M014,患病住院,2027-06-01,,,胃出血住院治疗\n").utf8)
            .write(to: events)
        let clock = try dir.write("clock", "\(beijing("2027-06-01 08:29:57"))\n")
        let out = dir.url.appendingPathComponent("journal.json").path
        let script = daemonServers.appendingPathComponent("with_journald.sh").path
        _ = try runTool(
            "/usr/bin/env",
            [
                "GUANHUAI_TEST_CLOCK_FILE=\(clock)", "WATCHDOG_USEC=2000000", script, out,
                "/usr/bin/timeout", "-s", "TERM", "9", daemonPath, "--config", config,
            ])
        let entries = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let reminders = entries.filter { $0["GUANHUAI_RULE"] != nil }
        #expect(!reminders.isEmpty, "\(entries.count) entries")
        let visit = try #require(reminders.first { ($0["GUANHUAI_OCCURRENCE"] as? String) == "must-visit:E-T1" })
        #expect(visit["GUANHUAI_RULE"] as? String == "must-visit")
        #expect(visit["GUANHUAI_RECIPIENT"] as? String == "M001")
        #expect(visit["GUANHUAI_CHANNEL"] as? String == "journal")
        #expect(visit["MESSAGE_ID"] as? String == "6f1d2a8c4b7e4f0a9c3d5e7f8a1b2c3d")
        #expect(visit["SYSLOG_IDENTIFIER"] as? String == "guanhuaid")
        #expect((visit["MESSAGE"] as? String)?.contains("四必访") == true)
        // Log records from the swift-log handler carry priority, code location and our fields.
        let sent = try #require(entries.first { ($0["MESSAGE"] as? String) == "reminder sent" })
        #expect(sent["PRIORITY"] as? String == "6")
        #expect(sent["MESSAGE_ID"] as? String == "a3c5e7f9b1d34f6a8c0e2a4b6d8f0a1c")
        #expect((sent["CODE_FILE"] as? String)?.hasSuffix("DispatcherService+Recording.swift") == true)
        #expect(sent["CODE_LINE"] != nil && sent["CODE_FUNC"] != nil && sent["GUANHUAI_CHANNEL"] != nil)
        // Who and what, never why: the note appears nowhere in the journal.
        let everything = try String(contentsOfFile: out, encoding: .utf8)
        #expect(!everything.contains("胃出血"))
    }
}
