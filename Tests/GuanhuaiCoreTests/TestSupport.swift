import Foundation
import GuanhuaiCalendar
import GuanhuaiCore

func date(_ s: String) -> CivilDate { CivilDate(parsing: s)! }

/// "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC → microseconds since the epoch.
func utcMicroseconds(_ s: String) -> Int64 {
    let parts = s.split(separator: " ")
    let d = CivilDate(parsing: parts[0])!
    let t = parts[1].split(separator: ":")
    let secParts = t[2].split(separator: ".")
    var micros: Int64 = 0
    if secParts.count == 2 {
        let f = String(secParts[1]).padding(toLength: 6, withPad: "0", startingAt: 0)
        micros = Int64(f)!
    }
    let seconds = Int64(d.dayNumber) * 86400 + Int64(t[0])! * 3600 + Int64(t[1])! * 60 + Int64(secParts[0])!
    return seconds * 1_000_000 + micros
}

func utcString(_ micros: Int64) -> String {
    let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
    let d = CivilDate(dayNumber: Int(seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400))
    let sod = seconds - Int64(d.dayNumber) * 86400
    return "\(d) " + [sod / 3600, sod / 60 % 60, sod % 60].map { $0 < 10 ? "0\($0)" : "\($0)" }.joined(separator: ":")
}

/// Where the test fixtures live.
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
