import Foundation
import GuanhuaiCalendar
import GuanhuaiTestSupport
import Testing

@testable import GuanhuaiCore

@Suite struct CalendarExpressionTests {
    @Test(arguments: calendarReferenceTable)
    func agreesWithSystemdAnalyze(_ row: (expression: String, base: String, normalized: String, elapses: [String]))
        throws
    {
        if row.normalized.isEmpty {
            #expect(throws: CalendarExpressionError.self) { try CalendarExpression(row.expression) }
            return
        }
        let spec = try CalendarExpression(row.expression)
        #expect(spec.description == row.normalized)
        var t = utcMicroseconds(row.base)
        var got: [String] = []
        for _ in row.elapses {
            guard let next = spec.next(afterMicroseconds: t) else { break }
            got.append(utcString(next))
            t = next
        }
        #expect(got == row.elapses)
    }

    @Test(arguments: [
        ("*-13-01", 1), ("Mon..Funday", 6), ("25:00", 1), ("", 1), ("*-*-* 08:30 Mars/Olympus", 13),
        ("*-*-32", 1), ("12:60", 1), ("*-02-30/0", 9), ("Fri..Mon", 6), ("*-*-* 8:00:00:00", 14),
        ("*-*~29", 1), ("1969-01-01", 1), ("*-*-1/31", 1), ("*:*:61", 1), ("Mon..", 6),
    ])
    func badExpressionsNameAPosition(_ text: String, _ position: Int) {
        do {
            _ = try CalendarExpression(text)
            Issue.record("\"\(text)\" parsed")
        } catch {
            #expect(error.position == position, "\(error)")
            #expect(!error.reason.isEmpty)
        }
    }

    @Test func junkAndDeepNestingFailFastWithoutCrashing() throws {
        let clock = ContinuousClock()
        let started = clock.now
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789*-~:.,/ MonTueUTC@".utf8)
        // 10 kB is refused outright; shorter junk goes through every parsing path.
        for length in [10_000, 3_000, 200, 40, 12, 5] {
            for _ in 0..<200 {
                let junk = String(decoding: (0..<length).map { _ in alphabet.randomElement(using: &rng)! }, as: UTF8.self)
                do {
                    let spec = try CalendarExpression(junk)
                    _ = spec.next(afterMicroseconds: 1_795_000_000_000_000)
                } catch {
                    #expect(error.position >= 1 && error.position <= length + 1)
                }
            }
        }
        #expect(throws: CalendarExpressionError.self) {
            try CalendarExpression("*-*-" + Array(repeating: "1", count: 5000).joined(separator: ","))
        }
        #expect(throws: CalendarExpressionError.self) {
            try CalendarExpression(String(repeating: ",", count: 10_000))
        }
        // A comma chain within the limit still parses and normalizes to one value.
        let many = try CalendarExpression("*-*-" + Array(repeating: "1", count: 200).joined(separator: ","))
        #expect(many.description == "*-*-01 00:00:00")
        #expect(clock.now - started < .seconds(20))
    }

    @Test func weekdayThatNeverMatchesEndsTheSearch() throws {
        // 2027-03-04 is a Thursday.
        let spec = try CalendarExpression("Mon 2027-03-04")
        #expect(spec.next(afterMicroseconds: utcMicroseconds("2026-11-22 00:00:00")) == nil)
    }

    @Test func repetitionAcrossTheYearEndFollowsTheDocumentation() throws {
        // systemd 252's issue 40260: *-*-1/11 across a year boundary. The documented meaning is days 1, 12, 23 of
        // every month.
        let spec = try CalendarExpression("*-*-1/11")
        var t = utcMicroseconds("2026-12-20 00:00:00")
        var got: [String] = []
        for _ in 0..<4 {
            t = spec.next(afterMicroseconds: t)!
            got.append(utcString(t))
        }
        #expect(got == ["2026-12-23 00:00:00", "2027-01-01 00:00:00", "2027-01-12 00:00:00", "2027-01-23 00:00:00"])
    }

    /// Random valid expressions against this machine's systemd-analyze, where it exists.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "systemd-analyze is not installed"))
    func randomExpressionsAgreeWithSystemdAnalyzeLive() throws {
        var rng = SplitMix(seed: 20_261_122)
        var compared = 0
        for _ in 0..<60 {
            let expr = randomExpression(&rng)
            let base = "2026-\(two(Int(rng.next() % 12) + 1))-\(two(Int(rng.next() % 28) + 1)) 0\(rng.next() % 10):17:00"
            let out = try run("/usr/bin/systemd-analyze", ["calendar", "--iterations=4", "--base-time=\(base) UTC", expr])
            guard out.contains("Normalized form:") else {
                #expect(throws: CalendarExpressionError.self, "\(expr)") { try CalendarExpression(expr) }
                continue
            }
            let spec = try CalendarExpression(expr)
            let expected = out.split(separator: "\n").compactMap { line -> String? in
                guard line.contains("Next elapse:") || line.contains("Iter. #"), !line.hasSuffix("never") else {
                    return nil
                }
                let words = line.split(separator: " ")
                return "\(words[words.count - 3]) \(words[words.count - 2])"
            }
            var t = utcMicroseconds(base)
            var got: [String] = []
            for _ in expected {
                guard let n = spec.next(afterMicroseconds: t) else { break }
                got.append(utcString(n))
                t = n
            }
            #expect(got == expected, "\(expr) from \(base)")
            let normalized = out.split(separator: "\n").first { $0.contains("Normalized form:") }!
            #expect(normalized.hasSuffix(spec.description), "\(expr)")
            compared += 1
        }
        #expect(compared > 40)
    }
}

private func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }

private func randomExpression(_ rng: inout SplitMix) -> String {
    func pick<T>(_ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }
    let weekday = pick(["", "", "", "Mon ", "Sat,Sun ", "Mon..Fri ", "Tue,Thu ", "Fri "])
    let year = pick(["*", "*", "2027", "2026..2028", "2026/2"])
    let month = pick(["*", "*", "01", "02", "05,11", "1/3", "06..08", "12"])
    let sep = pick(["-", "-", "-", "~"])
    let day = sep == "~" ? pick(["01", "03", "07/1", "02"]) : pick(["*", "01", "15", "29", "31", "1/10", "10..20", "28..31"])
    let hour = pick(["08", "*", "00/6", "9..17", "23"])
    let minute = pick(["30", "00", "*/1".replacingOccurrences(of: "*/1", with: "0/15"), "05,35"])
    return "\(weekday)\(year)-\(month)\(sep)\(day) \(hour):\(minute)"
}

func run(_ path: String, _ args: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    p.environment = ["TZ": "UTC", "PATH": "/usr/bin:/bin"]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}
