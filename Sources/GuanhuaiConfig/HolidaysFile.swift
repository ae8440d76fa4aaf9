public import GuanhuaiCalendar
import GuanhuaiCore
import TOMLKit

/// The holiday table (`[files] holidays`, Config/holidays.toml): for each year, the days off and the weekend days
/// made working days (调休), with the 国务院办公厅 notice they come from. A date may be one day or a range
/// "2026-02-15..2026-02-23". A year written before its notice came out says `provisional = true`.
public enum HolidaysFile {
    public static func load(path: String) throws(InputError) -> WorkCalendar {
        let (text, _) = try TextFile.read(path)
        let r = try TOMLReader(file: path, text: text)
        let top = TOMLReader.Place(header: nil, index: 0, name: "")
        try r.checkKeys(r.root, allowed: ["year"], top)
        var years: [WorkCalendar.Year] = []
        for (i, t) in try r.tables(r.root, "year").enumerated() {
            let p = TOMLReader.Place(header: "year", index: i, name: "[[year]] #\(i + 1)")
            try r.checkKeys(t, allowed: ["year", "source", "off", "work", "provisional"], p)
            guard let year = try r.int(t, "year", p, range: 1949...2200) else {
                throw r.error(p, "year", "each [[year]] names its year, e.g. year = 2026")
            }
            guard let source = try r.string(t, "source", p), !source.isEmpty else {
                throw r.error(p, "source", "name the notice the table comes from, e.g. \"国务院办公厅关于\(year)年部分节假日安排的通知\"")
            }
            func days(_ key: String) throws(InputError) -> [CivilDate] {
                var out: [CivilDate] = []
                for item in try r.strings(t, key, p) ?? [] {
                    let ends = item.components(separatedBy: "..")
                    guard (1...2).contains(ends.count), let a = CivilDate(parsing: ends[0]), let b = CivilDate(parsing: ends.last!),
                        a <= b, a.year == year, b.year == year || (b.year == year + 1 && b.month == 1), a.days(until: b) < 31
                    else {
                        throw r.error(
                            p, key, "\"\(item)\" is not a day of \(year) or a range of them; write \"\(year)-10-01\" or \"\(year)-10-01..\(year)-10-07\"")
                    }
                    var d = a
                    while d <= b {
                        out.append(d)
                        d = d.adding(days: 1)
                    }
                }
                return out
            }
            let off = try days("off")
            let work = try days("work")
            if let both = Set(off).intersection(work).min() {
                throw r.error(p, "work", "\(both) is both a day off and a working day")
            }
            if let d = work.first(where: { $0.weekday <= 5 }) {
                throw r.error(p, "work", "\(d) is a weekday already; \"work\" lists the weekend days made working days (调休)")
            }
            let provisional = try r.bool(t, "provisional", p) ?? false
            years.append(WorkCalendar.Year(year: year, source: source, off: off, work: work, provisional: provisional))
        }
        if let dup = Dictionary(grouping: years, by: \.year).first(where: { $0.value.count > 1 }) {
            throw InputError(file: path, message: "the year \(dup.key) is given twice")
        }
        return WorkCalendar(years)
    }
}
