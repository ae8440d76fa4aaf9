import Foundation
import GuanhuaiTestSupport
import Testing

/// Two guanhuaid on one PostgreSQL database, as an IT department runs them: the same configuration, a generated
/// committee of 3,000 branches (a send time of about 3,000 digests), aiosmtpd receiving. Either instance is killed
/// with SIGKILL again and again while the mail goes out, and started again. Every digest arrives, at most one twice
/// per kill, and both instances sent a share.
@Suite(.serialized, .enabled(if: PostgresServer.enabled, "PostgreSQL 15 is not installed here (Debian postgresql-15)"))
struct TwoDaemonTests {
    static let start = beijing("2027-06-01 08:29:57")

    /// The generated committee with `[database] url`, a mail channel to aiosmtpd, and the test clock.
    final class Committee: @unchecked Sendable {
        let dir: Scratch
        let config: String
        let maildir: URL
        let clock: String
        let cert: (cert: String, key: String)
        let port: Int
        let server: PostgresServer
        let database: String

        init(members: Int, claimSeconds: Int = 30) async throws {
            dir = try Scratch()
            server = try await PostgresServer.sharedServer()
            let url = try await server.newDatabase()
            database = String(url.split(separator: "/").last!)
            _ = try runTool("/usr/bin/python3", [Example.root.appendingPathComponent("Benchmarks/make_committee.py").path, dir.url.path, "\(members)"])
            for f in ["rules.toml", "templates"] {
                try FileManager.default.copyItem(at: Example.root.appendingPathComponent("Config/\(f)"), to: dir.url.appendingPathComponent(f))
            }
            maildir = dir.url.appendingPathComponent("mail")
            try FileManager.default.createDirectory(at: maildir, withIntermediateDirectories: true)
            cert = try makeCertificate(name: "localhost", in: dir.url)
            _ = try dir.write("smtp-password", "pa:ss w0rd!\n")
            port = freePort()
            config = try dir.write(
                "config.toml",
                """
                [guanhuai]
                time_zone = "Asia/Shanghai"
                [files]
                rules = "rules.toml"
                organization = "organization.toml"
                roster = "roster.csv"
                [database]
                url = "\(url)"
                claim_seconds = \(claimSeconds)
                [channels.mail]
                type = "smtp"
                host = "localhost"
                port = \(port)
                security = "starttls"
                user = "guanhuai"
                password_credential = "smtp-password"
                ca_file = "\(cert.cert)"
                from = "guanhuai@example.edu.cn"
                timeout_seconds = 30
                [delivery]
                retry_initial_seconds = 1
                retry_max_seconds = 2

                """)
            clock = dir.url.appendingPathComponent("clock").path
        }

        func smtp(delay: Double) throws -> ServerProcess {
            try ServerProcess([
                smtpServerScript, "--maildir", maildir.path, "--tls", "starttls", "--auth", "--cert", cert.cert, "--key", cert.key,
                "--port", "\(port)", "--delay", "\(delay)",
            ])
        }

        func daemon(_ name: String) throws -> DaemonProcess {
            try DaemonProcess(
                config: config,
                environment: ["GUANHUAI_TEST_CLOCK_FILE": clock, "CREDENTIALS_DIRECTORY": dir.url.path, "WATCHDOG_USEC": "2000000"],
                in: dir.url, name: name)
        }

        func count(_ sql: String) async throws -> Int {
            let (server, database) = (self.server, self.database)
            return Int(try await offThePool { try server.psql(sql, database: database) }.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }

        /// The Message-ID of every message received, one entry per message (a duplicate appears twice).
        func received() -> [String] {
            let files = ((try? FileManager.default.contentsOfDirectory(at: maildir, includingPropertiesForKeys: nil)) ?? [])
                .filter { $0.pathExtension == "eml" }
            return files.compactMap { url in
                guard let text = try? String(contentsOf: url, encoding: .utf8) else { return nil }
                for line in text.split(separator: "\r\n", omittingEmptySubsequences: false).prefix(while: { !$0.isEmpty })
                where line.lowercased().hasPrefix("message-id:") {
                    return line.dropFirst("message-id:".count).trimmingCharacters(in: .whitespaces)
                }
                return nil
            }
        }
    }

    @Test func twoInstancesShareASendTimeAndFiftyKillsLoseNothing() async throws {
        let kills = Int(ProcessInfo.processInfo.environment["GUANHUAI_DAEMON_KILLS"] ?? "") ?? 50
        let c = try await Committee(members: 2000)
        let smtp = try c.smtp(delay: 0.01)
        try setClock(c.clock, Self.start)
        var slots = [try c.daemon("a"), try c.daemon("b")]
        var slotOf: [Int32: Int] = [slots[0].pid: 0, slots[1].pid: 1]
        var all = slots
        #expect(
            try await eventually(60) { (try? FileManager.default.contentsOfDirectory(atPath: c.maildir.path).count) ?? 0 > 20 },
            "no mail arrived: \(slots[0].stderr) \(slots[1].stderr)")
        var killed = 0
        while killed < kills {
            guard try await c.count("SELECT count(*) FROM outbox WHERE channel = 'mail' AND state = 'pending'") > 0 else { break }
            let i = killed % 2
            slots[i].signal(SIGKILL)
            _ = await slots[i].waitExit(timeout: 10)
            killed += 1
            slots[i] = try c.daemon(i == 0 ? "a" : "b")
            slotOf[slots[i].pid] = i
            all.append(slots[i])
            try await Task.sleep(for: .milliseconds(400))
        }
        #expect(killed == kills, "the send time was over after \(killed) kills: deliver more slowly")
        // The claims of the killed instances expire (claim_seconds = 30), and the rows they held are sent.
        #expect(
            try await eventually(180) {
                (try? FileManager.default.contentsOfDirectory(atPath: c.maildir.path).count) ?? 0 > 0
                    && (try? c.server.psql("SELECT count(*) FROM outbox WHERE channel = 'mail' AND state <> 'sent'", database: c.database))?
                        .trimmingCharacters(in: .whitespacesAndNewlines) == "0"
            })
        let rows = try await c.count("SELECT count(*) FROM outbox WHERE channel = 'mail'")
        #expect(rows >= 3000)
        let got = c.received()
        let unique = Set(got)
        #expect(unique.count == rows, "lost: \(rows - unique.count)")
        #expect(got.count - unique.count <= killed, "\(got.count - unique.count) duplicates after \(killed) kills")
        // Who sent what: the instance that held the last claim on each row, by slot.
        let (server, database) = (c.server, c.database)
        let by = try await offThePool {
            try server.psql("SELECT claimedBy, count(*) FROM outbox WHERE channel = 'mail' GROUP BY claimedBy", database: database)
        }
        var share = [0, 0]
        for line in by.split(separator: "\n") {
            let parts = line.split(separator: "|")
            guard parts.count == 2, let pid = parts[0].split(separator: ":").last.flatMap({ Int32($0) }), let slot = slotOf[pid],
                let n = Int(parts[1])
            else { continue }
            share[slot] += n
        }
        #expect(share[0] > rows / 10 && share[1] > rows / 10, "shares \(share) of \(rows)")
        print("two instances: \(rows) digests, \(killed) kills, \(got.count - unique.count) duplicates, shares \(share)")
        for d in slots { d.signal(SIGTERM) }
        for d in slots { _ = await d.waitExit(timeout: 30) }
        _ = (smtp, all)
    }
}
