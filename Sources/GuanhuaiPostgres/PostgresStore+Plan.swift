public import GuanhuaiCore
public import GuanhuaiStore
import Logging
import PostgresNIO

/// Planning's reads on PostgreSQL: rows decoded into the SQLite store's records, then into domain values by the
/// records' own conversions, so both engines read a member the same way. A snapshot is read in one repeatable-read
/// transaction: one instant, as SQLite's read transaction gives.
extension PostgresStore: PlanStore {
    public func holdings() async throws(StoreError) -> (organization: Bool, roster: Bool) {
        try await statement { conn, logger in
            for try await (o, r) in try await conn.query(
                "SELECT EXISTS (SELECT 1 FROM setting WHERE key = 'committee'), EXISTS (SELECT 1 FROM member)", logger: logger
            ).decode((Bool, Bool).self) { return (o, r) }
            return (false, false)
        }
    }

    public func storedOrganization() async throws(StoreError) -> Organization? {
        try await snapshotRead { conn, logger in try await Self.organization(conn, logger) }
    }

    public func snapshot(includingOrganization: Bool) async throws(StoreError) -> StoreSnapshot {
        try await snapshotRead { conn, logger in
            StoreSnapshot(
                organization: includingOrganization ? try await Self.organization(conn, logger) : nil,
                members: try await Self.members("", conn, logger),
                relations: try await Self.relations(conn, logger),
                dependants: try await Self.dependants(conn, logger),
                events: try await Self.events(conn, logger),
                completions: try await Self.completions(conn, logger),
                rosterFirstImported: try await Self.rosterFirstImported(conn, logger))
        }
    }

    public func relationsAndEvents() async throws(StoreError) -> (relations: [Relation], events: [Event]) {
        try await snapshotRead { conn, logger in (try await Self.relations(conn, logger), try await Self.events(conn, logger)) }
    }

    public func members(inBranches branches: Set<UnitID>, orIDs ids: Set<PersonID>) async throws(StoreError) -> [Member] {
        let b = branches.sorted()
        let i = ids.sorted()
        return try await statement { conn, logger in
            try await Self.members("WHERE branch = ANY($1) OR id = ANY($2)", binds: [b, i], conn, logger)
        }
    }

    public func snapshot(members: [Member], relations: [Relation], events: [Event]) async throws(StoreError) -> StoreSnapshot {
        try await snapshotRead { conn, logger in
            StoreSnapshot(
                organization: nil, members: members, relations: relations, dependants: try await Self.dependants(conn, logger), events: events,
                completions: try await Self.completions(conn, logger), rosterFirstImported: try await Self.rosterFirstImported(conn, logger))
        }
    }

    /// Several reads at one instant.
    func snapshotRead<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T) async throws(StoreError) -> T {
        try await write { conn, logger in
            try await conn.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            return try await body(conn, logger)
        }
    }

    static func organization(_ conn: PostgresConnection, _ logger: Logger) async throws -> Organization? {
        var settings: [String: String] = [:]
        for try await (k, v) in try await conn.query(
            "SELECT key, value FROM setting WHERE key IN ('committee', 'organization_department')", logger: logger
        ).decode((String, String).self) { settings[k] = v }
        guard let committee = settings["committee"], let department = settings["organization_department"] else { return nil }
        return StoreRules.organization(
            committee: committee, organizationDepartment: department, units: try await unitRecords(conn, logger),
            people: try await personRecords(conn, logger))
    }

    static func unitRecords(_ conn: PostgresConnection, _ logger: Logger) async throws -> [UnitRecord] {
        var units: [UnitRecord] = []
        for try await (id, name, kind, parent, secretary, members) in try await conn.query(
            "SELECT id, name, kind, parent, secretary, committee FROM unit ORDER BY id", logger: logger
        ).decode((String, String, String, String?, String?, String).self) {
            units.append(UnitRecord(id: id, name: name, kind: kind, parent: parent, secretary: secretary, committee: members))
        }
        return units
    }

    static func personRecords(_ conn: PostgresConnection, _ logger: Logger) async throws -> [PersonRecord] {
        var people: [PersonRecord] = []
        for try await (id, name, email, mobile, wecom, dingtalk, roles, feishu, reach) in try await conn.query(
            "SELECT id, name, email, mobile, wecomUserID, dingtalkUserID, roles, feishuUserID, reach FROM person ORDER BY id", logger: logger
        ).decode((String, String, String?, String?, String?, String?, String, String?, String?).self) {
            people.append(
                PersonRecord(
                    id: id, name: name, email: email, mobile: mobile, wecomUserID: wecom, dingtalkUserID: dingtalk, roles: roles,
                    feishuUserID: feishu, reach: reach))
        }
        return people
    }

    /// Members in id order; `filter` is a WHERE clause over `values` ($1, $2, …), or empty. Each row becomes a
    /// member as it is read: a million rows are never held twice.
    static func members(_ filter: String, binds values: [[String]] = [], _ conn: PostgresConnection, _ logger: Logger) async throws -> [Member] {
        var out: [Member] = []
        try await forEachMember(filter, binds: values, conn, logger) { if let m = $0.member { out.append(m) } }
        return out
    }

    /// The stored members' rows, as SQLite's store reads them (what an import compares a roster with).
    static func memberRecords(_ conn: PostgresConnection, _ logger: Logger) async throws -> [MemberRecord] {
        var out: [MemberRecord] = []
        try await forEachMember("", conn, logger) { out.append($0) }
        return out
    }

    static func forEachMember(
        _ filter: String, binds values: [[String]] = [], _ conn: PostgresConnection, _ logger: Logger, _ body: (MemberRecord) -> Void
    ) async throws {
        var binds = PostgresBindings()
        for v in values { binds.append(v) }
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT id, name, gender, birthDate, joined, fullMemberSince, branch, email, mobile, tags, status, statusDate, smsOptOut,
                    wecomUserID, dingtalkUserID, feishuUserID, reach
                FROM member \(filter) ORDER BY id
                """, binds: binds)
        for try await row in try await conn.query(query, logger: logger) {
            // Read cell by cell: seventeen columns are more than postgres-nio's tuple decoding takes.
            let c = row.makeRandomAccess()
            let (id, name, gender, birth) = (
                try c[0].decode(String.self), try c[1].decode(String.self), try c[2].decode(String?.self), try c[3].decode(String?.self)
            )
            let (joined, full, branch, email) = (
                try c[4].decode(String.self), try c[5].decode(String?.self), try c[6].decode(String.self), try c[7].decode(String?.self)
            )
            let (mobile, tags, status, statusDate) = (
                try c[8].decode(String?.self), try c[9].decode(String.self), try c[10].decode(String.self), try c[11].decode(String?.self)
            )
            let optOut = try c[12].decode(Bool.self)
            let (wecom, dingtalk, feishu, reach) = (
                try c[13].decode(String?.self), try c[14].decode(String?.self), try c[15].decode(String?.self), try c[16].decode(String?.self)
            )
            body(
                MemberRecord(
                    id: id, name: name, gender: gender, birthDate: birth, joined: joined, fullMemberSince: full, branch: branch, email: email,
                    mobile: mobile, tags: tags, status: status, statusDate: statusDate, smsOptOut: optOut, wecomUserID: wecom,
                    dingtalkUserID: dingtalk, feishuUserID: feishu, reach: reach))
        }
    }

    static func relations(_ conn: PostgresConnection, _ logger: Logger) async throws -> [Relation] {
        try await relationRecords(conn, logger).compactMap(\.relation)
    }

    static func relationRecords(_ conn: PostgresConnection, _ logger: Logger) async throws -> [RelationRecord] {
        var out: [RelationRecord] = []
        for try await (kind, from, to) in try await conn.query(
            "SELECT kind, fromPerson, toID FROM relation ORDER BY kind, fromPerson, toID", logger: logger
        ).decode((String, String, String).self) { out.append(RelationRecord(kind: kind, fromPerson: from, toID: to)) }
        return out
    }

    static func dependants(_ conn: PostgresConnection, _ logger: Logger) async throws -> [Dependant] {
        try await dependantRecords(conn, logger).compactMap(\.dependant)
    }

    static func dependantRecords(_ conn: PostgresConnection, _ logger: Logger) async throws -> [DependantRecord] {
        var out: [DependantRecord] = []
        for try await (id, member, name, birth) in try await conn.query(
            "SELECT id, member, name, birthDate FROM dependant ORDER BY id", logger: logger
        ).decode((String, String, String, String).self) { out.append(DependantRecord(id: id, member: member, name: name, birthDate: birth)) }
        return out
    }

    static func events(_ conn: PostgresConnection, _ logger: Logger) async throws -> [Event] {
        var out: [Event] = []
        for try await (seq, id, member, kind, date, ends, target, note, at, by) in try await conn.query(
            "SELECT seq, id, member, kind, date, ends, target, note, recordedAt, recordedBy FROM event ORDER BY seq", logger: logger
        ).decode((Int64, String, String, String, String, String?, String?, String?, Int64, String).self) {
            let r = EventRecord(
                seq: seq, id: id, member: member, kind: kind, date: date, ends: ends, target: target, note: note, recordedAt: at, recordedBy: by)
            if let e = r.event { out.append(e) }
        }
        return out
    }

    static func completions(_ conn: PostgresConnection, _ logger: Logger) async throws -> [Completion] {
        var out: [Completion] = []
        for try await (occurrence, date, by, note, outcome, reason, at, recordedBy, amount) in try await conn.query(
            "SELECT occurrence, date, byPerson, note, outcome, reason, recordedAt, recordedBy, amountFen FROM completion ORDER BY occurrence",
            logger: logger
        ).decode((String, String, String?, String?, String, String?, Int64, String, Int64?).self) {
            let r = CompletionRecord(
                occurrence: occurrence, date: date, byPerson: by, note: note, outcome: outcome, reason: reason, recordedAt: at,
                recordedBy: recordedBy, amountFen: amount.map { Int($0) })
            if let c = r.completion { out.append(c) }
        }
        return out
    }

    static func rosterFirstImported(_ conn: PostgresConnection, _ logger: Logger) async throws -> Int64? {
        for try await v in try await conn.query("SELECT MIN(at) FROM audit WHERE action = 'import-roster'", logger: logger).decode(Int64?.self) {
            return v
        }
        return nil
    }
}
