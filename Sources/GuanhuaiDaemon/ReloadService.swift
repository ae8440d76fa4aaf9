import GuanhuaiDelivery
import Logging
import ServiceLifecycle
import Synchronization
import Systemd
import UnixSignals

/// SIGHUP: validate the new configuration, swap it in atomically, tell systemd; a bad one leaves the old running.
struct ReloadService: Service {
    let runtime: Runtime
    let schedulerBell: Doorbell
    /// Rung too after a reload: the SMS receipt poller, which sleeps an hour while no SMS channel is configured,
    /// polls a channel the new configuration adds at once.
    var otherBells: [Doorbell] = []
    let notifier: Notifier
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            notifier.reloading()
            do {
                try await runtime.reload()
                logger.notice("configuration reloaded", metadata: ["MESSAGE_ID": "\(MessageID.configReloaded)"])
                schedulerBell.ring()
                for bell in otherBells { bell.ring() }
            } catch {
                logger.error(
                    "the new configuration is invalid; still running the previous one: \(error)",
                    metadata: ["MESSAGE_ID": "\(MessageID.configRejected)"])
            }
            notifier.ready(status: await runtime.statusText)
        }
    }
}

/// The listeners (the pages, /metrics) that must be bound before systemd is told the service is up.
final class Listeners: Sendable {
    let expected: Int
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init(expected: Int) {
        self.expected = expected
        (stream, continuation) = AsyncStream.makeStream()
    }

    /// One listener is bound (its server's on-running hook).
    func bound() { continuation.yield() }

    /// Returns once every listener is bound; at once when there are none.
    func allBound() async {
        var n = 0
        guard expected > 0 else { return }
        for await _ in stream {
            n += 1
            if n >= expected { return }
        }
    }
}

/// Opened once READY=1 is sent (or the daemon stops first): the scheduler's first plan waits for it, so systemd
/// hears READY before the daemon spends the two threads planning.
final class ReadyGate: Sendable {
    private let state: Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>

    /// `open: true` for a service that starts without waiting (tests that build one service alone).
    init(open: Bool = false) { state = Mutex((open, [])) }

    func open() {
        let waiters = state.withLock { s in
            s.open = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s in
                if s.open { return true }
                s.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }
}

/// systemd's view of the service's life: READY=1 once every listener is bound (a client that connects the moment
/// the unit is active is answered), STOPPING=1 when graceful shutdown begins.
struct LifecycleNotifier: Service {
    let listeners: Listeners
    let gate: ReadyGate
    let runtime: Runtime
    let notifier: Notifier
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await listeners.allBound() }
        if !Task.isCancelled, !Task.isShuttingDownGracefully {
            notifier.ready(status: await runtime.currentStatus())
            logger.notice("guanhuaid ready")
        }
        gate.open()
        try? await gracefulShutdown()
        notifier.stopping()
    }
}
