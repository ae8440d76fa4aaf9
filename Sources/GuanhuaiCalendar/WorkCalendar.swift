/// China's working days: Monday to Friday, except the days off the 国务院办公厅 announces each year, plus the
/// weekend days it makes working days (调休). Years without a table are weekdays only; `covers` says which have one.
/// Hand-written: none of the calendar libraries (nor systemd, nor Remind's OMIT) knows make-up working days.
public struct WorkCalendar: Sendable, Equatable {
    public struct Year: Sendable, Equatable {
        public var year: Int
        /// The notice it comes from, e.g. 国务院办公厅关于2026年部分节假日安排的通知.
        public var source: String
        public var off: [CivilDate]
        public var work: [CivilDate]
        /// Written before the year's notice came out: the statutory days of 《全国年节及纪念日放假办法》 only, with
        /// no bridging days and no 调休. `check` says so until the notice replaces it.
        public var provisional: Bool

        public init(year: Int, source: String, off: [CivilDate], work: [CivilDate], provisional: Bool = false) {
            self.year = year
            self.source = source
            self.off = off
            self.work = work
            self.provisional = provisional
        }
    }

    public private(set) var years: [Int: Year] = [:]
    private var off: Set<Int> = []
    private var work: Set<Int> = []

    public init(_ years: [Year] = []) {
        for y in years {
            self.years[y.year] = y
            off.formUnion(y.off.map(\.dayNumber))
            work.formUnion(y.work.map(\.dayNumber))
        }
    }

    public func covers(year: Int) -> Bool { years[year] != nil }

    /// Covered, from the year's notice rather than from the statutory days alone.
    public func isFinal(year: Int) -> Bool { years[year].map { !$0.provisional } ?? false }

    public func isWorkday(_ d: CivilDate) -> Bool {
        if work.contains(d.dayNumber) { return true }
        if off.contains(d.dayNumber) { return false }
        return d.weekday <= 5
    }

    /// What kind of day it is, in the words of the calendar: 工作日, 周末, 节假日 or 调休上班.
    public func kind(_ d: CivilDate) -> String {
        if work.contains(d.dayNumber) { return "调休上班" }
        if off.contains(d.dayNumber) { return "节假日" }
        return d.weekday <= 5 ? "工作日" : "周末"
    }

    /// The day itself when it is a working day, else the next one (at most 30 days on: no table has more off).
    public func nextWorkday(onOrAfter d: CivilDate) -> CivilDate {
        var x = d
        for _ in 0..<30 where !isWorkday(x) { x = x.adding(days: 1) }
        return x
    }

    public func previousWorkday(onOrBefore d: CivilDate) -> CivilDate {
        var x = d
        for _ in 0..<30 where !isWorkday(x) { x = x.adding(days: -1) }
        return x
    }
}
