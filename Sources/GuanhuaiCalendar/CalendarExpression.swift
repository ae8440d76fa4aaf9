/// A systemd calendar event expression (systemd.time(7), "CALENDAR EVENTS"), as written in `OnCalendar=`.
///
/// Hand-written because no maintained Swift library parses this syntax. Parsing, validation and the normalized
/// form follow systemd's `calendarspec.c`; `next(after:)` follows the documented semantics in local wall time:
/// a wall time that does not exist (clocks jump forward) is moved forward as mktime(3) does, and a wall time that
/// exists twice (clocks go back) fires once, at the offset in force when the search began.
public struct CalendarExpression: Hashable, Sendable {
    struct Component: Hashable, Sendable, Comparable {
        var start: Int
        var stop: Int  // -1: none
        var step: Int  // the repetition (`/step`); 0: none

        static func < (a: Component, b: Component) -> Bool {
            (a.start, a.stop, a.step) < (b.start, b.stop, b.step)
        }
    }

    /// Bit 0 = Monday … bit 6 = Sunday; nil = every day.
    var weekdays: UInt8?
    var year: [Component]?
    var month: [Component]?
    var day: [Component]?
    var hour: [Component]?
    var minute: [Component]?
    /// Seconds in microseconds.
    var microsecond: [Component]?
    var endOfMonth = false
    /// Nil: the zone the caller supplies (systemd: the local zone).
    public internal(set) var zoneName: String?
    var utc = false

    public let original: String

    static let usecPerSecond = 1_000_000
    static let minYear = 1970
    static let maxYear = 2199
    static let maxComponents = 240
}

public struct CalendarExpressionError: Error, Equatable, Sendable, CustomStringConvertible {
    public let expression: String
    /// 1-based character position where the problem was found.
    public let position: Int
    public let reason: String

    public var description: String {
        let shown = expression.count > 60 ? String(expression.prefix(60)) + "…" : expression
        return "invalid calendar expression \"\(shown)\" at position \(position): \(reason)"
    }
}

// MARK: - Parsing

extension CalendarExpression {
    public init(_ text: String) throws(CalendarExpressionError) {
        original = text
        var parser = Parser(bytes: Array(text.utf8), text: text)
        try parser.parse(into: &self)
        normalize()
        if let why = invalidReason() {
            throw CalendarExpressionError(expression: text, position: 1, reason: why)
        }
    }

    private struct Parser {
        var bytes: [UInt8]
        let text: String
        var p = 0

        init(bytes: [UInt8], text: String) {
            self.bytes = bytes
            self.text = text
        }

        func fail(_ reason: String, at index: Int? = nil) -> CalendarExpressionError {
            // Positions count characters, not bytes, so a person can find them in a Chinese config file.
            let byteIndex = min(index ?? p, bytes.count)
            let position = String(decoding: bytes[..<byteIndex], as: UTF8.self).count + 1
            return CalendarExpressionError(expression: text, position: position, reason: reason)
        }

        var current: UInt8 { p < bytes.count ? bytes[p] : 0 }
        func at(_ i: Int) -> UInt8 { i < bytes.count ? bytes[i] : 0 }

        mutating func parse(into spec: inout CalendarExpression) throws(CalendarExpressionError) {
            guard bytes.count <= 4096 else { throw fail("longer than 4096 characters", at: 0) }
            try stripZone(into: &spec)
            guard !bytes.isEmpty else { throw fail("empty; write for example \"*-*-* 08:30\" or \"monthly\"", at: 0) }
            let lowered = String(decoding: bytes, as: UTF8.self).lowercased()
            if let shorthand = CalendarExpression.shorthands[lowered] {
                var expanded = Parser(bytes: Array(shorthand.utf8), text: text)
                try expanded.parseBody(into: &spec)
                return
            }
            try parseBody(into: &spec)
        }

        /// A trailing " UTC" (any case) or a trailing IANA zone name.
        mutating func stripZone(into spec: inout CalendarExpression) throws(CalendarExpressionError) {
            let s = String(decoding: bytes, as: UTF8.self)
            if s.lowercased().hasSuffix(" utc") {
                spec.utc = true
                bytes.removeLast(4)
                return
            }
            guard let space = bytes.lastIndex(of: UInt8(ascii: " ")) else { return }
            let name = String(decoding: bytes[(space + 1)...], as: UTF8.self)
            guard let first = name.unicodeScalars.first, first.properties.isAlphabetic, first != "*" else { return }
            // Weekday names can stand last only in a weekday-only expression, which systemd rejects anyway.
            if ZoneRules.named(name) != nil {
                spec.zoneName = name
                bytes.removeSubrange(space...)
            } else if name.contains("/") || name.allSatisfy({ $0.isLetter }) && !CalendarExpression.isWeekdayWord(name) {
                throw fail("unknown time zone \"\(name)\"; use an IANA name such as Asia/Shanghai, or UTC", at: space + 1)
            }
        }

        mutating func parseBody(into spec: inout CalendarExpression) throws(CalendarExpressionError) {
            try parseWeekdays(into: &spec)
            let done = try parseDate(into: &spec)
            if !done { try parseTime(into: &spec) }
            if p < bytes.count { throw fail("unexpected \"\(Character(UnicodeScalar(bytes[p])))\"") }
        }

        static let dayNames: [(String, Int)] = [
            ("monday", 0), ("mon", 0), ("tuesday", 1), ("tue", 1), ("wednesday", 2), ("wed", 2),
            ("thursday", 3), ("thu", 3), ("friday", 4), ("fri", 4), ("saturday", 5), ("sat", 5),
            ("sunday", 6), ("sun", 6),
        ]

        func hasPrefixNoCase(_ name: String, at index: Int) -> Bool {
            var i = index
            for c in name.utf8 {
                guard i < bytes.count else { return false }
                var b = bytes[i]
                if b >= 65 && b <= 90 { b += 32 }
                if b != c { return false }
                i += 1
            }
            return true
        }

        mutating func parseWeekdays(into spec: inout CalendarExpression) throws(CalendarExpressionError) {
            var rangeStart = -1
            var first = true
            var bits: UInt8 = 0
            while true {
                guard let (name, nr) = Parser.dayNames.first(where: { hasPrefixNoCase($0.0, at: p) }) else {
                    if first { return }
                    throw fail("expected a weekday name (Mon … Sun)")
                }
                let after = p + name.utf8.count
                guard
                    [0, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: ","), UInt8(ascii: " ")]
                        .contains(at(after))
                else { throw fail("unknown weekday; use Mon, Tue, Wed, Thu, Fri, Sat, Sun or their full names") }
                bits |= 1 << nr
                if rangeStart >= 0 {
                    if rangeStart > nr { throw fail("weekday range runs backwards; write Mon..Fri, not Fri..Mon") }
                    for j in (rangeStart + 1)..<max(rangeStart + 1, nr) { bits |= 1 << j }
                }
                p = after
                spec.weekdays = bits
                if current == 0 { return }
                if current == UInt8(ascii: " ") {
                    while current == UInt8(ascii: " ") { p += 1 }
                    return
                }
                if current == UInt8(ascii: ".") {
                    if rangeStart >= 0 { throw fail("a weekday range cannot continue another range") }
                    if at(p + 1) != UInt8(ascii: ".") { throw fail("a weekday range is written with \"..\"") }
                    rangeStart = nr
                    p += 2
                } else if current == UInt8(ascii: "-") {
                    if rangeStart >= 0 { throw fail("a weekday range cannot continue another range") }
                    rangeStart = nr
                    p += 1
                } else if current == UInt8(ascii: ",") {
                    rangeStart = -1
                    p += 1
                }
                if current == 0 || current == UInt8(ascii: " ") {
                    while current == UInt8(ascii: " ") { p += 1 }
                    if rangeStart >= 0 { throw fail("weekday range has no end") }
                    return
                }
                first = false
            }
        }

        /// Returns true when the date part consumed the whole expression (`@EPOCH`).
        mutating func parseDate(into spec: inout CalendarExpression) throws(CalendarExpressionError) -> Bool {
            if current == 0 { return false }
            if current == UInt8(ascii: "@") {
                p += 1
                let start = p
                var value = 0
                while (48...57).contains(current) {
                    value = value &* 10 &+ Int(current - 48)
                    if value > 253_402_300_799 { throw fail("timestamp out of range", at: start) }
                    p += 1
                }
                if p == start { throw fail("expected seconds since the epoch after \"@\"") }
                let date = CivilDate(dayNumber: Int((Double(value) / 86400).rounded(.down)))
                let sod = value - date.dayNumber * 86400
                spec.year = [Component(start: date.year, stop: -1, step: 0)]
                spec.month = [Component(start: date.month, stop: -1, step: 0)]
                spec.day = [Component(start: date.day, stop: -1, step: 0)]
                spec.hour = [Component(start: sod / 3600, stop: -1, step: 0)]
                spec.minute = [Component(start: sod / 60 % 60, stop: -1, step: 0)]
                spec.microsecond = [Component(start: sod % 60 * usec, stop: -1, step: 0)]
                spec.utc = true
                return true
            }
            let save = p
            let first = try parseChain(usec: false)
            if current == 0 || current == UInt8(ascii: ":") {
                p = save  // it was a time
                return false
            }
            if current == UInt8(ascii: "~") {
                spec.endOfMonth = true
            } else if current != UInt8(ascii: "-") {
                throw fail("expected \"-\" or \"~\" between date fields")
            }
            p += 1
            let second = try parseChain(usec: false)
            if current == 0 || current == UInt8(ascii: " ") {
                while current == UInt8(ascii: " ") { p += 1 }
                spec.month = first
                spec.day = second
                return false
            }
            if spec.endOfMonth { throw fail("\"~\" goes between month and day only") }
            if current == UInt8(ascii: "~") {
                spec.endOfMonth = true
            } else if current != UInt8(ascii: "-") {
                throw fail("expected \"-\" or \"~\" between date fields")
            }
            p += 1
            let third = try parseChain(usec: false)
            guard current == 0 || current == UInt8(ascii: " ") else {
                throw fail("expected a space between the date and the time")
            }
            while current == UInt8(ascii: " ") { p += 1 }
            spec.year = first
            spec.month = second
            spec.day = third
            return false
        }

        var usec: Int { CalendarExpression.usecPerSecond }

        mutating func parseTime(into spec: inout CalendarExpression) throws(CalendarExpressionError) {
            if current == 0 {
                spec.hour = [Component(start: 0, stop: -1, step: 0)]
                spec.minute = [Component(start: 0, stop: -1, step: 0)]
                spec.microsecond = [Component(start: 0, stop: -1, step: 0)]
                return
            }
            let h = try parseChain(usec: false)
            guard current == UInt8(ascii: ":") else { throw fail("expected \":\" between hour and minute") }
            p += 1
            let m = try parseChain(usec: false)
            var s: [Component]? = [Component(start: 0, stop: -1, step: 0)]
            if current != 0 {
                guard current == UInt8(ascii: ":") else { throw fail("expected \":\" between minute and second") }
                p += 1
                s = try parseChain(usec: true)
                guard current == 0 else { throw fail("unexpected text after the seconds") }
            }
            spec.hour = h
            spec.minute = m
            spec.microsecond = s
        }

        /// `*` or a comma-separated list of `a`, `a..b`, `a/n`, `a..b/n`. Nil means `*`.
        mutating func parseChain(usec: Bool) throws(CalendarExpressionError) -> [Component]? {
            if current == UInt8(ascii: "*") {
                p += 1
                if usec { return [Component(start: 0, stop: -1, step: self.usec)] }
                return nil
            }
            var chain: [Component] = []
            while true {
                if chain.count > CalendarExpression.maxComponents {
                    throw fail("more than \(CalendarExpression.maxComponents) values in one field")
                }
                let start = try parseDecimal(usec: usec)
                var stop = -1
                var rep = 0
                if current == UInt8(ascii: "."), at(p + 1) == UInt8(ascii: ".") {
                    p += 2
                    stop = try parseDecimal(usec: usec)
                    rep = usec ? self.usec : 1
                }
                if current == UInt8(ascii: "/") {
                    p += 1
                    let at = p
                    rep = try parseDecimal(usec: usec)
                    if rep == 0 { throw fail("a repetition of 0 never advances", at: at) }
                } else if usec && stop >= 0 && start + rep > stop {
                    throw fail("a range of seconds must span at least one second")
                }
                guard
                    [0, UInt8(ascii: " "), UInt8(ascii: ","), UInt8(ascii: "-"), UInt8(ascii: "~"), UInt8(ascii: ":")]
                        .contains(current)
                else {
                    throw fail("unexpected \"\(String(decoding: [current], as: UTF8.self))\"")
                }
                chain.append(Component(start: start, stop: stop, step: rep))
                if current == UInt8(ascii: ",") {
                    p += 1
                    continue
                }
                return chain
            }
        }

        mutating func parseDecimal(usec: Bool) throws(CalendarExpressionError) -> Int {
            guard (48...57).contains(current) else {
                throw fail(current == 0 ? "a field is missing" : "expected a number or \"*\"")
            }
            let start = p
            var value = 0
            while (48...57).contains(current) {
                value = value * 10 + Int(current - 48)
                if value > Int(Int32.max) { throw fail("number too large", at: start) }
                p += 1
            }
            guard usec else { return value }
            if value > Int(Int32.max) / self.usec { throw fail("number too large", at: start) }
            value *= self.usec
            if current == UInt8(ascii: "."), at(p + 1) != UInt8(ascii: ".") {
                p += 1
                var digits = 0
                var fraction = 0
                while (48...57).contains(current) {
                    if digits < 6 {
                        fraction = fraction * 10 + Int(current - 48)
                        digits += 1
                    }
                    p += 1
                }
                while digits < 6 {
                    fraction *= 10
                    digits += 1
                }
                value += fraction
            }
            return value
        }
    }

    static let shorthands: [String: String] = [
        "minutely": "*-*-* *:*:00",
        "hourly": "*-*-* *:00:00",
        "daily": "*-*-* 00:00:00",
        "monthly": "*-*-01 00:00:00",
        "weekly": "Mon *-*-* 00:00:00",
        "yearly": "*-01-01 00:00:00",
        "annually": "*-01-01 00:00:00",
        "anually": "*-01-01 00:00:00",
        "quarterly": "*-01,04,07,10-01 00:00:00",
        "semiannually": "*-01,07-01 00:00:00",
        "semi-annually": "*-01,07-01 00:00:00",
        "biannually": "*-01,07-01 00:00:00",
        "bi-annually": "*-01,07-01 00:00:00",
    ]

    static func isWeekdayWord(_ s: String) -> Bool {
        let l = s.lowercased()
        return ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].contains(where: { l.hasPrefix($0) })
    }
}
