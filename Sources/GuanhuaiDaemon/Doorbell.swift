import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Wakes a sleeping loop early. Hand-written because the standard library has no timed wait on a condition.
public final class Doorbell: Sendable {
    private let state = Mutex<(rung: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    public init() {}

    public func ring() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            s.rung = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when rung, after `timeout` on `clock`, or when the task is cancelled or the service group shuts down.
    public func wait<C: Clock>(timeout: Duration, on clock: C) async where C.Duration == Duration {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await clock.sleep(for: timeout) }
                group.addTask { await self.waitForRing() }
                await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.ring()
        }
    }

    private func waitForRing() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                // A task cancelled before it got here has already run `onCancel` (Swift runs it at once), which
                // found no waiter; so look at the flag under the same lock, or this continuation is never resumed.
                // (That lost wake-up hung the daemon's loops when the sleep finished first, e.g. a zero timeout.)
                let resumeNow = state.withLock { s -> Bool in
                    if s.rung {
                        s.rung = false
                        return true
                    }
                    if Task.isCancelled { return true }
                    s.waiter = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let w = state.withLock { s -> CheckedContinuation<Void, Never>? in
                let w = s.waiter
                s.waiter = nil
                return w
            }
            w?.resume()
        }
    }
}

/// The daemon's clock for sleeping: SwiftNIO's event-loop timer, one timerfd for the whole duration. (On Linux a
/// pending `Task.sleep` has libdispatch re-arm its timer every second, which would wake an idle daemon 3,600 times an
/// hour.) Tests give the services another `Clock`.
public struct EventLoopClock: Clock {
    public typealias Duration = Swift.Duration
    public typealias Instant = ContinuousClock.Instant

    public init() {}

    public var now: Instant { ContinuousClock.now }
    public var minimumResolution: Duration { .microseconds(1) }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let d = now.duration(to: deadline)
        let nanos = d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let scheduled = loop.scheduleTask(in: .nanoseconds(max(0, nanos))) {}
        try await withTaskCancellationHandler {
            try await scheduled.futureResult.get()
        } onCancel: {
            scheduled.cancel()
        }
        try Task.checkCancellation()
    }
}
