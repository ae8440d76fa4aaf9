import GRDB
public import GuanhuaiCalendar
public import GuanhuaiCore

/// What an import did (or, for a dry run, would do).
public struct ImportReport: Sendable, Equatable {
    public var added: [String] = []
    public var changed: [String] = []
    public var unchanged = 0
    public var removed: [String] = []
    /// Members on the database but not in the new roster (never deleted silently).
    public var missing: [String] = []
    /// Those of `missing` marked 转出 because of --prune.
    public var pruned: [String] = []
    public var dryRun = false

    public init() {}
}

/// Everything the store holds that planning needs.
public struct StoreSnapshot: Sendable {
    public var organization: Organization?
    public var members: [Member]
    public var relations: [Relation]
    public var dependants: [Dependant]
    public var events: [Event]
    public var completions: [Completion]
    /// When the roster was first imported (UTC seconds): without `[guanhuai] since`, the day reminders start.
    public var rosterFirstImported: Int64? = nil

    public init(
        organization: Organization?, members: [Member], relations: [Relation], dependants: [Dependant], events: [Event],
        completions: [Completion], rosterFirstImported: Int64?
    ) {
        self.organization = organization
        self.members = members
        self.relations = relations
        self.dependants = dependants
        self.events = events
        self.completions = completions
        self.rosterFirstImported = rosterFirstImported
    }
}

public struct RecordedCompletion: Sendable {
    public var completion: Completion
    public var recordedAt: Int64
    /// The actor's name: a login name from a shell, a person id from the web.
    public var recordedBy: String

    public init(completion: Completion, recordedAt: Int64, recordedBy: String) {
        self.completion = completion
        self.recordedAt = recordedAt
        self.recordedBy = recordedBy
    }
}

/// Who did it and when, for the audit log. Time is injected like everywhere else.
public struct Actor: Sendable {
    public var name: String
    public var now: Int64
    /// How it came: nil from a shell; "the web from 203.0.113.5" from a signed link.
    public var via: String?

    public init(name: String, now: Int64, via: String? = nil) {
        self.name = name
        self.now = now
        self.via = via
    }
}

extension AppDatabase {
    var label: String { path ?? ":memory:" }

    func write<T>(_ body: @Sendable (Database) throws -> T) throws(StoreError) -> T {
        do { return try writer.write(body) } catch { throw StoreError(error, path: label) }
    }

    func read<T>(_ body: @Sendable (Database) throws -> T) throws(StoreError) -> T {
        do { return try writer.read(body) } catch { throw StoreError(error, path: label) }
    }

    static func audit(_ db: Database, _ actor: Actor, _ action: AuditAction, _ target: String, _ summary: String) throws {
        var a = AuditRecord(id: nil, at: actor.now, actor: actor.name, action: action.rawValue, target: target, summary: summary)
        try a.insert(db)
    }

    // MARK: Reading

    public func snapshot(includingOrganization: Bool = true) throws(StoreError) -> StoreSnapshot {
        try read { db in
            StoreSnapshot(
                organization: includingOrganization ? try AppDatabase.organization(db) : nil,
                members: try AppDatabase.members(MemberRecord.order(MemberRecord.Columns.id), db),
                relations: try RelationRecord.fetchAll(db).compactMap(\.relation),
                dependants: try DependantRecord.fetchAll(db).compactMap(\.dependant),
                events: try EventRecord.order(Column("seq")).fetchAll(db).compactMap(\.event),
                completions: try CompletionRecord.fetchAll(db).compactMap(\.completion),
                rosterFirstImported: try AppDatabase.rosterFirstImported(db))
        }
    }

    /// Members read one row at a time into an array sized once: reading every record first and then converting held
    /// both at once, a third of a 1,000,000-member plan's memory before it had planned anything.
    static func members(_ request: QueryInterfaceRequest<MemberRecord>, _ db: Database) throws -> [Member] {
        var members: [Member] = []
        members.reserveCapacity(try request.fetchCount(db))
        let cursor = try request.fetchCursor(db)
        while let r = try cursor.next() {
            if let m = r.member { members.append(m) }
        }
        return members
    }

    static func rosterFirstImported(_ db: Database) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT MIN(at) FROM audit WHERE action = 'import-roster'")
    }

    /// When the roster was first imported, if it was.
    public func rosterFirstImported() throws(StoreError) -> Int64? {
        try read { db in try AppDatabase.rosterFirstImported(db) }
    }

    /// The organisation once imported, else nil.
    public func storedOrganization() throws(StoreError) -> Organization? {
        try read { db in try AppDatabase.organization(db) }
    }

    /// The relations and events alone: what decides whose obligations can reach one person.
    public func relationsAndEvents() throws(StoreError) -> (relations: [Relation], events: [Event]) {
        try read { db in
            (
                try RelationRecord.fetchAll(db).compactMap(\.relation),
                try EventRecord.order(Column("seq")).fetchAll(db).compactMap(\.event)
            )
        }
    }

    /// A snapshot of some members only (`members(inBranches:orIDs:)`), with the relations and events already read.
    public func snapshot(members: [Member], relations: [Relation], events: [Event]) throws(StoreError) -> StoreSnapshot {
        try read { db in
            StoreSnapshot(
                organization: nil, members: members, relations: relations,
                dependants: try DependantRecord.fetchAll(db).compactMap(\.dependant), events: events,
                completions: try CompletionRecord.fetchAll(db).compactMap(\.completion),
                rosterFirstImported: try AppDatabase.rosterFirstImported(db))
        }
    }

    /// Members of some branches only, for a person's agenda on a large roster.
    public func members(inBranches branches: Set<UnitID>, orIDs ids: Set<PersonID>) throws(StoreError) -> [Member] {
        try read { db in
            try AppDatabase.members(
                MemberRecord.filter(branches.contains(MemberRecord.Columns.branch) || ids.contains(MemberRecord.Columns.id))
                    .order(MemberRecord.Columns.id), db)
        }
    }

    /// Members whose id or name is `given`: finding a person by name without loading the roster.
    public func members(idOrName given: String) throws(StoreError) -> [(id: String, name: String)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT id, name FROM member WHERE id = ? OR name = ? ORDER BY id", arguments: [given, given])
                .map { (id: $0["id"], name: $0["name"]) }
        }
    }

    public func memberCount() throws(StoreError) -> Int { try read { db in try MemberRecord.fetchCount(db) } }

    /// Whether the database holds an organisation, and a roster.
    public func holdings() throws(StoreError) -> (organization: Bool, roster: Bool) {
        try read { db in
            (
                try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM setting WHERE key = 'committee')") ?? false,
                try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM member)") ?? false
            )
        }
    }

    static func organization(_ db: Database) throws -> Organization? {
        guard let committeeID = try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = 'committee'"),
            let orgDept = try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = 'organization_department'")
        else { return nil }
        return StoreRules.organization(
            committee: committeeID, organizationDepartment: orgDept, units: try UnitRecord.fetchAll(db), people: try PersonRecord.fetchAll(db))
    }

    public func auditLog(limit: Int = 100) throws(StoreError) -> [(at: Int64, actor: String, action: String, target: String, summary: String)] {
        try read { db in
            try AuditRecord.order(Column("id").desc).limit(limit).fetchAll(db).map {
                ($0.at, $0.actor, $0.action, $0.target, $0.summary)
            }
        }
    }

    // MARK: Imports (one transaction each)

    public func importOrganization(_ org: Organization, dryRun: Bool, actor: Actor) throws(StoreError) -> ImportReport {
        try write { db in
            let plan = StoreRules.importOrganization(
                org, oldUnits: try UnitRecord.fetchAll(db), oldPeople: try PersonRecord.fetchAll(db), dryRun: dryRun)
            let stranded =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM member WHERE branch NOT IN (\(plan.keptUnits.map { _ in "?" }.joined(separator: ",")))",
                    arguments: StatementArguments(plan.keptUnits)) ?? 0
            if stranded > 0 { throw StoreRules.stranded(stranded) }
            if dryRun { return plan.report }
            try db.execute(sql: "DELETE FROM unit")
            try db.execute(sql: "DELETE FROM person")
            for u in plan.units { try u.insert(db) }
            for p in plan.people { try p.insert(db) }
            try db.execute(
                sql: "INSERT OR REPLACE INTO setting (key, value) VALUES ('committee', ?), ('organization_department', ?)",
                arguments: [org.committee.id, org.organizationDepartment])
            try AppDatabase.audit(db, actor, .importOrgs, org.committee.id, StoreRules.organizationSummary(plan.report))
            return plan.report
        }
    }

    public func importRoster(_ members: [Member], dryRun: Bool, prune: Bool, today: CivilDate, actor: Actor)
        throws(StoreError) -> ImportReport
    {
        try write { db in
            let plan = StoreRules.importRoster(members, old: try MemberRecord.fetchAll(db), prune: prune, dryRun: dryRun)
            if dryRun { return plan.report }
            for r in plan.inserts { try r.insert(db) }
            for r in plan.updates { try r.update(db) }
            for id in plan.report.pruned {
                try db.execute(
                    sql: "UPDATE member SET status = ?, statusDate = ? WHERE id = ?",
                    arguments: [StoreRules.prunedStatus, today.description, id])
            }
            let (target, summary) = StoreRules.rosterSummary(rows: members.count, plan.report)
            try AppDatabase.audit(db, actor, .importRoster, target, summary)
            return plan.report
        }
    }

    public func importRelations(_ relations: [Relation], dependants: [Dependant], dryRun: Bool, actor: Actor)
        throws(StoreError) -> ImportReport
    {
        try write { db in
            let plan = StoreRules.importRelations(
                relations, dependants: dependants, oldRelations: try RelationRecord.fetchAll(db),
                oldDependants: try DependantRecord.fetchAll(db), dryRun: dryRun)
            if dryRun { return plan.report }
            try db.execute(sql: "DELETE FROM relation")
            try db.execute(sql: "DELETE FROM dependant")
            for r in plan.relations { try r.insert(db) }
            for d in plan.dependants { try d.insert(db) }
            let (target, summary) = StoreRules.relationsSummary(count: relations.count, plan.report)
            try AppDatabase.audit(db, actor, .importRelations, target, summary)
            return plan.report
        }
    }

    // MARK: Events and completions

    /// Records an event. The member must be on the database (or in `knownMembers`); the id is assigned here.
    public func addEvent(
        member: PersonID, kind: EventKind, date: CivilDate, ends: CivilDate?, target: PersonID?, note: String?,
        today: CivilDate, knownMembers: Set<PersonID>, knownPeople: Set<PersonID>, actor: Actor
    ) throws(StoreError) -> Event {
        try StoreRules.checkEvent(
            kind: kind, date: date, ends: ends, target: target, today: today, knownMembers: knownMembers, knownPeople: knownPeople)
        return try write { db in
            let onDatabase = try MemberRecord.filter(key: member).fetchCount(db) > 0
            guard onDatabase || knownMembers.contains(member) else {
                throw StoreRules.unknownMember(member)
            }
            var r = EventRecord(
                seq: nil, id: "pending-\(actor.now)-\(member)", member: member, kind: kind.rawValue,
                date: date.description, ends: ends?.description, target: target, note: note, recordedAt: actor.now,
                recordedBy: actor.name)
            try r.insert(db)
            r.id = "E\(r.seq!)"
            try db.execute(sql: "UPDATE event SET id = ? WHERE seq = ?", arguments: [r.id, r.seq])
            try AppDatabase.audit(db, actor, .eventAdd, r.id, StoreRules.eventSummary(kind: kind, member: member, date: date))
            return r.event!
        }
    }

    public func events(member: PersonID? = nil) throws(StoreError) -> [Event] {
        try read { db in
            var q = EventRecord.order(Column("seq"))
            if let member { q = q.filter(Column("member") == member) }
            return try q.fetchAll(db).compactMap(\.event)
        }
    }

    public func completion(for occurrence: String) throws(StoreError) -> Completion? {
        try read { db in try CompletionRecord.fetchOne(db, key: occurrence)?.completion }
    }

    /// A completion with who recorded it and when (「已由 X 于 Y 登记」).
    public func recordedCompletion(for occurrence: String) throws(StoreError) -> RecordedCompletion? {
        try read { db in
            guard let r = try CompletionRecord.fetchOne(db, key: occurrence), let c = r.completion else { return nil }
            return RecordedCompletion(completion: c, recordedAt: r.recordedAt, recordedBy: r.recordedBy)
        }
    }

    /// Inserts one completion unless one is on record already; returns what to audit it as, or nil.
    static func insertCompletion(_ db: Database, _ c: Completion, _ actor: Actor) throws -> AuditAction? {
        if try CompletionRecord.fetchOne(db, key: c.occurrence) != nil { return nil }
        let (outcome, reason) = StoreRules.outcome(c)
        try CompletionRecord(
            occurrence: c.occurrence, date: c.date.description, byPerson: c.by, note: c.note, outcome: outcome.rawValue,
            reason: reason, recordedAt: actor.now, recordedBy: actor.name, amountFen: c.amountFen
        ).insert(db)
        return outcome
    }

    /// Records many completions or waivers in one transaction, audited as one action with its count (a bulk
    /// `done --rule … --unit …`). Those on record already are skipped; returns how many were recorded.
    @discardableResult
    public func recordAll(_ cs: [Completion], actor: Actor, action: AuditAction, target: String) throws(StoreError) -> Int {
        try write { db in
            var n = 0
            for c in cs where try AppDatabase.insertCompletion(db, c, actor) != nil { n += 1 }
            try AppDatabase.audit(db, actor, action, target, StoreRules.bulkSummary(cs, recorded: n))
            return n
        }
    }

    /// Records a completion or waiver. Returns false (and writes nothing) when one is on record already.
    @discardableResult
    public func record(_ c: Completion, actor: Actor) throws(StoreError) -> Bool {
        try write { db in
            guard let outcome = try AppDatabase.insertCompletion(db, c, actor) else { return false }
            try AppDatabase.audit(db, actor, outcome, c.occurrence, StoreRules.completionSummary(c, actor: actor))
            return true
        }
    }
}
