import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiPostgres
import GuanhuaiStore
import GuanhuaiWorkspace
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Prometheus
import ServiceLifecycle

/// What the loops count as they go (swift-prometheus): deliveries by channel and result, how long the last plan
/// took. Labels are ids, never names or notes.
public final class DaemonMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let planSeconds: Gauge

    public init() {
        planSeconds = registry.makeGauge(descriptor: metric("guanhuai_last_plan_seconds", "How long the scheduler's last plan took, in seconds."))
    }

    /// One delivery's result: sent, retry (a temporary failure) or failed (given up).
    func delivered(channel: String, result: String) {
        registry.makeCounter(
            descriptor: metric("guanhuai_deliveries_total", "Delivery attempts by channel and result since guanhuaid started."),
            labels: [("channel", channel), ("result", result)]
        ).increment()
    }

    func planned(_ d: Duration) {
        planSeconds.set(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }
}

/// The figures read from the store and the plan at scrape time, into a registry of their own made for each scrape
/// (so a unit or rule that is gone is gone from the output too).
struct MetricsSnapshot: Sendable {
    struct Obligations: Sendable, Equatable {
        var open = 0
        var overdue = 0
    }

    var generation: Int
    var outbox: [(channel: String, state: String, count: Int)]
    var lastSent: Int64?
    /// SMS delivery receipts by state.
    var smsReceipts: [SMSReceiptState: Int] = [:]
    /// 钉钉 工作通知 whose result was read after sending, by channel and state.
    var workAppResults: [String: [SMSReceiptState: Int]] = [:]
    /// This calendar year's obligations per (unit, rule): open and not yet due, and overdue (as `report --year`).
    var obligations: [String: [String: Obligations]]
    /// On PostgreSQL: the primary, the claims, the failovers this instance saw.
    var database: DatabaseState? = nil

    static func obligations(_ occ: [Occurrence], year: Int) -> [String: [String: Obligations]] {
        var out: [String: [String: Obligations]] = [:]
        for o in occ where o.due.year == year {
            switch o.status {
            case .overdue: out[o.org, default: [:]][o.rule, default: .init()].overdue += 1
            case .pending: out[o.org, default: [:]][o.rule, default: .init()].open += 1
            case .done, .waived, .history: break
            }
        }
        return out
    }

    func text(_ base: PrometheusCollectorRegistry) -> String {
        let r = PrometheusCollectorRegistry()
        r.makeGauge(descriptor: metric("guanhuai_config_generation", "Raised by each reload that took a new configuration."))
            .set(Double(generation))
        for c in outbox {
            r.makeGauge(
                descriptor: metric("guanhuai_outbox_messages", "Outbox rows by channel and state (pending: queued or waiting for a retry)."),
                labels: [("channel", c.channel), ("state", c.state)]
            ).set(Double(c.count))
        }
        for (state, n) in smsReceipts.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            r.makeGauge(
                descriptor: metric(
                    "guanhuai_sms_receipts",
                    "SMS by what their delivery receipt said: accepted (no report yet), delivered, undelivered, unknown (none in 72 h)."),
                labels: [("state", state.rawValue)]
            ).set(Double(n))
        }
        for (channel, states) in workAppResults.sorted(by: { $0.key < $1.key }) {
            for (state, n) in states.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                r.makeGauge(
                    descriptor: metric(
                        "guanhuai_work_app_results",
                        "钉钉 工作通知 whose send result was read after sending: accepted (not read yet), delivered, undelivered, unknown (none in 72 h)."
                    ),
                    labels: [("channel", channel), ("state", state.rawValue)]
                ).set(Double(n))
            }
        }
        if let d = database {
            if let host = d.host {
                r.makeGauge(descriptor: metric("guanhuai_database_primary_info", "The PostgreSQL host in use as the primary (1)."), labels: [("host", host)])
                    .set(Double(1))
            }
            if let t = d.timeline {
                r.makeGauge(descriptor: metric("guanhuai_database_timeline", "The primary's WAL timeline: raised by every promotion.")).set(Double(t))
            }
            r.makeGauge(descriptor: metric("guanhuai_database_failovers_seen", "Moves of the primary this instance followed since it started."))
                .set(Double(d.failoversSeen))
            if let at = d.lastFailover {
                r.makeGauge(
                    descriptor: metric(
                        "guanhuai_database_last_failover_timestamp_seconds", "When this instance last followed the primary to another host (UTC seconds).")
                ).set(at.timeIntervalSince1970.rounded())
            }
            for c in d.claims {
                r.makeGauge(
                    descriptor: metric("guanhuai_outbox_claimed_messages", "Messages claimed for sending, by the instance (host:pid) holding them."),
                    labels: [("instance", c.instance)]
                ).set(Double(c.rows))
            }
        }
        if let lastSent {
            r.makeGauge(descriptor: metric("guanhuai_last_successful_send_timestamp_seconds", "When a message was last delivered (UTC seconds).")).set(
                Double(lastSent))
        }
        for (unit, rules) in obligations.sorted(by: { $0.key < $1.key }) {
            for (rule, n) in rules.sorted(by: { $0.key < $1.key }) {
                r.makeGauge(
                    descriptor: metric("guanhuai_obligations_open", "Obligations due this year, open and not yet due."),
                    labels: [("unit", unit), ("rule", rule)]
                ).set(Double(n.open))
                r.makeGauge(
                    descriptor: metric("guanhuai_obligations_overdue", "Obligations due this year and overdue."), labels: [("unit", unit), ("rule", rule)]
                ).set(Double(n.overdue))
            }
        }
        return base.emitToString() + r.emitToString()
    }
}

extension Runtime {
    /// What a scrape needs from the runtime; the plan is made outside the actor, so a scrape never holds up the
    /// scheduler.
    func metricsInputs() async throws -> (workspace: Workspace, database: any CommitteeStore, zone: ZoneRules, generation: Int, key: Int64) {
        let key = try await database.changeGeneration() * 1000 + Int64(loadGeneration)
        return (loaded.workspace, database, config.zone, loadGeneration, key)
    }
}

/// Plans for the obligation gauges only when the store, the configuration or the day changed since the last scrape.
final class ObligationCache: Sendable {
    private let cached = NIOLockedValueBox<(key: Int64, day: CivilDate, value: [String: [String: MetricsSnapshot.Obligations]])?>(nil)

    func value(key: Int64, day: CivilDate, compute: () async throws -> [String: [String: MetricsSnapshot.Obligations]]) async rethrows
        -> [String: [String: MetricsSnapshot.Obligations]]
    {
        if let c = cached.withLockedValue({ $0 }), c.key == key, c.day == day { return c.value }
        let v = try await compute()
        cached.withLockedValue { $0 = (key, day, v) }
        return v
    }
}

/// `/metrics` (OpenMetrics / Prometheus text) on its own listener, loopback by default: a service in guanhuaid's
/// ServiceGroup, like the pages.
enum MetricsServer {
    static func make(
        settings: MetricsSettings, runtime: Runtime, clock: any WallClock, logger: Logger,
        onRunning: @escaping @Sendable () -> Void = {}
    ) -> any Service {
        let router = Router()
        let cache = ObligationCache()
        router.get("/metrics") { _, _ -> Response in
            let now = clock.now()
            let inputs = try await runtime.metricsInputs()
            let today = Planner.today(at: now, zone: inputs.zone)
            let obligations = try await cache.value(key: inputs.key, day: today) {
                let input = try await inputs.workspace.planInput()
                let from = CivilDate(today.year, 1, 1)!
                let to = CivilDate(today.year, 12, 31)!
                return MetricsSnapshot.obligations(Planner(input).plan(.outcomes(from: from, to: to, now: now)), year: today.year)
            }
            let (outbox, lastSent) = try await inputs.database.outboxByChannel()
            let receipts = try await inputs.database.receiptCounts()
            let dingtalk = inputs.workspace.config.dingtalkChannels
            let snapshot = MetricsSnapshot(
                generation: inputs.generation, outbox: outbox, lastSent: lastSent,
                smsReceipts: receipts.filter { !dingtalk.contains($0.key) }.values.reduce(into: [:]) { $0.merge($1, uniquingKeysWith: +) },
                workAppResults: receipts.filter { dingtalk.contains($0.key) }, obligations: obligations,
                database: try await (inputs.database as? PostgresStore)?.state())
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: snapshot.text(runtime.metrics.registry))))
        }
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .notice)
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(settings.host, port: settings.port), serverName: nil),
            onServerRunning: { channel in
                logger.notice("metrics at http://\(settings.host):\(channel.localAddress?.port ?? 0)/metrics")
                onRunning()
            },
            logger: quiet)
    }
}

/// A metric's whole name and help text (the name already carries its `guanhuai_` prefix and unit suffix).
func metric(_ name: String, _ help: String) -> MetricNameDescriptor {
    MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
}
