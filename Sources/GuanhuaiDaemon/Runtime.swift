import Foundation
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiPostgres
public import GuanhuaiStore
import GuanhuaiWorkspace
import Logging
import Systemd

/// The daemon's shared state: the loaded configuration, the cached plan, and what STATUS= shows.
public actor Runtime {
    var loaded: Loaded
    let configPath: String
    let environment: [String: String]
    let notifier: Notifier
    let logger: Logger
    /// What the loops count, for /metrics.
    public nonisolated let metrics: DaemonMetrics

    /// What the last plan said, kept instead of the plan itself: an idle daemon holds no roster in memory.
    var lastPlan: SchedulerStep.LastPlan?
    /// The last step decided (what the tests check).
    private(set) var lastStep: SchedulerStep?
    var loadGeneration = 0
    var nextSend: Int64?
    var queued = 0
    var lastFailure: String?
    var disabledChannels: [String] = []
    var warnedNoJournal = false
    /// The processed mark the clock was last seen behind: said once per jump back, not at every step.
    var clockBehind: Int64?

    init(
        loaded: Loaded, configPath: String, environment: [String: String], notifier: Notifier, logger: Logger,
        metrics: DaemonMetrics = DaemonMetrics()
    ) {
        self.metrics = metrics
        self.loaded = loaded
        self.configPath = configPath
        self.environment = environment
        self.notifier = notifier
        self.logger = logger
    }

    public var database: any CommitteeStore { loaded.database }
    var config: Configuration { loaded.config }

    /// Validates the configuration on disk and swaps it in; on any error the running one stays.
    func reload() async throws {
        let new = try await Loaded.load(configPath: configPath, environment: environment, previous: loaded, logger: logger)
        let old = loaded
        loaded = new
        // A PostgreSQL store the new configuration no longer uses is closed once nothing takes it up again; the
        // one kept (the same [database]) is the same object, and stays open.
        if let was = old.database as? PostgresStore, (new.database as? PostgresStore) !== was {
            Task {
                try? await Task.sleep(for: .seconds(30))
                await was.close()
            }
        }
        loadGeneration += 1
        lastPlan = nil
    }

    // MARK: Scheduling

    /// The scheduler's state as a step begins: its work runs off this actor (`Scheduling`).
    func scheduling() -> Scheduling {
        Scheduling(
            loaded: loaded, loadGeneration: loadGeneration, lastPlan: lastPlan, lastStep: lastStep,
            clockBehind: clockBehind, warnedNoJournal: warnedNoJournal, logger: logger, metrics: metrics)
    }

    /// What a step changed, kept for the next (unless a reload came meanwhile: then the next step plans anew).
    func keep(_ s: Scheduling, next: Int64?) {
        if s.loadGeneration == loadGeneration { lastPlan = s.lastPlan }
        lastStep = s.lastStep
        clockBehind = s.clockBehind
        warnedNoJournal = s.warnedNoJournal
        nextSend = next
    }

    /// One scheduling step: every send time in (processed, now] becomes outbox rows, committed together with the
    /// new processed mark (`Scheduling.schedule`). Returns how many rows were added and when the next send time is.
    func schedule(now: Int64) async throws -> (added: Int, next: Int64?) {
        var s = scheduling()
        let result = try await Scheduling.run(&s) { s in try await s.schedule(now: now) }
        keep(s, next: result.next)
        return result
    }

    /// Queued messages about what has since been done: withdrawn, or written again without it.
    func settleDone(now: Int64) async throws -> (withdrawn: Int, rewritten: Int) {
        let s = scheduling()
        return try await Scheduling.run(s) { s in try await s.settleDone(now: now) }
    }

    var lookback: Int { scheduling().lookback }

    // MARK: Status

    func noteDispatch(queued: Int, failure: String?, disabled: [String] = []) {
        self.queued = queued
        disabledChannels = disabled
        if let failure { lastFailure = failure }
    }

    /// The one line `systemctl status` shows.
    var statusText: String {
        var parts: [String] = []
        if let nextSend {
            parts.append("next reminder \(config.zone.minute(atUTC: nextSend))")
        } else {
            parts.append("no reminder due in the next \(Scheduling.horizonDays) days")
        }
        parts.append("\(queued) queued")
        if !disabledChannels.isEmpty { parts.append("DISABLED (410 Gone): \(disabledChannels.joined(separator: ", "))") }
        // Short and plain: `systemctl status` shows one line; the journal has the whole story.
        parts.append(lastFailure.map { "last failure: " + ($0.count > 90 ? String($0.prefix(89)) + "…" : $0) } ?? "last send ok")
        return parts.joined(separator: " · ")
    }

    func publishStatus() { notifier.status(statusText) }

    public func currentStatus() -> String { statusText }

    /// What one dispatcher pass uses, taken once at its start: a reload during the pass changes the next one.
    func deliverySnapshot() -> DeliverySnapshot {
        DeliverySnapshot(database: database, policy: config.delivery, channels: loaded.channels)
    }
}

/// The configuration as one dispatcher pass sees it, whole.
struct DeliverySnapshot: Sendable {
    let database: any OutboxStore
    let policy: Configuration.DeliveryPolicy
    let channels: [String: any DeliveryChannel]
}

/// The earliest reminder after a time, over occurrences shown one at a time (a plan need not be kept for it).
struct FirstSendTime {
    let after: Int64
    var best: Int64?

    mutating func see(_ o: Occurrence) {
        guard o.status.isOpen else { return }
        for r in o.reminders where r.at > after && (best == nil || r.at < best!) { best = r.at }
    }
}
