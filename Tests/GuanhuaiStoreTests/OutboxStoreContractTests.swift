import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiPostgres
import GuanhuaiStore
import GuanhuaiTestSupport
import Logging
import Testing

/// A store the contract runs against: made fresh, in a scratch directory, by each test.
struct StoreMaker: Sendable, CustomTestStringConvertible {
    var name: String
    var make: @Sendable (borrowing Scratch) async throws -> any CommitteeStore
    var testDescription: String { name }

    /// Every implementation of the store protocol: SQLite, and PostgreSQL on a server the test process starts itself
    /// (`PostgresServer`), a new database for each test. Where PostgreSQL 15 is not installed, its cases are left
    /// out and `PostgresStoreTests.theServerStarts` says so as a skipped test; under CI=true that test fails instead.
    static let all: [StoreMaker] = [sqlite] + (PostgresServer.enabled ? [postgres, pgbouncer] : [])

    static let sqlite = StoreMaker(name: "SQLite") { dir in try AppDatabase(path: dir.databasePath) }
    static let postgres = StoreMaker(name: "PostgreSQL") { _ in try await PostgresStore.forTest() }
    /// The same server through PgBouncer in transaction mode: nothing may depend on a session.
    static let pgbouncer = StoreMaker(name: "PostgreSQL through PgBouncer") { _ in
        guard let bouncer = try await offThePool({ PgBouncer.shared }) else {
            throw PostgresServerError(message: "PgBouncer did not start (Debian: pgbouncer)")
        }
        let url = try await bouncer.server.newDatabase()
        return try await PostgresStore.forTest(url: bouncer.url(database: String(url.split(separator: "/").last!)))
    }
}

extension PostgresStore {
    /// A store on a new database of the test process's server.
    static func forTest(url: String? = nil, instance: String? = nil, claimSeconds: Int64 = 300) async throws -> PostgresStore {
        let server = try await PostgresServer.sharedServer()
        var u = url ?? ""
        if url == nil { u = try await server.newDatabase() }
        return try await PostgresStore(
            url: try DatabaseURL(parsing: u), password: nil, logger: Logger(label: "test"), instance: instance, claimSeconds: claimSeconds)
    }
}

/// What the scheduler and the dispatcher rely on, asked of each store through the protocol alone (`OutboxStore`),
/// so a second implementation is held to the same answers.
@Suite struct OutboxStoreContractTests {
    static let t0: Int64 = 1_800_000_000

    static func message(_ key: String, to recipient: String = "M001", channel: OutboxChannel = "mail") -> NewOutboxMessage {
        NewOutboxMessage(idempotencyKey: key, recipient: recipient, channel: channel, payload: Data(key.utf8))
    }

    @Test(arguments: StoreMaker.all)
    func enqueueMovesTheMarkWithTheRowsAndAKeyIsQueuedOnce(_ maker: StoreMaker) async throws {
        let dir = try Scratch()
        let store = try await maker.make(dir)
        #expect(try await store.processedThrough() == nil)
        #expect(try await store.enqueue([Self.message("a"), Self.message("b")], after: nil, through: Self.t0, now: Self.t0, noticed: []) == 2)
        #expect(try await store.processedThrough() == Self.t0)
        // The same keys again (a step repeated after a crash): nothing new, and the mark still moves.
        #expect(try await store.enqueue([Self.message("a"), Self.message("c")], after: Self.t0, through: Self.t0 + 60, now: Self.t0, noticed: []) == 1)
        #expect(try await store.processedThrough() == Self.t0 + 60)
        // A scheduler that read an older mark (another moved it since) writes nothing: nil, and the mark stays.
        #expect(try await store.enqueue([Self.message("d")], after: Self.t0, through: Self.t0 + 120, now: Self.t0, noticed: []) == nil)
        #expect(try await store.enqueue([Self.message("d")], after: nil, through: Self.t0 + 120, now: Self.t0, noticed: []) == nil)
        #expect(try await store.processedThrough() == Self.t0 + 60)
        #expect(try await store.dueOutbox(now: Self.t0).map(\.idempotencyKey) == ["a", "b", "c"])
        #expect(try await store.outboxCounts() == (pending: 3, sent: 0, failed: 0))
    }

    @Test(arguments: StoreMaker.all)
    func resultsDeferralsAndTheNextAttempt(_ maker: StoreMaker) async throws {
        let dir = try Scratch()
        let store = try await maker.make(dir)
        try await store.enqueue((1...4).map { Self.message("k\($0)") }, after: nil, through: Self.t0, now: Self.t0, noticed: [])
        let rows = try await store.dueOutbox(now: Self.t0)
        try await store.markSent(rows[0].id, at: Self.t0 + 1)
        try await store.markRetry(rows[1].id, at: Self.t0 + 120, error: "451 try later")
        try await store.markFailed(rows[2].id, error: "550 no such user")
        try await store.deferOutbox([rows[3].id], until: Self.t0 + 60)
        #expect(try await store.dueOutbox(now: Self.t0 + 59).isEmpty)
        #expect(try await store.nextOutboxAttempt() == Self.t0 + 60)
        let due = try await store.dueOutbox(now: Self.t0 + 120)
        #expect(due.map(\.idempotencyKey) == ["k2", "k4"])
        // A retry is charged an attempt; a deferral is not.
        #expect(due.first { $0.idempotencyKey == "k2" }?.attempts == 1)
        #expect(due.first { $0.idempotencyKey == "k2" }?.lastError == "451 try later")
        #expect(due.first { $0.idempotencyKey == "k4" }?.attempts == 0)
        #expect(try await store.outboxCounts() == (pending: 2, sent: 1, failed: 1))
        let byChannel = try await store.outboxByChannel()
        #expect(byChannel.lastSent == Self.t0 + 1)
        // The clock went back: nothing pending waits past the new present.
        #expect(try await store.clampPendingAttempts(notAfter: Self.t0 + 10) == 2)
        #expect(try await store.nextOutboxAttempt() == Self.t0 + 10)
    }

    @Test(arguments: StoreMaker.all)
    func anEndpointIsDisabledAndEnabledAgain(_ maker: StoreMaker) async throws {
        let dir = try Scratch()
        let store = try await maker.make(dir)
        #expect(try await store.disabledEndpoints().isEmpty)
        try await store.disableEndpoint(channel: "hook", endpoint: "https://example.org/hook#abc", at: Self.t0, reason: "HTTP 410 Gone")
        #expect(
            try await store.disabledEndpoints()
                == [DisabledEndpoint(channel: "hook", endpoint: "https://example.org/hook#abc", since: Self.t0, reason: "HTTP 410 Gone")])
        #expect(try await store.enableEndpoint(channel: "hook"))
        #expect(try await !store.enableEndpoint(channel: "hook"))
        #expect(try await store.disabledEndpoints().isEmpty)
    }

    static let actor = Actor(name: "test", now: t0)

    static func item(_ occurrence: String, kind: String = "due") -> NewOutboxMessage.Item {
        NewOutboxMessage.Item(occurrence: occurrence, kind: kind, label: "label " + occurrence)
    }

    @Test(arguments: StoreMaker.all)
    func aRowAboutSomethingDoneIsWithdrawnOrWrittenAgain(_ maker: StoreMaker) async throws {
        let dir = try Scratch()
        let store = try await maker.make(dir)
        var one = Self.message("one")
        one.items = [Self.item("o1")]
        var two = Self.message("two")
        two.items = [Self.item("o1"), Self.item("o2")]
        try await store.enqueue([one, two], after: nil, through: Self.t0, now: Self.t0, noticed: [])
        #expect(try await store.settleDone() == ([], []))
        let done = Completion(occurrence: "o1", date: CivilDate(2026, 12, 1)!, by: "P001")
        #expect(try await store.record(done, actor: Self.actor))
        #expect(try await !store.record(done, actor: Self.actor))
        // Neither is due while something in it is done and not yet settled.
        #expect(try await store.dueOutbox(now: Self.t0).isEmpty)
        let settled = try await store.settleDone()
        #expect(settled.withdrawn.count == 1)
        #expect(settled.partly.map(\.idempotencyKey) == ["two"])
        try await store.rewrite(settled.partly[0].id, payload: Data("two, shorter".utf8), items: [Self.item("o2")])
        let due = try await store.dueOutbox(now: Self.t0)
        #expect(due.map(\.idempotencyKey) == ["two"])
        #expect(due.first?.payload == Data("two, shorter".utf8))
        #expect(try await store.settleDone() == ([], []))
    }

    @Test(arguments: StoreMaker.all)
    func thoseSentAnEscalationLearnItWasDoneOnce(_ maker: StoreMaker) async throws {
        let dir = try Scratch()
        let store = try await maker.make(dir)
        var esc = Self.message("esc", to: "P009")
        esc.items = [Self.item("o1", kind: "escalation")]
        try await store.enqueue([esc], after: nil, through: Self.t0, now: Self.t0, noticed: [])
        let row = try #require(try await store.dueOutbox(now: Self.t0).first)
        try await store.markSent(row.id, at: Self.t0)
        try await store.record(Completion(occurrence: "o1", date: CivilDate(2026, 12, 2)!, by: "P001"), actor: Self.actor)
        let notices = try await store.closedNotices(for: ["P009", "P010"])
        #expect(notices.keys.sorted() == ["P009"])
        #expect(notices["P009"] == [ClosedNotice(recipient: "P009", occurrence: "o1", label: "label o1", date: "2026-12-02", by: "P001")])
        try await store.enqueue([], after: Self.t0, through: Self.t0 + 60, now: Self.t0 + 60, noticed: notices["P009"]!)
        #expect(try await store.closedNotices(for: ["P009"]).isEmpty)
    }

    @Test(arguments: StoreMaker.all)
    func everyRecordingRaisesTheGenerationAndSaysWhatChanged(_ maker: StoreMaker) async throws {
        let dir = try Scratch()
        let store = try await maker.make(dir)
        let g0 = try await store.changeGeneration()
        let event = try await store.addEvent(
            member: "M001", kind: .illness, date: CivilDate(2026, 11, 30)!, ends: nil, target: nil, note: "住院",
            today: CivilDate(2026, 12, 5)!, knownMembers: ["M001"], knownPeople: [], actor: Self.actor)
        #expect(event.id.hasPrefix("E"))
        let n = try await store.recordAll(
            [
                Completion(occurrence: "a", date: CivilDate(2026, 12, 1)!, by: "P001"),
                Completion(occurrence: "b", date: CivilDate(2026, 12, 1)!, by: "P001"),
            ], actor: Self.actor, action: .done, target: "rule x")
        #expect(n == 2)
        let g1 = try await store.changeGeneration()
        #expect(g1 > g0)
        let changes = try await store.changes(since: g0)
        #expect(changes.map(\.action) == [.eventAdd, .done])
        #expect(changes.map(\.member) == ["M001", nil])
        // The checks are the same rules on both engines.
        await #expect(throws: StoreError.self) {
            try await store.addEvent(
                member: "M404", kind: .illness, date: CivilDate(2026, 11, 30)!, ends: nil, target: nil, note: nil,
                today: CivilDate(2026, 12, 5)!, knownMembers: [], knownPeople: [], actor: Self.actor)
        }
        await #expect(throws: StoreError.self) {
            try await store.addEvent(
                member: "M001", kind: .death, date: CivilDate(2027, 1, 1)!, ends: nil, target: nil, note: nil,
                today: CivilDate(2026, 12, 5)!, knownMembers: ["M001"], knownPeople: [], actor: Self.actor)
        }
        #expect(try await store.changeGeneration() == g1)
    }
}
