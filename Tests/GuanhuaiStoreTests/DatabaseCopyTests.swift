import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiPostgres
import GuanhuaiStore
import GuanhuaiTestSupport
import Logging
import Testing

/// The example committee imported with the CLI into SQLite, with an event (and its note) and a completion (with
/// 慰问金) recorded.
func exampleWithACompletion(in dir: borrowing Scratch) throws -> AppDatabase {
    let config = try dir.exampleCopy()
    for what in ["orgs", "roster", "relations"] { #expect(try runCLI(["import", what, "--config", config]).status == 0) }
    #expect(try runCLI(["event", "add", "M014", "患病住院", "--date", "2026-11-20", "--note", "胃出血住院", "--config", config]).status == 0)
    let db = try AppDatabase(path: dir.databasePath)
    try db.record(
        Completion(occurrence: "o-done", date: CivilDate(2026, 11, 30)!, by: "P001", note: "看望", amountFen: 50_000),
        actor: Actor(name: "test", now: 1_800_000_000))
    return db
}

/// `guanhuai db copy`: the example committee, with something in every table, goes from SQLite to PostgreSQL and
/// back, and every table compares equal.
@Suite(.enabled(if: PostgresServer.enabled, "PostgreSQL 15 is not installed here (Debian postgresql-15)"))
struct DatabaseCopyTests {
    @Test func theExampleRoundTripsThroughPostgreSQLAndEveryTableComparesEqual() async throws {
        let dir = try Scratch()
        let db = try exampleWithACompletion(in: dir)
        let actor = Actor(name: "test", now: 1_800_000_000)
        var m = NewOutboxMessage(idempotencyKey: "k1", recipient: "P001", channel: "mail", payload: Data([0, 1, 2, 255]))
        m.items = [NewOutboxMessage.Item(occurrence: "o-done", kind: "escalation", label: "走访")]
        // A greeting texted, its receipt awaited, and its mail held as the fallback.
        let texted = NewOutboxMessage(idempotencyKey: "k2", recipient: "M001", channel: "sms", payload: Data("{}".utf8))
        let held = NewOutboxMessage(idempotencyKey: "k3", recipient: "M001", channel: "mail", payload: Data([9]), heldFor: "k2")
        try db.enqueue(
            [m, texted, held], processedThrough: 1_800_000_000, now: 1_800_000_000,
            noticed: [ClosedNotice(recipient: "P002", occurrence: "o-x", label: "x", date: "2026-11-30", by: nil)])
        try db.markSent(try #require(try db.outbox().first { $0.idempotencyKey == "k2" }).id, at: 1_800_000_001, tracking: "B^0")
        try db.disableEndpoint(channel: "hook", endpoint: "https://example.org/h", at: 1_800_000_000, reason: "HTTP 410 Gone")
        _ = try db.revokeLinks(of: "P001", actor: actor)
        _ = try db.addProgressNote(occurrence: "o-open", person: "P001", date: CivilDate(2026, 12, 1)!, note: "已电话联系", nonce: "n1", actor: actor)
        // The 专项资金: income, an application, a step.
        _ = try db.addFundIncome(FundIncome(source: .donation, on: CivilDate(2026, 12, 1)!, amountFen: 100_000), note: "凭证 1 号", actor: actor)
        let application = try db.addFundApplication(
            NewFundApplication(
                member: "M014", category: "大病", reason: "胃出血住院", amountAskedFen: 50_050, attachments: ["诊断证明.pdf"], family: [],
                consent: true, appliedBy: "M001", appliedOn: CivilDate(2026, 12, 1)!, nonce: "f1"), actor: actor)
        _ = try db.takeFundStep(application, nonce: "f2", actor: actor) { _ in
            .success(FundStep(action: .returnForMore(words: "补充费用清单"), person: "M001", role: .branchSecretary, on: CivilDate(2026, 12, 2)!, to: .returned))
        }
        let original = try db.copyOut()
        for t in original { #expect(!t.rows.isEmpty, "table \(t.table) is empty in the example: the round trip would not test it") }

        let pg = try await PostgresServer.sharedServer().newDatabase()
        let there = try runCLI(["db", "copy", "--from", "sqlite:" + dir.databasePath, "--to", pg])
        #expect(there.status == 0, "\(there.stderr)")
        #expect(there.stdout.contains("copied"))
        let back = dir.url.appendingPathComponent("back/guanhuai.sqlite").path
        let home = try runCLI(["db", "copy", "--from", pg, "--to", "sqlite:" + back])
        #expect(home.status == 0, "\(home.stderr)")
        let returned = try AppDatabase(path: back).copyOut()
        #expect(returned.map(\.table) == original.map(\.table))
        for (a, b) in zip(original, returned) {
            #expect(a.columns.map { $0.lowercased() } == b.columns.map { $0.lowercased() }, "columns of \(a.table)")
            #expect(a.rows == b.rows, "rows of \(a.table)")
        }

        // A target that is not empty is refused, and nothing is written.
        let again = try runCLI(["db", "copy", "--from", "sqlite:" + dir.databasePath, "--to", pg])
        #expect(again.status == 2)
        #expect(again.stderr.contains("not empty"))
        // On PostgreSQL the ids go on after the copied ones.
        let store = try await PostgresStore.forTest(url: pg)
        let event = try await store.addEvent(
            member: "M014", kind: .illness, date: CivilDate(2026, 12, 1)!, ends: nil, target: nil, note: nil, today: CivilDate(2026, 12, 5)!,
            knownMembers: [], knownPeople: [], actor: actor)
        let events = try #require(original.first { $0.table == "event" })
        let seqColumn = try #require(events.columns.firstIndex(of: "seq"))
        let lastSeq = events.rows.compactMap { (r: [CopyValue]) -> Int64? in if case .integer(let i) = r[seqColumn] { i } else { nil } }.max() ?? 0
        #expect(event.id == "E\(lastSeq + 1)")
        await store.close()
    }

    /// `guanhuai import` with `[database] url`: the example imported into PostgreSQL holds, table by table, what the
    /// same commands write into SQLite. A second import changes nothing, and the committee plans from it.
    @Test func theImportsWritePostgreSQLAsTheyWriteSQLite() async throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        for what in ["orgs", "roster", "relations"] { #expect(try runCLI(["import", what, "--config", config]).status == 0) }
        let expected = try AppDatabase(path: dir.databasePath).copyOut()

        let pg = try await PostgresServer.sharedServer().newDatabase()
        let other = try Scratch()
        let pgConfig = try other.exampleCopy()
        let text = try String(contentsOfFile: pgConfig, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("path = ") }.joined(separator: "\n")
            .replacingOccurrences(of: "[database]", with: "[database]\nurl = \"\(pg)\"\n")
        try Data(text.utf8).write(to: URL(fileURLWithPath: pgConfig))
        let dry = try runCLI(["import", "roster", "--dry-run", "--config", pgConfig])
        #expect(dry.status == 0 && dry.stdout.contains("40 added"), "\(dry.stdout)\(dry.stderr)")
        for what in ["orgs", "roster", "relations"] {
            let r = try runCLI(["import", what, "--config", pgConfig])
            #expect(r.status == 0, "import \(what): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: other.databasePath), "no SQLite file beside the PostgreSQL database")
        let store = try await PostgresStore.forTest(url: pg)
        let written = try await store.copyOut()
        for (a, b) in zip(expected, written) where ["setting", "unit", "person", "member", "relation", "dependant"].contains(a.table) {
            #expect(a.rows == b.rows, "rows of \(a.table)")
        }
        // The audit lines say the same (their time and actor are the run's).
        func lines(_ t: [TableCopy]) -> [[CopyValue]] {
            let audit = t.first { $0.table == "audit" }!
            let keep = ["action", "target", "summary"].compactMap { c in audit.columns.firstIndex { $0.lowercased() == c } }
            return audit.rows.map { row in keep.map { row[$0] } }
        }
        #expect(lines(expected) == lines(written))
        #expect(lines(written).count == 3)

        let again = try runCLI(["import", "roster", "--config", pgConfig])
        #expect(again.stdout.contains("0 added, 0 changed, 40 unchanged"), "\(again.stdout)")
        let plan = try runCLI(["plan", "--config", pgConfig, "--now", "2026-11-22", "--format", "json"])
        let planSQLite = try runCLI(["plan", "--config", config, "--now", "2026-11-22", "--format", "json"])
        #expect(plan.status == 0 && !plan.stdout.isEmpty, "\(plan.stderr)")
        #expect(plan.stdout == planSQLite.stdout, "the same plan from either engine")
        await store.close()
    }

    @Test func aMistypedSideIsAUsageError() throws {
        let r = try runCLI(["db", "copy", "--from", "mysql://x@y/z", "--to", "sqlite:/tmp/x.sqlite"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("neither sqlite:PATH nor postgresql://"))
        let p = try runCLI(["db", "copy", "--from", "sqlite:/nonexistent/guanhuai.sqlite", "--to", "postgresql://u:pw@h/d"])
        #expect(p.status == 2)
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        #expect(try runCLI(["import", "orgs", "--config", config]).status == 0)
        let pw = try runCLI(["db", "copy", "--from", "sqlite:" + dir.databasePath, "--to", "postgresql://u:pw@h/d"])
        #expect(pw.status == 2)
        #expect(pw.stderr.contains("--to") && pw.stderr.contains("--password-file") && !pw.stderr.contains("pw@"), "\(pw.stderr)")
    }
}

/// Planning reads the same committee from either engine: the example imported into SQLite, copied to PostgreSQL,
/// and every read of `PlanStore` answered alike.
@Suite(.enabled(if: PostgresServer.enabled, "PostgreSQL 15 is not installed here (Debian postgresql-15)"))
struct PlanStoreContractTests {
    @Test func bothEnginesReadTheExampleAlike() async throws {
        let dir = try Scratch()
        let sqlite = try exampleWithACompletion(in: dir)
        let pg = try await PostgresStore.forTest()
        try await pg.copyIn(try sqlite.copyOut())
        let stores: [any PlanStore] = [sqlite, pg]
        var answers: [(StoreSnapshot, [Member], Bool, Bool)] = []
        let snapBranch = try await sqlite.snapshot(includingOrganization: false).members[0].branch
        for store in stores {
            let snap = try await store.snapshot(includingOrganization: true)
            let some = try await store.members(inBranches: [snapBranch], orIDs: ["M014"])
            let h = try await store.holdings()
            answers.append((snap, some, h.organization, h.roster))
        }
        let (a, b) = (answers[0], answers[1])
        #expect(a.0.organization.map(OrganizationImage.init) == b.0.organization.map(OrganizationImage.init))
        #expect(a.0.organization != nil)
        #expect(a.0.members == b.0.members)
        #expect(a.0.members.count > 10)
        #expect(Set(a.0.relations) == Set(b.0.relations))
        #expect(Set(a.0.dependants) == Set(b.0.dependants))
        #expect(a.0.events == b.0.events)
        #expect(Set(a.0.completions) == Set(b.0.completions))
        #expect(a.0.rosterFirstImported == b.0.rosterFirstImported)
        #expect(a.1 == b.1)
        #expect(!a.1.isEmpty)
        #expect(a.2 && b.2 && a.3 && b.3)
        let re = (try await sqlite.relationsAndEvents(), try await pg.relationsAndEvents())
        #expect(Set(re.0.relations) == Set(re.1.relations))
        #expect(re.0.events == re.1.events)
        #expect(try await sqlite.storedOrganization().map(OrganizationImage.init) == pg.storedOrganization().map(OrganizationImage.init))
        await pg.close()
    }
}

/// What an organisation holds, comparable.
struct OrganizationImage: Equatable {
    var committee: OrgUnit
    var units: [UnitID: OrgUnit]
    var department: String
    var people: [PersonID: Person]

    init(_ o: Organization) {
        committee = o.committee
        units = o.units
        department = o.organizationDepartment
        people = o.people
    }
}
