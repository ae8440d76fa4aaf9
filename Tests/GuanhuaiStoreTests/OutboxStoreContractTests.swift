import Foundation
import GuanhuaiCore
import GuanhuaiStore
import GuanhuaiTestSupport
import Testing

/// A store the contract runs against: made fresh, in a scratch directory, by each test.
struct StoreMaker: Sendable, CustomTestStringConvertible {
    var name: String
    var make: @Sendable (borrowing Scratch) throws -> any OutboxStore
    var testDescription: String { name }

    /// Every implementation of the store protocol. PostgreSQL joins here with a server the test starts itself.
    static let all: [StoreMaker] = [
        StoreMaker(name: "SQLite") { dir in try AppDatabase(path: dir.databasePath) }
    ]
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
        let store = try maker.make(dir)
        #expect(try await store.processedThrough() == nil)
        #expect(try await store.enqueue([Self.message("a"), Self.message("b")], processedThrough: Self.t0, now: Self.t0, noticed: []) == 2)
        #expect(try await store.processedThrough() == Self.t0)
        // The same keys again (a step repeated after a crash): nothing new, and the mark still moves.
        #expect(try await store.enqueue([Self.message("a"), Self.message("c")], processedThrough: Self.t0 + 60, now: Self.t0, noticed: []) == 1)
        #expect(try await store.processedThrough() == Self.t0 + 60)
        #expect(try await store.dueOutbox(now: Self.t0).map(\.idempotencyKey) == ["a", "b", "c"])
        #expect(try await store.outboxCounts() == (pending: 3, sent: 0, failed: 0))
    }

    @Test(arguments: StoreMaker.all)
    func resultsDeferralsAndTheNextAttempt(_ maker: StoreMaker) async throws {
        let dir = try Scratch()
        let store = try maker.make(dir)
        try await store.enqueue((1...4).map { Self.message("k\($0)") }, processedThrough: Self.t0, now: Self.t0, noticed: [])
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
        let store = try maker.make(dir)
        #expect(try await store.disabledEndpoints().isEmpty)
        try await store.disableEndpoint(channel: "hook", endpoint: "https://example.org/hook#abc", at: Self.t0, reason: "HTTP 410 Gone")
        #expect(
            try await store.disabledEndpoints()
                == [DisabledEndpoint(channel: "hook", endpoint: "https://example.org/hook#abc", since: Self.t0, reason: "HTTP 410 Gone")])
        #expect(try await store.enableEndpoint(channel: "hook"))
        #expect(try await !store.enableEndpoint(channel: "hook"))
        #expect(try await store.disabledEndpoints().isEmpty)
    }
}
