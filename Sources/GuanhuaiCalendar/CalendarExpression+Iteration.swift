// MARK: - Normalization and validity (as calendarspec.c)

extension CalendarExpression {
    mutating func normalize() {
        if zoneName == "UTC" {
            utc = true
            zoneName = nil
        }
        if let w = weekdays, w == 0 || w >= 127 { weekdays = nil }
        if endOfMonth && day == nil { endOfMonth = false }
        if let y = year {
            year = y.map { c in
                var c = c
                for path in [\Component.start, \Component.stop] {
                    let v = c[keyPath: path]
                    if v >= 0 && v < 70 {
                        c[keyPath: path] = v + 2000
                    } else if v >= 70 && v < 100 {
                        c[keyPath: path] = v + 1900
                    }
                }
                return c
            }
        }
        year = year.map(Self.normalizeChain)
        month = month.map(Self.normalizeChain)
        day = day.map(Self.normalizeChain)
        hour = hour.map(Self.normalizeChain)
        minute = minute.map(Self.normalizeChain)
        microsecond = microsecond.map(Self.normalizeChain)
    }

    static func normalizeChain(_ chain: [Component]) -> [Component] {
        var out = chain.map { c -> Component in
            var c = c
            if c.stop > c.start && c.step > 0 { c.stop -= (c.stop - c.start) % c.step }
            if (c.stop > c.start && c.step > 0 && c.start + c.step > c.stop) || c.start == c.stop {
                c.step = 0
                c.stop = -1
            }
            return c
        }
        out.sort()
        var unique: [Component] = []
        for c in out where unique.last != c { unique.append(c) }
        return unique
    }

    func invalidReason() -> String? {
        func check(_ chain: [Component]?, _ name: String, _ from: Int, _ to0: Int, eom: Bool = false, scale: Int = 1)
            -> String?
        {
            guard let chain else { return nil }
            let to = eom ? to0 - 3 : to0
            let range = "\(from / scale)…\(to / scale)"
            for c in chain {
                // Divided before the strings: swift-format's parser reads a `/` after one in a literal as a regex.
                let (start, every) = (c.start / scale, c.step / scale)
                if c.start < from || c.start > to { return "\(name) \(start) is outside \(range)" }
                if c.step > to - from { return "\(name) repetition /\(every) is too large" }
                if c.stop >= 0 {
                    if c.stop < from || c.stop > to { return "\(name) \(c.stop / scale) is outside \(range)" }
                    if c.start + c.step > c.stop { return "\(name) range \(c.start / scale)..\(c.stop / scale) is empty" }
                } else if eom && c.start - c.step < from {
                    return "\(name) repetition counted from the month's end runs past its start"
                } else if !eom && c.start + c.step > to {
                    return "\(name) \(start)/\(every) never repeats within \(range)"
                }
            }
            return nil
        }
        return check(year, "year", Self.minYear, Self.maxYear)
            ?? check(month, "month", 1, 12)
            ?? check(day, "day", 1, 31, eom: endOfMonth)
            ?? check(hour, "hour", 0, 23)
            ?? check(minute, "minute", 0, 59)
            ?? check(microsecond, "second", 0, 60 * Self.usecPerSecond - 1, scale: Self.usecPerSecond)
    }
}

// MARK: - Printing

extension CalendarExpression: CustomStringConvertible {
    /// The normalized form, as `systemd-analyze calendar` prints it.
    public var description: String {
        var out = ""
        if let w = weekdays {
            out += Self.formatWeekdays(w)
            out += " "
        }
        out += Self.formatChain(year, width: 4, usec: false)
        out += "-"
        out += Self.formatChain(month, width: 2, usec: false)
        out += endOfMonth ? "~" : "-"
        out += Self.formatChain(day, width: 2, usec: false)
        out += " "
        out += Self.formatChain(hour, width: 2, usec: false)
        out += ":"
        out += Self.formatChain(minute, width: 2, usec: false)
        out += ":"
        out += Self.formatChain(microsecond, width: 2, usec: true)
        if utc {
            out += " UTC"
        } else if let zoneName {
            out += " " + zoneName
        }
        return out
    }

    static func formatWeekdays(_ bits: UInt8) -> String {
        let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        var out = ""
        var runStart = -1
        var needComma = false
        for x in 0...7 {
            let set = x < 7 && bits & (1 << x) != 0
            if set {
                if runStart < 0 {
                    if needComma { out += "," }
                    needComma = true
                    out += names[x]
                    runStart = x
                }
            } else if runStart >= 0 {
                if x > runStart + 1 { out += (x > runStart + 2 ? ".." : ",") + names[x - 1] }
                runStart = -1
            }
        }
        return out
    }

    static func formatChain(_ chain: [Component]?, width: Int, usec: Bool) -> String {
        let d = usec ? usecPerSecond : 1
        guard let chain, !(usec && chain.contains { $0.start == 0 && $0.stop < 0 && $0.step == usecPerSecond })
        else { return "*" }
        func pad(_ v: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        func frac(_ v: Int) -> String {
            let s = String(v % d)
            return "." + String(repeating: "0", count: 6 - s.count) + s
        }
        return chain.map { c in
            var s = pad(c.start / d)
            if c.start % d > 0 { s += frac(c.start) }
            if c.stop > 0 { s += ".." + pad(c.stop / d) }
            if c.stop > 0 && c.stop % d > 0 { s += frac(c.stop) }
            let every = c.step / d
            if c.step > 0 && !(c.stop > 0 && c.step == d) { s += "/" + String(every) }
            if c.step % d > 0 { s += frac(c.step) }
            return s
        }.joined(separator: ",")
    }
}

// MARK: - Iteration

extension CalendarExpression {
    /// The zone the expression names, or `defaultZone` when it names none.
    public func zone(default defaultZone: ZoneRules) -> ZoneRules {
        if utc { return .utc }
        if let zoneName, let z = ZoneRules.named(zoneName) { return z }
        return defaultZone
    }

    /// The first elapse strictly after `instant` (microseconds since the epoch, UTC), or nil when there is none
    /// before the end of 2199.
    public func next(afterMicroseconds instant: Int64, defaultZone: ZoneRules = .utc) -> Int64? {
        let zone = zone(default: defaultZone)
        let start = instant + 1
        let startSeconds = start >= 0 ? start / 1_000_000 : (start - 999_999) / 1_000_000
        let preferred = zone.offset(atUTC: startSeconds)
        var local = Int64(startSeconds + Int64(preferred)) * 1_000_000 + (start - startSeconds * 1_000_000)
        for _ in 0..<64 {
            guard let candidate = nextLocal(fromMicroseconds: local) else { return nil }
            let seconds = candidate / 1_000_000
            let fraction = candidate - seconds * 1_000_000
            switch zone.resolve(local: seconds) {
            case .unique(let utc):
                return utc * 1_000_000 + fraction
            case .repeated(let early, let late):
                let pick = [early, late].first { seconds - $0 == Int64(preferred) } ?? early
                return pick * 1_000_000 + fraction
            case .skipped(let utc):
                // mktime moves a missing wall time forward by the jump; the search goes on from there.
                local = zone.local(atUTC: utc) * 1_000_000 + fraction
            }
        }
        return nil
    }

    /// The first local wall time ≥ `from` (microseconds since 1970-01-01T00:00 local) that matches.
    func nextLocal(fromMicroseconds from: Int64) -> Int64? {
        let usecPerDay: Int64 = 86_400_000_000
        var dayNumber = Int(from >= 0 ? from / usecPerDay : (from - usecPerDay + 1) / usecPerDay)
        let timeOfDay = from - Int64(dayNumber) * usecPerDay
        let start = CivilDate(dayNumber: dayNumber)
        var y = start.year
        var m = start.month
        var d = start.day
        var h = Int(timeOfDay / 3_600_000_000)
        var mi = Int(timeOfDay / 60_000_000 % 60)
        var us = Int(timeOfDay % 60_000_000)

        // Each pass either returns or moves the candidate strictly forward; the year bound ends the search.
        while true {
            if y > Self.maxYear { return nil }
            guard let ny = Self.match(year, atLeast: y, upTo: Self.maxYear) else { return nil }
            if ny != y { (y, m, d, h, mi, us) = (ny, 1, 1, 0, 0, 0) }
            guard let nm = Self.match(month, atLeast: m, upTo: 12) else {
                (y, m, d, h, mi, us) = (y + 1, 1, 1, 0, 0, 0)
                continue
            }
            if nm != m { (m, d, h, mi, us) = (nm, 1, 0, 0, 0) }
            let dim = CivilDate.daysIn(year: y, month: m)
            guard let nd = matchDay(atLeast: d, daysInMonth: dim) else {
                (d, h, mi, us) = (1, 0, 0, 0)
                if m == 12 { (y, m) = (y + 1, 1) } else { m += 1 }
                continue
            }
            if nd != d { (d, h, mi, us) = (nd, 0, 0, 0) }
            let date = CivilDate(dayNumber: CivilDate(y, m, 1)!.dayNumber + d - 1)
            if let w = weekdays, w & (1 << (date.weekday - 1)) == 0 {
                let next = date.adding(days: 1)
                (y, m, d, h, mi, us) = (next.year, next.month, next.day, 0, 0, 0)
                continue
            }
            guard let nh = Self.match(hour, atLeast: h, upTo: 23) else {
                let next = date.adding(days: 1)
                (y, m, d, h, mi, us) = (next.year, next.month, next.day, 0, 0, 0)
                continue
            }
            if nh != h { (h, mi, us) = (nh, 0, 0) }
            guard let nmi = Self.match(minute, atLeast: mi, upTo: 59) else {
                (mi, us) = (0, 0)
                if h == 23 {
                    let next = date.adding(days: 1)
                    (y, m, d, h) = (next.year, next.month, next.day, 0)
                } else {
                    h += 1
                }
                continue
            }
            if nmi != mi { (mi, us) = (nmi, 0) }
            guard let nus = Self.match(microsecond, atLeast: us, upTo: 60 * Self.usecPerSecond - 1) else {
                us = 0
                if mi == 59 {
                    mi = 0
                    if h == 23 {
                        let next = date.adding(days: 1)
                        (y, m, d, h) = (next.year, next.month, next.day, 0)
                    } else {
                        h += 1
                    }
                } else {
                    mi += 1
                }
                continue
            }
            dayNumber = date.dayNumber
            return Int64(dayNumber) * usecPerDay + Int64(h) * 3_600_000_000 + Int64(nmi) * 60_000_000 + Int64(nus)
        }
    }

    /// The smallest value ≥ `value` that the chain matches, if any is ≤ `limit`. A nil chain matches everything.
    static func match(_ chain: [Component]?, atLeast value: Int, upTo limit: Int) -> Int? {
        guard let chain else { return value <= limit ? value : nil }
        var best = Int.max
        for c in chain {
            if c.start >= value {
                best = min(best, c.start)
            } else if c.step > 0 {
                let k = c.start + c.step * ((value - c.start + c.step - 1) / c.step)
                if c.stop < 0 || k <= c.stop { best = min(best, k) }
            }
        }
        return best <= limit ? best : nil
    }

    func matchDay(atLeast value: Int, daysInMonth dim: Int) -> Int? {
        guard endOfMonth, let day else { return Self.match(day, atLeast: value, upTo: dim) }
        // Days counted from the month's end: ~1 is the last day; a range ~a..b runs from the b-th last to the a-th.
        var best = Int.max
        for c in day {
            var start = dim + 1 - c.start
            var stop = c.stop >= 0 && dim + 1 - c.stop >= 1 ? dim + 1 - c.stop : -1
            if stop > 0 { swap(&start, &stop) }
            if start >= value {
                best = min(best, start)
            } else if c.step > 0 {
                let k = start + c.step * ((value - start + c.step - 1) / c.step)
                if stop < 0 || k <= stop { best = min(best, k) }
            }
        }
        return best <= dim && best >= 1 ? best : nil
    }
}
