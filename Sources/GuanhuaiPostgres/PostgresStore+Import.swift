public import GuanhuaiCalendar
public import GuanhuaiCore
public import GuanhuaiStore
import Logging
import PostgresNIO

/// `guanhuai import` on PostgreSQL: each import reads the stored rows as SQLite's store does, lets `StoreRules`
/// decide what changes (the same decisions, so both engines report and write the same), and writes that and its
/// audit line in one transaction. Imports take a transaction-scoped lock first: a second import, from the other
/// instance's host or a second terminal, waits and then compares with what the first wrote.
extension PostgresStore: ImportStore {
    public func importOrganization(_ org: Organization, dryRun: Bool, actor: Actor) async throws(StoreError) -> ImportReport {
        try await bulk { conn, logger in
            try await Self.lockImports(conn, logger)
            let plan = StoreRules.importOrganization(
                org, oldUnits: try await Self.unitRecords(conn, logger), oldPeople: try await Self.personRecords(conn, logger), dryRun: dryRun)
            let kept = plan.keptUnits
            for try await n in try await conn.query("SELECT count(*) FROM member WHERE NOT (branch = ANY(\(kept)))", logger: logger)
                .decode(Int64.self) where n > 0
            {
                throw StoreRules.stranded(Int(n))
            }
            if dryRun { return plan.report }
            try await conn.query("DELETE FROM unit", logger: logger)
            try await conn.query("DELETE FROM person", logger: logger)
            try await Self.insert(try TableCopy(records: plan.units), conn, logger)
            try await Self.insert(try TableCopy(records: plan.people), conn, logger)
            try await conn.query(
                """
                INSERT INTO setting (key, value) VALUES ('committee', \(org.committee.id)), ('organization_department', \(org.organizationDepartment))
                ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
                """, logger: logger)
            try await Self.audit(conn, logger, actor, .importOrgs, org.committee.id, StoreRules.organizationSummary(plan.report))
            return plan.report
        }
    }

    public func importRoster(_ members: [Member], dryRun: Bool, prune: Bool, today: CivilDate, actor: Actor) async throws(StoreError)
        -> ImportReport
    {
        try await bulk { conn, logger in
            try await Self.lockImports(conn, logger)
            let plan = StoreRules.importRoster(members, old: try await Self.memberRecords(conn, logger), prune: prune, dryRun: dryRun)
            if dryRun { return plan.report }
            try await Self.insert(try TableCopy(records: plan.writes), onConflict: ["id"], conn, logger)
            if !plan.report.pruned.isEmpty {
                try await conn.query(
                    """
                    UPDATE member SET status = \(StoreRules.prunedStatus), statusDate = \(today.description)
                    WHERE id = ANY(\(plan.report.pruned))
                    """, logger: logger)
            }
            let (target, summary) = StoreRules.rosterSummary(rows: members.count, plan.report)
            try await Self.audit(conn, logger, actor, .importRoster, target, summary)
            return plan.report
        }
    }

    public func importRelations(_ relations: [Relation], dependants: [Dependant], dryRun: Bool, actor: Actor) async throws(StoreError)
        -> ImportReport
    {
        try await bulk { conn, logger in
            try await Self.lockImports(conn, logger)
            let plan = StoreRules.importRelations(
                relations, dependants: dependants, oldRelations: try await Self.relationRecords(conn, logger),
                oldDependants: try await Self.dependantRecords(conn, logger), dryRun: dryRun)
            if dryRun { return plan.report }
            try await conn.query("DELETE FROM relation", logger: logger)
            try await conn.query("DELETE FROM dependant", logger: logger)
            try await Self.insert(try TableCopy(records: plan.relations), conn, logger)
            try await Self.insert(try TableCopy(records: plan.dependants), conn, logger)
            let (target, summary) = StoreRules.relationsSummary(count: relations.count, plan.report)
            try await Self.audit(conn, logger, actor, .importRelations, target, summary)
            return plan.report
        }
    }

    public func rosterFirstImported() async throws(StoreError) -> Int64? {
        try await statement { conn, logger in try await Self.rosterFirstImported(conn, logger) }
    }

    static func lockImports(_ conn: PostgresConnection, _ logger: Logger) async throws {
        try await conn.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.importLockKey))", logger: logger)
    }
}
