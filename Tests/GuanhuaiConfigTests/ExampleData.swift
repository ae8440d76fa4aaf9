import Foundation
import GuanhuaiConfig
import GuanhuaiCore

/// The example configuration shipped in Config/, loaded once.
enum Example {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let configPath = root.appendingPathComponent("Config/config.toml").path
    static let config: Configuration = {
        do { return try Configuration.load(path: configPath) } catch { fatalError("example config: \(error)") }
    }()

    /// Noon in Asia/Shanghai on a date, as UTC seconds.
    static func noon(_ s: String) -> Int64 { Int64(CivilDate(parsing: s)!.dayNumber) * 86400 + 4 * 3600 }

    static func plan(
        from: String, to: String, now: String, rules: Set<String> = [], completions: [Completion] = [],
        events: [Event] = []
    ) -> [Occurrence] {
        Planner(config.planInput(completions: completions, extraEvents: events)).plan(
            PlanQuery(
                from: CivilDate(parsing: from)!, to: CivilDate(parsing: to)!, now: noon(now), rules: rules))
    }
}

/// A scratch directory removed when the test ends.
struct Scratch: ~Copyable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("guanhuai-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let p = url.appendingPathComponent(name)
        try Data(text.utf8).write(to: p)
        return p.path
    }

    /// A copy of the example configuration whose files can be changed one at a time.
    func exampleCopy() throws -> String {
        for f in ["config.toml", "rules.toml", "organization.toml", "roster.csv", "relations.csv", "events.csv"] {
            try FileManager.default.copyItem(
                at: Example.root.appendingPathComponent("Config/\(f)"), to: url.appendingPathComponent(f))
        }
        return url.appendingPathComponent("config.toml").path
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}
