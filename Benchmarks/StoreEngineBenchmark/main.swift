// The store's operations on both engines, side by side in one run (release build): planning's read of the whole
// committee, queueing 10,000 messages, and claiming and recording them. Run by Benchmarks/pg-store-benchmark.sh,
// which makes the committee, starts a PostgreSQL server and copies the committee into it.
//
//     StoreEngineBenchmark SQLITE-PATH POSTGRESQL-URL [RUNS]
import Foundation
import GuanhuaiConfig
import GuanhuaiPostgres
import GuanhuaiStore
import Logging

let args = CommandLine.arguments
guard args.count >= 3 else {
    FileHandle.standardError.write(Data("usage: StoreEngineBenchmark SQLITE-PATH POSTGRESQL-URL [RUNS]\n".utf8))
    exit(2)
}
let runs = args.count > 3 ? Int(args[3]) ?? 5 : 5
var logger = Logger(label: "bench")
logger.logLevel = .error
let sqlite = try AppDatabase(path: args[1])
let pg = try await PostgresStore(url: try DatabaseURL(parsing: args[2]), password: nil, logger: logger)

func median(_ body: () async throws -> Void) async rethrows -> Double {
    var times: [Double] = []
    for _ in 0..<runs {
        let start = ContinuousClock.now
        try await body()
        let d = ContinuousClock.now - start
        times.append(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }
    return times.sorted()[times.count / 2]
}

func row(_ what: String, _ a: Double, _ b: Double) {
    print(String(format: "| %@ | %.0f ms | %.0f ms | %.2f× |", what, a * 1000, b * 1000, b / a))
}

print("| operation (median of \(runs)) | SQLite | PostgreSQL | ratio |")
print("| --- | --- | --- | --- |")
let stores: [any PlanStore & OutboxStore] = [sqlite, pg]
var members = 0
var read: [Double] = []
for s in stores {
    read.append(try await median { members = try await s.snapshot(includingOrganization: true).members.count })
}
row("planning's read of the whole committee (\(members) members)", read[0], read[1])

var queue: [Double] = []
var claim: [Double] = []
for (i, s) in stores.enumerated() {
    var round = 0
    var mark = try await s.processedThrough()
    queue.append(
        try await median {
            round += 1
            let messages = (1...10_000).map {
                NewOutboxMessage(
                    idempotencyKey: "bench-\(i)-\(round)-\($0)", recipient: "M\($0)", channel: "mail", payload: Data(repeating: 65, count: 2000),
                    items: [.init(occurrence: "bench-\(round)-\($0)", kind: "due", label: "走访慰问")])
            }
            let next = (mark ?? 1_800_000_000) + 60
            _ = try await s.enqueue(messages, after: mark, through: next, now: next, noticed: [])
            mark = next
        })
    claim.append(
        try await median {
            var left = 2_000
            while left > 0 {
                let rows = try await s.dueOutbox(now: 4_000_000_000, limit: 500)
                if rows.isEmpty { break }
                for r in rows.prefix(left) { try await s.markSent(r.id, at: 4_000_000_000) }
                left -= min(left, rows.count)
            }
        })
}
row("queue 10,000 messages with their items (one transaction)", queue[0], queue[1])
row("claim and record 2,000 messages sent (batches of 500, one result each)", claim[0], claim[1])
await pg.close()
