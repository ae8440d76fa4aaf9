import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiTestSupport
import Logging
import Synchronization
import Systemd
import Testing

@testable import GuanhuaiDaemon

let daemonServers = Example.root.appendingPathComponent("Tests/GuanhuaiDaemonTests/Servers")
let smtpServerScript = Example.root.appendingPathComponent("Tests/GuanhuaiDeliveryTests/Servers/smtp_server.py").path
let checkMailScript = Example.root.appendingPathComponent("Tests/GuanhuaiDeliveryTests/Servers/check_mail.py").path

/// The guanhuaid executable built beside the test bundle.
var daemonPath: String { URL(fileURLWithPath: cliPath).deletingLastPathComponent().appendingPathComponent("guanhuaid").path }

/// A running guanhuaid, its stderr kept in a file.
final class DaemonProcess: @unchecked Sendable {
    let process = Process()
    let stderrPath: String

    /// `terminal`: run on a pseudo-terminal (util-linux `script`), as by hand in a shell; its output is then what
    /// the terminal showed.
    init(config: String, environment extra: [String: String], in dir: URL, name: String = "daemon", terminal: Bool = false) throws {
        stderrPath = dir.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(6)).log").path
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        if terminal {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
            process.arguments = ["-qefc", "exec '\(daemonPath)' --config '\(config)'", stderrPath]
        } else {
            process.executableURL = URL(fileURLWithPath: daemonPath)
            process.arguments = ["--config", config]
        }
        var env = ["PATH": "/usr/bin:/bin", "HOME": dir.path]
        env.merge(extra) { _, new in new }
        process.environment = env
        process.standardError = terminal ? FileHandle.nullDevice : try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    /// guanhuaid's pid: on a terminal, the child of `script` (a hang-up there would be taken for a reload).
    var pid: Int32 {
        let own = process.processIdentifier
        guard process.executableURL?.lastPathComponent == "script" else { return own }
        let children = (try? String(contentsOfFile: "/proc/\(own)/task/\(own)/children", encoding: .utf8)) ?? ""
        return children.split(separator: " ").first.flatMap { Int32($0) } ?? own
    }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
    func signal(_ s: Int32) { kill(pid, s) }

    /// The exit status, or nil when still running after `timeout`.
    func waitExit(timeout: TimeInterval) async -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        return process.isRunning ? nil : process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(pid, SIGKILL)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        // Everything guanhuaid said in any test: no Swift, NIO or library type name reaches the journal.
        if let leak = typeNameLeak(stderr) {
            Issue.record("guanhuaid's output holds a type name (\(leak)): \(stderr.split(separator: "\n").filter { $0.contains(leak) }.prefix(3))")
        }
    }
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(_ timeout: TimeInterval = 20, _ condition: () throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return try condition()
}

/// The fake service manager: every notify message guanhuaid sends, in order.
struct NotifyLog: ~Copyable {
    let listener: ServerProcess
    let socket: String
    let log: String

    init(in dir: URL) throws {
        // AF_UNIX paths are short: keep the socket in /tmp.
        socket = "/tmp/gh-notify-\(UUID().uuidString.prefix(8)).sock"
        log = dir.appendingPathComponent("notify.log").path
        listener = try ServerProcess([daemonServers.appendingPathComponent("notify_listener.py").path, socket, log])
    }

    var messages: [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map { line in
            String(line.split(separator: " ", maxSplits: 1).last ?? "")
        }
    }

    func senders() -> Set<Int32> {
        Set(
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                Int32($0.split(separator: " ").first ?? "")
            })
    }

    deinit { unlink(socket) }
}

/// UTC seconds of a Beijing wall time.
func beijing(_ s: String) -> Int64 {
    let parts = s.split(separator: " ")
    let d = CivilDate(parsing: parts[0])!
    let t = parts[1].split(separator: ":").map { Int64($0)! }
    return Int64(d.dayNumber) * 86400 + t[0] * 3600 + t[1] * 60 + (t.count > 2 ? t[2] : 0) - 8 * 3600
}

/// Sets the daemon's test clock (GUANHUAI_TEST_CLOCK_FILE) to `epoch` from now on.
func setClock(_ file: String, _ epoch: Int64) throws {
    try Data("\(epoch)\n".utf8).write(to: URL(fileURLWithPath: file))
}

/// A sleeping clock for the daemon's loops whose first `allowed` sleeps are short real ones and whose later ones never
/// end until cancelled: a stalled loop, made in test support rather than by a switch in the binary.
final class StallingClock: Clock, Sendable {
    typealias Duration = Swift.Duration
    typealias Instant = ContinuousClock.Instant

    let allowed: Int
    private let count = Mutex(0)
    private let stall = Mutex(false)

    init(allowed: Int) { self.allowed = allowed }

    var now: Instant { ContinuousClock.now }
    var minimumResolution: Duration { .nanoseconds(1) }
    var stalled: Bool { stall.withLock { $0 } }

    func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let n = count.withLock { n in
            n += 1
            return n
        }
        if n <= allowed {
            try await ContinuousClock().sleep(for: .milliseconds(50))
            return
        }
        stall.withLock { $0 = true }
        try await ContinuousClock().sleep(for: .seconds(3600))
    }
}

/// One manual clock for an in-process daemon: the time its loops sleep on, and (through `wall`) the wall time its
/// services read. Time moves only when the test advances it; every sleeper whose deadline has come is woken.
final class ManualDaemonClock: DaemonClock {
    typealias Duration = Swift.Duration

    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by d: Duration) -> Instant { Instant(offset: offset + d) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (a: Instant, b: Instant) -> Bool { a.offset < b.offset }
    }

    private struct Sleeper {
        var id: UInt64
        var deadline: Duration
        var continuation: CheckedContinuation<Void, any Error>
    }

    private let state = Mutex<(now: Duration, sleepers: [Sleeper], nextID: UInt64)>((.zero, [], 0))
    /// The wall time (UTC seconds) at offset zero.
    let epoch: Int64

    init(epoch: Int64) { self.epoch = epoch }

    var now: Instant { Instant(offset: state.withLock { $0.now }) }
    var minimumResolution: Duration { .nanoseconds(1) }
    /// How many sleeps are waiting: a positive sign that the loops have gone round and are idle.
    var sleeping: Int { state.withLock { $0.sleepers.count } }

    /// The wall clock the services read, on the same time.
    var wall: any WallClock { Wall(clock: self) }

    struct Wall: WallClock {
        let clock: ManualDaemonClock
        func now() -> Int64 { clock.epoch + clock.now.offset.components.seconds }
    }

    func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let id = state.withLock { s in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let due = state.withLock { s -> Bool in
                    if deadline.offset <= s.now || Task.isCancelled { return true }
                    s.sleepers.append(Sleeper(id: id, deadline: deadline.offset, continuation: c))
                    return false
                }
                if due { c.resume() }
            }
        } onCancel: {
            let s = state.withLock { s -> Sleeper? in
                guard let i = s.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return s.sleepers.remove(at: i)
            }
            s?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward and wakes every sleeper whose deadline has come.
    func advance(by d: Duration) {
        let woken = state.withLock { s -> [Sleeper] in
            s.now += d
            let now = s.now
            let due = s.sleepers.filter { $0.deadline <= now }
            s.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for w in woken { w.continuation.resume() }
    }
}

/// The example sending its e-mail to a plain aiosmtpd on loopback (no journal), for in-process daemon tests.
final class MailRig: Sendable {
    let smtp: ServerProcess
    let maildir: URL
    let config: String
    let environment: [String: String]

    init(_ dir: borrowing Scratch, busyTimeoutMilliseconds: Int = 5000) throws {
        maildir = dir.url.appendingPathComponent("mail")
        try FileManager.default.createDirectory(at: maildir, withIntermediateDirectories: true)
        smtp = try ServerProcess([smtpServerScript, "--maildir", maildir.path])
        (config, environment) = try dir.exampleCopy(
            routing: "email = \"mail\"\njournal = false",
            channels: mailChannel(port: smtp.port),
            busyTimeoutMilliseconds: busyTimeoutMilliseconds)
    }

    /// How many messages the server has stored.
    var received: Int { (try? stored(maildir).count) ?? 0 }
}

/// The daemon `guanhuaid` would build from these files, not started: its wall time is `wall`, so a test drives the
/// dispatcher (`dispatchOnce`) and the scheduler (`runtime.schedule`) step by step.
func builtDaemon(
    config: String, environment: [String: String] = [:], wall: any WallClock = SystemWallClock(),
    notifier: Notifier = Notifier(), logger: Logger = Logger(label: "t")
) async throws -> Daemon {
    try await buildDaemon(
        DaemonOptions(configPath: config, environment: environment),
        clock: SystemDaemonClock(wall: wall), notifier: notifier, logger: logger)
}

/// `[channels.mail]`: plain SMTP to the test's aiosmtpd on `port`.
func mailChannel(port: Int) -> String {
    """
    [channels.mail]
    type = "smtp"
    host = "127.0.0.1"
    port = \(port)
    security = "none"
    from = "guanhuai@example.edu.cn"
    """
}
