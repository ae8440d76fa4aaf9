import GuanhuaiCalendar
import GuanhuaiCore

/// What one scheduling step does: a pure decision from the present, the processed mark and the last plan, tested
/// from a table (`SchedulerStepTests`). `Scheduling.schedule` carries it out.
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
    /// Only what a change touched, on the day of the last plan with no send time come: the last next send time
    /// stands unless the members' own plan (events recorded for them) has a reminder after the mark `after` sooner.
    /// No member: the change only closed or annotated something, and no send time was added.
    case patch(members: Set<PersonID>, after: Int64, planFrom: CivilDate)

    /// What a change since the last plan can do to the send times.
    enum Change: Equatable {
        /// Close or annotate (done, waived, progress, a link revoked): no send time is added. One that was removed
        /// at worst wakes the scheduler early, to find nothing and plan again.
        case closes
        /// Add occurrences for these members only (events recorded), besides closing.
        case members(Set<PersonID>)
        /// Anything else (an import, a new configuration): plan everything.
        case everything

        /// The change made of these audit actions (with the member of each event recorded).
        static func of(_ actions: [(action: AuditAction?, member: String?)]) -> Change {
            var members = Set<PersonID>()
            for a in actions {
                guard let action = a.action else { return .everything }
                if action.onlyCloses { continue }
                guard action == .eventAdd, let m = a.member else { return .everything }
                members.insert(m)
            }
            return members.isEmpty ? .closes : .members(members)
        }
    }

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
        lookback: Int, change: Change = .everything
    ) -> SchedulerStep {
        let since = processedDay.map { min(today, $0) } ?? today
        let from = since.adding(days: -lookback)
        if let last, last.day == today, let processed, now >= processed, last.next.map({ now < $0 }) ?? true {
            if last.generation == generation { return .idle(next: last.next) }
            switch change {
            case .closes: return .patch(members: [], after: processed, planFrom: from)
            case .members(let m): return .patch(members: m, after: processed, planFrom: from)
            case .everything: break
            }
        }
        guard let processed else { return .firstRun(planFrom: from) }
        if now < processed { return .clockBehind(mark: processed, planFrom: from) }
        if now == processed { return .replan(planFrom: from) }
        return .catchUp(after: processed, planFrom: from)
    }
}
