import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiPostgres
import GuanhuaiStore
import GuanhuaiTestSupport
import Logging
import Synchronization
import Testing

/// The store follows the primary: a primary and a synchronous standby in temporary directories, the URL listing
/// both, writes going on while the primary dies (SIGKILL) or hangs (SIGSTOP) and the standby is promoted, as the
/// notes' harness does with `pg_ctl promote`. No acknowledged write is lost, and writing resumes on the new primary.
@Suite(.serialized, .enabled(if: PostgresServer.enabled, "PostgreSQL 15 is not installed here (Debian postgresql-15)"))
struct PostgresFailoverTests {
    typealias Pair = PostgresPair

    /// Records completions one after another until told to stop; returns those acknowledged, and when each was.
    static func writer(_ store: PostgresStore, stop: StopFlag) async -> [(String, ContinuousClock.Instant)] {
        var acknowledged: [(String, ContinuousClock.Instant)] = []
        var i = 0
        while !stop.value.load(ordering: .relaxed), !Task.isCancelled {
            i += 1
            let occurrence = "o\(i)"
            let c = Completion(occurrence: occurrence, date: CivilDate(2026, 12, 6)!, by: "P001")
            do {
                try await store.record(c, actor: Actor(name: "test", now: 1_800_000_000))
                acknowledged.append((occurrence, .now))
                stop.acknowledged.add(1, ordering: .relaxed)
            } catch { print("write failed visibly: \(error)") }
        }
        return acknowledged
    }

    static func recorded(on server: PostgresServer) throws -> Set<String> {
        Set(try server.psql("SELECT occurrence FROM completion", database: "guanhuai").split(separator: "\n").map(String.init))
    }

    @Test func theStoreFollowsAPromotedStandbyAndLosesNoAcknowledgedWrite() async throws {
        let pair = try await offThePool { try Pair() }
        defer {
            pair.primary.stop()
            pair.standby.stop()
        }
        let store = try await PostgresStore(
            url: try DatabaseURL(parsing: pair.url), password: nil, logger: Logger(label: "failover"),
            transactionTimeout: .seconds(3), retryFor: .seconds(60))
        #expect(await store.client.host?.hasSuffix(String(pair.primary.port)) == true)
        let stop = StopFlag()
        async let written = Self.writer(store, stop: stop)
        // The kill comes while writes are going (a loaded machine may take a while to start them).
        let started = ContinuousClock.now
        while stop.acknowledged.load(ordering: .relaxed) < 20, ContinuousClock.now - started < .seconds(60) {
            try await Task.sleep(for: .milliseconds(50))
        }
        let killed = ContinuousClock.now
        pair.primary.signal(SIGKILL)
        try await pair.standby.promoted()
        try await Task.sleep(for: .milliseconds(1500))
        stop.value.store(true, ordering: .relaxed)
        let acknowledged = await written
        let before = acknowledged.filter { $0.1 < killed }.count
        let after = acknowledged.filter { $0.1 > killed }
        #expect(before > 0)
        #expect(!after.isEmpty, "no write succeeded on the promoted standby")
        let onStandby = try await offThePool { try Self.recorded(on: pair.standby) }
        let lost = acknowledged.map(\.0).filter { !onStandby.contains($0) }
        #expect(lost.isEmpty, "acknowledged but lost: \(lost.prefix(10))")
        #expect(await store.client.host?.hasSuffix(String(pair.standby.port)) == true)
        if let first = after.first { print("kill → first write on the new primary: \(first.1 - killed); \(acknowledged.count) writes") }
        await store.close()
    }

    @Test func aHungPrimaryIsLeftForThePromotedStandbyAndNotChosenAgain() async throws {
        let pair = try await offThePool { try Pair() }
        defer {
            pair.primary.signal(SIGCONT)
            pair.primary.stop()
            pair.standby.stop()
        }
        let store = try await PostgresStore(
            url: try DatabaseURL(parsing: pair.url), password: nil, logger: Logger(label: "split"),
            transactionTimeout: .seconds(2), retryFor: .seconds(60))
        #expect(try await store.record(Completion(occurrence: "before", date: CivilDate(2026, 12, 6)!), actor: Actor(name: "t", now: 0)))
        // The primary hangs with its sockets open: only a timeout notices.
        pair.primary.signal(SIGSTOP)
        try await pair.standby.promoted()
        let started = ContinuousClock.now
        #expect(try await store.record(Completion(occurrence: "during", date: CivilDate(2026, 12, 6)!), actor: Actor(name: "t", now: 0)))
        let took = ContinuousClock.now - started
        #expect(took < .seconds(30))
        #expect(await store.client.host?.hasSuffix(String(pair.standby.port)) == true)
        // The old primary resumes, still believing it is the primary (split brain). A new instance asks both and
        // takes the promoted one: its timeline is the later.
        pair.primary.signal(SIGCONT)
        #expect(try await offThePool { try pair.primary.psql("SELECT pg_is_in_recovery()") } == "f")
        let fresh = try await PostgresStore(
            url: try DatabaseURL(parsing: pair.url), password: nil, logger: Logger(label: "split"), transactionTimeout: .seconds(2))
        #expect(await fresh.client.host?.hasSuffix(String(pair.standby.port)) == true)
        #expect(try await fresh.record(Completion(occurrence: "after", date: CivilDate(2026, 12, 6)!), actor: Actor(name: "t", now: 0)))
        #expect(try await offThePool { try Self.recorded(on: pair.standby) } == ["before", "during", "after"])
        await store.close()
        await fresh.close()
    }
}

final class StopFlag: Sendable {
    let value = Atomic<Bool>(false)
    /// Writes acknowledged so far.
    let acknowledged = Atomic<Int>(0)
}

/// The notes' outbox run against our store: two senders claiming from one outbox while the primary is killed and
/// its standby promoted, again and again (the old primary rejoins with pg_rewind each time, and the roles swap).
/// `GUANHUAI_PG_FAILOVERS` sets how many (3 in `make test`; Benchmarks/pg-failover.sh runs 100).
@Suite(.serialized, .enabled(if: PostgresServer.enabled, "PostgreSQL 15 is not installed here (Debian postgresql-15)"))
struct PostgresOutboxFailoverTests {
    actor Ledger {
        var sent: [(key: String, by: String, at: ContinuousClock.Instant)] = []
        /// Each result recorded: when its write began, and when it was done.
        var marked: [(begun: ContinuousClock.Instant, done: ContinuousClock.Instant)] = []
        /// Results the store refused (after its own retrying), each with why: the sender tried again.
        var refused: [String] = []
        func send(_ key: String, by: String) { sent.append((key, by, .now)) }
        func mark(begun: ContinuousClock.Instant) { marked.append((begun, .now)) }
        func refuse(_ why: String) { refused.append(why) }
    }

    /// The dispatcher's loop in small: a result the store refuses is kept and written again before anything more is
    /// sent (DispatcherService.recordOrKeep), and nothing is begun once its claim runs short (`sendBy`). So each
    /// sender has at most one message sent and not recorded when a kill comes, and a batch held up by a failover is
    /// not sent by two.
    static func sender(_ store: PostgresStore, name: String, ledger: Ledger, stop: StopFlag) async {
        while !stop.value.load(ordering: .relaxed), !Task.isCancelled {
            guard let rows = try? await store.dueOutbox(now: 1_800_000_000, limit: 10), !rows.isEmpty else {
                try? await Task.sleep(for: .milliseconds(50))
                continue
            }
            let sendBy = store.sendBy(rows.map(\.id))
            for r in rows {
                // As the dispatcher does: a message whose claim is about to lapse is left for the next claim.
                if let sendBy, ContinuousClock.now >= sendBy { break }
                try? await Task.sleep(for: .milliseconds(20))  // the SMTP exchange
                await ledger.send(r.idempotencyKey, by: name)
                let begun = ContinuousClock.now
                while !Task.isCancelled, !stop.value.load(ordering: .relaxed) {
                    do {
                        try await store.markSent(r.id, at: 1_800_000_000)
                        await ledger.mark(begun: begun)
                        break
                    } catch {
                        await ledger.refuse("\(r.idempotencyKey): \(error)")
                        try? await Task.sleep(for: .milliseconds(200))
                    }
                }
            }
        }
    }

    @Test func twoSendersAcrossFailoversLoseNothingAndDuplicateLittle() async throws {
        let failovers = Int(ProcessInfo.processInfo.environment["GUANHUAI_PG_FAILOVERS"] ?? "") ?? 3
        let pair = try await offThePool { try PostgresFailoverTests.Pair() }
        var (primary, standby) = (pair.primary, pair.standby)
        defer {
            pair.primary.stop()
            pair.standby.stop()
        }
        let url = try DatabaseURL(parsing: pair.url)
        let logger = Logger(label: "outbox-failover")
        let a = try await PostgresStore(url: url, password: nil, logger: logger, instance: "a", claimSeconds: 10, transactionTimeout: .seconds(3))
        let b = try await PostgresStore(url: url, password: nil, logger: logger, instance: "b", claimSeconds: 10, transactionTimeout: .seconds(3))
        let total = 500 * failovers
        let messages = (1...total).map {
            NewOutboxMessage(idempotencyKey: "k\($0)", recipient: "M\($0)", channel: "mail", payload: Data("m\($0)".utf8))
        }
        try await a.enqueue(messages, after: nil, through: 1_800_000_000, now: 1_800_000_000, noticed: [])
        let ledger = Ledger()
        let stop = StopFlag()
        async let sa: Void = Self.sender(a, name: "a", ledger: ledger, stop: stop)
        async let sb: Void = Self.sender(b, name: "b", ledger: ledger, stop: stop)
        var recoveries: [Duration] = []
        var kills: [ContinuousClock.Instant] = []
        for _ in 0..<failovers {
            try await Task.sleep(for: .milliseconds(Int.random(in: 300...800)))
            let old = primary.pid
            let before = await ledger.marked.count
            let killed = ContinuousClock.now
            kills.append(killed)
            primary.signal(SIGKILL)
            try await standby.promoted()
            let (p, s) = (primary, standby)
            try await offThePool { try p.rejoin(standbyOf: s, oldPID: old) }
            (primary, standby) = (standby, primary)
            // When the first result begun after the kill was recorded on the new primary (waited for, so that every
            // kill comes while messages are going; a result already on its way when the kill came does not count).
            let waitUntil = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < waitUntil {
                if let first = await ledger.marked.dropFirst(before).first(where: { $0.begun > killed }) {
                    recoveries.append(first.done - killed)
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let deadline = ContinuousClock.now + .seconds(60 + 15 * failovers)
        while ContinuousClock.now < deadline, (try? await a.outboxCounts().pending) != 0 { try await Task.sleep(for: .milliseconds(200)) }
        stop.value.store(true, ordering: .relaxed)
        _ = await (sa, sb)
        let sent = await ledger.sent
        let distinct = Set(sent.map(\.key))
        let duplicates = sent.count - distinct.count
        #expect(distinct.count == total, "never sent: \(total - distinct.count)")
        #expect(try await a.outboxCounts() == (pending: 0, sent: total, failed: 0))
        // Each duplicate said with its sends (who, seconds after the start) and the kills, for the one who reads a
        // failure: each sender has at most one message out and unrecorded when a kill comes.
        let start = kills.first.map { $0 - .seconds(1) } ?? .now
        let seconds = { (t: ContinuousClock.Instant) in
            String(format: "%.3f", Double((t - start).components.attoseconds) / 1e18 + Double((t - start).components.seconds))
        }
        let twice = Dictionary(grouping: sent, by: \.key).filter { $0.value.count > 1 }.sorted { $0.key < $1.key }
        let refused = await ledger.refused
        #expect(
            duplicates <= failovers * 2,
            """
            \(duplicates) duplicates in \(failovers) failovers; kills at \(kills.map(seconds)); \
            sent twice: \(twice.map { "\($0.key) " + $0.value.map { "\($0.by)@\(seconds($0.at))" }.joined(separator: ",") }); \
            results refused and written again: \(refused.prefix(10))
            """)
        #expect(recoveries.count == failovers, "a failover came after the last message, or sending never resumed")
        let sorted = recoveries.sorted()
        print(
            "outbox failovers: \(failovers), messages \(total), duplicates \(duplicates), results refused \(refused.count), kill → first result recorded: median \(sorted.isEmpty ? .zero : sorted[sorted.count / 2]), max \(sorted.last ?? .zero)"
        )
        await a.close()
        await b.close()
    }
}
