public import Foundation
import GuanhuaiCalendar
public import GuanhuaiConfig
public import GuanhuaiCore
import Testing

/// The example configuration shipped in Config/, loaded once.
public enum Example {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    public static let configPath = root.appendingPathComponent("Config/config.toml").path
    public static let config: Configuration = {
        do { return try Configuration.load(path: configPath) } catch { fatalError("example config: \(error)") }
    }()

    /// Noon in Asia/Shanghai on a date, as UTC seconds.
    public static func noon(_ s: String) -> Int64 { Int64(CivilDate(parsing: s)!.dayNumber) * 86400 + 4 * 3600 }

    public static func plan(
        from: String, to: String, now: String, rules: Set<String> = [], completions: [Completion] = [],
        events: [Event] = []
    ) -> [Occurrence] {
        Planner(config.planInput(completions: completions, extraEvents: events)).plan(
            PlanQuery(
                from: CivilDate(parsing: from)!, to: CivilDate(parsing: to)!, now: noon(now), rules: rules))
    }
}

/// A scratch directory removed when the test ends.
public struct Scratch: ~Copyable {
    public let url: URL

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("guanhuai-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public func write(_ name: String, _ text: String) throws -> String {
        let p = url.appendingPathComponent(name)
        try Data(text.utf8).write(to: p)
        return p.path
    }

    /// A copy of the example configuration whose files can be changed one at a time, with its own database.
    public func exampleCopy(busyTimeoutMilliseconds: Int = 5000) throws -> String {
        for f in ["config.toml", "rules.toml", "organization.toml", "roster.csv", "relations.csv", "events.csv", "holidays.toml", "templates"] {
            try FileManager.default.copyItem(
                at: Example.root.appendingPathComponent("Config/\(f)"), to: url.appendingPathComponent(f))
        }
        let config = url.appendingPathComponent("config.toml")
        let text = try String(contentsOf: config, encoding: .utf8)
            .replacingOccurrences(of: "path = \"../.state/guanhuai.sqlite\"", with: "path = \"state/guanhuai.sqlite\"")
            .replacingOccurrences(of: "busy_timeout_ms = 5000", with: "busy_timeout_ms = \(busyTimeoutMilliseconds)")
        try Data(text.utf8).write(to: config)
        return config.path
    }

    /// The example copy with a `[routing]` table and channels added (TOML text each), and the credential files
    /// `credentials` (name → content) in this directory, which is then `$CREDENTIALS_DIRECTORY`.
    public func exampleCopy(
        routing: String, channels: String, credentials: [String: String] = [:],
        busyTimeoutMilliseconds: Int = 5000
    ) throws -> (config: String, environment: [String: String]) {
        let config = try exampleCopy(busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        for (name, text) in credentials { _ = try write(name, text) }
        try Data(
            (try String(contentsOfFile: config, encoding: .utf8)
                .replacingOccurrences(of: "[database]", with: "[routing]\n\(routing)\n\n[database]") + "\n" + channels + "\n")
                .utf8
        ).write(to: URL(fileURLWithPath: config))
        return (config, ["CREDENTIALS_DIRECTORY": url.path])
    }

    public var databasePath: String { url.appendingPathComponent("state/guanhuai.sqlite").path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

public struct ToolResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

public func runTool(_ path: String, _ args: [String], input: Data? = nil) throws -> Data {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let io = try ChildFiles(input: input ?? Data())
    p.standardOutput = io.out
    p.standardInput = io.input
    defer { io.close() }
    try p.run()
    p.waitUntilExit()
    return io.read(io.outURL)
}

/// A child's standard input, output and error as files rather than pipes. Tests run side by side, and a server one
/// of them starts (pgbouncer -d daemonizes) inherits whatever pipe ends this process has open at that moment: a pipe
/// whose write end lives on in a daemon never reaches end-of-file, and a test hung on sqlite3 waiting for the end of
/// its input. A file has no such end: the child reads it to its end and writes into it, and the test reads it after
/// the child exits.
struct ChildFiles {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("guanhuai-io-\(UUID().uuidString)")
    var inURL: URL { base.appendingPathExtension("in") }
    var outURL: URL { base.appendingPathExtension("out") }
    var errURL: URL { base.appendingPathExtension("err") }
    let input: FileHandle
    let out: FileHandle
    let err: FileHandle

    init(input data: Data) throws {
        try data.write(to: base.appendingPathExtension("in"))
        for e in ["out", "err"] { _ = FileManager.default.createFile(atPath: base.appendingPathExtension(e).path, contents: nil) }
        input = try FileHandle(forReadingFrom: base.appendingPathExtension("in"))
        out = try FileHandle(forWritingTo: base.appendingPathExtension("out"))
        err = try FileHandle(forWritingTo: base.appendingPathExtension("err"))
    }

    /// What the child wrote (read after it exited).
    func read(_ url: URL) -> Data { (try? Data(contentsOf: url)) ?? Data() }

    func close() {
        try? input.close()
        try? out.close()
        try? err.close()
        for u in [inURL, outURL, errURL] { try? FileManager.default.removeItem(at: u) }
    }
}

/// The `guanhuai` executable built beside the test bundle.
public var cliPath: String {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let exe = dir.appendingPathComponent("guanhuai")
    return FileManager.default.fileExists(atPath: exe.path) ? exe.path : dir.deletingLastPathComponent().appendingPathComponent("guanhuai").path
}

/// Runs the `guanhuai` executable built beside the test bundle.
public func runCLI(_ args: [String], environment: [String: String]? = nil) throws -> ToolResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: cliPath)
    p.arguments = args
    // English unless a test asks for a locale: the tests read the English words.
    var env = environment ?? ProcessInfo.processInfo.environment
    if environment == nil {
        env["LC_ALL"] = nil
        env["LC_MESSAGES"] = nil
        env["LANG"] = "C.UTF-8"
    }
    p.environment = env
    let io = try ChildFiles(input: Data())
    defer { io.close() }
    p.standardInput = io.input
    p.standardOutput = io.out
    p.standardError = io.err
    try p.run()
    p.waitUntilExit()
    let o = io.read(io.outURL)
    let e = io.read(io.errURL)
    let result = ToolResult(
        status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
        stderr: String(decoding: e, as: UTF8.self))
    // Every command any test runs is checked: no Swift, NIO or library type name ever reaches a person.
    if let leak = typeNameLeak(result.stdout + result.stderr) {
        Issue.record("guanhuai \(args.joined(separator: " ")) printed a type name (\(leak)): \(result.stdout)\(result.stderr)")
    }
    return result
}

/// A Swift module-qualified or error type name in text meant for people, if there is one.
public func typeNameLeak(_ text: String) -> String? {
    let markers = [
        "Swift.", "NIOCore.", "NIOPosix.", "NIOSSL.", "NIOHTTP1.", "BoringSSLError", "IOError(", "Error(",
        "Failure(", "Mustache.", "GRDB.", "TOMLKit.", "Foundation.", "DecodingError", "Optional(",
    ]
    return markers.first { text.contains($0) }
}

/// A small seeded generator (Steele, Lea and Flood's SplitMix64): random test inputs that are the same on every run.
public struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Adds TOML (channels, routing, a table) at the end of a test's copy of the example configuration.
public func appendTOML(_ toml: String, to config: String) throws {
    try Data((try String(contentsOfFile: config, encoding: .utf8) + toml).utf8).write(to: URL(fileURLWithPath: config))
}
