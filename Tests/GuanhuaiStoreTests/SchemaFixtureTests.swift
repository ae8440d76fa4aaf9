import Foundation
import GuanhuaiCalendar
import GuanhuaiCore
import GuanhuaiStore
import GuanhuaiTestSupport
import Testing

/// A database written by each schema version since v1 (issue 31): Fixtures/schema/vN.sql, an `sqlite3 .dump` of the
/// example committee with events, completions, waivers, audit rows, outbox rows in every state and, from the version
/// that has them, disabled endpoints, message items, closed notices, revoked links and progress notes. Today's code
/// opens each, migrates it, and every row must still be there with every value it had.
@Suite struct SchemaFixtureTests {
    static let directory = Example.root.appendingPathComponent("Tests/GuanhuaiStoreTests/Fixtures/schema")
    static var sqlite3Available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3") }

    static func rows(_ db: String, _ table: String) throws -> [[String: JSONValue]] {
        let out = try runTool("/usr/bin/sqlite3", ["-json", db, "SELECT * FROM \"\(table)\" ORDER BY rowid"])
        guard !out.isEmpty else { return [] }
        return try JSONDecoder().decode([[String: JSONValue]].self, from: out)
    }

    static func tables(_ db: String) throws -> [String] {
        String(
            decoding: try runTool("/usr/bin/sqlite3", [db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"]),
            as: UTF8.self
        )
        .split(separator: "\n").map(String.init)
    }

    @Test(.enabled(if: sqlite3Available, "the sqlite3 tool is not installed (Tools/install-deps installs it)"))
    func thereIsAFixtureForEverySchemaVersion() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.directory.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(
            names == AppDatabase.schemaVersions.map { "\($0).sql" }.sorted(),
            "a new migration needs its fixture: GUANHUAI_WRITE_SCHEMA_FIXTURES=1 swift test --filter SchemaFixtureTests")
    }

    @Test(.enabled(if: sqlite3Available, "the sqlite3 tool is not installed (Tools/install-deps installs it)"), arguments: AppDatabase.schemaVersions)
    func aDatabaseWrittenByThisSchemaOpensMigratedWithEveryRow(version: String) throws {
        let dir = try Scratch()
        let db = dir.url.appendingPathComponent("old.sqlite").path
        let dump = try Data(contentsOf: Self.directory.appendingPathComponent("\(version).sql"))
        _ = try runTool("/usr/bin/sqlite3", [db], input: dump)
        let before = try Dictionary(uniqueKeysWithValues: Self.tables(db).filter { $0 != "grdb_migrations" }.map { ($0, try Self.rows(db, $0)) })
        #expect(before["member"]?.count ?? 0 > 20 && before["outbox"]?.count ?? 0 >= 4 && before["audit"]?.isEmpty == false, "the fixture holds a committee")

        _ = try AppDatabase(path: db)  // today's code: migrates what is missing
        let applied = String(decoding: try runTool("/usr/bin/sqlite3", [db, "SELECT identifier FROM grdb_migrations ORDER BY rowid"]), as: UTF8.self)
        #expect(applied.split(separator: "\n").map(String.init) == AppDatabase.schemaVersions)
        for (table, old) in before {
            let new = try Self.rows(db, table)
            #expect(new.count == old.count, "\(table): \(old.count) rows before, \(new.count) after")
            for (a, b) in zip(old, new) {
                for (column, value) in a { #expect(b[column] == value, "\(table).\(column): \(value) became \(String(describing: b[column]))") }
            }
        }
        // And the tool reads the committee from it.
        let config = try dir.exampleCopy()
        try FileManager.default.createDirectory(at: dir.url.appendingPathComponent("state"), withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: db, toPath: dir.databasePath)
        let status = try runCLI(["status", "--config", config])
        #expect(status.status == 0 && status.stdout.contains("Outbox:"), "\(status.stdout)\(status.stderr)")
    }

    /// Writes the fixtures again: only when asked (GUANHUAI_WRITE_SCHEMA_FIXTURES=1), and only for versions that
    /// have none (a fixture, once written, is what that version wrote; it is never rewritten).
    @Test(
        .enabled(if: sqlite3Available && ProcessInfo.processInfo.environment["GUANHUAI_WRITE_SCHEMA_FIXTURES"] != nil, "writes fixtures only when asked"))
    func writeMissingFixtures() throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        for args in [
            ["import", "orgs"], ["import", "roster"], ["import", "relations"],
            ["event", "add", "M014", "患病住院", "--date", "2026-11-20", "--note", "胃出血住院"],
            ["event", "add", "M003", "illness", "--date", "2026-11-02"],
        ] {
            let r = try runCLI(args + ["--config", config])
            #expect(r.status == 0, "\(args): \(r.stderr)")
        }
        let agenda = try runCLI(["agenda", "--config", config, "--days", "400"]).stdout
        let done = agenda.matches(of: /guanhuai done (\S+)/).map { String($0.output.1) }
        #expect(done.count >= 3)
        #expect(try runCLI(["done", done[0], "--note", "已看望", "--amount", "500", "--config", config]).status == 0)
        #expect(try runCLI(["waive", done[1], "--reason", "已转出", "--config", config]).status == 0)
        let store = try AppDatabase(path: dir.databasePath)
        let now: Int64 = 1_796_000_000
        func message(_ n: Int) -> NewOutboxMessage {
            NewOutboxMessage(
                idempotencyKey: "digest:2026-12-0\(n):P001:mail", recipient: "P001", channel: "mail", payload: Data("{\"n\":\(n)}".utf8),
                items: [.init(occurrence: done[2], kind: "due", label: "示例 \(n)")])
        }
        try store.enqueue((1...4).map(message), processedThrough: now, now: now)
        let rows = try store.outbox()
        try store.markSent(rows[0].id, at: now + 1)
        try store.markFailed(rows[1].id, error: "550 mailbox unavailable")
        try store.markRetry(rows[2].id, at: now + 600, error: "421 try later")
        // From v7: a greeting texted (its receipt awaited) and its mail held as the fallback.
        try store.enqueue(
            [
                NewOutboxMessage(idempotencyKey: "digest:2026-12-05:M001:sms", recipient: "M001", channel: "sms", payload: Data("{\"s\":1}".utf8)),
                NewOutboxMessage(
                    idempotencyKey: "digest:2026-12-05:M001:mail", recipient: "M001", channel: "mail", payload: Data("{\"m\":1}".utf8),
                    heldFor: "digest:2026-12-05:M001:sms"),
            ], processedThrough: now, now: now)
        if let texted = try store.outbox().first(where: { $0.channel == "sms" }) {
            try store.markSent(texted.id, at: now + 2, tracking: "900619746936498441^0")
        }
        // From v8: the 专项资金, an application reviewed and decided, and the fund's income.
        for args in [
            ["fund", "income", "--source", "本级留存党费", "--amount", "20000", "--date", "2026-12-01", "--note", "凭证12号"],
            ["fund", "apply", "M014", "--category", "大病", "--reason", "胃出血住院", "--amount", "5000", "--attachment", "诊断证明.pdf", "--consent", "--by", "M001"],
            ["fund", "review", "1", "--verdict", "approve", "--words", "情况属实", "--by", "M001"],
            ["fund", "review", "1", "--verdict", "approve", "--by", "S01"],
            ["fund", "decide", "1", "--meeting", "2026-12-07", "--attendee", "L01", "--attendee", "L02", "--amount", "3000", "--source", "本级留存党费"],
        ] {
            let r = try runCLI(args + ["--config", config])
            #expect(r.status == 0, "\(args): \(r.stderr)")
        }
        try store.disableEndpoint(channel: "oa", endpoint: "https://oa.example.edu.cn/hook", at: now, reason: "410 Gone")
        _ = try store.revokeLinks(of: "P001", actor: Actor(name: "uid 0", now: now))
        _ = try store.addProgressNote(
            occurrence: done[2], person: "P001", date: CivilDate(2026, 12, 1)!, note: "已电话联系", nonce: "n1", actor: Actor(name: "P001", now: now))
        try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
        for version in AppDatabase.schemaVersions {
            let out = Self.directory.appendingPathComponent("\(version).sql")
            guard !FileManager.default.fileExists(atPath: out.path) else { continue }
            let fixture = dir.url.appendingPathComponent("\(version).sqlite").path
            try AppDatabase.emptySchema(at: fixture, through: version)
            // Each table the version has, with the columns it has, from the committee written today.
            var sql = "ATTACH '\(dir.databasePath)' AS src;\n"
            for table in try Self.tables(fixture) where table != "grdb_migrations" {
                let columns = String(decoding: try runTool("/usr/bin/sqlite3", [fixture, "SELECT name FROM pragma_table_info('\(table)')"]), as: UTF8.self)
                    .split(separator: "\n").joined(separator: ", ")
                sql += "INSERT INTO main.\"\(table)\" (\(columns)) SELECT \(columns) FROM src.\"\(table)\" ORDER BY rowid;\n"
            }
            _ = try runTool("/usr/bin/sqlite3", [fixture], input: Data(sql.utf8))
            try runTool("/usr/bin/sqlite3", [fixture, ".dump"]).write(to: out)
        }
    }
}

/// A JSON value as `sqlite3 -json` prints one, comparable.
enum JSONValue: Decodable, Equatable, CustomStringConvertible {
    case null
    case int(Int64)
    case double(Double)
    case string(String)

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let i = try? c.decode(Int64.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else {
            self = .string(try c.decode(String.self))
        }
    }

    var description: String {
        switch self {
        case .null: "NULL"
        case .int(let i): "\(i)"
        case .double(let d): "\(d)"
        case .string(let s): "\"\(s)\""
        }
    }
}
