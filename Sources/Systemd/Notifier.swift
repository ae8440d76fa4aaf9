import CSystemd
public import GuanhuaiSystem

/// The service-manager notification protocol (sd_notify(3)): READY, RELOADING, STOPPING, STATUS, WATCHDOG, ERRNO.
/// A no-op when `$NOTIFY_SOCKET` is unset, so the daemon runs the same by hand.
public struct Notifier: Sendable {
    private let sink: (@Sendable (String) -> Void)?
    private let watchdogOverride: Duration?
    /// Told when the service manager cannot be reached (a full or closed socket): the daemon logs it.
    private let report: @Sendable (SystemError) -> Void

    public init(report: @escaping @Sendable (SystemError) -> Void = { _ in }) {
        sink = nil
        watchdogOverride = nil
        self.report = report
    }

    /// For in-process tests: every message goes to `sink` instead of the service manager, and the watchdog period
    /// is the one given.
    public init(sink: @escaping @Sendable (String) -> Void, watchdogInterval: Duration?) {
        self.sink = sink
        watchdogOverride = watchdogInterval
        report = { _ in }
    }

    /// Sends one notification. False when there is no service manager to tell (`$NOTIFY_SOCKET` unset); a failure to
    /// reach one that is there goes to `report`.
    @discardableResult
    public func send(_ state: String) -> Bool {
        if let sink {
            sink(state)
            return true
        }
        do {
            return try SystemError.check("sd_notify", negativeErrno: sd_notify(0, state)) > 0
        } catch {
            report(error)
            return false
        }
    }

    public func ready(status: String? = nil) { send("READY=1" + (status.map { "\nSTATUS=\(oneLine($0))" } ?? "")) }

    /// RELOADING=1 with the CLOCK_MONOTONIC timestamp that newer systemd requires; READY=1 follows when done.
    public func reloading() { send("RELOADING=1\nMONOTONIC_USEC=\(guanhuai_monotonic_usec())") }

    public func stopping() { send("STOPPING=1") }

    public func status(_ text: String) { send("STATUS=\(oneLine(text))") }

    public func watchdog() { send("WATCHDOG=1") }

    /// Before a failing exit: why, and an errno for `systemctl status`.
    public func failing(errno: Int32, status: String) { send("STATUS=\(oneLine(status))\nERRNO=\(errno)") }

    /// The watchdog period if the manager set one for this process (WatchdogSec=), else nil.
    public var watchdogInterval: Duration? {
        if sink != nil { return watchdogOverride }
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec))
    }

    func oneLine(_ s: String) -> String {
        String(s.map { $0.isNewline ? " " : $0 }.prefix(400))
    }
}
