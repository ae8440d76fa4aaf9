/// A date on the proleptic Gregorian calendar with no time and no zone: a civil date in the configured zone.
///
/// Arithmetic goes through a day number (days since 1970-01-01) using Howard Hinnant's
/// `days_from_civil` / `civil_from_days` algorithms, so planning never touches `Calendar` in its hot loops.
public struct CivilDate: Hashable, Comparable, Sendable {
    // Eight bytes rather than three Ints' 24: a year's plan for 100,000 members holds half a million occurrences,
    // each with two dates, and every member, event and reminder holds some. The year fits: `yearLimit`.
    private let y: Int32
    private let m: UInt8
    private let d: UInt8
    public var year: Int { Int(y) }
    public var month: Int { Int(m) }
    public var day: Int { Int(d) }

    /// The dates guanhuai plans with: the range of its lunar table. Every date read from a file, a database or a
    /// command line is checked against it where it is read (`isSupported`), with a message saying so.
    public static let supported = CivilDate(unchecked: 1901, 1, 1)...CivilDate(unchecked: 2100, 12, 31)

    public var isSupported: Bool { CivilDate.supported.contains(self) }

    /// "from 1901-01-01 to 2100-12-31" (or 「1901-01-01 至 2100-12-31」), for messages.
    public static func supportedText(chinese: Bool) -> String {
        chinese ? "\(supported.lowerBound) 至 \(supported.upperBound)" : "from \(supported.lowerBound) to \(supported.upperBound)"
    }

    /// Day numbers are kept within ±this (about ±270,000 years), so that no arithmetic on a date can overflow,
    /// whatever offset a rule or a caller adds: a result beyond it is clamped to it. Loaders refuse such dates long
    /// before (`supported`); the clamp only keeps a missed path from trapping.
    static let dayNumberLimit = 100_000_000
    static let yearLimit = 270_000

    /// Creates a date, or returns nil when the day does not exist (2027-02-29, 2026-13-01).
    public init?(_ year: Int, _ month: Int, _ day: Int) {
        guard abs(year) <= CivilDate.yearLimit, (1...12).contains(month), day >= 1,
            day <= CivilDate.daysIn(year: year, month: month)
        else { return nil }
        self.init(unchecked: year, month, day)
    }

    private init(unchecked year: Int, _ month: Int, _ day: Int) {
        y = Int32(year)
        m = UInt8(month)
        d = UInt8(day)
    }

    public init(dayNumber n: Int) {
        let z0 = min(max(n, -CivilDate.dayNumberLimit), CivilDate.dayNumberLimit)
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(unchecked: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// Days since 1970-01-01.
    public var dayNumber: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public static func isLeap(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    public static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// The same month and day in another year; 29 February falls on 28 February in a common year.
    public static func anniversary(month: Int, day: Int, in year: Int) -> CivilDate {
        CivilDate(unchecked: year, month, min(day, daysIn(year: year, month: month)))
    }

    /// Clamped to ±`dayNumberLimit` rather than trapping on an absurd offset.
    public func adding(days: Int) -> CivilDate {
        if days == 0 { return self }
        let (n, overflow) = dayNumber.addingReportingOverflow(days)
        return CivilDate(dayNumber: overflow ? (days > 0 ? Int.max : Int.min) : n)
    }

    /// Adds calendar months, clamping the day to the target month's length (01-31 + 1 month = 02-28), and the year
    /// to ±`yearLimit`.
    public func adding(months: Int) -> CivilDate {
        let limit = CivilDate.yearLimit * 12
        let index = min(max(year * 12 + (month - 1), -limit), limit) + min(max(months, -2 * limit), 2 * limit)
        let y = index >= 0 ? index / 12 : (index - 11) / 12
        let m = index - y * 12 + 1
        return CivilDate(unchecked: y, m, min(day, CivilDate.daysIn(year: y, month: m)))
    }

    public func days(until other: CivilDate) -> Int { other.dayNumber - dayNumber }

    /// ISO weekday: 1 = Monday … 7 = Sunday.
    public var weekday: Int {
        let w = (dayNumber + 3) % 7  // 1970-01-01 was a Thursday
        return (w < 0 ? w + 7 : w) + 1
    }

    public var firstOfMonth: CivilDate { CivilDate(unchecked: year, month, 1) }
    public var lastOfMonth: CivilDate { CivilDate(unchecked: year, month, CivilDate.daysIn(year: year, month: month)) }
    public var quarter: Int { (month - 1) / 3 + 1 }

    /// One integer in date order.
    var ordinal: Int { Int(y) << 16 | Int(m) << 8 | Int(d) }

    public static func < (a: CivilDate, b: CivilDate) -> Bool { a.ordinal < b.ordinal }
}

extension CivilDate: CustomStringConvertible {
    /// `YYYY-MM-DD`.
    public var description: String {
        let y = String(year)
        let pad = String(repeating: "0", count: max(0, 4 - y.count))
        return pad + y + (month < 10 ? "-0" : "-") + String(month) + (day < 10 ? "-0" : "-") + String(day)
    }
}

extension CivilDate {
    /// Parses `YYYY-MM-DD`, `YYYY/M/D` and `YYYY年M月D日` (the forms a roster exported from Excel carries).
    /// Returns nil for anything else, including dates that do not exist.
    public init?(parsing text: some StringProtocol) { self.init(parsing: String(text)) }

    public init?(parsing text: String) {
        // The stored form, YYYY-MM-DD, read from the bytes: the database holds a few dates per member, and the
        // Character walk below (Unicode properties per digit) was a fifth of loading 100,000 of them.
        let fast = text.utf8.withContiguousStorageIfAvailable { b -> CivilDate? in
            guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-") else { return nil }
            var v = 0
            for i in 0..<10 where i != 4 && i != 7 {
                let d = b[i] &- 0x30
                guard d <= 9 else { return nil }
                v = v * 10 + Int(d)
            }
            guard v / 10000 >= 1000 else { return nil }
            return CivilDate(v / 10000, v / 100 % 100, v % 100)
        }
        if let fast, let date = fast {
            self = date
            return
        }
        self.init(general: text)
    }

    init?(general text: some StringProtocol) {
        var numbers: [Int] = []
        var current = 0
        var digits = 0
        var separators: [Character] = []
        for ch in text.trimmingCharacters(in: " \t") {
            if let v = ch.wholeNumberValue, ch.isASCII {
                current = current * 10 + v
                digits += 1
                if digits > 4 { return nil }
            } else {
                guard digits > 0 else { return nil }
                numbers.append(current)
                separators.append(ch)
                current = 0
                digits = 0
            }
        }
        if digits > 0 { numbers.append(current) }
        guard numbers.count == 3 else { return nil }
        let ok: Bool =
            switch separators {
            case ["-", "-"], ["/", "/"]: true
            case ["年", "月", "日"]: true
            default: false
            }
        // `YYYY-MM-DD` requires two-digit month and day; the other forms allow one digit.
        guard ok, numbers[0] >= 1000 else { return nil }
        if separators == ["-", "-"] {
            let parts = text.trimmingCharacters(in: " \t").split(separator: "-")
            guard parts.count == 3, parts[1].count == 2, parts[2].count == 2 else { return nil }
        }
        self.init(numbers[0], numbers[1], numbers[2])
    }
}

extension CivilDate {
    /// `YYYY-MM-DD` with any year of one to four digits (0001-01-01): a real date that `init(parsing:)` refuses
    /// for being before 1000, so that a caller can say "out of range" rather than "not a date".
    public init?(parsingAnyYear text: some StringProtocol) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, (1...4).contains(parts[0].count), parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2])
        else { return nil }
        self.init(y, m, d)
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> Substring {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return s
    }
}

extension CivilDate {
    /// 周一 … 周日.
    public var chineseWeekday: String { ["周一", "周二", "周三", "周四", "周五", "周六", "周日"][weekday - 1] }
}
