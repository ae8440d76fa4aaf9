/// The Chinese (lunar) calendar for the lunar years 1900…2100, from a table generated once from Foundation's
/// Chinese calendar with its known Linux faults corrected (Tools/generate-lunar-table.swift) and checked against the
/// independent lunar_python for every festival 1901–2100 (Tests/GuanhuaiCoreTests/Fixtures).
///
/// A lunar year is named by the Gregorian year in which its first day (春节) falls.
public enum ChineseCalendar {
    public static var supportedYears: ClosedRange<Int> { firstYear...(firstYear + table.count - 1) }

    public enum Festival: String, CaseIterable, Sendable {
        case springFestival = "春节"
        case newYearsEve = "除夕"
        case midAutumn = "中秋"
        case doubleNinth = "重阳"

        public var slug: String {
            switch self {
            case .springFestival: "spring-festival"
            case .newYearsEve: "new-years-eve"
            case .midAutumn: "mid-autumn"
            case .doubleNinth: "double-ninth"
            }
        }

        public init?(name: String) {
            guard let f = Festival.allCases.first(where: { $0.rawValue == name || $0.slug == name }) else { return nil }
            self = f
        }
    }

    /// The Gregorian date of a festival in the lunar year that starts in `year`.
    /// 除夕 is the day before 春节 of `year` (so it falls in `year` too, in late January or February).
    public static func date(of festival: Festival, in year: Int) -> CivilDate? {
        switch festival {
        case .springFestival: date(year: year, month: 1, day: 1)
        case .newYearsEve: date(year: year, month: 1, day: 1)?.adding(days: -1)
        case .midAutumn: date(year: year, month: 8, day: 15)
        case .doubleNinth: date(year: year, month: 9, day: 9)
        }
    }

    /// The Gregorian date of lunar `month`/`day` (a leap month when `leap`) in the lunar year that starts in `year`.
    /// Nil when the year is outside the table, the month has no such day (a 29-day month has no 30th), or the year
    /// has no such leap month.
    public static func date(year: Int, month: Int, day: Int, leap: Bool = false) -> CivilDate? {
        guard supportedYears.contains(year), (1...12).contains(month), (1...30).contains(day) else { return nil }
        let entry = table[year - firstYear]
        let leapMonth = Int(entry & 0xF)
        if leap && leapMonth != month { return nil }
        // Position of the month within the year: leap months come right after the regular month of the same number.
        let index = month - 1 + ((leapMonth != 0 && (month > leapMonth || (leap && month == leapMonth))) ? 1 : 0)
        var days = Int(entry >> 17) - 100_000
        for k in 0..<index { days += monthLength(entry, k) }
        guard day <= monthLength(entry, index) else { return nil }
        return CivilDate(dayNumber: days + day - 1)
    }

    /// The lunar date of a Gregorian date: (lunar year, month, day, leap).
    public static func lunarDate(of date: CivilDate) -> (year: Int, month: Int, day: Int, leap: Bool)? {
        let n = date.dayNumber
        var lo = 0
        var hi = table.count - 1
        guard n >= newYear(table[0]) else { return nil }
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if newYear(table[mid]) <= n { lo = mid } else { hi = mid - 1 }
        }
        let entry = table[lo]
        let leapMonth = Int(entry & 0xF)
        var start = newYear(entry)
        let count = leapMonth == 0 ? 12 : 13
        for k in 0..<count {
            let len = monthLength(entry, k)
            if n < start + len {
                let month = leapMonth != 0 && k >= leapMonth ? k : k + 1
                let leap = leapMonth != 0 && k == leapMonth
                return (firstYear + lo, month, n - start + 1, leap)
            }
            start += len
        }
        return nil  // after the table's last year
    }

    public static func leapMonth(in year: Int) -> Int? {
        guard supportedYears.contains(year) else { return nil }
        return Int(table[year - firstYear] & 0xF)
    }

    private static func newYear(_ entry: UInt64) -> Int { Int(entry >> 17) - 100_000 }
    private static func monthLength(_ entry: UInt64, _ k: Int) -> Int { (entry >> (4 + UInt64(k))) & 1 == 1 ? 30 : 29 }
}
