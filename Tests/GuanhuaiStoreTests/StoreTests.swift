import Foundation
import GRDB
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiTestSupport
import Testing

@testable import GuanhuaiStore

let actor = Actor(name: "tester", now: 1_795_000_000)
let today = CivilDate(2026, 11, 22)!

@Suite struct StoreTests {
    @Test func importReimportDryRunAndPrune() throws {
        let dir = try Scratch()
        let db = try AppDatabase(path: dir.databasePath)
        let members = Example.config.members
        let dry = try db.importRoster(members, dryRun: true, prune: false, today: today, actor: actor)
        #expect(dry.added.count == 40 && dry.dryRun)
        #expect(try db.memberCount() == 0, "a dry run writes nothing")

        let first = try db.importRoster(members, dryRun: false, prune: false, today: today, actor: actor)
        #expect(first.added.count == 40 && first.changed.isEmpty && first.unchanged == 0)
        let again = try db.importRoster(members, dryRun: false, prune: false, today: today, actor: actor)
        #expect(again.added.isEmpty && again.changed.isEmpty && again.unchanged == 40)

        var edited = members.filter { $0.id != "M040" }
        edited[0].email = "new@example.edu.cn"
        let third = try db.importRoster(edited, dryRun: false, prune: false, today: today, actor: actor)
        #expect(third.changed == ["M001"] && third.missing == ["M040"] && third.pruned.isEmpty)
        #expect(try db.snapshot().members.first { $0.id == "M040" }?.status == .active, "never deleted silently")

        let pruned = try db.importRoster(edited, dryRun: false, prune: true, today: today, actor: actor)
        #expect(pruned.pruned == ["M040"])
        #expect(try db.snapshot().members.first { $0.id == "M040" }?.status == .transferredOut(today))
        #expect(try db.auditLog().map(\.action).filter { $0 == "import-roster" }.count == 4)
    }

    @Test func aRosterWithABadRowImportsNothingAndListsEveryBadRow() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        let roster = dir.url.appendingPathComponent("roster.csv")
        var text = try String(contentsOf: roster, encoding: .utf8)
        text = text.replacingOccurrences(of: "1978-03-01", with: "1978/3/32")
            .replacingOccurrences(of: "1969-03-31", with: "yesterday")
        try Data(text.utf8).write(to: roster)
        let r = try runCLI(["import", "roster", "--config", config])
        #expect(r.status == 2)
        #expect(r.stderr.contains("row 6, 入党日期") && r.stderr.contains("row 10, 入党日期"), "\(r.stderr)")
        let db = try AppDatabase(path: dir.databasePath)
        #expect(try db.memberCount() == 0)
    }

    @Test func theFilesAreNotWorldReadable() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        #expect(try runCLI(["import", "roster", "--config", config]).status == 0)
        let fm = FileManager.default
        let dirMode = try fm.attributesOfItem(atPath: dir.url.appendingPathComponent("state").path)[.posixPermissions] as? Int
        #expect(dirMode == 0o700)
        for suffix in ["", "-wal", "-shm"] {
            let mode = try fm.attributesOfItem(atPath: dir.databasePath + suffix)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(suffix)")
        }
    }

    @Test func eventsAndCompletionsFromTheCommandLine() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        for what in ["orgs", "roster", "relations"] { #expect(try runCLI(["import", what, "--config", config]).status == 0) }
        let add = try runCLI(["event", "add", "M014", "患病住院", "--date", "2026-11-20", "--note", "胃出血住院", "--config", config])
        #expect(add.status == 0, "\(add.stderr)")
        let list = try runCLI(["event", "list", "--config", config])
        #expect(list.stdout.contains("患病住院") && !list.stdout.contains("胃出血"), "notes only with --notes")

        func planStatus(_ id: String) throws -> String? {
            let r = try runCLI([
                "plan", "--config", config, "--now", "2026-11-22", "--from", "2026-01-01", "--to",
                "2026-12-31", "--format", "json",
            ])
            for line in r.stdout.split(separator: "\n") {
                let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                if o["occurrence"] as? String == id { return o["status"] as? String }
            }
            return nil
        }
        #expect(try planStatus("branch-annual-talk:2026:M014") == "pending")
        let done = try runCLI([
            "done", "branch-annual-talk:2026:M014", "--date", "2026-03-02", "--by", "M001",
            "--note", "谈心", "--config", config,
        ])
        #expect(done.status == 0, "\(done.stderr)")
        #expect(try planStatus("branch-annual-talk:2026:M014") == "done")
        // The event recorded above opened a visit.
        #expect(try planStatus("must-visit:E1") != nil)
        let waive = try runCLI(["waive", "must-visit:E1", "--reason", "家属婉拒探望", "--config", config])
        #expect(waive.status == 0, "\(waive.stderr)")
        #expect(try planStatus("must-visit:E1") == "waived")
    }

    @Test func badRequestsExitTwoAndWriteNothing() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        #expect(try runCLI(["import", "roster", "--config", config]).status == 0)
        let cases: [([String], String)] = [
            (["event", "add", "M999", "illness", "--date", "2026-11-01"], "unknown member \"M999\""),
            (["event", "add", "M014", "sniffles", "--date", "2026-11-01"], "unknown event kind \"sniffles\""),
            (["event", "add", "M014", "death", "--date", "2099-01-01"], "record an event once it has happened"),
            (["event", "add", "M014", "illness", "--date", "1979-01-01"], "is before 秦丽娟 was born"),
            (["event", "add", "M014", "约谈", "--date", "2026-11-01"], "names the person asked"),
            (["done", "branch-annual-talk:2026:M999"], "unknown occurrence"),
            (["done", "no-such-rule:2026:M014"], "unknown occurrence"),
            (["done", "branch-annual-talk:2026:M014", "--date", "2099-01-01"], "record it once it is done"),
            (["waive", "branch-annual-talk:2026:M014", "--reason", " "], "must say why"),
        ]
        for (args, message) in cases {
            let r = try runCLI(args + ["--config", config])
            #expect(r.status == 2, "\(args)")
            #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
        }
        let db = try AppDatabase(path: dir.databasePath)
        let snap = try db.snapshot()
        #expect(snap.events.isEmpty && snap.completions.isEmpty)
    }

    @Test func aDatabaseLockedBeyondTheBusyTimeoutIsAClearErrorAndNothingIsWritten() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy(busyTimeoutMilliseconds: 300)
        #expect(try runCLI(["import", "roster", "--config", config]).status == 0)
        let holder = try DatabaseQueue(path: dir.databasePath)
        try holder.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN IMMEDIATE")
            let r = try runCLI(["event", "add", "M014", "illness", "--date", "2026-11-01", "--config", config])
            #expect(r.status == 2)
            #expect(r.stderr.contains("stayed locked by another process beyond the busy timeout"), "\(r.stderr)")
            try db.execute(sql: "ROLLBACK")
        }
        #expect(try AppDatabase(path: dir.databasePath).snapshot().events.isEmpty)
    }

    @Test func aDatabaseFromANewerVersionIsRefused() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        #expect(try runCLI(["import", "roster", "--config", config]).status == 0)
        let q = try DatabaseQueue(path: dir.databasePath)
        try q.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99')") }
        let r = try runCLI(["event", "add", "M014", "illness", "--date", "2026-11-01", "--config", config])
        #expect(r.status == 2 && r.stderr.contains("written by a newer version of guanhuai"), "\(r.stderr)")
        #expect(throws: StoreError.newerVersion(path: dir.databasePath)) { try AppDatabase(path: dir.databasePath) }
    }

    /// A v1 database (endpoints disabled by a 410 kept tab-joined in `setting`) opens as v2 with them in their own
    /// table, nothing lost; v1 itself never changes.
    @Test func aVersionOneDatabaseMigratesItsDisabledEndpoints() throws {
        let dir = try Scratch()
        let path = dir.url.appendingPathComponent("v1.sqlite").path
        let q = try DatabaseQueue(path: path)
        try AppDatabase.migrator.migrate(q, upTo: "v1")
        try q.write { db in
            try db.execute(
                sql: "INSERT INTO setting (key, value) VALUES (?, ?)",
                arguments: ["endpoint-gone:hook", "https://oa.example.edu.cn/hook\t1800000000\t410 Gone: moved"])
        }
        try q.close()
        let db = try AppDatabase(path: path)
        #expect(
            try db.disabledEndpoints() == [
                AppDatabase.DisabledEndpoint(
                    channel: "hook", endpoint: "https://oa.example.edu.cn/hook", since: 1_800_000_000, reason: "410 Gone: moved")
            ])
        #expect(try db.enableEndpoint(channel: "hook"))
        #expect(try db.disabledEndpoints().isEmpty)
    }

    /// Eight processes record events and completions on one database while another reads: nothing lost, no
    /// "database is locked".
    @Test func eightWritersAndAReader() async throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        for what in ["orgs", "roster", "relations"] { #expect(try runCLI(["import", what, "--config", config]).status == 0) }
        let members = ["M001", "M002", "M003", "M004", "M014", "M016", "M018", "M019"]
        let perWriter = 6
        let results = try await withThrowingTaskGroup(of: [ToolResult].self) { group in
            for (w, member) in members.enumerated() {
                group.addTask {
                    var out: [ToolResult] = []
                    for i in 0..<perWriter {
                        out.append(
                            try runCLI([
                                "event", "add", member, "岗位变动", "--date", "2026-0\(1 + i)-1\(w)",
                                "--config", config,
                            ]))
                    }
                    out.append(
                        try runCLI([
                            "done", "branch-annual-talk:2026:\(member)", "--date", "2026-03-0\(1 + w)",
                            "--config", config,
                        ]))
                    return out
                }
            }
            group.addTask {
                var out: [ToolResult] = []
                for _ in 0..<6 { out.append(try runCLI(["agenda", "--config", config, "--now", "2026-11-22"])) }
                return out
            }
            var all: [ToolResult] = []
            for try await r in group { all += r }
            return all
        }
        for r in results {
            #expect(r.status == 0, "\(r.stderr)")
            #expect(!r.stderr.contains("locked"))
        }
        let snap = try AppDatabase(path: dir.databasePath).snapshot()
        #expect(snap.events.count == members.count * perWriter)
        #expect(Set(snap.events.map(\.id)).count == snap.events.count, "event ids are unique")
        #expect(snap.completions.count == members.count)
    }
}
