import Foundation
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiStore
import GuanhuaiTestSupport
import Logging
import Synchronization
import Systemd
import Testing

@testable import GuanhuaiDaemon

/// The daemon in-process, built by `buildDaemon` as guanhuaid builds it but on one manual clock, delivering to
/// aiosmtpd: nothing goes out before the send time, and at the send time exactly the planned digests do, with no
/// real time waited.
@Suite struct ManualClockDaemonTests {
    @Test(.timeLimit(.minutes(2)))
    func atTheSendTimeAndNotBeforeTheDigestsGoOut() async throws {
        let dir = try Scratch()
        let rig = try MailRig(dir)
        let (config, env) = (rig.config, rig.environment)
        let start = EndToEndTests.sendTime - 150  // 08:27:30 on 2027-06-01, Beijing
        let clock = ManualDaemonClock(epoch: start)
        let notifier = Notifier(sink: { _ in }, watchdogInterval: nil)
        // The daemon as guanhuaid builds it, on the manual clock: the same services, wired by the same function.
        let daemon = try await buildDaemon(
            DaemonOptions(configPath: config, environment: env), clock: clock,
            notifier: notifier, logger: Logger(label: "t"))
        let database = try await daemon.runtime.sqlite
        let expected = expectedRecipients(after: start, through: EndToEndTests.sendTime).values.reduce(0, +)
        #expect(expected >= 8)
        let received = { rig.received }

        let services = Task { try? await daemon.group.run() }
        // The loops have gone round once and sleep: the scheduler for a minute, the dispatcher for five, the SMS
        // receipt poller (no SMS channel here) for an hour. (The waits are long because other tests share the two
        // cooperative threads; each ends as soon as its condition holds.)
        #expect(try await eventually(60) { clock.sleeping == 3 })
        clock.advance(by: .seconds(60))  // 08:28:30: the scheduler wakes, nothing is due
        #expect(try await eventually(60) { clock.sleeping == 3 })
        #expect(received() == 0)
        clock.advance(by: .seconds(60))  // 08:29:30
        #expect(try await eventually(60) { clock.sleeping == 3 })
        #expect(received() == 0, "nothing before the send time")
        clock.advance(by: .seconds(31))  // 08:30:01: the send time has come
        #expect(try await eventually(60) { received() == expected }, "\(received()) of \(expected)")
        #expect(try await eventually(60) { try database.outbox().allSatisfy { $0.state == .sent } })
        services.cancel()
        await services.value
        #expect(received() == expected)
    }
}
