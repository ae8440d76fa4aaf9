import Foundation
import GuanhuaiCalendar
import GuanhuaiCore
import GuanhuaiStore
import GuanhuaiTestSupport
import Logging
import Systemd
import Testing

@testable import GuanhuaiDaemon

/// After a change between send times, the scheduler plans only what the change touched, and what goes out is what a
/// daemon planning everything sends.
@Suite struct ChangeStepTests {
    @Test func theChangeIsReadFromTheAuditActions() {
        #expect(SchedulerStep.Change.of([]) == .closes)
        #expect(SchedulerStep.Change.of([(.done, nil), (.waiveBulk, nil), (.progress, nil)]) == .closes)
        #expect(
            SchedulerStep.Change.of([(.eventAdd, "M014"), (.done, nil), (.eventAdd, "M003")])
                == .members(["M014", "M003"]))
        #expect(SchedulerStep.Change.of([(.eventAdd, "M014"), (.importRoster, nil)]) == .everything)
        // An event whose member cannot be found (deleted since): plan everything.
        #expect(SchedulerStep.Change.of([(.eventAdd, nil)]) == .everything)
        // An action written by a later version (unknown here, so nil): plan everything.
        #expect(SchedulerStep.Change.of([(AuditAction(rawValue: "something-new"), nil)]) == .everything)
    }

    /// 2027-07-19 09:00 in Shanghai, after that day's send time: the example sends nothing again until 07-28 08:30.
    static let start = Example.noon("2027-07-19") - 3 * 3600
    static let end = start + 10 * 86400
    static let today = CivilDate(2027, 7, 19)!

    /// The example with its roster imported, a first step taken at `start`, and M014's illness (today) recorded ten
    /// minutes later: its visit is due 07-26, reminded three days before, 07-23 08:30, inside the quiet week.
    static func daemon(_ dir: borrowing Scratch) async throws -> Runtime {
        let runtime = try await OutageTests.runtime(dir)
        for what in ["orgs", "roster", "relations"] {
            let r = try runCLI(["import", what, "--config", await runtime.configPath])
            #expect(r.status == 0, "\(r.stderr)")
        }
        _ = try await runtime.schedule(now: start)
        _ = try await runtime.database.addEvent(
            member: "M014", kind: .illness, date: today, ends: nil, target: nil, note: "住院",
            today: today, knownMembers: [], knownPeople: [], actor: Actor(name: "tester", now: start + 600))
        return runtime
    }

    /// Steps at every send time up to `end`, and the digests queued.
    static func run(_ runtime: Runtime, from t0: Int64) async throws -> [String: [String]] {
        var t = t0
        while true {
            let (_, next) = try await runtime.schedule(now: t)
            guard let next, next <= end else { break }
            t = max(next, t + 1)
        }
        _ = try await runtime.schedule(now: end)
        return try OutageTests.digests(await runtime.sqlite)
    }

    @Test func anEventBetweenSendTimesPlansItsMemberAloneAndSendsWhatAFullPlanSends() async throws {
        // This daemon has a plan in hand: the event is a change for M014 alone.
        let dir = try Scratch()
        let patched = try await ChangeStepTests.daemon(dir)
        let (_, next) = try await patched.schedule(now: ChangeStepTests.start + 660)
        let step = await patched.lastStep
        let from = ChangeStepTests.today.adding(days: -(await patched.lookback))
        #expect(step == .patch(members: ["M014"], after: ChangeStepTests.start, planFrom: from))
        let got = try await ChangeStepTests.run(patched, from: ChangeStepTests.start + 720)

        // This one restarted after the event, so it plans everything.
        let ref = try Scratch()
        let before = try await ChangeStepTests.daemon(ref)
        let (config, env) = (await before.configPath, await before.environment)
        let full = try await builtDaemon(config: config, environment: env).runtime
        let (_, fullNext) = try await full.schedule(now: ChangeStepTests.start + 660)
        #expect(await full.lastStep == .catchUp(after: ChangeStepTests.start, planFrom: from))
        let expected = try await ChangeStepTests.run(full, from: ChangeStepTests.start + 720)

        #expect(expected.count > 0)
        // The next wake is the visit's reminder, 07-23 08:30, not the next send time the last plan knew (07-28): the
        // member's own plan moved it forward, as planning everything does.
        let at = Example.noon("2027-07-23") - 3 * 3600 - 1800
        #expect(next == at)
        #expect(fullNext == at)
        #expect(got.contains { key, items in key.contains(":\(at):") && items.contains { $0.hasPrefix("must-visit:") } })
        #expect(Set(got.keys) == Set(expected.keys))
        for (key, items) in expected { #expect(got[key] == items, "\(key)") }
    }
}
