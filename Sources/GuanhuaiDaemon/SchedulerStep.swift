import GuanhuaiCore

/// What one scheduling step does: a pure decision from the present, the processed mark and the last plan, tested
/// from a table (`SchedulerStepTests`). `Runtime.schedule` carries it out.
enum SchedulerStep: Equatable {
    /// Nothing changed and no send time has come: the last plan's next send time stands, and nothing is planned.
    case idle(next: Int64?)
    /// First run on this database: now becomes the processed mark; reminders from before it are history.
    case firstRun(planFrom: CivilDate)
    /// Every send time in (`after`, now] becomes outbox rows. The plan reaches back from the processed mark, not from
    /// today, so an outage of any length loses nothing.
    case catchUp(after: Int64, planFrom: CivilDate)
    /// The clock is behind the mark (it went back): send times up to the mark stay processed, nothing is sent twice,
    /// and waiting retries are brought within `retry_max_seconds` of the new present.
    case clockBehind(mark: Int64, planFrom: CivilDate)
    /// The present is exactly the mark: nothing to send; plan for the next send time.
    case replan(planFrom: CivilDate)

    /// What the last plan said, kept instead of the plan itself: an idle daemon holds no roster in memory.
    struct LastPlan: Equatable, Sendable {
        /// Changes whenever the database or the loaded configuration does.
        var generation: Int64
        var day: CivilDate
        var next: Int64?
    }

    /// - lookback: days a reminder can lie behind its occurrence's due date (overdue, escalation).
    static func decide(
        now: Int64, today: CivilDate, processed: Int64?, processedDay: CivilDate?, generation: Int64, last: LastPlan?,
        lookback: Int
    ) -> SchedulerStep {
        if let last, last.generation == generation, last.day == today, let processed, now >= processed,
            last.next.map({ now < $0 }) ?? true
        {
            return .idle(next: last.next)
        }
        let since = processedDay.map { min(today, $0) } ?? today
        let from = since.adding(days: -lookback)
        guard let processed else { return .firstRun(planFrom: from) }
        if now < processed { return .clockBehind(mark: processed, planFrom: from) }
        if now == processed { return .replan(planFrom: from) }
        return .catchUp(after: processed, planFrom: from)
    }
}
