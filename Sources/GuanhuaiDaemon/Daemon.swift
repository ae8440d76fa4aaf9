import Foundation
public import Logging
public import ServiceLifecycle
public import Systemd

/// What `guanhuaid` is started with.
public struct DaemonOptions: Sendable {
    public var configPath: String
    public var environment: [String: String]
    public var clock: any WallClock

    public init(configPath: String, environment: [String: String], clock: any WallClock = SystemWallClock()) {
        self.configPath = configPath
        self.environment = environment
        self.clock = clock
    }
}

/// A daemon ready to run: its services in one group, and the shared runtime.
public struct Daemon: Sendable {
    public let group: ServiceGroup
    public let runtime: Runtime
}

/// Loads and validates everything (configuration, rules, organisation, database, templates, channels and their
/// credentials), then builds the services. Throws, with a message an operator can act on, when anything is wrong;
/// nothing has been started then.
public func buildDaemon(_ options: DaemonOptions, notifier: Notifier = Notifier(), logger: Logger) async throws -> Daemon {
    let loaded = try await Loaded.load(configPath: options.configPath, environment: options.environment)
    let runtime = Runtime(
        loaded: loaded, configPath: options.configPath, environment: options.environment, notifier: notifier,
        logger: logger)
    let schedulerBell = Doorbell()
    let dispatcherBell = Doorbell()
    let services: [any Service] = [
        StoppingNotifier(notifier: notifier),
        SchedulerService(
            runtime: runtime, clock: options.clock, bell: schedulerBell, dispatcherBell: dispatcherBell,
            notifier: notifier, logger: logger, faults: Faults(environment: options.environment)),
        DispatcherService(runtime: runtime, clock: options.clock, bell: dispatcherBell, logger: logger),
        ReloadService(runtime: runtime, schedulerBell: schedulerBell, notifier: notifier, logger: logger),
    ]
    let group = ServiceGroup(
        configuration: ServiceGroupConfiguration(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    return Daemon(group: group, runtime: runtime)
}
