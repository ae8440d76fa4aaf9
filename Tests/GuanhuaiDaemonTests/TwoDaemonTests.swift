import Foundation
import GuanhuaiDelivery
import GuanhuaiTestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

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
        /// With `web`: each instance's pages (instance a's, then b's). The two configurations differ only in
        /// `listen`, as two servers' would not need to; here they share one host.
        let webBases: [String]
        let configB: String
        /// Runs SQL on the database (psql), wherever its primary is now.
        let sql: @Sendable (String) throws -> String

        /// `url` is what guanhuaid connects to (the server, PgBouncer, or a primary and standby); `sql` reads the
        /// database directly.
        init(
            members: Int, url: String, claimSeconds: Int = 30, web: Bool = false, sql: @escaping @Sendable (String) throws -> String
        ) throws {
            dir = try Scratch()
            self.sql = sql
            _ = try runTool("/usr/bin/python3", [Example.root.appendingPathComponent("Benchmarks/make_committee.py").path, dir.url.path, "\(members)"])
            for f in ["rules.toml", "templates"] {
                try FileManager.default.copyItem(at: Example.root.appendingPathComponent("Config/\(f)"), to: dir.url.appendingPathComponent(f))
            }
            maildir = dir.url.appendingPathComponent("mail")
            try FileManager.default.createDirectory(at: maildir, withIntermediateDirectories: true)
            cert = try makeCertificate(name: "localhost", in: dir.url)
            _ = try dir.write("smtp-password", "pa:ss w0rd!\n")
            port = freePort()
            let text =
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

                """ + mailChannelTOML(port: port, ca: cert.cert)
            let ports = web ? [freePort(), freePort()] : []
            webBases = ports.map { "http://127.0.0.1:\($0)" }
            if web { _ = try dir.write("web-key", webKey + "\n") }
            func webTOML(_ i: Int) -> String {
                guard web else { return "" }
                return """

                    [web]
                    listen = "127.0.0.1:\(ports[i])"
                    public_url = "http://127.0.0.1:\(ports[i])"
                    web_key_credential = "web-key"

                    """
            }
            config = try dir.write("config.toml", text + webTOML(0))
            configB = web ? try dir.write("config-b.toml", text + webTOML(1)) : config
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
                config: name == "b" ? configB : config,
                environment: ["GUANHUAI_TEST_CLOCK_FILE": clock, "CREDENTIALS_DIRECTORY": dir.url.path, "WATCHDOG_USEC": "2000000"],
                in: dir.url, name: name)
        }

        func count(_ query: String) async throws -> Int {
            let sql = self.sql
            return Int(try await offThePool { try sql(query) }.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }

        /// Every mail row sent (its result recorded), after at most `timeout` seconds.
        func allSent(within timeout: TimeInterval) async throws -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if (try? await count("SELECT count(*) FROM outbox WHERE channel = 'mail' AND state <> 'sent'")) == 0,
                    (try? await count("SELECT count(*) FROM outbox WHERE channel = 'mail'")) ?? 0 > 0
                {
                    return true
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            return false
        }

        /// Rows sent, by the daemon slot that held the last claim on each (`slotOf` maps a process id to its slot).
        func shares(_ slotOf: [Int32: Int], slots: Int = 2) async throws -> [Int] {
            let sql = self.sql
            let by = try await offThePool { try sql("SELECT claimedBy, count(*) FROM outbox WHERE channel = 'mail' GROUP BY claimedBy") }
            var share = Array(repeating: 0, count: slots)
            for line in by.split(separator: "\n") {
                let parts = line.split(separator: "|")
                guard parts.count == 2, let pid = parts[0].split(separator: ":").last.flatMap({ Int32($0) }), let slot = slotOf[pid],
                    let n = Int(parts[1])
                else { continue }
                share[slot] += n
            }
            return share
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

    /// Direct to the server, and through PgBouncer in transaction mode (nothing changes; fewer kills, for time).
    @Test(arguments: [false, true]) func twoInstancesShareASendTimeAndKillsLoseNothing(viaPgBouncer: Bool) async throws {
        let kills = viaPgBouncer ? 10 : Int(ProcessInfo.processInfo.environment["GUANHUAI_DAEMON_KILLS"] ?? "") ?? 50
        let server = try await PostgresServer.sharedServer()
        let url = try await server.newDatabase()
        let database = String(url.split(separator: "/").last!)
        var through = url
        if viaPgBouncer {
            let bouncer = try #require(try await offThePool { PgBouncer.shared }, "PgBouncer (Debian pgbouncer) is not installed")
            through = bouncer.url(database: database)
        }
        let c = try Committee(members: 2000, url: through) { try server.psql($0, database: database) }
        let smtp = try c.smtp(delay: 0.01)
        try setClock(c.clock, Self.start)
        var slots = [try c.daemon("a"), try c.daemon("b")]
        var slotOf: [Int32: Int] = [slots[0].pid: 0, slots[1].pid: 1]
        var all = slots
        #expect(
            try await eventually(60) { (try? FileManager.default.contentsOfDirectory(atPath: c.maildir.path).count) ?? 0 > 20 },
            "no mail arrived: \(slots[0].stderr) \(slots[1].stderr)")
        // The operator's view while they send: the database, its primary, and who holds claims.
        let status = try runCLI(["status", "--config", c.config, "--now", "2027-06-01T08:31"])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("Database: postgresql://postgres@") && status.stdout.contains("timeline"), "\(status.stdout)")
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
        #expect(try await c.allSent(within: 180))
        let rows = try await c.count("SELECT count(*) FROM outbox WHERE channel = 'mail'")
        #expect(rows >= 3000)
        let got = c.received()
        let unique = Set(got)
        #expect(unique.count == rows, "lost: \(rows - unique.count)")
        #expect(got.count - unique.count <= killed, "\(got.count - unique.count) duplicates after \(killed) kills")
        let share = try await c.shares(slotOf)
        #expect(share[0] > rows / 10 && share[1] > rows / 10, "shares \(share) of \(rows)")
        print("two instances\(viaPgBouncer ? " via PgBouncer" : ""): \(rows) digests, \(killed) kills, \(got.count - unique.count) duplicates, shares \(share)")
        for d in slots { d.signal(SIGTERM) }
        for d in slots { _ = await d.waitExit(timeout: 30) }
        _ = (smtp, all)
    }
}

/// The database's primary dies (SIGKILL) while two guanhuaid send, and the synchronous standby is promoted
/// (`pg_ctl promote`, as the notes' harness does; pg_auto_failover does it in the benchmark). Both instances follow
/// the new primary through the multi-host URL; nothing is lost, and the time from the kill to the first result
/// recorded on the new primary is measured.
@Suite(.serialized, .enabled(if: PostgresServer.enabled, "PostgreSQL 15 is not installed here (Debian postgresql-15)"))
struct DaemonFailoverTests {
    final class Primary: @unchecked Sendable {
        let lock = NSLock()
        var server: PostgresServer
        init(_ s: PostgresServer) { server = s }
        var now: PostgresServer { lock.withLock { server } }
        func set(_ s: PostgresServer) { lock.withLock { server = s } }
    }

    /// `hang`: the split brain. The primary is stopped (SIGSTOP: its connections stay open, half answered), the
    /// standby promoted, and the old primary resumed (SIGCONT) a few seconds later, saying primary too, before it is
    /// killed and rejoined: the instances stay on the new primary (the later timeline).
    @Test(arguments: [false, true]) func twoInstancesFollowThePrimaryThroughFailoversAndLoseNothing(hang: Bool) async throws {
        let failovers = hang ? 1 : Int(ProcessInfo.processInfo.environment["GUANHUAI_DAEMON_FAILOVERS"] ?? "") ?? 2
        let pair = try await offThePool { try PostgresPair() }
        defer {
            pair.primary.stop()
            pair.standby.stop()
        }
        let primary = Primary(pair.primary)
        var standby = pair.standby
        let c = try TwoDaemonTests.Committee(members: 2000, url: pair.url, web: true) { try primary.now.psql($0, database: "guanhuai") }
        let smtp = try c.smtp(delay: 0.01)
        try setClock(c.clock, TwoDaemonTests.start)
        let slots = [try c.daemon("a"), try c.daemon("b")]
        let slotOf: [Int32: Int] = [slots[0].pid: 0, slots[1].pid: 1]
        #expect(
            try await eventually(60) { (try? FileManager.default.contentsOfDirectory(atPath: c.maildir.path).count) ?? 0 > 20 },
            "no mail arrived: \(slots[0].stderr) \(slots[1].stderr)")
        // Completions recorded while the primary dies, through the pages: each secretary's 「我的待办」 link (signed as
        // mail signs it), its 「已办结」 POSTed to either instance in turn. Each POST either fails with a page that says
        // so, or is on the new primary afterwards.
        let (upA, upB) = (await webIsUp(c.webBases[0]), await webIsUp(c.webBases[1]))
        #expect(upA && upB, "\(slots[0].stderr) \(slots[1].stderr)")
        let plan = try await offThePool {
            try runCLI(["plan", "--config", c.config, "--from", "2026-11-01", "--to", "2026-12-05", "--format", "json"])
        }
        let signer = LinkSigner(key: Array(webKey.utf8))
        let overdue = plan.stdout.split(separator: "\n").compactMap { line -> (id: String, path: String)? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], o["status"] as? String == "overdue",
                let id = o["occurrence"] as? String, let person = o["responsible"] as? String
            else { return nil }
            let token = LinkToken(purpose: .agenda, person: person, expires: TwoDaemonTests.start + 30 * 86400, generation: 0)
            return (id, "/me/" + signer.token(token) + "/done")
        }.prefix(6 * failovers)
        #expect(overdue.count == 6 * failovers, "\(plan.stderr)")
        let bases = c.webBases
        let recording = Task {
            var answers: [(id: String, status: Int, page: String)] = []
            for (i, item) in overdue.enumerated() {
                let r = try await http("POST", bases[i % 2] + item.path, form: ["occurrence": item.id, "date": "2026-12-05", "confirm": "yes"])
                answers.append((item.id, r.status, r.body))
                try await Task.sleep(for: .milliseconds(300))
            }
            return answers
        }
        var recoveries: [Duration] = []
        for _ in 0..<failovers {
            try await Task.sleep(for: .milliseconds(Int.random(in: 1000...2000)))
            let old = primary.now
            let oldPID = old.pid
            let killed = ContinuousClock.now
            old.signal(hang ? SIGSTOP : SIGKILL)
            try await standby.promoted()
            primary.set(standby)
            // The first result recorded on the new primary once it is promoted (what it had then came from the old).
            let sentBefore = try await c.count("SELECT count(*) FROM outbox WHERE state = 'sent'")
            while ContinuousClock.now < killed + .seconds(120) {
                if let n = try? await c.count("SELECT count(*) FROM outbox WHERE state = 'sent'"), n > sentBefore {
                    recoveries.append(ContinuousClock.now - killed)
                    break
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            if hang {
                // Two primaries for a while: the old one answers again, on the old timeline.
                old.signal(SIGCONT)
                try await Task.sleep(for: .seconds(3))
                old.signal(SIGKILL)
            }
            let (p, s) = (standby, old)
            try await offThePool { try s.rejoin(standbyOf: p, oldPID: oldPID) }
            standby = old
        }
        #expect(recoveries.count == failovers, "sending did not resume on the new primary")
        let answers = try await recording.value
        let recorded = Set(
            try await offThePool { try primary.now.psql("SELECT occurrence FROM completion", database: "guanhuai") }.split(separator: "\n").map(String.init))
        for a in answers {
            // 409: already recorded (the one POST answered twice would say so); it is recorded either way.
            if a.status == 200 || a.status == 409 {
                #expect(a.page.contains("已登记") && recorded.contains(a.id), "\(a.id) was said to be recorded, and is not on the primary")
            } else {
                #expect(a.page.contains("如需帮助") && !recorded.contains(a.id), "\(a.id): \(a.status) without a word: \(a.page)")
            }
        }
        #expect(answers.filter { $0.status == 200 }.count >= answers.count / 2, "\(answers.map { "\($0.id) \($0.status)" })")
        #expect(try await c.allSent(within: 180), "\(slots[0].stderr.suffix(2000))")
        let rows = try await c.count("SELECT count(*) FROM outbox WHERE channel = 'mail'")
        #expect(rows >= 3000)
        let got = c.received()
        let unique = Set(got)
        #expect(unique.count == rows, "lost: \(rows - unique.count)")
        #expect(got.count - unique.count <= failovers * 2, "\(got.count - unique.count) duplicates in \(failovers) failovers")
        let share = try await c.shares(slotOf)
        #expect(share[0] > 0 && share[1] > 0, "shares \(share)")
        if ProcessInfo.processInfo.environment["GUANHUAI_SHOW_LOGS"] != nil { for d in slots { print(d.stderr) } }
        let sorted = recoveries.sorted()
        print(
            "daemon \(hang ? "split brains" : "failovers"): \(failovers), \(rows) digests, \(got.count - unique.count) duplicates, kill → first result on the new primary: \(sorted), completions through the pages \(answers.filter { $0.status == 200 }.count) of \(answers.count) recorded"
        )
        for d in slots { d.signal(SIGTERM) }
        for d in slots { _ = await d.waitExit(timeout: 30) }
        _ = smtp
    }
}
