/// A timestamp in the forms systemd.time(7) gives (what `systemd-analyze calendar --base-time=` takes), plus
/// RFC 3339. systemd's parser is C inside libsystemd-shared, not a library we can call, so this is written by hand;
/// `BadInputTests` compares its results with `systemd-analyze` for the absolute forms.
///
/// - `now`, `today`, `yesterday`, `tomorrow` (midnight local);
/// - `@EPOCH` with an optional fraction;
/// - `+SPAN`, `-SPAN`, `SPAN ago` (`3h`, `2d 4h`, `90min`, `1 week`);
/// - `[Weekday] [YY]YY-MM-DD[ |T]HH:MM[:SS[.frac]] [UTC|Z|±HH:MM|±HHMM|zone abbreviation|IANA zone]`, where the
///   date or the time may be left out (today, or midnight) and a weekday must match the date.
public enum SystemdTimestamp {
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Microseconds since the epoch, within the dates guanhuai plans (1901–2100).
    public static func parse(_ text: String, zone: ZoneRules, nowMicros: Int64) throws(Failure) -> Int64 {
        let t = try parseAny(text, zone: zone, nowMicros: nowMicros)
        let day = Timestamp.split(zone.local(atUTC: floorDiv(t, 1_000_000))).0
        guard day.isSupported else {
            throw Failure(description: "\"\(text)\" is out of range: dates must lie \(CivilDate.supportedText(chinese: false))")
        }
        return t
    }

    static func parseAny(_ text: String, zone: ZoneRules, nowMicros: Int64) throws(Failure) -> Int64 {
        let s = text.trimmingCharacters(in: " \t")
        let bad = Failure(description: "\"\(text)\" is not a time; write e.g. 2026-12-30 23:59:59 UTC, 2026-12-30, @1798675200, now, today or -3d")
        let todayMidnight = { (shift: Int) -> Int64 in
            let (day, _) = Timestamp.split(zone.local(atUTC: floorDiv(nowMicros, 1_000_000)))
            return midnight(day.adding(days: shift), zone) * 1_000_000
        }
        switch s {
        case "now": return nowMicros
        case "today": return todayMidnight(0)
        case "yesterday": return todayMidnight(-1)
        case "tomorrow": return todayMidnight(1)
        default: break
        }
        if s.hasPrefix("@") {
            guard let micros = decimalMicros(s.dropFirst()) else { throw bad }
            return micros
        }
        if s.hasPrefix("+") || s.hasPrefix("-") {
            guard let span = spanMicros(s.dropFirst()) else { throw bad }
            return s.hasPrefix("+") ? nowMicros &+ span : nowMicros &- span
        }
        if s.hasSuffix(" ago") {
            guard let span = spanMicros(s.dropLast(4)) else { throw bad }
            return nowMicros &- span
        }
        var words = s.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        // An RFC 3339 'T' joins date and time into one word.
        if let first = words.first, first.count > 10, let t = first.firstIndex(of: "T"), first.contains("-") {
            words.replaceSubrange(0...0, with: [String(first[..<t]), String(first[first.index(after: t)...])])
        }
        var weekday: Int?
        if let w = words.first, let n = weekdayNumber(w) {
            weekday = n
            words.removeFirst()
        }
        var date: CivilDate?
        if let w = words.first, w.contains("-"), !w.hasPrefix("-"), !w.contains(":") {
            guard let d = parseDate(w) else { throw bad }
            date = d
            words.removeFirst()
        }
        var seconds: Int64 = 0
        var offset: Int64?
        var zoneRules = zone
        var hadTime = false
        if let w = words.first, w.contains(":") {
            var time = Substring(w)
            if time.hasSuffix("Z") {
                offset = 0
                time = time.dropLast()
            } else if let sign = time.lastIndex(where: { $0 == "+" || $0 == "-" }) {
                guard let o = parseOffset(time[sign...]) else { throw bad }
                offset = o
                time = time[..<sign]
            }
            guard let t = parseTime(time) else { throw bad }
            seconds = t
            hadTime = true
            words.removeFirst()
        }
        guard date != nil || hadTime else { throw bad }
        if let w = words.first {
            words.removeFirst()
            if w == "UTC" || w == "Z" || w == "GMT" {
                offset = 0
            } else if let o = parseOffset(Substring(w)) {
                offset = o
            } else if let named = ZoneRules.named(w) {
                zoneRules = named
            } else {
                // An abbreviation counts only when it is the configured zone's own (as in systemd).
                let day = date ?? Timestamp.split(zone.local(atUTC: floorDiv(nowMicros, 1_000_000))).0
                let guess = midnight(day, zone) + seconds / 1_000_000
                guard zone.abbreviation(atUTC: guess) == w else {
                    throw Failure(description: "\"\(text)\": unknown time zone \"\(w)\"; write UTC, ±HH:MM or an IANA name such as Asia/Shanghai")
                }
            }
        }
        guard words.isEmpty else { throw bad }
        let day = date ?? Timestamp.split(zoneRules.local(atUTC: floorDiv(nowMicros, 1_000_000))).0
        guard day.isSupported else {
            throw Failure(description: "\"\(text)\" is out of range: dates must lie \(CivilDate.supportedText(chinese: false))")
        }
        if let weekday, weekday != day.weekday {
            throw Failure(
                description: "\"\(text)\": \(day) is not a \(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"][weekday - 1])")
        }
        let localMicros = Int64(day.dayNumber) * 86_400_000_000 + seconds
        if let offset { return localMicros - offset * 1_000_000 }
        let whole = floorDiv(localMicros, 1_000_000)
        let utc: Int64
        switch zoneRules.resolve(local: whole) {
        case .unique(let u), .repeated(let u, _), .skipped(let u): utc = u
        }
        return utc * 1_000_000 + (localMicros - whole * 1_000_000)
    }

    static func midnight(_ day: CivilDate, _ zone: ZoneRules) -> Int64 {
        switch zone.resolve(local: Int64(day.dayNumber) * 86400) {
        case .unique(let u), .repeated(let u, _), .skipped(let u): return u
        }
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    static func weekdayNumber(_ w: String) -> Int? {
        let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        let full = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
        let l = w.lowercased()
        return (names.firstIndex(of: l) ?? full.firstIndex(of: l)).map { $0 + 1 }
    }

    /// `YYYY-MM-DD`, or `YY-MM-DD` meaning 1970–2069 as systemd reads it.
    static func parseDate(_ w: String) -> CivilDate? {
        let p = w.split(separator: "-", omittingEmptySubsequences: false)
        guard p.count == 3, p.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            var y = Int(p[0]), let m = Int(p[1]), let d = Int(p[2]), p[0].count == 2 || p[0].count == 4
        else { return nil }
        if p[0].count == 2 { y += y < 70 ? 2000 : 1900 }
        return CivilDate(y, m, d)
    }

    /// `HH:MM[:SS[.frac]]` → microseconds of the day.
    static func parseTime(_ t: Substring) -> Int64? {
        let p = t.split(separator: ":", omittingEmptySubsequences: false)
        guard (2...3).contains(p.count), let h = Int(p[0]), let m = Int(p[1]), (0...23).contains(h), (0...59).contains(m)
        else { return nil }
        var micros = Int64(h * 3600 + m * 60) * 1_000_000
        if p.count == 3 {
            guard let s = decimalMicros(p[2]), (0..<60_000_000).contains(s) else { return nil }
            micros += s
        }
        return micros
    }

    /// `+08:00`, `-0500`, `+08` → seconds east of UTC.
    static func parseOffset(_ o: Substring) -> Int64? {
        guard let sign = o.first, sign == "+" || sign == "-" else { return nil }
        let digits = o.dropFirst().filter { $0 != ":" }
        guard [2, 4].contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }),
            o.dropFirst().count == digits.count || (o.dropFirst().count == 5 && o.dropFirst().dropFirst(2).first == ":")
        else { return nil }
        let h = Int(digits.prefix(2))!
        let m = digits.count == 4 ? Int(digits.suffix(2))! : 0
        guard h <= 14, m < 60 else { return nil }
        return Int64((h * 3600 + m * 60) * (sign == "-" ? -1 : 1))
    }

    /// A non-negative decimal number of seconds → microseconds (at most 6 fraction digits count).
    static func decimalMicros(_ s: Substring) -> Int64? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].count <= 12,
            parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }), let whole = Int64(parts[0])
        else { return nil }
        var micros = whole * 1_000_000
        if parts.count == 2 {
            guard !parts[1].isEmpty else { return nil }
            let frac = String(parts[1].prefix(6)).padding(toLength: 6, withPad: "0", startingAt: 0)
            micros += Int64(frac)!
        }
        return micros
    }

    /// A systemd time span, `2d 4h`, `90min`, `1 week`, a bare number being seconds → microseconds.
    static func spanMicros(_ s: Substring) -> Int64? {
        let units: [(names: [String], micros: Int64)] = [
            (["us", "usec", "µs"], 1), (["ms", "msec"], 1_000), (["s", "sec", "second", "seconds"], 1_000_000),
            (["m", "min", "minute", "minutes"], 60_000_000), (["h", "hr", "hour", "hours"], 3_600_000_000),
            (["d", "day", "days"], 86_400_000_000), (["w", "week", "weeks"], 604_800_000_000),
            (["M", "month", "months"], 2_629_800_000_000), (["y", "year", "years"], 31_557_600_000_000),
        ]
        var total: Int64 = 0
        var rest = s.drop { $0 == " " }
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, let value = Double(number), value < 1e7 else { return nil }
            rest = rest.dropFirst(number.count).drop { $0 == " " }
            let unit = rest.prefix { $0.isLetter || $0 == "µ" }
            rest = rest.dropFirst(unit.count).drop { $0 == " " }
            let scale: Int64
            if unit.isEmpty {
                scale = 1_000_000
            } else if let u = units.first(where: { $0.names.contains(String(unit)) }) {
                scale = u.micros
            } else {
                return nil
            }
            let micros = value * Double(scale)
            guard micros < 1e17, total < Int64(1e17) else { return nil }  // 3,000 years: past any date we plan
            total += Int64(micros)
        }
        return total
    }
}
