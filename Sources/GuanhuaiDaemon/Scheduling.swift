import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiStore
import GuanhuaiWorkspace
import Logging
import Systemd

/// One scheduling step's work, on a snapshot of the daemon's state taken when the step began: the configuration
/// (a reload during the step is used from the next one on), the last plan and what was said already. It runs off
/// the `Runtime` actor — planning 100,000 members holds up neither the pages nor STATUS= — and hands back what it
/// changed, which the actor keeps (`Runtime.schedule`).
struct Scheduling: Sendable {
    let loaded: Loaded
    let loadGeneration: Int
    var lastPlan: SchedulerStep.LastPlan?
    /// The last step decided (what the tests check).
    var lastStep: SchedulerStep?
    /// The processed mark the clock was last seen behind: said once per jump back, not at every step.
    var clockBehind: Int64?
    var warnedNoJournal: Bool
    let logger: Logger
    let metrics: DaemonMetrics

    /// The outbox and its processed mark, through the store protocol (SQLite today).
    var store: any OutboxStore { loaded.database }
    var config: Configuration { loaded.config }

    /// How many days ahead a step plans.
    static let horizonDays = 45

    /// How far back a reminder can lie behind its occurrence's due date (overdue, escalation), and ahead.
    var lookback: Int {
        let days = config.rules.flatMap { $0.reminders.overdueDays + $0.reminders.escalateDays }.max() ?? 14
        return days + 2
    }

    /// One scheduling step: every send time in (processed, now] becomes outbox rows, committed together with the
    /// new processed mark. Returns how many rows were added and when the next send time is. Plans only when
    /// something changed (the database, the day, the configuration) or a send time has come: an idle wake is cheap.
    mutating func schedule(now: Int64) async throws -> (added: Int, next: Int64?) {
        let db = store
        var generation = try await db.changeGeneration() * 1000 + Int64(loadGeneration)
        let today = Planner.today(at: now, zone: config.zone)
        // 公示 periods that ended move on to 发放 first, so this step plans the payment they open. A period ends
        // with a day, so an idle wake (same day, nothing changed since the last plan) does not look.
        if lastPlan.map({ $0.day != today || $0.generation != generation }) ?? true {
            var moved: [Int64] = []
            do { moved = try await loaded.workspace.fundNoticesEnded(today: today, now: now) } catch {
                logger.warning(
                    "the ended 公示 periods could not be moved on to payment; trying again at the next step: \(error.message(chinese: false))")
            }
            if !moved.isEmpty {
                logger.notice("公示期满，无异议，转入发放: \(moved.map { "#\($0)" }.joined(separator: ", "))")
                generation = try await db.changeGeneration() * 1000 + Int64(loadGeneration)
            }
        }
        let processed = try await db.processedThrough()
        // What changed since the last plan, when only the database did (the configuration is the same).
        var change = SchedulerStep.Change.everything
        if let last = lastPlan, last.generation != generation, last.generation % 1000 == generation % 1000 {
            change = .of(try await db.changes(since: last.generation / 1000))
        }
        let step = SchedulerStep.decide(
            now: now, today: today, processed: processed,
            processedDay: processed.map { Planner.today(at: $0, zone: config.zone) }, generation: generation,
            last: lastPlan, lookback: lookback, change: change)
        lastStep = step
        /// What has a reminder in (after, now], in plan order, and the next send time after now: from the plan as it
        /// is handed out, keeping only those (a catch-up after a change held the whole plan with every reminder, 329
        /// MB at 100,000 members).
        func plan(from: CivilDate, after: Int64) async throws -> (PlanInput, [Occurrence], Int64?) {
            let started = ContinuousClock.now
            let input = try await loaded.workspace.planInput()
            var due: [Occurrence] = []
            var next = firstSendTime(after: now)
            Planner(input).forEach(PlanQuery(from: from, to: today.adding(days: Scheduling.horizonDays), now: now)) { o in
                next.see(o)
                if o.status.isOpen, o.reminders.contains(where: { $0.at > after && $0.at <= now }) { due.append(o) }
            }
            metrics.planned(ContinuousClock.now - started)
            return (input, due, next.best)
        }
        /// The next send time after `t`, from a plan made and dropped one occurrence at a time: a replan holds no
        /// reminders and sorts nothing (it was 404 MB at 100,000 members when it kept the whole plan).
        func nextSendTime(from: CivilDate, after t: Int64) async throws -> Int64? {
            let started = ContinuousClock.now
            let input = try await loaded.workspace.planInput()
            var query = PlanQuery(from: from, to: today.adding(days: Scheduling.horizonDays), now: now)
            query.sorted = false
            var next = firstSendTime(after: t)
            Planner(input).forEach(query) { next.see($0) }
            metrics.planned(ContinuousClock.now - started)
            return next.best
        }
        var added = 0
        let next: Int64?
        switch step {
        case .idle(let n):
            return (0, n)
        case .firstRun(let from):
            next = try await nextSendTime(from: from, after: now)
            // nil: another instance on the same database started first; its mark stands.
            try await db.enqueue([], after: nil, through: now, now: now, noticed: [])
            logger.notice("first run: reminders from now on", metadata: ["MESSAGE_ID": "\(MessageID.started)"])
        case .replan(let from):
            next = try await nextSendTime(from: from, after: now)
        case .patch(let members, let after, let from):
            if members.isEmpty {
                next = lastPlan?.next
            } else if let input = try await loaded.workspace.planInput(forMembers: members) {
                // The members' own occurrences (the reduced input plans units' too, and a quota short of everyone).
                let started = ContinuousClock.now
                var query = PlanQuery(from: from, to: today.adding(days: Scheduling.horizonDays), now: now)
                query.sorted = false
                var first = FirstSendTime(after: after, best: lastPlan?.next)
                Planner(input).forEach(query) { o in
                    if let s = o.subject, members.contains(s) { first.see(o) }
                }
                metrics.planned(ContinuousClock.now - started)
                // A reminder of theirs already due (after the mark, before now) makes it now: the next wake catches
                // up with everything at once.
                next = first.best
            } else {
                next = try await nextSendTime(from: from, after: after)
            }
        case .clockBehind(let mark, let from):
            let moved = try await db.clampPendingAttempts(notAfter: now + Int64(config.delivery.retryMaxSeconds))
            if clockBehind != mark {
                clockBehind = mark
                logger.notice(
                    "the clock went back \(mark - now) s: send times up to \(config.zone.minute(atUTC: mark)) stay processed, so nothing is sent twice; \(moved) waiting messages are tried within \(config.delivery.retryMaxSeconds) s",
                    metadata: ["MESSAGE_ID": "\(MessageID.clockWentBack)"])
            }
            next = try await nextSendTime(from: from, after: mark)
        case .catchUp(let after, let from):
            let (input, occ, nextAfterNow) = try await plan(from: from, after: after)
            var messages: [NewOutboxMessage] = []
            // Names, notes and contacts are looked up once per step, not once per digest.
            var context = RenderContext(input: input)
            context.zone = config.zone
            context.links = try await loaded.linkMaker()
            let contacts = DigestRouter.contacts(input)
            let journal = journalAvailable()
            let router = loaded.router
            let digests = Digest.collect(occ, after: after, through: now)
            // Those sent an escalation about something since done learn it in their next digest.
            let closed = try await db.closedNotices(for: Set(digests.filter { !$0.isGreeting }.map(\.recipient)))
            var noticed: [ClosedNotice] = []
            var told = Set<PersonID>()
            for d in digests {
                var c = context
                // Only mail shows them: someone reached by chat alone is not marked told.
                if !d.isGreeting, config.routing.email != nil, contacts[d.recipient]?.email != nil,
                    let lines = closed[d.recipient], told.insert(d.recipient).inserted
                {
                    c.closed = lines.map { .init(label: $0.label, date: $0.date, by: $0.by.map(context.personName)) }
                    noticed += lines
                }
                let routed = router.route(d, context: c, contact: contacts[d.recipient], journal: journal, now: now)
                messages += routed.rows
                for w in routed.warnings { log(w) }
            }
            if let report = config.report {
                messages += try reportRows(
                    report, after: after, now: now, input: input, contacts: contacts,
                    personName: context.personName)
            }
            // nil: another instance on the same database queued these send times first, and nothing is left to do.
            added = try await db.enqueue(messages, after: after, through: now, now: now, noticed: noticed) ?? 0
            next = nextAfterNow
        }
        lastPlan = SchedulerStep.LastPlan(generation: generation, day: today, next: next)
        return (added, next)
    }

    /// The earliest send time after `t` among the occurrences it is shown, starting from the scheduled report's.
    func firstSendTime(after t: Int64) -> FirstSendTime {
        FirstSendTime(after: t, best: config.report.flatMap { ReportSchedule.next($0.on, after: t, zone: config.zone) })
    }

    /// The scheduled report's rows for the times it fired in (after, now]. It needs the e-mail channel (the
    /// workbook goes as an attachment); without one, or for a recipient without an address, the journal says so.
    func reportRows(
        _ settings: ReportSettings, after: Int64, now: Int64, input: PlanInput,
        contacts: [PersonID: DigestRouter.Contact], personName: @escaping @Sendable (PersonID) -> String
    ) throws
        -> [NewOutboxMessage]
    {
        let fires = ReportSchedule.fires(settings.on, after: after, through: now, zone: config.zone)
        guard !fires.isEmpty else { return [] }
        guard let name = config.routing.email, let channel = loaded.mailChannels[name] else {
            logger.warning("[report] is set but no e-mail channel is configured: the monthly report is not sent")
            return []
        }
        let started = ContinuousClock.now
        let mailer = ReportMailer(settings: settings, zone: config.zone, mailName: name, channel: channel)
        let queued = try mailer.rows(fires: fires, now: now, input: input, contacts: contacts, personName: personName)
        for person in Set(queued.unreachable).sorted() {
            logger.warning(
                "the monthly report cannot be mailed: the recipient has no e-mail address",
                metadata: ["MESSAGE_ID": "\(MessageID.unreachable)", "GUANHUAI_RECIPIENT": "\(person)"])
        }
        logger.notice("monthly report queued for \(queued.rows.count) recipients (\(ContinuousClock.now - started))")
        return queued.rows
    }

    /// Whether the journal channel is on: configured, and a journald to take it, or a terminal to show it on
    /// (`JournalChannel.target`). Said once when there is neither.
    mutating func journalAvailable() -> Bool {
        guard config.routing.journal else { return false }
        let target = JournalChannel.target
        if target == .none && !warnedNoJournal {
            warnedNoJournal = true
            logger.warning("there is no systemd journal on this system (/run/systemd/journal/socket): reminders are not written to it")
        }
        return target != .none
    }

    func log(_ w: DigestRouter.Warning) {
        switch w {
        case .lateGreetingDropped(let recipient, let days, let limit):
            logger.notice(
                "a political-birthday greeting \(days) days late is not sent (late_greeting_days = \(limit))",
                metadata: ["GUANHUAI_RECIPIENT": "\(recipient)"])
        case .unreachable(let recipient):
            logger.warning(
                "a reminder reaches no person: no e-mail address or channel for the recipient, and no unit robot",
                metadata: ["MESSAGE_ID": "\(MessageID.unreachable)", "GUANHUAI_RECIPIENT": "\(recipient)"])
        }
    }

    /// Runs `work` off the calling actor (a nonisolated async function runs on the global executor).
    static func run<T: Sendable>(_ s: inout Scheduling, _ work: @Sendable (inout Scheduling) async throws -> T) async throws -> T {
        try await offActor(&s, work)
    }

    static func run<T: Sendable>(_ s: Scheduling, _ work: @Sendable (Scheduling) async throws -> T) async throws -> T {
        var copy = s
        return try await offActor(&copy) { s in try await work(s) }
    }

    private nonisolated static func offActor<T: Sendable>(
        _ s: inout Scheduling, _ work: @Sendable (inout Scheduling) async throws -> T
    ) async throws -> T {
        try await work(&s)
    }
}
