import Foundation
import GuanhuaiCalendar
import Testing

@testable import GuanhuaiCore

@Suite struct ChineseCalendarTests {
    /// Every festival 1901–2100 against the fixture written by the independent lunar_python.
    @Test func everyFestivalAgreesWithLunarPython() throws {
        let text = try String(contentsOf: fixtures.appendingPathComponent("lunar-festivals.tsv"), encoding: .utf8)
        var rows = 0
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: "\t").map(String.init)
            let year = Int(f[0])!
            #expect(ChineseCalendar.date(of: .springFestival, in: year)?.description == f[1], "春节 \(year)")
            #expect(ChineseCalendar.date(of: .newYearsEve, in: year)?.description == f[2], "除夕 \(year)")
            #expect(ChineseCalendar.date(of: .midAutumn, in: year)?.description == f[3], "中秋 \(year)")
            #expect(ChineseCalendar.date(of: .doubleNinth, in: year)?.description == f[4], "重阳 \(year)")
            #expect(ChineseCalendar.date(year: year, month: 12, day: 1)?.description == f[5], "腊月初一 \(year)")
            #expect(ChineseCalendar.leapMonth(in: year) == Int(f[6]), "闰月 \(year)")
            rows += 1
        }
        #expect(rows == 200)
    }

    @Test(arguments: [
        (2024, "02-10", "02-09", "09-17", "10-11"), (2025, "01-29", "01-28", "10-06", "10-29"),
        (2026, "02-17", "02-16", "09-25", "10-18"), (2027, "02-06", "02-05", "09-15", "10-08"),
        (2028, "01-26", "01-25", "10-03", "10-26"), (2029, "02-13", "02-12", "09-22", "10-16"),
        (2030, "02-03", "02-02", "09-12", "10-05"), (2031, "01-23", "01-22", "10-01", "10-24"),
        (2033, "01-31", "01-30", "09-08", "10-01"),
    ])
    func domainTable(_ year: Int, _ spring: String, _ eve: String, _ midAutumn: String, _ doubleNinth: String) {
        #expect(ChineseCalendar.date(of: .springFestival, in: year)?.description == "\(year)-\(spring)")
        #expect(ChineseCalendar.date(of: .newYearsEve, in: year)?.description == "\(year)-\(eve)")
        #expect(ChineseCalendar.date(of: .midAutumn, in: year)?.description == "\(year)-\(midAutumn)")
        #expect(ChineseCalendar.date(of: .doubleNinth, in: year)?.description == "\(year)-\(doubleNinth)")
    }

    @Test func noThirtiethOfTheTwelfthMonthIn2025Through2029() {
        for year in 2025...2028 {
            #expect(ChineseCalendar.date(year: year, month: 12, day: 30) == nil, "\(year)")
            #expect(ChineseCalendar.date(year: year, month: 12, day: 29) != nil)
        }
    }

    /// Foundation's known Linux faults are corrected in the table (domain.md §3).
    @Test func foundationFaultsAreCorrected() {
        let d = ChineseCalendar.lunarDate(of: date("2057-09-28"))!
        #expect((d.month, d.day, d.leap) == (8, 30, false))
        let e = ChineseCalendar.lunarDate(of: date("2097-08-20"))!
        #expect((e.month, e.day) == (7, 14))
    }

    @Test func leapMonthsAndRoundTrip() {
        // 2025 had a leap 6th month starting 2025-07-25.
        #expect(ChineseCalendar.date(year: 2025, month: 6, day: 1, leap: true) == date("2025-07-25"))
        #expect(ChineseCalendar.date(year: 2026, month: 6, day: 1, leap: true) == nil)
        var d = date("1900-02-01")
        while d < date("2100-12-31") {
            let l = ChineseCalendar.lunarDate(of: d)!
            #expect(ChineseCalendar.date(year: l.year, month: l.month, day: l.day, leap: l.leap) == d)
            d = d.adding(days: 17)
        }
    }
}
