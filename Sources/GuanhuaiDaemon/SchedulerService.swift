import GuanhuaiCore
import Logging
import ServiceLifecycle
import Systemd

/// Switches that exist only for tests, set through `$GUANHUAI_TEST_FAULT`; documented in README.
struct Faults: Sendable {
    /// `stall-scheduler-after=SECONDS`: the scheduler stops (and stops pinging the watchdog) after that long.
    var stallSchedulerAfter: Duration?

    init(environment: [String: String]) {
        if let v = environment["GUANHUAI_TEST_FAULT"], v.hasPrefix("stall-scheduler-after="),
            let s = Int(v.dropFirst("stall-scheduler-after=".count))
        {
            stallSchedulerAfter = .seconds(s)
        }
    }
}

/// Plans, puts due reminders in the outbox, and sleeps until the next send time. Pings the watchdog from its own
/// loop, so a stalled scheduler stops the pings and systemd restarts the daemon.
struct SchedulerService: Service {
    let runtime: Runtime
    let clock: any WallClock
    let bell: Doorbell
    let dispatcherBell: Doorbell
    let notifier: Notifier
    let logger: Logger
    let faults: Faults

    /// Wake at least this often: half the watchdog period, and once a minute to see what the CLI recorded.
    var checkInterval: Duration {
        if let w = notifier.watchdogInterval { return min(w / 2, .seconds(60)) }
        return .seconds(60)
    }

    func run() async throws {
        let started = ContinuousClock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            notifier.watchdog()
            if let stall = faults.stallSchedulerAfter, ContinuousClock.now - started > stall {
                logger.warning("test fault: the scheduler stalls now")
                while !Task.isCancelled && !Task.isShuttingDownGracefully { await Doorbell.sleep(.seconds(3600)) }
                return
            }
            let now = clock.now()
            var next: Int64?
            do {
                let (added, n) = try await runtime.schedule(now: now)
                next = n
                if added > 0 {
                    logger.info("\(added) messages queued", metadata: ["GUANHUAI_QUEUED": "\(added)"])
                    dispatcherBell.ring()
                }
            } catch {
                logger.error("scheduling failed: \(error)")
            }
            await runtime.publishStatus()
            var sleep = checkInterval
            if let next {
                let until = Duration.seconds(max(0, next - clock.now())) + .milliseconds(200)
                sleep = min(sleep, until)
            }
            logger.debug("scheduler sleeps \(sleep)", metadata: ["GUANHUAI_NEXT_SEND": "\(next.map(String.init) ?? "none")"])
            await bell.wait(timeout: sleep)
        }
    }
}
