public import GRDB
public import GuanhuaiCalendar
public import GuanhuaiCore

/// What `guanhuai import` needs of a store, on either engine: each import reads what is stored, lets `StoreRules`
/// decide what changes, and writes that with its audit line, in one transaction.
public protocol ImportStore: Sendable {
    /// Replaces the units and people; refuses a file that would strand members in a removed branch.
    func importOrganization(_ org: Organization, dryRun: Bool, actor: Actor) async throws(StoreError) -> ImportReport
    /// Adds and updates members; a member missing from the file is listed (and with `prune` marked 转出 `today`).
    func importRoster(_ members: [Member], dryRun: Bool, prune: Bool, today: CivilDate, actor: Actor) async throws(StoreError)
        -> ImportReport
    /// Replaces the relations and the minor children.
    func importRelations(_ relations: [Relation], dependants: [Dependant], dryRun: Bool, actor: Actor) async throws(StoreError)
        -> ImportReport
    /// When the roster was first imported, if it was.
    func rosterFirstImported() async throws(StoreError) -> Int64?
}

/// What the organisation file changes: the report, and the rows that replace the stored units and people.
public struct OrganizationImport: Sendable {
    public var report = ImportReport()
    public var units: [UnitRecord] = []
    public var people: [PersonRecord] = []
    /// The units kept: members in any other branch would be stranded.
    public var keptUnits: [String] = []
}

/// What a roster file changes: the report, and the members to insert and to update.
public struct RosterImport: Sendable {
    public var report = ImportReport()
    public var inserts: [MemberRecord] = []
    public var updates: [MemberRecord] = []
    /// Every member to write, new or changed.
    public var writes: [MemberRecord] { inserts + updates }
}

/// What a relations file changes: the report, and the rows that replace the stored relations and minor children.
public struct RelationsImport: Sendable {
    public var report = ImportReport()
    public var relations: [RelationRecord] = []
    public var dependants: [DependantRecord] = []
}

extension StoreRules {
    /// Compares the organisation file with what is stored: units and people added, changed and removed.
    public static func importOrganization(_ org: Organization, oldUnits: [UnitRecord], oldPeople: [PersonRecord], dryRun: Bool)
        -> OrganizationImport
    {
        var out = OrganizationImport()
        out.report.dryRun = dryRun
        let units = Dictionary(oldUnits.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let people = Dictionary(oldPeople.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        out.units = org.units.values.sorted { $0.id < $1.id }.map(UnitRecord.init)
        out.people = org.people.values.sorted { $0.id < $1.id }.map(PersonRecord.init)
        for u in out.units {
            if let old = units[u.id] {
                if old == u { out.report.unchanged += 1 } else { out.report.changed.append("unit \(u.id)") }
            } else {
                out.report.added.append("unit \(u.id)")
            }
        }
        for p in out.people {
            if let old = people[p.id] {
                if old == p { out.report.unchanged += 1 } else { out.report.changed.append("person \(p.id)") }
            } else {
                out.report.added.append("person \(p.id)")
            }
        }
        out.keptUnits = out.units.map(\.id)
        let keptUnits = Set(out.keptUnits)
        let keptPeople = Set(out.people.map(\.id))
        out.report.removed =
            units.keys.filter { !keptUnits.contains($0) }.sorted().map { "unit \($0)" }
            + people.keys.filter { !keptPeople.contains($0) }.sorted().map { "person \($0)" }
        return out
    }

    /// Members on the database in branches the organisation file removes: the file is refused.
    public static func stranded(_ count: Int) -> StoreError {
        .rejected("\(count) members on the database belong to branches this file removes; move them in the roster first")
    }

    public static func organizationSummary(_ r: ImportReport) -> String {
        "added \(r.added.count), changed \(r.changed.count), removed \(r.removed.count)"
    }

    /// Compares a roster with the stored members: added, changed, unchanged, and the active members it leaves out
    /// (never deleted; with `prune`, marked 转出).
    public static func importRoster(_ members: [Member], old stored: [MemberRecord], prune: Bool, dryRun: Bool) -> RosterImport {
        var out = RosterImport()
        out.report.dryRun = dryRun
        var old: [String: MemberRecord] = [:]
        old.reserveCapacity(stored.count)
        for r in stored { old[r.id] = r }
        var seen = Set<String>()
        seen.reserveCapacity(members.count)
        for m in members {
            let r = MemberRecord(m)
            seen.insert(r.id)
            if let o = old[r.id] {
                if o == r {
                    out.report.unchanged += 1
                } else {
                    out.report.changed.append(r.id)
                    out.updates.append(r)
                }
            } else {
                out.report.added.append(r.id)
                out.inserts.append(r)
            }
        }
        out.report.missing = old.keys.filter { !seen.contains($0) && old[$0]?.status == "active" }.sorted()
        if prune { out.report.pruned = out.report.missing }
        return out
    }

    /// The status a pruned member is given (转出, dated the day of the import).
    public static let prunedStatus = "transferred-out"

    public static func rosterSummary(rows: Int, _ r: ImportReport) -> (target: String, summary: String) {
        (
            "\(rows) rows",
            "added \(r.added.count), changed \(r.changed.count), unchanged \(r.unchanged), missing \(r.missing.count), pruned \(r.pruned.count)"
        )
    }

    /// Compares a relations file with what is stored.
    public static func importRelations(
        _ relations: [Relation], dependants: [Dependant], oldRelations: [RelationRecord], oldDependants: [DependantRecord], dryRun: Bool
    ) -> RelationsImport {
        var out = RelationsImport()
        out.report.dryRun = dryRun
        let old = Set(oldRelations)
        let new = Set(relations.map(RelationRecord.init))
        out.relations = new.sorted { ($0.kind, $0.fromPerson, $0.toID) < ($1.kind, $1.fromPerson, $1.toID) }
        for r in out.relations {
            if old.contains(r) { out.report.unchanged += 1 } else { out.report.added.append("\(r.kind) \(r.fromPerson) → \(r.toID)") }
        }
        out.report.removed = old.subtracting(new).map { "\($0.kind) \($0.fromPerson) → \($0.toID)" }.sorted()
        let oldDeps = Dictionary(oldDependants.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        out.dependants = dependants.map(DependantRecord.init)
        for d in out.dependants {
            if let o = oldDeps[d.id] {
                if o == d { out.report.unchanged += 1 } else { out.report.changed.append("dependant \(d.id)") }
            } else {
                out.report.added.append("dependant \(d.id)")
            }
        }
        return out
    }

    public static func relationsSummary(count: Int, _ r: ImportReport) -> (target: String, summary: String) {
        ("\(count) relations", "added \(r.added.count), removed \(r.removed.count), unchanged \(r.unchanged)")
    }
}

extension TableCopy {
    /// Records as one table's rows, the columns in the order of their names: how the PostgreSQL store writes what
    /// an import decided, with the same column values SQLite's records write.
    public init<R: EncodableRecord & TableRecord>(records: [R]) throws(StoreError) {
        do {
            let dictionaries = try records.map { try $0.databaseDictionary }
            let columns = dictionaries.first.map { $0.keys.sorted() } ?? []
            self.init(
                table: R.databaseTableName, columns: columns,
                rows: dictionaries.map { d in columns.map { CopyValue(d[$0] ?? .null) } })
        } catch {
            throw .rejected("a record could not be encoded: \(error)")
        }
    }
}
