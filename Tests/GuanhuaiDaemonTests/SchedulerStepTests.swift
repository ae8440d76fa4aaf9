import GuanhuaiCalendar
import GuanhuaiCore
import Testing

@testable import GuanhuaiDaemon

/// What a scheduling step does, from a table.
@Suite struct SchedulerStepTests {
    static let day = CivilDate(2027, 7, 12)!
    static let now: Int64 = 1_815_354_000  // 2027-07-12 09:00 in Shanghai
    static let last = SchedulerStep.LastPlan(generation: 7, day: day, next: now + 3600)

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var now: Int64 = SchedulerStepTests.now
        var processed: Int64?
        var processedDay: CivilDate?
        var generation: Int64 = 7
        var last: SchedulerStep.LastPlan? = SchedulerStepTests.last
        var change: SchedulerStep.Change = .everything
        var expected: SchedulerStep
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "nothing changed, no send time come: idle", processed: now - 60, processedDay: day,
            expected: .idle(next: now + 3600)),
        Case(
            name: "the database changed: plan and catch up", processed: now - 60, processedDay: day, generation: 8,
            expected: .catchUp(after: now - 60, planFrom: day.adding(days: -16))),
        Case(
            name: "the next send time has come", now: now + 3600, processed: now - 60, processedDay: day,
            expected: .catchUp(after: now - 60, planFrom: day.adding(days: -16))),
        Case(
            name: "a new day", now: now + 86400, processed: now - 60, processedDay: day, last: last,
            expected: .catchUp(after: now - 60, planFrom: day.adding(days: -16))),
        Case(
            name: "never planned since start", processed: now - 60, processedDay: day, last: nil,
            expected: .catchUp(after: now - 60, planFrom: day.adding(days: -16))),
        Case(
            name: "after a 100-day outage the plan reaches back from the mark", processed: now - 100 * 86400,
            processedDay: day.adding(days: -100), last: nil,
            expected: .catchUp(after: now - 100 * 86400, planFrom: day.adding(days: -116))),
        Case(
            name: "a new database", processed: nil, processedDay: nil, last: nil,
            expected: .firstRun(planFrom: day.adding(days: -16))),
        Case(
            name: "the clock went back two days", now: now - 2 * 86400, processed: now, processedDay: day, last: nil,
            expected: .clockBehind(mark: now, planFrom: day.adding(days: -18))),
        Case(
            name: "the clock went back, even with a plan in hand", now: now - 2 * 86400, processed: now, processedDay: day,
            expected: .clockBehind(mark: now, planFrom: day.adding(days: -18))),
        Case(name: "exactly at the mark", processed: now, processedDay: day, last: nil, expected: .replan(planFrom: day.adding(days: -16))),
        Case(
            name: "only closed since the last plan: nothing to plan", processed: now - 60, processedDay: day,
            generation: 8, change: .closes, expected: .patch(members: [], after: now - 60, planFrom: day.adding(days: -16))),
        Case(
            name: "an event recorded: its member alone", processed: now - 60, processedDay: day, generation: 8,
            change: .members(["M014"]), expected: .patch(members: ["M014"], after: now - 60, planFrom: day.adding(days: -16))),
        Case(
            name: "an event recorded, and a send time has come: everything", now: now + 3600, processed: now - 60,
            processedDay: day, generation: 8, change: .members(["M014"]),
            expected: .catchUp(after: now - 60, planFrom: day.adding(days: -16))),
        Case(
            name: "an event recorded on a new day: everything", now: now + 86400, processed: now - 60, processedDay: day,
            generation: 8, change: .members(["M014"]), expected: .catchUp(after: now - 60, planFrom: day.adding(days: -16))),
        Case(
            name: "an event recorded, no plan in hand: everything", processed: now - 60, processedDay: day, generation: 8,
            last: nil, change: .members(["M014"]), expected: .catchUp(after: now - 60, planFrom: day.adding(days: -16))),
    ]

    @Test(arguments: cases)
    func decides(_ c: Case) {
        let today = Planner.today(at: c.now, zone: ZoneRules.named("Asia/Shanghai")!)
        #expect(
            SchedulerStep.decide(
                now: c.now, today: today, processed: c.processed, processedDay: c.processedDay,
                generation: c.generation, last: c.last, lookback: 16, change: c.change) == c.expected)
    }
}
