import Foundation

/// The present, as UTC seconds. Injected so that tests can move time; the daemon uses the system clock.
public protocol WallClock: Sendable {
    func now() -> Int64
}

public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Int64 { Int64(Date().timeIntervalSince1970.rounded(.down)) }
}

/// A clock for tests of the whole binary (README, "Test switches"): `$GUANHUAI_TEST_CLOCK_FILE` holds an epoch in
/// seconds that was "now" when the file was last written; time then runs on from there. Writing the file again
/// jumps the clock, forward or back. (libfaketime is no help: preloaded, it empties a Swift program's arguments.)
public struct FileWallClock: WallClock {
    let path: String

    public init(path: String) { self.path = path }

    public func now() -> Int64 {
        let real = Int64(Date().timeIntervalSince1970.rounded(.down))
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let base = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines)),
            let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate]) as? Date
        else { return real }
        return base + (real - Int64(modified.timeIntervalSince1970.rounded(.down)))
    }
}
