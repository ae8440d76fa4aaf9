import Foundation
import GuanhuaiCalendar
import GuanhuaiCore
import GuanhuaiSystem

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
func clip(_ s: String, _ width: Int) -> String { clipMeasured(s, width).0 }

/// `clip`, and the width of what it gives, measured once.
func clipMeasured(_ s: String, _ width: Int) -> (String, Int) {
    let full = displayWidth(s)
    guard full > width else { return (s, full) }
    if s.unicodeScalars.allSatisfy(isWholeCharacter) {
        // Every scalar a character of its own: cut between scalars, without walking characters (grapheme breaking
        // was a tenth of 组织部's agenda, where most names are clipped).
        var used = 0
        var end = s.unicodeScalars.startIndex
        for u in s.unicodeScalars {
            let w = scalarWidth(u)
            if used + w > width - 1 { break }
            used += w
            end = s.unicodeScalars.index(after: end)
        }
        let clipped = String(s.unicodeScalars[..<end]) + "…"
        return (clipped, displayWidth(clipped))
    }
    var used = 0
    var end = s.startIndex
    for ch in s {
        var w = 0
        for u in ch.unicodeScalars { w += scalarWidth(u) }
        if used + w > width - 1 { break }
        used += w
        end = s.index(after: end)
    }
    let clipped = String(s[..<end]) + "…"
    return (clipped, displayWidth(clipped))
}

/// Whether a scalar is always a character by itself, neither joining the next nor joined by it: printable ASCII and
/// Latin-1, CJK ideographs, the CJK punctuation without its combining tone marks, full-width forms.
@inline(__always)
func isWholeCharacter(_ u: Unicode.Scalar) -> Bool {
    switch u.value {
    case 0x20...0x7E, 0xA1...0xFF, 0x3000...0x3029, 0x3030...0x303F, 0x4E00...0x9FFF, 0xFF01...0xFF60: true
    default: false
    }
}

func pad(_ s: String, _ width: Int) -> String {
    s + String(repeating: " ", count: max(0, width - displayWidth(s)))
}

/// Parses the CLI's date and instant arguments.
enum ArgumentDates {
    static func date(_ s: String, option: String) throws -> CivilDate {
        guard let d = CivilDate(parsing: s) ?? CivilDate(parsingAnyYear: s) else {
            throw UsageError(
                message: L(
                    "\(option) \"\(s)\" is not a date; write YYYY-MM-DD",
                    "\(option)「\(s)」不是日期；请写成 YYYY-MM-DD"))
        }
        guard d.isSupported else {
            throw UsageError(
                message: L(
                    "\(option) \(s) is out of range: guanhuai plans dates \(CivilDate.supportedText(chinese: Lang.chinese))",
                    "\(option) \(s) 超出范围：guanhuai 只排 \(CivilDate.supportedText(chinese: Lang.chinese)) 的日期"))
        }
        return d
    }

    /// `YYYY-MM-DD` (at noon local) or `YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]` (local when no offset) → UTC seconds.
    static func instant(_ s: String, zone: ZoneRules, option: String) throws -> Int64 {
        let bad = UsageError(
            message: L(
                "\(option) \"\(s)\" is not a date or time; write YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+08:00]",
                "\(option)「\(s)」不是日期或时间；请写成 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM[:SS][+08:00]"))
        let parts = s.split(separator: "T", maxSplits: 1).map(String.init)
        guard let d = CivilDate(parsing: parts[0]) ?? CivilDate(parsingAnyYear: parts[0]) else { throw bad }
        guard d.isSupported else {
            throw UsageError(
                message: L(
                    "\(option) \(s) is out of range: guanhuai plans dates \(CivilDate.supportedText(chinese: Lang.chinese))",
                    "\(option) \(s) 超出范围：guanhuai 只排 \(CivilDate.supportedText(chinese: Lang.chinese)) 的日期"))
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
final class BufferedOutput {
    // A plain allocation rather than [UInt8]: `plan --format json` appends some 300 million bytes a piece at a time,
    // and an array checks uniqueness and capacity on every append.
    private let limit = 1 << 20
    private let capacity = (1 << 20) + (1 << 16)
    private let base: UnsafeMutablePointer<UInt8>
    private var count = 0

    init() { base = .allocate(capacity: capacity) }

    deinit { base.deallocate() }

    /// Room for `n` more bytes, flushing first when they would not fit.
    @inline(__always)
    private func reserve(_ n: Int) {
        if count + n > capacity { flush() }
    }

    func write(_ s: String) {
        appendBytes(s)
        if count >= limit { flush() }
    }

    private func appendBytes(_ s: String) {
        var s = s
        s.withUTF8 { appendRaw($0) }
    }

    private func appendRaw(_ bytes: UnsafeBufferPointer<UInt8>) {
        reserve(bytes.count)
        guard bytes.count <= capacity else { return writeOut(UnsafeRawBufferPointer(bytes)) }
        if let p = bytes.baseAddress { (base + count).update(from: p, count: bytes.count) }
        count += bytes.count
    }

    func spaces(_ n: Int) {
        for _ in 0..<max(0, n) { append(0x20) }
    }

    func flush() {
        writeOut(UnsafeRawBufferPointer(start: base, count: count))
        count = 0
    }

    private func writeOut(_ raw: UnsafeRawBufferPointer) {
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

    func write(_ s: String, flushing: Bool) {
        appendBytes(s)
        if flushing && count >= limit { flush() }
    }

    /// Bytes without the check for a full buffer: for the pieces of one line; `endLine` checks.
    func append(_ s: StaticString) {
        s.withUTF8Buffer { appendRaw($0) }
    }

    @inline(__always)
    func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    /// A newline, and the buffer written out when full.
    func endLine() {
        append(0x0A)
        if count >= limit { flush() }
    }

    /// A JSON string literal, byte for byte what `Occurrence.jsonQuote` gives (a byte below 0x20, a quote or a
    /// backslash is escaped; every other byte, UTF-8 included, is copied): without a String per value.
    func appendJSONString(_ s: String) {
        var s = s
        s.withUTF8 { bytes in
            // Most values (ids, names, titles) need no escape: copied whole.
            if !bytes.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
                reserve(bytes.count + 2)
                append(0x22)
                appendRaw(bytes)
                append(0x22)
                return
            }
            append(0x22)
            for b in bytes {
                switch b {
                case 0x22:
                    append(0x5C)
                    append(0x22)
                case 0x5C:
                    append(0x5C)
                    append(0x5C)
                case 0x0A:
                    append(0x5C)
                    append(0x6E)
                case 0x0D:
                    append(0x5C)
                    append(0x72)
                case 0x09:
                    append(0x5C)
                    append(0x74)
                case ..<0x20:
                    let hex: StaticString = "0123456789abcdef"
                    append("\\u00")
                    append(hex.utf8Start[Int(b >> 4)])
                    append(hex.utf8Start[Int(b & 15)])
                default: append(b)
                }
            }
            append(0x22)
        }
    }

    /// A number in decimal, as `String(n)` writes it.
    func appendInt(_ n: Int) {
        if n < 0 {
            append(0x2D)
            if n == Int.min { return appendBytes(String(n).dropFirst().description) }
            appendDigits(UInt(-n), width: 1)
        } else {
            appendDigits(UInt(n), width: 1)
        }
    }

    /// At least `width` digits, zero-padded.
    func appendDigits(_ n: UInt, width: Int) {
        reserve(max(width, 20))
        var length = 1
        var v = n / 10
        while v > 0 {
            length += 1
            v /= 10
        }
        length = max(length, width)
        v = n
        for i in stride(from: length - 1, through: 0, by: -1) {
            base[count + i] = 0x30 + UInt8(v % 10)
            v /= 10
        }
        count += length
    }

    /// Two digits, zero-padded (0–99).
    @inline(__always)
    func appendTwo(_ n: Int) {
        reserve(2)
        base[count] = 0x30 + UInt8(n / 10)
        base[count + 1] = 0x30 + UInt8(n % 10)
        count += 2
    }

    /// `YYYY-MM-DD`, as `CivilDate.description`.
    func appendDate(_ d: CivilDate) {
        guard d.year >= 0 else { return appendBytes(d.description) }
        appendDigits(UInt(d.year), width: 4)
        append(0x2D)
        appendTwo(d.month)
        append(0x2D)
        appendTwo(d.day)
    }

    /// RFC 3339 with an offset, as `Timestamp.rfc3339(utc:offsetSeconds:)`.
    func appendRFC3339(utc t: Int64, offsetSeconds: Int) {
        let (day, sod) = Timestamp.split(t + Int64(offsetSeconds))
        appendDate(day)
        append(0x54)
        appendTwo(sod / 3600)
        append(0x3A)
        appendTwo(sod / 60 % 60)
        append(0x3A)
        appendTwo(sod % 60)
        let off = abs(offsetSeconds)
        append(offsetSeconds < 0 ? 0x2D : 0x2B)
        appendDigits(UInt(off / 3600), width: 2)
        append(0x3A)
        appendTwo(off / 60 % 60)
    }
}
