public import Foundation
public import GuanhuaiCalendar
public import GuanhuaiCore

/// What the daemon's scheduler and dispatcher need of a store: operations on the outbox and its processed mark, not
/// SQL. `AppDatabase` (GRDB's SQLite) is the first implementation; a second (PostgreSQL) implements the same, and the
/// services do not change. Each operation is one transaction. The requirements are `async` because a networked
/// database's driver is (postgres-nio); SQLite's synchronous methods satisfy them as they are.
public protocol OutboxStore: SMSReceiptStore {
    // MARK: The scheduler's

    /// The last send time whose reminders are in the outbox.
    func processedThrough() async throws(StoreError) -> Int64?
    /// Queues the messages of the send times in (`after`, `through`] and moves the processed mark from `after` to
    /// `through`, in one transaction: a crash leaves both or neither. The mark moves only from where the caller read
    /// it (compare-and-set): when another scheduler moved it first, nothing is written and the answer is nil, so two
    /// schedulers on one database never queue one send time twice. A key already queued is not queued again.
    /// Returns how many were added.
    @discardableResult
    func enqueue(_ messages: [NewOutboxMessage], after: Int64?, through: Int64, now: Int64, noticed: [ClosedNotice])
        async throws(StoreError) -> Int?
    /// Rows about things since done: withdrawn when nothing in them is open; the rest, partly done, to be rewritten.
    func settleDone() async throws(StoreError) -> (withdrawn: [Int64], partly: [OutboxRow])
    /// A pending row written again (nil: withdrawn).
    func rewrite(_ id: Int64, payload: Data?, items: [NewOutboxMessage.Item]) async throws(StoreError)
    /// The 「已办结」 lines waiting for each recipient's next reminder.
    func closedNotices(for recipients: Set<String>) async throws(StoreError) -> [String: [ClosedNotice]]
    /// After the clock went back: no pending row waits past `notAfter`. Returns how many moved.
    func clampPendingAttempts(notAfter: Int64) async throws(StoreError) -> Int
    /// Raised by every change to the records the plan is made from.
    func changeGeneration() async throws(StoreError) -> Int64
    /// What changed since a generation: the audited action and the member it was about.
    func changes(since: Int64) async throws(StoreError) -> [(action: AuditAction?, member: String?)]

    // MARK: The dispatcher's

    /// The rows due by `now` whose item is still open, oldest first, at most `limit`.
    func dueOutbox(now: Int64, limit: Int) async throws(StoreError) -> [OutboxRow]
    /// When the next pending row is due.
    func nextOutboxAttempt() async throws(StoreError) -> Int64?
    /// Accepted. `tracking`: the provider's id of an SMS, whose delivery receipt is then awaited (`smsReceipt`).
    func markSent(_ id: Int64, at: Int64, tracking: String?) async throws(StoreError)
    func markRetry(_ id: Int64, at next: Int64, error: String) async throws(StoreError)
    /// Refused for good; a fallback held for this row is released (its SMS will never arrive).
    func markFailed(_ id: Int64, error: String) async throws(StoreError)
    /// The moment after which these rows, as claimed by the last `dueOutbox`, are no longer sent: their claims are
    /// about to lapse, and another instance may take them over and send them too. Judged on this process's clock
    /// from before the claim was asked for, so never later than the database's deadline. nil: nothing lapses (one
    /// instance on SQLite claims nothing).
    func sendBy(_ ids: [Int64]) -> ContinuousClock.Instant?
    /// Rows not offered wait until `until`, uncharged.
    func deferOutbox(_ ids: [Int64], until: Int64) async throws(StoreError)
    func disableEndpoint(channel: String, endpoint: String, at: Int64, reason: String) async throws(StoreError)
    func disabledEndpoints() async throws(StoreError) -> [DisabledEndpoint]
    @discardableResult
    func enableEndpoint(channel: String) async throws(StoreError) -> Bool
    func outboxCounts() async throws(StoreError) -> (pending: Int, sent: Int, failed: Int)
    func outboxByChannel() async throws(StoreError) -> (counts: [(channel: String, state: String, count: Int)], lastSent: Int64?)
}

/// What recording needs of a store (`Workspace.recordDone` and the rest, for the CLI and the web alike).
public protocol RecordStore: Sendable {
    /// One completion and its audit line; false when the occurrence was already recorded.
    @discardableResult
    func record(_ c: Completion, actor: Actor) async throws(StoreError) -> Bool
    /// Several completions as one audited action; returns how many were new.
    @discardableResult
    func recordAll(_ cs: [Completion], actor: Actor, action: AuditAction, target: String) async throws(StoreError) -> Int
    /// A life event, checked against the member's record, and audited.
    func addEvent(
        member: PersonID, kind: EventKind, date: CivilDate, ends: CivilDate?, target: PersonID?, note: String?,
        today: CivilDate, knownMembers: Set<PersonID>, knownPeople: Set<PersonID>, actor: Actor
    ) async throws(StoreError) -> Event
}

/// What planning reads of a store: the organisation, the roster and what happened to its members, as domain values.
/// The Workspace plans from these, on either engine.
public protocol PlanStore: Sendable {
    /// Whether the store holds an organisation, and a roster.
    func holdings() async throws(StoreError) -> (organization: Bool, roster: Bool)
    /// The organisation once imported, else nil.
    func storedOrganization() async throws(StoreError) -> Organization?
    /// Everything planning needs, read at one instant.
    func snapshot(includingOrganization: Bool) async throws(StoreError) -> StoreSnapshot
    /// The relations and events alone: what decides whose obligations can reach one person.
    func relationsAndEvents() async throws(StoreError) -> (relations: [Relation], events: [Event])
    /// Members of some branches, or with some ids, in id order.
    func members(inBranches: Set<UnitID>, orIDs: Set<PersonID>) async throws(StoreError) -> [Member]
    /// A snapshot of some members only, with the relations and events already read.
    func snapshot(members: [Member], relations: [Relation], events: [Event]) async throws(StoreError) -> StoreSnapshot
}

/// What the pages and the operator's commands read and keep besides records: link generations, progress notes, a
/// member found by id or name, and the outbox's recent problems.
public protocol WebStore: Sendable {
    /// The generation a person's links carry (0 until revoked).
    func linkGeneration(of person: PersonID) async throws(StoreError) -> Int
    /// Every person ever revoked, with their generation.
    func linkGenerations() async throws(StoreError) -> [PersonID: Int]
    /// Revokes every link a person has been sent; returns the new generation.
    @discardableResult
    func revokeLinks(of person: PersonID, actor: Actor) async throws(StoreError) -> Int
    /// A progress note, once per form (`nonce`); false when that form was sent already.
    func addProgressNote(occurrence: String, person: PersonID, date: CivilDate, note: String, nonce: String, actor: Actor)
        async throws(StoreError) -> Bool
    func progressNotes(occurrence: String) async throws(StoreError) -> [ProgressNote]
    /// The completion on record for an occurrence, with who recorded it and when.
    func recordedCompletion(for occurrence: String) async throws(StoreError) -> RecordedCompletion?
    /// Members whose id or name is `given`, in id order.
    func members(idOrName given: String) async throws(StoreError) -> [(id: String, name: String)]
    /// Rows with an error, created since `since`.
    func outboxProblems(since: Int64) async throws(StoreError) -> [OutboxRow]
}

/// Everything the daemon, the pages and the commands need: what either engine implements.
public typealias CommitteeStore = OutboxStore & RecordStore & PlanStore & WebStore & ImportStore & FundStore

extension OutboxStore {
    public func dueOutbox(now: Int64) async throws(StoreError) -> [OutboxRow] { try await dueOutbox(now: now, limit: 500) }
    public func markSent(_ id: Int64, at: Int64) async throws(StoreError) { try await markSent(id, at: at, tracking: nil) }
    public func sendBy(_ ids: [Int64]) -> ContinuousClock.Instant? { nil }
}

extension AppDatabase: OutboxStore, RecordStore, PlanStore, WebStore, ImportStore, FundStore {}
