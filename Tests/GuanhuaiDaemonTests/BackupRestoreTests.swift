import Foundation
import GuanhuaiCore
import GuanhuaiStore
import GuanhuaiTestSupport
import Testing

/// `guanhuai backup` and `guanhuai restore` against a running guanhuaid and aiosmtpd (issue 31): yesterday's backup
/// restored after the daemon was killed in the middle of today's batch sends no one a reminder twice.
@Suite(.serialized) struct BackupRestoreTests {
    static let yesterday = beijing("2027-05-31 08:29:57")
    static let yesterdaySend = beijing("2027-05-31 08:30:00")
    static let today = beijing("2027-06-01 08:29:57")
    static let todaySend = beijing("2027-06-01 08:30:00")

    @Test func yesterdaysBackupRestoredAfterAKillMidBatchSendsNoOneTheSameReminderTwice() async throws {
        let rig = try Rig()
        let hold = try rig.dir.write("hold", "")
        // Yesterday's batch goes through; today's server stores two more and then holds the next one unanswered.
        let yesterdayTotal = expectedRecipients(after: Self.yesterday, through: Self.yesterdaySend).values.reduce(0, +)
        let server = try rig.smtp(holdAfter: yesterdayTotal + 2, holdFile: hold)
        try setClock(rig.clock, Self.yesterday)
        var daemon = try rig.daemon("yesterday")
        #expect(
            try await eventually(30) {
                (try? rig.database.processedThrough()).flatMap { $0 }.map { $0 >= Self.yesterdaySend } == true && rig.mailSettled
            }, "\(daemon.stderr)")
        #expect(rig.messages.count == yesterdayTotal)

        // The backup, taken while the daemon runs: 0600, checked, stamped.
        let backup = rig.dir.url.appendingPathComponent("yesterday.sqlite").path
        let made = try runCLI(["backup", "--config", rig.config, backup])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stdout.contains("integrity_check"))
        let attributes = try FileManager.default.attributesOfItem(atPath: backup)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(!FileManager.default.fileExists(atPath: backup + "-wal"), "the copy is one self-contained file")

        // Restoring under a running daemon is refused, and changes nothing.
        let refused = try runCLI(["restore", "--config", rig.config, backup])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("guanhuaid is running") && refused.stderr.contains("nothing was changed"), "\(refused.stderr)")

        // Today: two delivered, the third in flight, and the daemon killed.
        try setClock(rig.clock, Self.today)
        #expect(try await eventually(30) { rig.messages.count >= yesterdayTotal + 2 }, "\(daemon.stderr)")
        try await Task.sleep(for: .milliseconds(500))
        daemon.signal(SIGKILL)
        _ = await daemon.waitExit(timeout: 5)
        let beforeRestore = try Set(rig.messages.map { try rig.headers($0)["Message-ID"] ?? "" })
        #expect(beforeRestore.count == yesterdayTotal + 2)

        let restored = try runCLI(["restore", "--config", rig.config, backup])
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(restored.stdout.contains("kept as"), "\(restored.stdout)")
        let kept = try FileManager.default.contentsOfDirectory(atPath: rig.dir.url.appendingPathComponent("state").path)
            .filter { $0.hasPrefix("guanhuai.sqlite.replaced-") }
        #expect(kept.count == 1, "the replaced database is kept beside it")

        try FileManager.default.removeItem(atPath: hold)
        daemon = try rig.daemon("restored")
        let expected = expectedRecipients(after: Self.yesterday, through: Self.todaySend)
        let total = expected.values.reduce(0, +)
        #expect(
            try await eventually(40) { rig.messages.count >= total && rig.mailSettled }, "\(daemon.stderr)")
        try await Task.sleep(for: .seconds(2))  // anything sent twice would arrive by now
        let ids = try rig.messages.map { try rig.headers($0)["Message-ID"] ?? "" }
        let counts = Dictionary(grouping: ids, by: { $0 }).mapValues(\.count)
        #expect(Set(ids).count == total, "nothing lost")
        for id in beforeRestore { #expect(counts[id] == 1, "\(id) was delivered before the kill and must not go again") }
        #expect(ids.count <= total + 1, "at most the message in flight at the kill repeated: \(ids.count) for \(total)")
        daemon.signal(SIGTERM)
        _ = await daemon.waitExit(timeout: 10)
        _ = server
    }

    @Test func aBackupFromANewerSchemaOrDamagedIsRefusedAndNothingChanges() throws {
        let dir = try Scratch()
        let db = try AppDatabase(path: dir.databasePath)
        let file = dir.url.appendingPathComponent("b.sqlite").path
        let info = try db.backup(to: file, now: 1_800_000_000)
        #expect(info.schema == AppDatabase.schemaVersions.last)
        #expect(info.version == GuanhuaiVersion.string)
        #expect(try AppDatabase.inspectBackup(file) == info)
        #expect(throws: StoreError.self) { _ = try db.backup(to: file, now: 1_800_000_000) }  // never over a file

        // From a guanhuai with a migration this one does not know.
        let newer = dir.url.appendingPathComponent("newer.sqlite").path
        try FileManager.default.copyItem(atPath: file, toPath: newer)
        _ = try runTool(
            "/usr/bin/sqlite3", [newer, "INSERT INTO grdb_migrations VALUES ('v99'); UPDATE guanhuai_backup SET value = 'v99' WHERE key = 'schema'"])
        do {
            _ = try AppDatabase.restore(from: newer, into: dir.databasePath, now: 1_800_000_100, stamp: "x")
            Issue.record("a newer backup was restored")
        } catch {
            #expect("\(error)".contains("newer than this one") && "\(error)".contains("nothing was changed"), "\(error)")
        }
        // Damaged: a page overwritten in the middle.
        let damaged = dir.url.appendingPathComponent("damaged.sqlite").path
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        for i in 8192..<min(bytes.count, 16384) { bytes[i] = 0x5A }
        try bytes.write(to: URL(fileURLWithPath: damaged))
        #expect(throws: StoreError.self) { _ = try AppDatabase.restore(from: damaged, into: dir.databasePath, now: 1_800_000_100, stamp: "y") }
        // A plain database is not a backup.
        #expect(throws: StoreError.self) { _ = try AppDatabase.inspectBackup(dir.databasePath) }
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.url.appendingPathComponent("state").path)
        #expect(!left.contains { $0.contains("replaced") || $0.contains("restoring") }, "\(left)")
    }

    @Test func backupIntoADirectoryKeepsTheNewestAndPostgreSQLIsPointedAtItsTools() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        #expect(try runCLI(["import", "orgs", "--config", config]).status == 0)
        let copies = dir.url.appendingPathComponent("copies")
        try FileManager.default.createDirectory(at: copies, withIntermediateDirectories: true)
        for _ in 0..<3 {
            let r = try runCLI(["backup", "--config", config, copies.path, "--keep", "2"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: copies.path).sorted()
        #expect(names.count == 2, "\(names)")
        #expect(names.allSatisfy { $0.hasPrefix("guanhuai-") && $0.hasSuffix(".sqlite") })
        let bad = try runCLI(["backup", "--config", config, dir.url.appendingPathComponent("one.sqlite").path, "--keep", "2"])
        #expect(bad.status == 2 && bad.stderr.contains("needs a directory"), "\(bad.stderr)")

        let pg = try dir.write(
            "pg.toml",
            try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(
                of: #"path = "state/guanhuai.sqlite""#, with: #"url = "postgresql://guanhuai@127.0.0.1:5432/guanhuai""#))
        let onPG = try runCLI(["backup", "--config", pg, copies.path])
        #expect(onPG.status == 2 && onPG.stderr.contains("pg_dump"), "\(onPG.stdout)\(onPG.stderr)")
    }
}
