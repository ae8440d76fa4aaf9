import Foundation
import GuanhuaiTestSupport
import Testing

/// The daemon under a fake service manager (../shared/systemd.md, recipe 1).
@Suite(.serialized) struct NotifyTests {
    @Test func readyWatchdogReloadAndStop() async throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        let notify = try NotifyLog(in: dir.url)
        let daemon = try DaemonProcess(config: config, environment: [
            "NOTIFY_SOCKET": notify.socket, "WATCHDOG_USEC": "400000",
        ], in: dir.url)
        #expect(try await eventually { notify.messages.contains { $0.hasPrefix("READY=1") } }, "\(daemon.stderr)")
        let ready = notify.messages.first { $0.hasPrefix("READY=1") }!
        #expect(ready.contains("STATUS=") && ready.contains("queued"))
        // Watchdog pings come from the scheduler's loop, every half period.
        #expect(try await eventually(5) { notify.messages.filter { $0 == "WATCHDOG=1" }.count >= 4 })
        #expect(notify.senders() == [daemon.pid], "every message from the daemon itself")

        // SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1.
        let before = notify.messages.count
        daemon.signal(SIGHUP)
        #expect(try await eventually { notify.messages.dropFirst(before).contains { $0.hasPrefix("READY=1") } })
        let reload = notify.messages.dropFirst(before).first { $0.hasPrefix("RELOADING=1") }
        #expect(reload?.contains("MONOTONIC_USEC=") == true, "\(notify.messages.dropFirst(before))")
        #expect(try await eventually { daemon.stderr.contains("configuration reloaded") })

        // A broken configuration: the old one keeps running, and the log says why (file, line, key).
        let rules = dir.url.appendingPathComponent("rules.toml")
        let good = try String(contentsOf: rules, encoding: .utf8)
        try Data(good.replacingOccurrences(of: "kind = \"fixed-annual\", window_start = \"06-01\"",
            with: "kind = \"sometimes\", window_start = \"06-01\"").utf8).write(to: rules)
        let before2 = notify.messages.count
        daemon.signal(SIGHUP)
        #expect(try await eventually { notify.messages.dropFirst(before2).contains { $0.hasPrefix("READY=1") } })
        #expect(try await eventually { daemon.stderr.contains("still running the previous one") })
        #expect(daemon.stderr.contains("unknown trigger kind \"sometimes\""))
        #expect(daemon.process.isRunning)
        let pings = notify.messages.filter { $0 == "WATCHDOG=1" }.count
        #expect(try await eventually(3) { notify.messages.filter { $0 == "WATCHDOG=1" }.count > pings + 2 }, "still alive")

        // SIGTERM: STOPPING=1 and exit 0.
        daemon.signal(SIGTERM)
        let status = await daemon.waitExit(timeout: 10)
        #expect(status == 0, "\(daemon.stderr)")
        #expect(notify.messages.contains("STOPPING=1"))
    }

    @Test func aBadConfigurationAtStartSaysWhyAndNeverReady() async throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        let roster = dir.url.appendingPathComponent("roster.csv")
        let text = try String(contentsOf: roster, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "1978-03-01", with: "1978-02-30").utf8).write(to: roster)
        let notify = try NotifyLog(in: dir.url)
        let daemon = try DaemonProcess(config: config, environment: ["NOTIFY_SOCKET": notify.socket], in: dir.url)
        let status = await daemon.waitExit(timeout: 10)
        #expect(status != nil && status != 0)
        #expect(try await eventually(3) { notify.messages.contains { $0.contains("ERRNO=22") } })
        let failing = notify.messages.first { $0.contains("ERRNO=") } ?? ""
        #expect(failing.contains("STATUS=cannot start") && failing.contains("roster.csv row 6"), "\(failing)")
        #expect(!notify.messages.contains { $0.hasPrefix("READY=1") })
        #expect(daemon.stderr.contains("<2>cannot start") && daemon.stderr.contains("1978-02-30"))
    }

    @Test func aStalledSchedulerStopsPingingTheWatchdog() async throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        let notify = try NotifyLog(in: dir.url)
        let daemon = try DaemonProcess(config: config, environment: [
            "NOTIFY_SOCKET": notify.socket, "WATCHDOG_USEC": "400000", "GUANHUAI_TEST_FAULT": "stall-scheduler-after=1",
        ], in: dir.url)
        #expect(try await eventually { notify.messages.filter { $0 == "WATCHDOG=1" }.count >= 2 })
        #expect(try await eventually { daemon.stderr.contains("test fault: the scheduler stalls now") })
        let pings = notify.messages.filter { $0 == "WATCHDOG=1" }.count
        try await Task.sleep(for: .seconds(1.5))
        #expect(notify.messages.filter { $0 == "WATCHDOG=1" }.count == pings, "a stalled scheduler must not ping")
        #expect(daemon.process.isRunning)
    }
}
