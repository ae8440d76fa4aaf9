import Foundation
import GuanhuaiCore

/// Terminal columns a scalar takes: East Asian wide and full-width characters take two, combining marks none.
@inline(__always)
func scalarWidth(_ u: Unicode.Scalar) -> Int {
    let v = u.value
    if v < 0x300 { return 1 }
    let wide =
        (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
        || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v)
        || (0xFFE0...0xFFE6).contains(v) || (0x20000...0x3FFFD).contains(v)
    // Combining marks take no column; looking them up by range is far cheaper than by Unicode property.
    let combining = (0x0300...0x036F).contains(v) || (0x20D0...0x20FF).contains(v) || (0xFE20...0xFE2F).contains(v)
    return wide ? 2 : (combining ? 0 : 1)
}

/// Terminal columns a string takes.
func displayWidth(_ s: String) -> Int {
    var w = 0
    for u in s.unicodeScalars { w += scalarWidth(u) }
    return w
}

/// At most `width` columns, with … where it was cut. One pass, whole characters kept whole.
func clip(_ s: String, _ width: Int) -> String {
    guard displayWidth(s) > width else { return s }
    var used = 0
    var end = s.startIndex
    for ch in s {
        var w = 0
        for u in ch.unicodeScalars { w += scalarWidth(u) }
        if used + w > width - 1 { break }
        used += w
        end = s.index(after: end)
    }
    return String(s[..<end]) + "…"
}

func pad(_ s: String, _ width: Int) -> String {
    s + String(repeating: " ", count: max(0, width - displayWidth(s)))
}


/// Parses the CLI's date and instant arguments.
enum ArgumentDates {
    static func date(_ s: String, option: String) throws -> CivilDate {
        guard let d = CivilDate(parsing: s) ?? CivilDate(parsingAnyYear: s) else {
            throw UsageError(message: L("\(option) \"\(s)\" is not a date; write YYYY-MM-DD",
                "\(option)「\(s)」不是日期；请写成 YYYY-MM-DD"))
        }
        guard d.isSupported else {
            throw UsageError(message: L("\(option) \(s) is out of range: guanhuai plans dates \(CivilDate.supportedText)",
                "\(option) \(s) 超出范围：guanhuai 只排 \(CivilDate.supportedText) 的日期"))
        }
        return d
    }

    /// `YYYY-MM-DD` (at noon local) or `YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]` (local when no offset) → UTC seconds.
    static func instant(_ s: String, zone: ZoneRules, option: String) throws -> Int64 {
        let bad = UsageError(message: L("\(option) \"\(s)\" is not a date or time; write YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+08:00]",
                "\(option)「\(s)」不是日期或时间；请写成 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM[:SS][+08:00]"))
        let parts = s.split(separator: "T", maxSplits: 1).map(String.init)
        guard let d = CivilDate(parsing: parts[0]) ?? CivilDate(parsingAnyYear: parts[0]) else { throw bad }
        guard d.isSupported else {
            throw UsageError(message: L("\(option) \(s) is out of range: guanhuai plans dates \(CivilDate.supportedText)",
                "\(option) \(s) 超出范围：guanhuai 只排 \(CivilDate.supportedText) 的日期"))
        }
        var seconds = 12 * 3600
        var offset: Int?
        if parts.count == 2 {
            var time = Substring(parts[1])
            if time.hasSuffix("Z") {
                offset = 0
                time = time.dropLast()
            } else if let sign = time.lastIndex(where: { $0 == "+" || $0 == "-" }) {
                let o = time[time.index(after: sign)...].split(separator: ":")
                guard o.count == 2, let h = Int(o[0]), let m = Int(o[1]) else { throw bad }
                offset = (h * 3600 + m * 60) * (time[sign] == "-" ? -1 : 1)
                time = time[..<sign]
            }
            let t = time.split(separator: ":").map { Int($0) }
            guard (2...3).contains(t.count), t.allSatisfy({ $0 != nil }), (0...23).contains(t[0]!),
                (0...59).contains(t[1]!), t.count == 2 || (0...59).contains(t[2]!)
            else { throw bad }
            seconds = t[0]! * 3600 + t[1]! * 60 + (t.count == 3 ? t[2]! : 0)
        }
        let local = Int64(d.dayNumber) * 86400 + Int64(seconds)
        if let offset { return local - Int64(offset) }
        switch zone.resolve(local: local) {
        case .unique(let u), .repeated(let u, _), .skipped(let u): return u
        }
    }
}

/// Standard output in writes of about 1 MiB: a year's plan for a large committee is hundreds of megabytes, and
/// building it as one String first cost more than the planning.
struct BufferedOutput {
    private var buffer: [UInt8] = []
    private let limit = 1 << 20

    init() { buffer.reserveCapacity(limit + 4096) }

    mutating func write(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        if buffer.count >= limit { flush() }
    }

    mutating func spaces(_ n: Int) {
        for _ in 0..<max(0, n) { buffer.append(0x20) }
    }

    mutating func flush() {
        buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(1, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 {
                    offset += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    // A closed pipe (`| head`): nothing more can be written; stop quietly, as a filter does.
                    Foundation.exit(0)
                }
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
