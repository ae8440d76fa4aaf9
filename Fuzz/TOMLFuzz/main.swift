// The read paths of operators' and staff's files under a fuzzer (docs/robustness.md, "Fuzzing"). The first byte of an input
// picks the reader: rules, organisation, config (with the example's other files beside it), the holiday table, or a
// completions spreadsheet (台账, read against the example), and its upper part a whole-file rewrite (CRLF, CR, mixed
// line ends, BOM, UTF-16, trailing spaces, tabs); the rest is the file's text. Rules that load are also
// planned for a year over the example roster, so a date or offset that overflows traps here too.
//
//   swift build --sanitize=fuzzer -Xswiftc -DFUZZING -Xswiftc -parse-as-library --product TOMLFuzz \
//       --scratch-path .build-fuzz   (Fuzz/run does this, and runs it)
//   TOMLFuzz FILE...                 (an ordinary build replays files: a crash names the file)
import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore

enum Harness {
    static let example: Configuration? = {
        let dir = ProcessInfo.processInfo.environment["GUANHUAI_FUZZ_EXAMPLE"] ?? "Config"
        return try? Configuration.load(path: dir + "/config.toml")
    }()
    static let scratch: String = {
        let dir = NSTemporaryDirectory() + "guanhuai-fuzz-\(getpid())"
        let from = ProcessInfo.processInfo.environment["GUANHUAI_FUZZ_EXAMPLE"] ?? "Config"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in ["rules.toml", "organization.toml", "roster.csv", "relations.csv", "events.csv", "holidays.toml"] {
            try? FileManager.default.removeItem(atPath: dir + "/" + f)
            try? FileManager.default.copyItem(atPath: from + "/" + f, toPath: dir + "/" + f)
        }
        return dir
    }()

    /// A whole-file rewrite, as another editor would save the same file (the first byte's upper part picks it):
    /// Notepad's CRLF, an old Mac's CR, a mix of the three, a BOM, UTF-16 with its BOM (which must be refused with a
    /// message), trailing spaces and tabs, tabs for spaces. Each must read as the original or fail with a message.
    static func rewrite(_ body: [UInt8], _ how: UInt8) -> [UInt8] {
        let lf = UInt8(ascii: "\n")
        switch how % 8 {
        case 1: return body.flatMap { $0 == lf ? [0x0D, lf] : [$0] }
        case 2: return body.map { $0 == lf ? 0x0D : $0 }
        case 3:
            var n = 0
            return body.flatMap { b -> [UInt8] in
                guard b == lf else { return [b] }
                n += 1
                return [[0x0D, lf], [lf], [0x0D]][n % 3]
            }
        case 4: return [0xEF, 0xBB, 0xBF] + body
        case 5: return [0xFF, 0xFE] + String(decoding: body, as: UTF8.self).utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        case 6: return body.flatMap { $0 == lf ? [0x20, 0x09, lf] : [$0] }
        case 7: return body.map { $0 == 0x20 ? 0x09 : $0 }
        default: return body
        }
    }

    /// Returns a line saying what happened; a crash never returns.
    static func run(_ input: [UInt8]) -> String {
        guard let kind = input.first else { return "empty" }
        // Through the reader every file takes (TextFile), after the rewrite.
        let bytes = [kind] + rewrite(Array(input.dropFirst()), kind / 5)
        let text: String
        do { text = try TextFile.decode(Data(bytes.dropFirst()), file: "fuzz").text } catch { return "error \(error)" }
        switch kind % 5 {
        case 0:
            do {
                let rules = try RulesFile.parse(text, file: "rules.toml")
                if var input = example?.planInput() {
                    input.rules = rules
                    let from = CivilDate(2027, 1, 1)!
                    _ = Planner(input).plan(PlanQuery(from: from, to: from.adding(days: 364), now: 1_800_000_000))
                }
                return "ok rules"
            } catch {
                return "error \(error)"
            }
        case 1:
            do {
                _ = try OrganizationFile.parse(text, file: "organization.toml")
                return "ok organization"
            } catch {
                return "error \(error)"
            }
        case 3:
            let path = scratch + "/holidays.toml"
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: path))
                let cal = try HolidaysFile.load(path: path)
                _ = cal.nextWorkday(onOrAfter: CivilDate(2026, 10, 1)!)
                return "ok holidays"
            } catch {
                return "error \(error)"
            }
        case 4:
            let path = scratch + "/completions.csv"
            do {
                try Data(bytes.dropFirst()).write(to: URL(fileURLWithPath: path))
                guard let input = example?.planInput() else { return "no example" }
                _ = try CompletionsFile.load(path: path, input: input, today: CivilDate(2027, 6, 1)!)
                return "ok completions"
            } catch {
                return "error \(error)"
            }
        default:
            let path = scratch + "/config.toml"
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: path))
                _ = try Configuration.load(path: path)
                return "ok config"
            } catch {
                return "error \(error)"
            }
        }
    }
}

#if FUZZING
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
        _ = Harness.run(Array(UnsafeBufferPointer(start: data, count: size)))
        return 0
    }
#else
    @main
    struct Replay {
        static func main() {
            for path in CommandLine.arguments.dropFirst() {
                guard let data = FileManager.default.contents(atPath: path) else { continue }
                let line = Harness.run([UInt8](data)).split(separator: "\n").first.map(String.init) ?? ""
                print(path + "\t" + line)
            }
        }
    }
#endif
