import Foundation
import GuanhuaiTestSupport
import Logging
import Synchronization
import Systemd
import Testing

@testable import GuanhuaiDaemon

/// The daemon under a fake service manager (../shared/systemd.md, recipe 1).
@Suite(.serialized) struct NotifyTests {
    @Test func readyWatchdogReloadAndStop() async throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        let notify = try NotifyLog(in: dir.url)
        let daemon = try DaemonProcess(
            config: config,
            environment: [
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
        try Data(
            good.replacingOccurrences(
                of: "kind = \"fixed-annual\", window_start = \"06-01\"",
                with: "kind = \"sometimes\", window_start = \"06-01\""
            ).utf8
        ).write(to: rules)
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

    /// Issue 28: a configuration saved by Notepad (CRLF, a BOM) killed the daemon on reload, and it then crash-looped
    /// at start. Now it is the same text: the daemon reloads onto it and runs the new configuration.
    @Test func aReloadOntoAWindowsSavedConfigurationRunsIt() async throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        let notify = try NotifyLog(in: dir.url)
        let daemon = try DaemonProcess(config: config, environment: ["NOTIFY_SOCKET": notify.socket], in: dir.url)
        #expect(try await eventually { notify.messages.contains { $0.hasPrefix("READY=1") } }, "\(daemon.stderr)")
        for f in ["config.toml", "rules.toml", "organization.toml", "holidays.toml", "roster.csv", "relations.csv", "events.csv"] {
            let url = dir.url.appendingPathComponent(f)
            var text = try String(contentsOf: url, encoding: .utf8)
            // The operator also moves the send time: the reloaded daemon must show it.
            if f == "config.toml" { text = text.replacingOccurrences(of: "send_time = \"08:30\"", with: "send_time = \"09:17\"") }
            let crlf = text.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")
            try Data([0xEF, 0xBB, 0xBF] + Array(crlf.utf8)).write(to: url)
        }
        let before = notify.messages.count
        daemon.signal(SIGHUP)
        #expect(try await eventually { notify.messages.dropFirst(before).contains { $0.hasPrefix("READY=1") } }, "\(daemon.stderr)")
        #expect(
            try await eventually { notify.messages.dropFirst(before).contains { $0.contains("STATUS=") && $0.contains("09:17") } },
            "\(notify.messages.dropFirst(before))")
        #expect(!daemon.stderr.contains("still running the previous one"), "\(daemon.stderr)")
        #expect(daemon.process.isRunning)
        // And a fresh start on those files is ready, not a crash loop.
        daemon.signal(SIGTERM)
        #expect(await daemon.waitExit(timeout: 10) == 0)
        let again = try DaemonProcess(config: config, environment: ["NOTIFY_SOCKET": notify.socket], in: dir.url)
        let n = notify.messages.count
        #expect(try await eventually { notify.messages.dropFirst(n).contains { $0.hasPrefix("READY=1") } }, "\(again.stderr)")
        again.signal(SIGTERM)
        #expect(await again.waitExit(timeout: 10) == 0)
    }

    /// READY=1 only once the pages are listening: a client connecting the moment systemd says the unit is active is
    /// answered at the first try (issue 29: READY used to come before the web listener was bound).
    @Test func readyComesAfterThePagesAreListening() async throws {
        let dir = try Scratch()
        let port = freePort()
        let config = try dir.exampleCopy()
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try Data((text + "\n[web]\nlisten = \"127.0.0.1:\(port)\"\npublic_url = \"http://127.0.0.1:\(port)\"\nweb_key_credential = \"web-key\"\n").utf8)
            .write(to: URL(fileURLWithPath: config))
        _ = try dir.write("web-key", webKey + "\n")
        let notify = try NotifyLog(in: dir.url)
        let daemon = try DaemonProcess(
            config: config,
            environment: [
                "NOTIFY_SOCKET": notify.socket, "CREDENTIALS_DIRECTORY": dir.url.path,
            ], in: dir.url)
        // Polled tightly: the first moment READY=1 is there, one request, no retry.
        let deadline = Date().addingTimeInterval(20)
        while !notify.messages.contains(where: { $0.hasPrefix("READY=1") }), Date() < deadline {
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(notify.messages.contains { $0.hasPrefix("READY=1") }, "\(daemon.stderr)")
        let first = try await http("GET", "http://127.0.0.1:\(port)/")
        #expect(first.status == 200)
        daemon.signal(SIGTERM)
        #expect(await daemon.waitExit(timeout: 10) == 0)
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

    /// The watchdog is pinged from the scheduler's own loop: when the loop stalls (here its clock's third sleep never
    /// ends, a fault from test support rather than a switch in the binary), the pings stop and systemd restarts it.
    @Test func aStalledSchedulerStopsPingingTheWatchdog() async throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        let loaded = try await Loaded.load(configPath: config, environment: [:])
        let pings = Mutex(0)
        let notifier = Notifier(sink: { if $0 == "WATCHDOG=1" { pings.withLock { $0 += 1 } } }, watchdogInterval: .milliseconds(400))
        let runtime = Runtime(loaded: loaded, configPath: config, environment: [:], notifier: notifier, logger: Logger(label: "t"))
        let sleeper = StallingClock(allowed: 2)
        let scheduler = SchedulerService(
            runtime: runtime, clock: ManualClock(1_800_000_000), sleeper: sleeper, bell: Doorbell(), dispatcherBell: Doorbell(),
            notifier: notifier, logger: Logger(label: "t"))
        let task = Task { try await scheduler.run() }
        #expect(try await eventually(60) { sleeper.stalled })
        #expect(pings.withLock { $0 } == 3, "one ping a round: two rounds slept, the third stalled")
        task.cancel()
        _ = await task.result
    }

    /// The test clock moves every reminder: under systemd it is refused unless GUANHUAI_TEST=1 says this is a test.
    @Test func theTestClockIsRefusedUnderSystemdUnlessThisIsATest() async throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        let clock = dir.url.appendingPathComponent("clock").path
        try setClock(clock, 1_800_000_000)
        let notify = try NotifyLog(in: dir.url)
        let refused = try DaemonProcess(
            config: config,
            environment: [
                "NOTIFY_SOCKET": notify.socket, "INVOCATION_ID": "0123456789abcdef0123456789abcdef", "GUANHUAI_TEST_CLOCK_FILE": clock,
            ], in: dir.url, name: "refused")
        #expect(await refused.waitExit(timeout: 10) == 78)
        #expect(refused.stderr.contains("GUANHUAI_TEST_CLOCK_FILE is set, and this is a systemd service"))
        #expect(!notify.messages.contains { $0.hasPrefix("READY=1") })
        let allowed = try DaemonProcess(
            config: config,
            environment: [
                "NOTIFY_SOCKET": notify.socket, "INVOCATION_ID": "0123456789abcdef0123456789abcdef", "GUANHUAI_TEST_CLOCK_FILE": clock,
                "GUANHUAI_TEST": "1",
            ], in: dir.url, name: "allowed")
        #expect(try await eventually { notify.messages.contains { $0.hasPrefix("READY=1") } }, "\(allowed.stderr)")
        #expect(allowed.stderr.contains("the test clock is in force"))
        allowed.signal(SIGTERM)
        #expect(await allowed.waitExit(timeout: 20) == 0)
    }
}
