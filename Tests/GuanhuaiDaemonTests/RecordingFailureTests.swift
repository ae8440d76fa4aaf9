import Foundation
import GuanhuaiConfig
import GuanhuaiDelivery
import GuanhuaiStore
import GuanhuaiTestSupport
import Logging
import Systemd
import Testing

@testable import GuanhuaiDaemon

/// A result the database will not take (a lock held past the busy timeout, a full disk) ends the pass: nothing
/// more is sent until it is recorded, and no message reaches the server twice because of it.
@Suite struct RecordingFailureTests {
    @Test func aDatabaseThatRefusesResultsMidBatchSendsNothingTwice() async throws {
        let dir = try Scratch()
        let rig = try MailRig(dir, busyTimeoutMilliseconds: 200)
        let (config, env, maildir) = (rig.config, rig.environment, rig.maildir)
        let t0: Int64 = 1_800_000_000
        let daemon = try await builtDaemon(config: config, environment: env, wall: ManualClock(t0))
        let db = try await daemon.runtime.sqlite
        let rows = (1...5).map { i in
            NewOutboxMessage(
                idempotencyKey: "k\(i)", recipient: "M00\(i)", channel: "mail",
                payload: OutboxPayload.mail(
                    from: "guanhuai@example.edu.cn", to: ["p\(i)@example.edu.cn"],
                    data: Data("Subject: \(i)\r\nMessage-ID: <k\(i)@guanhuai>\r\n\r\n第 \(i) 封\r\n".utf8)
                ).encoded())
        }
        _ = try db.enqueue(rows, processedThrough: t0, now: t0)
        let received = { try stored(maildir).count }

        do {
            // Another process holds the write lock: reads go on (WAL), writes wait 200 ms and fail.
            let lock = try ServerProcess([
                "-c",
                """
                import sqlite3, time
                c = sqlite3.connect(\(String(reflecting: dir.databasePath)), isolation_level=None)
                c.execute("BEGIN IMMEDIATE")
                print("READY 0", flush=True)
                time.sleep(3600)
                """,
            ])
            await #expect(throws: (any Error).self) { try await daemon.dispatchOnce() }
            // The first message went out and its result could not be written: the pass ended there.
            #expect(try received() == 1)
            #expect(try db.outbox().allSatisfy { $0.state == .pending && $0.attempts == 0 })
            await #expect(throws: (any Error).self) { try await daemon.dispatchOnce() }
            #expect(try received() == 1)  // still refused: nothing more is sent, and the first is not sent again
            _ = lock
        }
        try await daemon.dispatchOnce()
        #expect(try received() == 5)
        let recipients = try stored(maildir).map {
            try String(contentsOf: $0.deletingPathExtension().appendingPathExtension("env"), encoding: .utf8)
                .split(separator: "\n")[1]
        }
        #expect(Set(recipients).count == 5)
        #expect(try db.outbox().allSatisfy { $0.state == .sent })
    }
}

func stored(_ dir: URL) throws -> [URL] {
    try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
        .filter { $0.pathExtension == "eml" }.sorted { $0.path < $1.path }
}
