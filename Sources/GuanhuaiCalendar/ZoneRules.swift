import Foundation
import Synchronization

/// A time zone's UTC offsets as a sorted transition table, so converting between instants and local wall time is a
/// binary search rather than a call into Foundation. Built once per zone from Foundation's `TimeZone` (tzdata).
public final class ZoneRules: Sendable {
    public let identifier: String
    /// UTC seconds at which `offsets[i + 1]` starts; `offsets[0]` applies before the first transition.
    private let transitions: [Int64]
    private let offsets: [Int32]

    public static let utc = ZoneRules(identifier: "UTC", transitions: [], offsets: [0])

    private static let cache = Mutex<[String: ZoneRules]>([:])

    /// The rules for an IANA zone name, or nil when the system has no such zone.
    public static func named(_ identifier: String) -> ZoneRules? {
        if identifier == "UTC" || identifier == "Etc/UTC" { return utc }
        if let hit = cache.withLock({ $0[identifier] }) { return hit }
        // Foundation accepts abbreviations ("CST") and "GMT+8"; only real tzdata names are zones here.
        guard identifier.contains("/") || ["GMT", "UTC", "UCT", "Zulu", "Universal"].contains(identifier),
            let tz = TimeZone(identifier: identifier)
        else { return nil }
        let rules = ZoneRules(timeZone: tz)
        cache.withLock { $0[identifier] = rules }
        return rules
    }

    private init(identifier: String, transitions: [Int64], offsets: [Int32]) {
        self.identifier = identifier
        self.transitions = transitions
        self.offsets = offsets
    }

    private convenience init(timeZone tz: TimeZone) {
        var transitions: [Int64] = []
        var offsets: [Int32] = []
        var t = Date(timeIntervalSince1970: -2_208_988_800)  // 1900-01-01
        let end = Date(timeIntervalSince1970: 7_289_654_400)  // 2201-01-01
        offsets.append(Int32(tz.secondsFromGMT(for: t)))
        while let next = tz.nextDaylightSavingTimeTransition(after: t), next < end {
            let offset = Int32(tz.secondsFromGMT(for: next))
            if offset != offsets.last {
                transitions.append(Int64(next.timeIntervalSince1970.rounded(.down)))
                offsets.append(offset)
            }
            t = next
        }
        self.init(identifier: tz.identifier, transitions: transitions, offsets: offsets)
    }

    /// Offset from UTC in seconds at a UTC instant (seconds since the epoch).
    public func offset(atUTC seconds: Int64) -> Int {
        Int(offsets[index(atUTC: seconds)])
    }

    private func index(atUTC seconds: Int64) -> Int {
        var lo = 0
        var hi = transitions.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if transitions[mid] <= seconds { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    public enum Resolution: Equatable, Sendable {
        /// The wall time exists once; the UTC instant.
        case unique(Int64)
        /// The wall time exists twice (clocks went back); both UTC instants, earlier first.
        case repeated(Int64, Int64)
        /// The wall time does not exist (clocks went forward); the UTC instant it names under the offset before
        /// the jump, which is how mktime(3) normalises it.
        case skipped(Int64)
    }

    /// The UTC instant(s) of a local wall time given as seconds since 1970-01-01T00:00 local.
    public func resolve(local: Int64) -> Resolution {
        let guess = index(atUTC: local - Int64(offsets[index(atUTC: local)]))
        var found: [Int64] = []
        for i in max(0, guess - 1)...min(offsets.count - 1, guess + 1) {
            let utc = local - Int64(offsets[i])
            if index(atUTC: utc) == i, !found.contains(utc) { found.append(utc) }
        }
        found.sort()
        switch found.count {
        case 1: return .unique(found[0])
        case 0:
            // In a gap the later offset is the larger; the instant that far back lies before the jump.
            let larger = offsets[max(0, guess - 1)...min(offsets.count - 1, guess + 1)].max() ?? 0
            return .skipped(local - Int64(offset(atUTC: local - Int64(larger))))
        default: return .repeated(found[0], found[found.count - 1])
        }
    }

    /// The local wall time of a UTC instant, as seconds since 1970-01-01T00:00 local.
    public func local(atUTC seconds: Int64) -> Int64 { seconds + Int64(offset(atUTC: seconds)) }
}

extension ZoneRules {
    /// RFC 3339 with this zone's offset at that instant, e.g. `2027-02-05T08:30:00+08:00`.
    public func rfc3339(atUTC t: Int64) -> String { Timestamp.rfc3339(utc: t, offsetSeconds: offset(atUTC: t)) }

    /// Local wall time to the minute, e.g. `2027-06-17 08:30`: what STATUS= and `guanhuai status` show.
    public func minute(atUTC t: Int64) -> String {
        let (day, sod) = Timestamp.split(local(atUTC: t))
        return "\(day) \(Timestamp.two(sod / 3600)):\(Timestamp.two(sod / 60 % 60))"
    }
}

/// Formatting instants as local wall time.
public enum Timestamp {
    public static func rfc3339(utc t: Int64, offsetSeconds: Int) -> String {
        let (day, sod) = split(t + Int64(offsetSeconds))
        let off = abs(offsetSeconds)
        return "\(day)T\(two(sod / 3600)):\(two(sod / 60 % 60)):\(two(sod % 60))"
            + "\(offsetSeconds < 0 ? "-" : "+")\(two(off / 3600)):\(two(off / 60 % 60))"
    }

    /// Local seconds since the epoch as a civil date and the second of that day: the one place that divides by a day.
    public static func split(_ local: Int64) -> (CivilDate, Int) {
        let days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400)
        return (CivilDate(dayNumber: Int(days)), Int(local - days * 86400))
    }

    public static func two(_ v: Int) -> String { v < 10 ? "0\(v)" : String(v) }
}

extension ZoneRules {
    /// The zone's abbreviation at an instant ("CST", "CEST"), as `systemd-analyze` prints and parses it. That is
    /// tzdata's abbreviation, which glibc reads; Foundation on Linux answers ICU's "GMT+8" instead. glibc gives it
    /// only for the process's TZ, so TZ is switched under a lock and put back.
    public func abbreviation(atUTC t: Int64) -> String {
        if identifier == "UTC" { return "UTC" }
        return ZoneRules.tzLock.withLock { _ in
            let saved = getenv("TZ").map { String(cString: $0) }
            setenv("TZ", identifier, 1)
            tzset()
            defer {
                if let saved { setenv("TZ", saved, 1) } else { unsetenv("TZ") }
                tzset()
            }
            var time = time_t(t)
            var parts = tm()
            guard localtime_r(&time, &parts) != nil, let name = parts.tm_zone else { return identifier }
            return String(cString: name)
        }
    }

    private static let tzLock = Mutex<Void>(())
}
