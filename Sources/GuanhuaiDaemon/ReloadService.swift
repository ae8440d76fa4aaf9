import GuanhuaiDelivery
import Logging
import ServiceLifecycle
import Systemd
import UnixSignals

/// SIGHUP: validate the new configuration, swap it in atomically, tell systemd; a bad one leaves the old running.
struct ReloadService: Service {
    let runtime: Runtime
    let schedulerBell: Doorbell
    let notifier: Notifier
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            notifier.reloading()
            do {
                try await runtime.reload()
                logger.notice("configuration reloaded", metadata: ["MESSAGE_ID": "\(MessageID.configReloaded)"])
                schedulerBell.ring()
            } catch {
                logger.error("the new configuration is invalid; still running the previous one: \(error)",
                    metadata: ["MESSAGE_ID": "\(MessageID.configRejected)"])
            }
            notifier.ready(status: await runtime.statusText)
        }
    }
}

/// Sends STOPPING=1 when graceful shutdown begins, then waits for the others to finish.
struct StoppingNotifier: Service {
    let notifier: Notifier

    func run() async throws {
        try? await gracefulShutdown()
        notifier.stopping()
    }
}
