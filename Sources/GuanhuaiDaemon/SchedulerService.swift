import GuanhuaiCore
import Logging
import ServiceLifecycle
import Systemd

/// Plans, puts due reminders in the outbox, and sleeps until the next send time. Pings the watchdog from its own
/// loop, so a stalled scheduler stops the pings and systemd restarts the daemon.
struct SchedulerService<Sleep: Clock>: Service where Sleep.Duration == Duration {
    let runtime: Runtime
    let clock: any WallClock
    /// What the loop sleeps on: `EventLoopClock` in the daemon, a test clock in tests.
    let sleeper: Sleep
    let bell: Doorbell
    let dispatcherBell: Doorbell
    let notifier: Notifier
    let logger: Logger
    /// In the daemon, the first step waits for READY=1; a service built alone (in a test) starts at once.
    var startGate = ReadyGate(open: true)

    /// Wake at least this often: half the watchdog period, and once a minute to see what the CLI recorded.
    var checkInterval: Duration {
        if let w = notifier.watchdogInterval { return min(w / 2, .seconds(60)) }
        return .seconds(60)
    }

    func run() async throws {
        await startGate.wait()
        var lastNext: Int64?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            notifier.watchdog()
            let now = clock.now()
            var next: Int64?
            do {
                let (added, n) = try await runtime.schedule(now: now)
                next = n
                // Closing the loop: queued messages about what has since been done are withdrawn, or written again
                // without it (the dispatcher holds them back until then).
                let settled = try await runtime.settleDone(now: now)
                if settled.withdrawn + settled.rewritten > 0 {
                    logger.info("\(settled.withdrawn) queued messages withdrawn and \(settled.rewritten) rewritten: what they were about has been done")
                }
                if added > 0 {
                    logger.info("\(added) messages queued", metadata: ["GUANHUAI_QUEUED": "\(added)"])
                }
                // A send time passed (the next one moved on): its messages are queued, by this instance or by
                // another on the same database that won the race to, and this instance's dispatcher sends its share.
                if added + settled.rewritten > 0 || n != lastNext { dispatcherBell.ring() }
                lastNext = n
            } catch {
                logger.error("scheduling failed: \(error)")
            }
            await runtime.publishStatus()
            var sleep = checkInterval
            if let next {
                let until = Duration.seconds(max(0, next - clock.now())) + .milliseconds(200)
                sleep = min(sleep, until)
            }
            // What the step freed goes back to the system before the sleep (glibc keeps it otherwise): the plan,
            // the status text, everything this wake made and dropped.
            releaseFreedMemory()
            logger.debug("scheduler sleeps \(sleep)", metadata: ["GUANHUAI_NEXT_SEND": "\(next.map(String.init) ?? "none")"])
            await bell.wait(timeout: sleep, on: sleeper)
        }
    }
}
