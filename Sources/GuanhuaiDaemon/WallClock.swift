import Foundation

/// The present, as UTC seconds. Injected so that tests can move time; the daemon uses the system clock.
public protocol WallClock: Sendable {
    func now() -> Int64
}

/// The daemon's one clock: the wall time (UTC seconds) that decides what is due, and the sleeps of its loops, on the
/// same time. `buildDaemon` takes one; guanhuaid's is `SystemDaemonClock`, and a test's can be moved by hand.
public protocol DaemonClock: Clock, Sendable where Duration == Swift.Duration {
    var wall: any WallClock { get }
}

/// The system's time: the wall from the system clock (or the test clock file), the sleeps on SwiftNIO's event loop.
public struct SystemDaemonClock: DaemonClock {
    public let wall: any WallClock
    let sleeper = EventLoopClock()

    public init(wall: any WallClock = SystemWallClock()) { self.wall = wall }

    public var now: EventLoopClock.Instant { sleeper.now }
    public var minimumResolution: Duration { sleeper.minimumResolution }
    public func sleep(until deadline: EventLoopClock.Instant, tolerance: Duration? = nil) async throws {
        try await sleeper.sleep(until: deadline, tolerance: tolerance)
    }
}

public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Int64 { Int64(Date().timeIntervalSince1970.rounded(.down)) }
}

/// A clock for tests of the whole binary (docs/operations.md, "Test switch"): `$GUANHUAI_TEST_CLOCK_FILE` holds an epoch in
/// seconds that was "now" when the file was last written; time then runs on from there. Writing the file again
/// jumps the clock, forward or back. (libfaketime is no help: preloaded, it empties a Swift program's arguments.)
public struct FileWallClock: WallClock {
    let path: String

    public init(path: String) { self.path = path }

    public func now() -> Int64 {
        let real = SystemWallClock().now()
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let base = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines)),
            let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate]) as? Date
        else { return real }
        return base + (real - Int64(modified.timeIntervalSince1970.rounded(.down)))
    }
}

/// Whether `$GUANHUAI_TEST_CLOCK_FILE` may move the daemon's clock. It is for end-to-end tests of the binary; under
/// systemd (`$INVOCATION_ID` set) it is refused unless `$GUANHUAI_TEST=1` says this is a test machine, so a stray
/// `Environment=` line cannot shift a production daemon's reminders.
public enum TestClockSwitch: Equatable {
    case off
    case on(path: String)
    case refused(String)

    public struct Refused: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
        public init(message: String) { self.message = message }
    }

    public static func decide(_ environment: [String: String]) -> TestClockSwitch {
        guard let path = environment["GUANHUAI_TEST_CLOCK_FILE"], !path.isEmpty else { return .off }
        if environment["INVOCATION_ID"] != nil && environment["GUANHUAI_TEST"] != "1" {
            return .refused(
                "GUANHUAI_TEST_CLOCK_FILE is set, and this is a systemd service: the test clock would move every reminder. Remove it from the unit (systemctl edit guanhuaid), or, on a test machine only, set GUANHUAI_TEST=1 as well"
            )
        }
        return .on(path: path)
    }
}
