// guanhuaid: parse the arguments, bootstrap logging once, run the services. All logic is in GuanhuaiDaemon.
import Foundation
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDaemon
import GuanhuaiDelivery
import GuanhuaiSystem
import Logging
import Synchronization
import Systemd

#if canImport(Glibc)
    import Glibc
#endif

// A parent (a test harness, a shell) may have blocked signals; systemd's SIGTERM and SIGHUP must reach us.
var all = sigset_t()
sigfillset(&all)
sigprocmask(SIG_UNBLOCK, &all, nil)
umask(0o077)
// The journal is for operators and stays English whatever the unit's LANG.
Lang.chinese = false

let environment = ProcessInfo.processInfo.environment
// Swift Concurrency's jobs on NIO's event loops (EventLoopExecutor says why), before any task exists.
EventLoopExecutor.install(environment: environment)
let args = CommandLine.arguments.dropFirst()
let option = args.firstIndex(of: "--config").flatMap { i in args.index(after: i) < args.endIndex ? args[args.index(after: i)] : nil }
let configPath = Configuration.path(option: option, environment: environment)
if args.contains("--version") {
    FileHandle.standardOutput.write(Data("guanhuaid \(GuanhuaiVersion.string)\n".utf8))
    exit(0)
}
if args.contains("--help") || args.contains("-h") {
    FileHandle.standardOutput.write(Data("usage: guanhuaid [--config FILE]   (default: $GUANHUAI_CONFIG, else \(Configuration.defaultPath))\n".utf8))
    exit(0)
}

let level = environment["GUANHUAI_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
LoggingSystem.bootstrap { label in
    var handler = SystemdLogging.makeHandler(identifier: "guanhuaid", environment: environment)
    handler.logLevel = level
    return handler
}
let logger = Logger(label: "guanhuaid")
let notifyFailures = Mutex(0)
let notifier = Notifier(report: { error in
    // Said the first time and every 100th after: a broken notify socket must not flood the journal.
    let n = notifyFailures.withLock { n in
        n += 1
        return n
    }
    if n % 100 == 1 { logger.error("cannot tell systemd (\(error)); \(n) notifications lost so far") }
})

do {
    let clock: any WallClock
    switch TestClockSwitch.decide(environment) {
    case .off:
        clock = SystemWallClock()
    case .on(let path):
        clock = FileWallClock(path: path)
        logger.warning(
            "the test clock is in force (GUANHUAI_TEST_CLOCK_FILE=\(path)): reminders go out on the time in that file, not the real time. Never set it in production."
        )
    case .refused(let why):
        throw TestClockSwitch.Refused(message: why)
    }
    let daemon = try await buildDaemon(
        DaemonOptions(configPath: configPath, environment: environment),
        clock: SystemDaemonClock(wall: clock), notifier: notifier, logger: logger)
    // READY=1 comes from the group itself, once every listener is bound (LifecycleNotifier).
    logger.notice("guanhuaid starting with \(configPath)")
    try await daemon.group.run()
    exit(0)
} catch {
    let why = "\(error)".replacingOccurrences(of: "\n", with: "; ")
    notifier.failing(errno: EINVAL, status: "cannot start: \(why)")
    logger.critical("cannot start: \(why)")
    exit(78)  // EX_CONFIG
}
