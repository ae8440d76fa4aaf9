import Foundation
import GuanhuaiWeb
public import Logging
public import ServiceLifecycle
public import Systemd

/// What `guanhuaid` is started with.
public struct DaemonOptions: Sendable {
    public var configPath: String
    public var environment: [String: String]
    /// How long a graceful stop may take before what is left is cancelled (below the unit's TimeoutStopSec=30s).
    public var stopTimeout: Duration

    public init(configPath: String, environment: [String: String], stopTimeout: Duration = .seconds(20)) {
        self.configPath = configPath
        self.environment = environment
        self.stopTimeout = stopTimeout
    }
}

/// A daemon ready to run: its services in one group, and the shared runtime.
public struct Daemon: Sendable {
    public let group: ServiceGroup
    public let runtime: Runtime
    /// One dispatcher pass, as its loop runs it: for tests that drive the dispatcher step by step on their clock.
    let dispatchOnce: @Sendable () async throws -> Void
}

/// Loads and validates everything (configuration, rules, organisation, database, templates, channels and their
/// credentials), then builds the services. Throws, with a message an operator can act on, when anything is wrong;
/// nothing has been started then.
/// `clock` is the daemon's one clock, for the wall time and every loop's sleeps: guanhuaid passes the system's, the
/// tests one they move by hand; both get the same services.
public func buildDaemon(
    _ options: DaemonOptions, clock: some DaemonClock = SystemDaemonClock(), notifier: Notifier = Notifier(),
    logger: Logger
) async throws -> Daemon {
    let loaded = try await Loaded.load(configPath: options.configPath, environment: options.environment, logger: logger)
    let runtime = Runtime(
        loaded: loaded, configPath: options.configPath, environment: options.environment, notifier: notifier,
        logger: logger)
    let schedulerBell = Doorbell()
    let gate = ReadyGate()
    let dispatcherBell = Doorbell()
    let dispatcher = DispatcherService(runtime: runtime, clock: clock.wall, sleeper: clock, bell: dispatcherBell, logger: logger)
    // ServiceGroup stops services in reverse order, each finishing before the next: STOPPING=1 goes first, then the
    // reload listener, then the dispatcher finishes the message in flight, then the scheduler.
    let receipts = SMSReceiptService(runtime: runtime, clock: clock.wall, sleeper: clock, dispatcherBell: dispatcherBell, logger: logger)
    var services: [any Service] = [
        SchedulerService(
            runtime: runtime, clock: clock.wall, sleeper: clock, bell: schedulerBell,
            dispatcherBell: dispatcherBell, notifier: notifier, logger: logger, startGate: gate),
        dispatcher,
        receipts,
        ReloadService(runtime: runtime, schedulerBell: schedulerBell, otherBells: [receipts.bell], notifier: notifier, logger: logger),
    ]
    // READY=1 waits for these to be bound.
    let listeners = Listeners(expected: (loaded.config.web == nil ? 0 : 1) + (loaded.config.metrics == nil ? 0 : 1))
    // The pages, in this process: they share the store's single writer and the loaded configuration, and wake the
    // loops the moment something is recorded. Stopped before the reload listener, after STOPPING=1.
    if let web = loaded.config.web {
        services.append(
            WebServer.make(
                settings: web,
                backend: DaemonWebBackend(
                    runtime: runtime, clock: clock.wall, schedulerBell: schedulerBell, dispatcherBell: dispatcherBell),
                logger: logger,
                onRunning: { port in
                    logger.notice("web pages listening on \(web.host):\(port), links to \(web.publicURL)")
                    listeners.bound()
                }))
    }
    if let m = loaded.config.metrics {
        services.append(
            MetricsServer.make(
                settings: m, runtime: runtime, clock: clock.wall, logger: logger,
                onRunning: listeners.bound))
    }
    services.append(LifecycleNotifier(listeners: listeners, gate: gate, runtime: runtime, notifier: notifier, logger: logger))
    var configuration = ServiceGroupConfiguration(
        services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
        gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    // The unit's TimeoutStopSec is 30 s: a graceful stop gets 20 of them, then what is still running (a message in
    // flight to a server that stalls) is cancelled and left to the outbox, with time to spare before SIGKILL.
    configuration.maximumGracefulShutdownDuration = options.stopTimeout
    configuration.maximumCancellationDuration = .seconds(5)
    let group = ServiceGroup(configuration: configuration)
    return Daemon(group: group, runtime: runtime, dispatchOnce: dispatcher.dispatchDue)
}
