import ArgumentParser
import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiSystem

struct CalendarCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calendar",
        abstract: L(
            "Show the next elapses of a systemd calendar expression, as `systemd-analyze calendar` does.",
            "显示 systemd 日历表达式接下来的触发时间，与 `systemd-analyze calendar` 相同。"),
        discussion: "Check an expression here before putting it in a rule: guanhuai calendar '*-05,11-01 08:30'"
    )

    @Argument(help: "A calendar expression in systemd OnCalendar= syntax.")
    var expression: String

    @Option(help: "How many elapses to show.")
    var iterations: Int = 1

    @Option(
        name: .customLong("base-time"),
        help: "Start from this time instead of now, in systemd.time(7) form: 2026-12-30 23:59:59 UTC, 2026-12-30, @EPOCH, now, today, -3d.")
    var baseTime: String?

    @Option(help: "Zone for expressions without one, and for display. Default: $TZ, else the system zone.")
    var zone: String?

    @Flag(
        help:
            "Say of each elapse whether it is a working day (the configuration's holiday table), and where `shift = \"next-workday\"` / \"previous-workday\" moves it."
    )
    var workdays = false

    @Option(help: "The configuration whose holiday table --workdays reads (default: $GUANHUAI_CONFIG, else /etc/guanhuai/config.toml).")
    var config: String?

    func run() async throws {
        guard (1...10_000).contains(iterations) else { throw UsageError(message: "--iterations must be 1 to 10000") }
        let zoneName =
            zone ?? ProcessInfo.processInfo.environment["TZ"].map { $0.hasPrefix(":") ? String($0.dropFirst()) : $0 }
            ?? TimeZone.current.identifier
        guard let display = ZoneRules.named(zoneName) else {
            throw UsageError(message: "unknown time zone \"\(zoneName)\"; use an IANA name such as Asia/Shanghai")
        }
        let spec: CalendarExpression
        do {
            spec = try CalendarExpression(expression)
        } catch {
            throw UsageError(message: error.description)
        }
        let now = Int64((Date().timeIntervalSince1970 * 1_000_000).rounded(.down))  // microseconds, as systemd counts
        var t = now
        if let baseTime {
            do {
                t = try SystemdTimestamp.parse(baseTime, zone: display, nowMicros: now)
            } catch {
                throw UsageError(message: "--base-time \(error.description)")
            }
        }
        var table: WorkCalendar?
        if workdays {
            let path = Configuration.path(option: config, environment: ProcessInfo.processInfo.environment)
            let settings = try Configuration.loadSettings(path: path, environment: ProcessInfo.processInfo.environment)
            guard let cal = settings.workCalendar else {
                throw UsageError(message: "\(path) names no holiday table; add [files] holidays = \"holidays.toml\"")
            }
            table = cal
        }
        var out = "  Original form: \(expression)\nNormalized form: \(spec)\n"
        for i in 0..<iterations {
            let label = i == 0 ? "    Next elapse" : "       Iter. #\(i + 1)"
            guard let next = spec.next(afterMicroseconds: t, defaultZone: display) else {
                out += "\(label): never\n"
                break
            }
            out += "\(label): \(format(next, in: display))"
            if let table {
                let seconds = next >= 0 ? next / 1_000_000 : (next - 999_999) / 1_000_000
                let day = Timestamp.split(display.local(atUTC: seconds)).0
                let kind = table.kind(day)
                out += "  \(kind)" + (table.covers(year: day.year) ? "" : "（\(day.year) 年无节假日表，仅按周末）")
                if !table.isWorkday(day) {
                    out += "  next-workday → \(table.nextWorkday(onOrAfter: day))  previous-workday → \(table.previousWorkday(onOrBefore: day))"
                }
            }
            out += "\n"
            if display.identifier != "UTC" { out += "       (in UTC): \(format(next, in: .utc))\n" }
            t = next
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }

    func format(_ micros: Int64, in zone: ZoneRules) -> String {
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let local = zone.local(atUTC: seconds)
        let (day, sod) = Timestamp.split(local)
        let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        let two = Timestamp.two
        let abbreviation = zone.abbreviation(atUTC: seconds)
        return "\(names[day.weekday - 1]) \(day) \(two(sod / 3600)):\(two(sod / 60 % 60)):\(two(sod % 60)) \(abbreviation)"
    }
}

struct LunarCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lunar",
        abstract: L("Show a year's lunar festival dates: 春节, 除夕, 中秋, 重阳, and its leap month.", "显示一年的农历节日：春节、除夕、中秋、重阳及闰月。")
    )

    @Argument(help: "A Gregorian year, 1901 to 2100.")
    var year: Int

    func run() async throws {
        guard (1901...2100).contains(year) else { throw UsageError(message: "year \(year) is outside 1901…2100") }
        let stems = Array("甲乙丙丁戊己庚辛壬癸")
        let branches = Array("子丑寅卯辰巳午未申酉戌亥")
        let zodiac = Array("鼠牛虎兔龙蛇马羊猴鸡狗猪")
        let i = ((year - 4) % 60 + 60) % 60
        var out = "\(year) 农历\(stems[i % 10])\(branches[i % 12])年（\(zodiac[i % 12])）\n"
        for f in ChineseCalendar.Festival.allCases {
            if let d = ChineseCalendar.date(of: f, in: year) {
                out += "\(f.rawValue)  \(d)（\(d.chineseWeekday)）  \(f.slug)\n"
            }
        }
        let months = ["", "正", "二", "三", "四", "五", "六", "七", "八", "九", "十", "冬", "腊"]
        let leap = ChineseCalendar.leapMonth(in: year) ?? 0
        out += leap == 0 ? "闰月  无\n" : "闰月  闰\(months[leap])月，始于 \(ChineseCalendar.date(year: year, month: leap, day: 1, leap: true)!)\n"
        if ChineseCalendar.date(year: year, month: 12, day: 30) == nil {
            out += "腊月  29 天（无腊月三十）\n"
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
