import ArgumentParser
import Foundation
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiStore
import GuanhuaiSystem
import GuanhuaiWorkspace

#if canImport(Glibc)
    import Glibc
#endif

@main
struct Guanhuai: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guanhuai",
        abstract: L("关怀 — reminders of the care obligations of Party organisations.", "关怀 — 党组织关怀帮扶工作提醒。"),
        version: "guanhuai \(GuanhuaiVersion.string)",
        subcommands: [
            PlanCommand.self, AgendaCommand.self, ImportCommand.self, EventCommand.self, DoneCommand.self,
            WaiveCommand.self, StatusCommand.self, CheckCommand.self, SendTestCommand.self, CalendarCommand.self,
            LunarCommand.self, EnableChannelCommand.self, WebCommand.self, ReportCommand.self, DatabaseCommand.self, BackupCommand.self,
            RestoreCommand.self, FundCommand.self,
        ]
    )

    /// Usage and input errors exit 2 with a message a person can act on; other failures exit 1.
    static func main() async {
        // Nothing the tool writes is readable by anyone else: the data is sensitive personal information.
        umask(0o077)
        do {
            var command = try parseAsRoot()
            if var async = command as? any AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let error as InputErrors {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            Foundation.exit(2)
        } catch let error as InputError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            Foundation.exit(2)
        } catch let error as StoreError {
            FileHandle.standardError.write(Data(("guanhuai: \(error.description)\n").utf8))
            Foundation.exit(2)
        } catch let error as UsageError {
            FileHandle.standardError.write(Data(("guanhuai: \(error.message)\n").utf8))
            Foundation.exit(2)
        } catch {
            let code = exitCode(for: error)
            if code == .success || code.rawValue == 0 { exit(withError: error) }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}

/// A bad argument value, found after parsing.
struct UsageError: Error {
    var message: String
}

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The configuration file (default: $GUANHUAI_CONFIG, else /etc/guanhuai/config.toml).")
    var config: String?

    var path: String {
        Configuration.path(option: config, environment: ProcessInfo.processInfo.environment)
    }

    /// The real present, against which the files' dates are checked (a `--now` moves plans, not the calendar on the wall).
    static var realNow: Int64 { wallClockSeconds() }

    func load() throws -> Configuration {
        try Configuration.load(path: path, environment: ProcessInfo.processInfo.environment, now: Self.realNow)
    }

    /// The configuration and the store; `create` makes the database when it does not exist yet.
    /// `organizationOnly` for commands that read the roster or relations file themselves.
    func workspace(create: Bool, organizationOnly: Bool = false) async throws -> Workspace {
        try await workspace(create: create, organizationOnly: organizationOnly, at: Self.realNow)
    }

    /// The workspace and the present for a command that takes `--now T` (in the configured zone). The files' "not in
    /// the future" is judged against the later of T and the wall clock: a scenario dated in 2027 plans as it would
    /// then, and a plan of last July still reads the files as they are today.
    func workspace(create: Bool, now: String?) async throws -> (Workspace, now: Int64) {
        guard let now else { return (try await workspace(create: create), Self.realNow) }
        let zone = try Configuration.loadSettings(path: path, environment: ProcessInfo.processInfo.environment).zone
        let instant = try ArgumentDates.instant(now, zone: zone, option: "--now")
        return (try await workspace(create: create, organizationOnly: false, at: max(instant, Self.realNow)), instant)
    }

    private func workspace(create: Bool, organizationOnly: Bool, at now: Int64) async throws -> Workspace {
        do {
            return try await Workspace.open(
                configPath: path, environment: ProcessInfo.processInfo.environment, create: create,
                organizationOnly: organizationOnly, now: now)
        } catch {
            switch error {
            case .input(let e): throw e
            case .store(let e): throw e
            }
        }
    }
}

/// The time now, UTC seconds: the one place the command-line tool reads the wall clock (`--now` overrides it where a
/// command takes one).
func wallClockSeconds() -> Int64 { Int64(Date().timeIntervalSince1970.rounded(.down)) }

/// Who is running the tool, for the audit log, and the time now.
func currentActor() -> Actor {
    let env = ProcessInfo.processInfo.environment
    let name = env["SUDO_USER"] ?? env["USER"] ?? env["LOGNAME"] ?? "uid \(getuid())"
    return Actor(name: name, now: wallClockSeconds())
}
