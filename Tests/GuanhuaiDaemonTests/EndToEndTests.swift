import Foundation
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiStore
import GuanhuaiTestSupport
import Systemd
import Testing

/// A daemon on the example roster, delivering to a real SMTP server (aiosmtpd with STARTTLS and AUTH), its clock
/// injected through GUANHUAI_TEST_CLOCK_FILE.
struct Rig: ~Copyable {
    let dir: Scratch
    let config: String
    let maildir: URL
    let cert: (cert: String, key: String)
    let clock: String
    let port: Int

    init(retryInitialSeconds: Int = 1, edit: (String) -> String = { $0 }) throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        let maildir = dir.url.appendingPathComponent("mail")
        try FileManager.default.createDirectory(at: maildir, withIntermediateDirectories: true)
        let cert = try makeCertificate(name: "localhost", in: dir.url)
        _ = try dir.write("smtp-password", "pa:ss w0rd!\n")
        let port = freePort()
        var text =
            try String(contentsOfFile: config, encoding: .utf8) + "\n" + mailChannelTOML(port: port, ca: cert.cert, retryInitialSeconds: retryInitialSeconds)
        text = edit(text)
        try Data(text.utf8).write(to: URL(fileURLWithPath: config))
        self.clock = dir.url.appendingPathComponent("clock").path
        self.cert = cert
        self.port = port
        self.config = config
        self.maildir = maildir
        self.dir = dir
    }

    func smtp(holdAfter: Int? = nil, holdFile: String? = nil) throws -> ServerProcess {
        let hold = holdAfter.map { ["--hold-after", "\($0)", "--hold-file", holdFile ?? ""] } ?? []
        return try ServerProcess(
            [
                smtpServerScript, "--maildir", maildir.path, "--tls", "starttls", "--auth", "--cert", cert.cert,
                "--key", cert.key, "--port", "\(port)",
            ] + hold)
    }

    func daemon(_ name: String = "daemon", watchdog: Bool = true, environment: [String: String] = [:], terminal: Bool = false) throws -> DaemonProcess {
        var env = ["GUANHUAI_TEST_CLOCK_FILE": clock, "CREDENTIALS_DIRECTORY": dir.url.path].merging(environment) { $1 }
        if watchdog { env["WATCHDOG_USEC"] = "2000000" }  // the scheduler then looks every second
        return try DaemonProcess(config: config, environment: env, in: dir.url, name: name, terminal: terminal)
    }

    var messages: [URL] {
        ((try? FileManager.default.contentsOfDirectory(at: maildir, includingPropertiesForKeys: nil)) ?? [])
            .filter { $0.pathExtension == "eml" }.sorted { $0.path < $1.path }
    }

    func parsed(_ url: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: try runTool(venvPython, [checkMailScript, url.path])) as! [String: Any]
    }

    func headers(_ url: URL) throws -> [String: String] { try parsed(url)["headers"] as! [String: String] }

    var database: AppDatabase { get throws { try AppDatabase(path: dir.databasePath) } }

    /// Every e-mail row in the outbox has its result recorded: sent, or failed for good. Once that holds nothing more
    /// is going to the server, so what it received can be compared (a positive event instead of a sleep).
    var mailSettled: Bool {
        ((try? database.outbox().filter { $0.channel == "mail" }) ?? []).allSatisfy { $0.state != .pending }
    }
}

/// The `[channels.mail]` and `[delivery]` the daemon tests send through: aiosmtpd on `port` with STARTTLS and AUTH
/// (the password in the credential `smtp-password`), its certificate's CA trusted, retries quick.
func mailChannelTOML(port: Int, ca: String, retryInitialSeconds: Int = 1) -> String {
    """
    [channels.mail]
    type = "smtp"
    host = "localhost"
    port = \(port)
    security = "starttls"
    user = "guanhuai"
    password_credential = "smtp-password"
    ca_file = "\(ca)"
    from = "guanhuai@example.edu.cn"
    from_name = "党委组织部 关怀提醒"
    timeout_seconds = 30

    [delivery]
    retry_initial_seconds = \(retryInitialSeconds)
    retry_max_seconds = 2

    """
}

/// The e-mail recipients of the digests the planner gives for the send times in (after, through].
func expectedRecipients(after: Int64, through: Int64) -> [String: Int] {
    let input = Example.config.planInput()
    let planner = Planner(input)
    let today = planner.today(at: through)
    let occ = planner.plan(PlanQuery(from: today.adding(days: -20), to: today.adding(days: 45), now: through))
    var out: [String: Int] = [:]
    for d in Digest.collect(occ, after: after, through: through) {
        let address = input.organization.people[d.recipient]?.email ?? input.members.first { $0.id == d.recipient }?.email
        if let address { out[address, default: 0] += 1 }
    }
    return out
}

func recipient(_ rig: borrowing Rig, _ url: URL) -> String {
    let env = (try? String(contentsOf: url.deletingPathExtension().appendingPathExtension("env"), encoding: .utf8)) ?? ""
    return env.split(separator: "\n").dropFirst().first.map(String.init) ?? ""
}

@Suite(.serialized) struct EndToEndTests {
    static let start = beijing("2027-06-01 08:29:57")
    static let sendTime = beijing("2027-06-01 08:30:00")

    @Test func startedJustBeforeASendTimeItDeliversExactlyTheExpectedDigests() async throws {
        let rig = try Rig()
        let server = try rig.smtp()
        try setClock(rig.clock, Self.start)
        let daemon = try rig.daemon()
        let expected = expectedRecipients(after: Self.start, through: Self.sendTime)
        #expect(expected.count >= 8)
        let total = expected.values.reduce(0, +)
        #expect(try await eventually(25) { rig.messages.count >= total && rig.mailSettled }, "\(daemon.stderr)")
        let got = Dictionary(grouping: rig.messages.map { recipient(rig, $0) }, by: { $0 }).mapValues(\.count)
        #expect(got == expected)
        for m in rig.messages {
            let p = try rig.parsed(m)
            #expect((p["defects"] as! [String]).isEmpty)
            let subject = (p["headers"] as! [String: String])["Subject"] ?? ""
            #expect(subject.hasPrefix("「关怀提醒") || subject.hasPrefix("政治生日快乐"), "\(subject)")
            #expect(!subject.contains("补发"))
        }
        // Everything is recorded as sent, and the journal channel got its entries too when there is a journald (no
        // journal rows where there is none: sd_journal_sendv would "succeed" into the void; JournalTests has one).
        let outbox = try rig.database.outbox()
        #expect(outbox.allSatisfy { $0.state == .sent })
        #expect(outbox.filter { $0.channel == "journal" }.count == (Journal.isAvailable ? expected.count : 0))
        _ = server
    }

    /// `make serve`: guanhuaid by hand in a terminal, no journald: the journal channel's reminders are shown there.
    @Test(
        .enabled(if: !Journal.isAvailable, "a journald is running here: the channel writes to it"),
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "util-linux's script is not installed"))
    func withoutAJournaldInATerminalTheJournalChannelShowsEachReminderThere() async throws {
        let rig = try Rig()
        let server = try rig.smtp()
        try setClock(rig.clock, Self.start)
        let daemon = try rig.daemon(terminal: true)
        let expected = expectedRecipients(after: Self.start, through: Self.sendTime)
        #expect(try await eventually(25) { rig.mailSettled && rig.messages.count >= expected.values.reduce(0, +) }, "\(daemon.stderr)")
        #expect(try await eventually(5) { daemon.stderr.contains("[journal] ") }, "\(daemon.stderr)")
        let lines = daemon.stderr.split(whereSeparator: \.isNewline).filter { $0.contains("[journal] ") }
        #expect(lines.allSatisfy { $0.contains("期限") }, "\(lines.prefix(3))")
        #expect(try rig.database.outbox().filter { $0.channel == "journal" }.allSatisfy { $0.state == .sent })
        #expect(!daemon.stderr.contains("there is no systemd journal"))
        daemon.signal(SIGINT)  // Ctrl-C
        #expect(await daemon.waitExit(timeout: 15) == 0, "Ctrl-C stops it cleanly")
        _ = server
    }

    @Test func killedInTheMiddleOfABatchTheRestartDeliversTheRestAndRepeatsAtMostOne() async throws {
        let rig = try Rig()
        // The server stores two messages, then holds the third unanswered until the hold file goes: the kill lands
        // with exactly one message in flight, however slowly the machine runs.
        let hold = try rig.dir.write("hold", "")
        let server = try rig.smtp(holdAfter: 2, holdFile: hold)
        try setClock(rig.clock, Self.start)
        let expected = expectedRecipients(after: Self.start, through: Self.sendTime)
        let total = expected.values.reduce(0, +)
        #expect(total > 3)
        var daemon = try rig.daemon("first")
        #expect(
            try await eventually(25) {
                rig.messages.count >= 2 && ((try? String(contentsOf: rig.maildir.appendingPathComponent("offers"), encoding: .utf8)) ?? "").count >= 6
            }, "\(daemon.stderr)")
        daemon.signal(SIGKILL)
        _ = await daemon.waitExit(timeout: 5)
        let atKill = rig.messages.count
        #expect(atKill == 2, "the kill came with the third message in flight")
        try FileManager.default.removeItem(atPath: hold)
        daemon = try rig.daemon("second")
        #expect(
            try await eventually(40) {
                Set(rig.messages.map { recipient(rig, $0) }).count == expected.count && rig.mailSettled
            }, "\(daemon.stderr)")
        let ids = try rig.messages.map { try rig.headers($0)["Message-ID"] ?? "" }
        #expect(Set(ids).count == total, "nothing lost")
        #expect(ids.count <= total + 1, "at most the in-flight message repeated: \(ids.count) for \(total)")
        _ = server
    }

    @Test func smtpDownForTheFirstAttemptsThenUpIsDelivered() async throws {
        let rig = try Rig()
        try setClock(rig.clock, Self.start)
        let daemon = try rig.daemon()
        #expect(try await eventually(20) { daemon.stderr.contains("will retry") }, "\(daemon.stderr)")
        #expect(rig.messages.isEmpty)
        let server = try rig.smtp()
        let total = expectedRecipients(after: Self.start, through: Self.sendTime).values.reduce(0, +)
        #expect(try await eventually(25) { rig.messages.count >= total }, "\(daemon.stderr)")
        #expect(try rig.database.outbox().filter { $0.channel == "mail" }.allSatisfy { $0.state == .sent })
        _ = server
    }

    @Test func aPermanentRefusalIsFailedReportedAndNotRetried() async throws {
        // 周海燕's address is refused by the server (550 on RCPT).
        let rig = try Rig { $0 }
        let roster = rig.dir.url.appendingPathComponent("roster.csv")
        let text = try String(contentsOf: roster, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "zhouhaiyan@example.edu.cn", with: "reject@example.edu.cn").utf8).write(to: roster)
        let server = try rig.smtp()
        try setClock(rig.clock, Self.start)
        let daemon = try rig.daemon()
        #expect(try await eventually(25) { daemon.stderr.contains("delivery failed for good") && rig.mailSettled }, "\(daemon.stderr)")
        let failed = try rig.database.outbox().filter { $0.state == .failed }
        #expect(failed.count == 1 && failed[0].recipient == "M001")
        #expect(failed[0].attempts == 1, "not retried")
        #expect(failed[0].lastError?.contains("550") == true)
        // guanhuai status reports it.
        let status = try runCLI(["status", "--config", rig.config], environment: ["CREDENTIALS_DIRECTORY": rig.dir.url.path])
        #expect(status.stdout.contains("550") && status.stdout.contains("M001"), "\(status.stdout)\(status.stderr)")
        _ = server
    }

    @Test func aClockJumpedForwardThreeDaysSendsTheMissedOnesOnceMarkedLate() async throws {
        let rig = try Rig()
        let server = try rig.smtp()
        try setClock(rig.clock, Self.start)
        let daemon = try rig.daemon()
        let first = expectedRecipients(after: Self.start, through: Self.sendTime).values.reduce(0, +)
        #expect(try await eventually(25) { rig.messages.count >= first })
        let jumped = beijing("2027-06-04 09:00:00")
        try setClock(rig.clock, jumped)
        let missed = expectedRecipients(after: Self.sendTime, through: jumped)
        let total = first + missed.values.reduce(0, +)
        #expect(missed.count > 0)
        #expect(try await eventually(30) { rig.messages.count >= total && rig.mailSettled }, "\(daemon.stderr)")
        #expect(rig.messages.count == total)
        let subjects = try rig.messages.dropFirst(first).map { try rig.headers($0)["Subject"] ?? "" }
        #expect(subjects.contains { $0.contains("补发") }, "the 06-02 and 06-03 ones are more than a day late")
        // A 补发 mail is dated when it went (a mail program sorts by Date:), and says when it should have gone.
        for m in rig.messages.dropFirst(first) {
            let p = try rig.parsed(m)
            let h = p["headers"] as! [String: String]
            guard h["Subject"]?.contains("补发") == true else { continue }
            #expect(h["Date"]?.contains("4 Jun 2027") == true, "\(h["Date"] ?? "")")
            #expect((p["parts"] as! [String: String])["text/plain"]?.contains("本应于 2027-06-0") == true)
        }
        // And back again: nothing is sent twice.
        try setClock(rig.clock, beijing("2027-06-02 09:00:00"))
        #expect(try await eventually(10) { daemon.stderr.contains("the clock went back") }, "\(daemon.stderr)")
        #expect(rig.messages.count == total && rig.mailSettled)
        _ = server
    }

    /// systemd is told STOPPING=1 first; then the message in flight is finished and recorded; then exit 0. What was
    /// not offered stays in the outbox, uncharged, for the next start.
    @Test func aStopDuringABatchSaysStoppingFirstFinishesTheMessageInFlightAndExitsZero() async throws {
        let rig = try Rig()
        // The server stores one message, then holds the second's reply until the hold file goes.
        let hold = try rig.dir.write("hold", "")
        let server = try rig.smtp(holdAfter: 1, holdFile: hold)
        try setClock(rig.clock, Self.start)
        let notify = try NotifyLog(in: rig.dir.url)
        let daemon = try rig.daemon(environment: ["NOTIFY_SOCKET": notify.socket])
        let offers = rig.maildir.appendingPathComponent("offers")
        func offered() -> Int { ((try? String(contentsOf: offers, encoding: .utf8)) ?? "").split(separator: "\n").count }
        // The server has taken the second message's DATA and is holding its reply: a message is in flight.
        #expect(try await eventually(25) { offered() == 2 && rig.messages.count == 1 }, "\(daemon.stderr)")
        daemon.signal(SIGTERM)
        #expect(try await eventually(5) { notify.messages.contains("STOPPING=1") })
        #expect(rig.messages.count == 1, "STOPPING=1 came before the message in flight was answered")
        try FileManager.default.removeItem(atPath: hold)
        #expect(await daemon.waitExit(timeout: 20) == 0, "\(daemon.stderr)")
        #expect(rig.messages.count == 2, "the message in flight was finished")
        #expect(offered() == 2, "nothing more was offered after the stop began")
        let mail = try rig.database.outbox().filter { $0.channel == "mail" }
        #expect(mail.filter { $0.state == .sent }.count == 2)
        #expect(mail.filter { $0.state == .pending }.allSatisfy { $0.attempts == 0 } && mail.count > 2)
        #expect(!notify.messages.drop(while: { $0 != "STOPPING=1" }).contains { $0.hasPrefix("READY=1") })
        _ = server
    }
}
