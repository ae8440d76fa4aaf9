public import GuanhuaiCalendar
public import GuanhuaiCore
public import GuanhuaiStore
import Logging
import PostgresNIO

/// The 专项资金 on PostgreSQL (`FundStore`, as on SQLite). Every fund write takes one transaction-scoped advisory
/// lock first: two instances (or a page and a command) deciding on the fund at once take turns, so a decision
/// reads the balance the one before it left, and a step is decided on the application as the last step left it.
extension PostgresStore: FundStore {
    static let fundLockKey: Int64 = 0x6775_616e_6675_6e64  // "guanfund"

    public func addFundApplication(_ a: NewFundApplication, actor: Actor) async throws(StoreError) -> Int64 {
        try await write { conn, logger in
            try await conn.query("SELECT pg_advisory_xact_lock(\(Self.fundLockKey))", logger: logger)
            for try await id in try await conn.query("SELECT id FROM fundApplication WHERE nonce = \(a.nonce)", logger: logger).decode(Int64.self) {
                return id
            }
            var id: Int64 = 0
            for try await i in try await conn.query(
                """
                INSERT INTO fundApplication (nonce, member, category, reason, amountAskedFen, attachments, family, consent, appliedBy,
                    appliedOn, recordedAt, stage, stageSince)
                VALUES (\(a.nonce), \(a.member), \(a.category), \(a.reason), \(a.amountAskedFen), \(FundColumns.list(a.attachments)),
                    \(FundColumns.list(a.family)), \(a.consent), \(a.appliedBy), \(a.appliedOn.description), \(actor.now),
                    \(FundStage.branchReview.rawValue), \(a.appliedOn.description))
                RETURNING id
                """, logger: logger
            ).decode(Int64.self) { id = i }
            try await Self.audit(conn, logger, actor, .fundApply, FundColumns.target(id), FundColumns.applicationSummary(a, actor: actor))
            return id
        }
    }

    public func takeFundStep(
        _ id: Int64, nonce: String, actor: Actor, closes rule: String?,
        _ decide: @escaping @Sendable (FundBook) -> Result<FundStep, FundRefusal>
    ) async throws(StoreError) -> Result<FundStep, FundRefusal>? {
        try await write { conn, logger in
            try await conn.query("SELECT pg_advisory_xact_lock(\(Self.fundLockKey))", logger: logger)
            // The same request again (a second tap, a retry after a failover): the step it recorded.
            if let done = try await Self.fundSteps(conn, logger, "WHERE nonce = $1", nonce).first { return .success(done.step) }
            guard let application = try await Self.fundApplications(conn, logger, "WHERE id = $1", id).first else { return nil }
            let book = FundBook(
                application: application, steps: try await Self.fundSteps(conn, logger, "WHERE application = $1", id).map(\.step),
                income: try await Self.fundIncome(conn, logger).map(\.income), grants: try await Self.fundGrants(conn, logger))
            let decided = decide(book)
            guard case .success(let step) = decided else { return decided }
            let next = FundColumns.after(application, step)
            let d = FundColumns.details(step.action)
            try await conn.query(
                """
                INSERT INTO fundStep (application, seq, nonce, action, person, role, date, fromStage, toStage, words, meeting,
                    attendees, amountFen, source, paidOn, at, via)
                VALUES (\(id), \(Int64(next.steps)), \(nonce), \(step.action.name), \(step.person), \(step.role.rawValue),
                    \(step.on.description), \(application.stage.rawValue), \(step.to.rawValue), \(d.words), \(d.meeting), \(d.attendees),
                    \(d.amountFen), \(d.source), \(d.paidOn), \(actor.now), \(actor.via))
                """, logger: logger)
            try await conn.query(
                """
                UPDATE fundApplication SET stage = \(next.stage.rawValue), stageSince = \(next.stageSince.description),
                    steps = \(Int64(next.steps)), grantedFen = \(next.granted?.amountFen), source = \(next.granted?.source.rawValue)
                WHERE id = \(id) AND steps = \(Int64(application.steps))
                """, logger: logger)
            if let rule { _ = try await Self.insertCompletion(conn, logger, FundColumns.stageCompletion(rule: rule, application, step), actor) }
            try await Self.audit(
                conn, logger, actor, .fundStep, FundColumns.target(id), FundColumns.stepSummary(step, from: application.stage, actor: actor))
            return decided
        }
    }

    public func addFundIncome(_ income: FundIncome, note: String?, actor: Actor) async throws(StoreError) -> Int64 {
        try await write { conn, logger in
            try await conn.query("SELECT pg_advisory_xact_lock(\(Self.fundLockKey))", logger: logger)
            var id: Int64 = 0
            for try await i in try await conn.query(
                """
                INSERT INTO fundIncome (source, date, amountFen, note, recordedAt, recordedBy)
                VALUES (\(income.source.rawValue), \(income.on.description), \(income.amountFen), \(note), \(actor.now), \(actor.name))
                RETURNING id
                """, logger: logger
            ).decode(Int64.self) { id = i }
            try await Self.audit(conn, logger, actor, .fundIncome, "fund-income:\(id)", FundColumns.incomeSummary(income, actor: actor))
            return id
        }
    }

    public func fundApplications() async throws(StoreError) -> [FundApplication] {
        try await statement { conn, logger in try await Self.fundApplications(conn, logger, "", nil as Int64?) }
    }

    public func fundSteps(of id: Int64?) async throws(StoreError) -> [FundStepRecord] {
        try await statement { conn, logger in
            guard let id else { return try await Self.fundSteps(conn, logger, "", nil as Int64?) }
            return try await Self.fundSteps(conn, logger, "WHERE application = $1", id)
        }
    }

    public func fundIncome() async throws(StoreError) -> [FundIncomeRecord] {
        try await statement { conn, logger in try await Self.fundIncome(conn, logger) }
    }

    /// `condition` names `$1` when `value` is given.
    static func query(_ sql: String, _ value: (any PostgresThrowingDynamicTypeEncodable)?) throws -> PostgresQuery {
        var binds = PostgresBindings()
        if let value { try binds.append(value) }
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    static func fundApplications(_ conn: PostgresConnection, _ logger: Logger, _ condition: String, _ value: (any PostgresThrowingDynamicTypeEncodable)?)
        async throws -> [FundApplication]
    {
        var out: [FundApplication] = []
        let q = try query("SELECT \(FundColumns.applicationColumns) FROM fundApplication \(condition) ORDER BY id", value)
        for try await r in try await conn.query(q, logger: logger).decode(
            (Int64, String, String, String, Int64, String, String, Bool, String, String, String, String, Int64, Int64?, String?).self)
        {
            if let a = FundColumns.application(
                id: r.0, member: r.1, category: r.2, reason: r.3, amountAskedFen: r.4, attachments: r.5, family: r.6, consent: r.7,
                appliedBy: r.8, appliedOn: r.9, stage: r.10, stageSince: r.11, steps: r.12, grantedFen: r.13, source: r.14)
            {
                out.append(a)
            }
        }
        return out
    }

    static func fundSteps(_ conn: PostgresConnection, _ logger: Logger, _ condition: String, _ value: (any PostgresThrowingDynamicTypeEncodable)?)
        async throws -> [FundStepRecord]
    {
        var out: [FundStepRecord] = []
        let q = try query("SELECT \(FundColumns.stepColumns) FROM fundStep \(condition) ORDER BY application, seq", value)
        for try await r in try await conn.query(q, logger: logger).decode(
            (Int64, Int64, String, String, String, String, String, String?, String?, String?, Int64?, String?, String?, Int64, String?).self)
        {
            if let s = FundColumns.step(
                application: r.0, seq: r.1, action: r.2, person: r.3, role: r.4, date: r.5, to: r.6,
                details: .init(words: r.7, meeting: r.8, attendees: r.9, amountFen: r.10, source: r.11, paidOn: r.12), at: r.13, via: r.14)
            {
                out.append(s)
            }
        }
        return out
    }

    static func fundIncome(_ conn: PostgresConnection, _ logger: Logger) async throws -> [FundIncomeRecord] {
        var out: [FundIncomeRecord] = []
        for try await r in try await conn.query(
            "SELECT id, source, date, amountFen, note, recordedAt, recordedBy FROM fundIncome ORDER BY id", logger: logger
        ).decode((Int64, String, String, Int64, String?, Int64, String).self) {
            if let i = FundColumns.income(id: r.0, source: r.1, date: r.2, amountFen: r.3, note: r.4, recordedAt: r.5, recordedBy: r.6) { out.append(i) }
        }
        return out
    }

    static func fundGrants(_ conn: PostgresConnection, _ logger: Logger) async throws -> [(stage: FundStage, amountFen: Int64, source: FundSource)] {
        var out: [(stage: FundStage, amountFen: Int64, source: FundSource)] = []
        for try await r in try await conn.query(
            "SELECT stage, grantedFen, source FROM fundApplication WHERE grantedFen IS NOT NULL", logger: logger
        ).decode((String, Int64, String).self) {
            if let g = FundColumns.grant(stage: r.0, amountFen: r.1, source: r.2) { out.append(g) }
        }
        return out
    }
}
