public import GuanhuaiCalendar
import GuanhuaiCore
import TOMLKit

/// `[report]`: the monthly report mailed to 组织部 (the whole committee) and to each 党总支 secretary (their own
/// units), as an HTML mail with the workbook attached, through the outbox.
public struct ReportSettings: Sendable, Equatable {
    /// When it goes out (an OnCalendar expression in the committee's zone); each time covers the month before.
    public var on: CalendarExpression
    public var onText: String
    /// Each 党总支 secretary also gets the report of their own 党总支 (default on).
    public var generalBranches = true

    static func parse(_ t: TOMLTable, _ r: TOMLReader) throws(InputError) -> ReportSettings {
        let p = TOMLReader.Place(header: "report", index: 0, name: "[report]")
        try r.checkKeys(t, allowed: ["on", "general_branches"], p)
        let (expr, text) = try r.calendarExpression(t, "on", p, default: "*-*-01 09:00")
        var s = ReportSettings(on: expr, onText: text)
        s.generalBranches = try r.bool(t, "general_branches", p) ?? true
        return s
    }
}

/// `[metrics]`: Prometheus metrics at /metrics on their own listener (loopback by default). Labels are ids only.
public struct MetricsSettings: Sendable, Equatable {
    public var host: String
    public var port: Int

    static func parse(_ t: TOMLTable, _ r: TOMLReader) throws(InputError) -> MetricsSettings {
        let p = TOMLReader.Place(header: "metrics", index: 0, name: "[metrics]")
        try r.checkKeys(t, allowed: ["listen"], p)
        let (host, port) = try WebSettings.listenAddress(t, r, p, default: "127.0.0.1:9464")
        return MetricsSettings(host: host, port: port)
    }
}
