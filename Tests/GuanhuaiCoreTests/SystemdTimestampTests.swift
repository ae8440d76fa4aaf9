import GuanhuaiCalendar
import Testing

@testable import GuanhuaiCore

/// The relative forms of systemd.time(7), which `systemd-analyze` cannot be compared with (its "now" moves); the
/// absolute forms are compared with it in `BadInputTests.calendarCommandAgreesWithSystemdAnalyze`.
@Suite struct SystemdTimestampTests {
    static let shanghai = ZoneRules.named("Asia/Shanghai")!
    /// 2026-12-03 11:24:05.25 UTC = 19:24:05.25 in Shanghai.
    static let now: Int64 = 1_796_297_045_250_000
    static let midnight: Int64 = 1_796_227_200_000_000  // 2026-12-03 00:00 in Shanghai
    static let hour: Int64 = 3_600_000_000

    static let cases: [(String, Int64)] = [
        ("now", now), ("today", midnight), ("yesterday", midnight - 24 * hour), ("tomorrow", midnight + 24 * hour),
        ("-3d", now - 72 * hour), ("+2h 30min", now + 5 * hour / 2), ("1 week ago", now - 168 * hour),
        ("+90", now + 90_000_000), ("08:00", midnight + 8 * hour), ("Thu 08:00", midnight + 8 * hour),
        ("2026-12-03 08:00 +08:00", midnight + 8 * hour), ("2026-12-03T00:00:00Z", midnight + 8 * hour),
        ("2026-12-03 00:00:00 UTC", midnight + 8 * hour), ("2026-12-03 08:00 Asia/Shanghai", midnight + 8 * hour),
        ("@1796227200.5", midnight + 500_000),
    ]

    @Test(arguments: cases)
    func forms(_ text: String, _ expected: Int64) throws {
        #expect(try SystemdTimestamp.parse(text, zone: SystemdTimestampTests.shanghai, nowMicros: SystemdTimestampTests.now) == expected)
    }

    @Test(arguments: [
        ("Fri 2026-12-03", "is not a Friday"), ("2026-12-03 08:00 PST", "unknown time zone"), ("soon", "is not a time"),
        ("@99999999999", "out of range"), ("+9999999y", "is not a time"), ("2026-02-30", "is not a time"),
        ("2026-12-03 24:00", "is not a time"), ("0001-01-01", "out of range"), ("", "is not a time"),
    ])
    func refusedWithAReason(_ text: String, _ reason: String) {
        #expect { try SystemdTimestamp.parse(text, zone: SystemdTimestampTests.shanghai, nowMicros: SystemdTimestampTests.now) } throws: {
            "\($0)".contains(reason)
        }
    }
}
