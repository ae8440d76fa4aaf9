import GRDB
public import GuanhuaiCalendar
public import GuanhuaiCore

/// The 专项资金 on SQLite (`FundStore`; what may be done is `FundProcedure`'s, through the Workspace).
extension AppDatabase {
    public func addFundApplication(_ a: NewFundApplication, actor: Actor) throws(StoreError) -> Int64 {
        try write { db in
            if let id = try Int64.fetchOne(db, sql: "SELECT id FROM fundApplication WHERE nonce = ?", arguments: [a.nonce]) { return id }
            try db.execute(
                sql: """
                    INSERT INTO fundApplication (nonce, member, category, reason, amountAskedFen, attachments, family, consent, appliedBy,
                        appliedOn, recordedAt, stage, stageSince) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    a.nonce, a.member, a.category, a.reason, a.amountAskedFen, FundColumns.list(a.attachments), FundColumns.list(a.family),
                    a.consent, a.appliedBy, a.appliedOn.description, actor.now, FundStage.branchReview.rawValue, a.appliedOn.description,
                ])
            let id = db.lastInsertedRowID
            try AppDatabase.audit(db, actor, .fundApply, FundColumns.target(id), FundColumns.applicationSummary(a, actor: actor))
            return id
        }
    }

    public func takeFundStep(
        _ id: Int64, nonce: String, actor: Actor, closes rule: String? = nil,
        _ decide: @escaping @Sendable (FundBook) -> Result<FundStep, FundRefusal>
    ) throws(StoreError) -> Result<FundStep, FundRefusal>? {
        try write { db in
            // The same request again (a second tap, a retry): the step it recorded.
            if let done = try AppDatabase.fundSteps(db, where: "nonce = ?", [nonce]).first { return .success(done.step) }
            guard let application = try AppDatabase.fundApplications(db, where: "id = ?", [id]).first else { return nil }
            let book = FundBook(
                application: application, steps: try AppDatabase.fundSteps(db, where: "application = ?", [id]).map(\.step),
                income: try AppDatabase.fundIncome(db).map(\.income), grants: try AppDatabase.fundGrants(db))
            let decided = decide(book)
            guard case .success(let step) = decided else { return decided }
            let next = FundColumns.after(application, step)
            let d = FundColumns.details(step.action)
            try db.execute(
                sql: """
                    INSERT INTO fundStep (application, seq, nonce, action, person, role, date, fromStage, toStage, words, meeting,
                        attendees, amountFen, source, paidOn, at, via) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    id, next.steps, nonce, step.action.name, step.person, step.role.rawValue, step.on.description, application.stage.rawValue,
                    step.to.rawValue, d.words, d.meeting, d.attendees, d.amountFen, d.source, d.paidOn, actor.now, actor.via,
                ])
            try db.execute(
                sql: "UPDATE fundApplication SET stage = ?, stageSince = ?, steps = ?, grantedFen = ?, source = ? WHERE id = ? AND steps = ?",
                arguments: [
                    next.stage.rawValue, next.stageSince.description, next.steps, next.granted?.amountFen, next.granted?.source.rawValue, id,
                    application.steps,
                ])
            if let rule { _ = try AppDatabase.insertCompletion(db, FundColumns.stageCompletion(rule: rule, application, step), actor) }
            try AppDatabase.audit(db, actor, .fundStep, FundColumns.target(id), FundColumns.stepSummary(step, from: application.stage, actor: actor))
            return decided
        }
    }

    public func addFundIncome(_ income: FundIncome, note: String?, actor: Actor) throws(StoreError) -> Int64 {
        try write { db in
            try db.execute(
                sql: "INSERT INTO fundIncome (source, date, amountFen, note, recordedAt, recordedBy) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [income.source.rawValue, income.on.description, income.amountFen, note, actor.now, actor.name])
            let id = db.lastInsertedRowID
            try AppDatabase.audit(db, actor, .fundIncome, "fund-income:\(id)", FundColumns.incomeSummary(income, actor: actor))
            return id
        }
    }

    public func fundApplications() throws(StoreError) -> [FundApplication] {
        try read { db in try AppDatabase.fundApplications(db, where: "1", []) }
    }

    public func fundSteps(of id: Int64?) throws(StoreError) -> [FundStepRecord] {
        try read { db in
            guard let id else { return try AppDatabase.fundSteps(db, where: "1", []) }
            return try AppDatabase.fundSteps(db, where: "application = ?", [id])
        }
    }

    public func fundIncome() throws(StoreError) -> [FundIncomeRecord] {
        try read { db in try AppDatabase.fundIncome(db) }
    }

    static func fundApplications(_ db: Database, where condition: String, _ arguments: StatementArguments) throws -> [FundApplication] {
        try Row.fetchAll(db, sql: "SELECT \(FundColumns.applicationColumns) FROM fundApplication WHERE \(condition) ORDER BY id", arguments: arguments)
            .compactMap { r in
                FundColumns.application(
                    id: r[0], member: r[1], category: r[2], reason: r[3], amountAskedFen: r[4], attachments: r[5], family: r[6], consent: r[7],
                    appliedBy: r[8], appliedOn: r[9], stage: r[10], stageSince: r[11], steps: r[12], grantedFen: r[13], source: r[14])
            }
    }

    static func fundSteps(_ db: Database, where condition: String, _ arguments: StatementArguments) throws -> [FundStepRecord] {
        try Row.fetchAll(db, sql: "SELECT \(FundColumns.stepColumns) FROM fundStep WHERE \(condition) ORDER BY application, seq", arguments: arguments)
            .compactMap { r in
                FundColumns.step(
                    application: r[0], seq: r[1], action: r[2], person: r[3], role: r[4], date: r[5], to: r[6],
                    details: .init(words: r[7], meeting: r[8], attendees: r[9], amountFen: r[10], source: r[11], paidOn: r[12]), at: r[13], via: r[14])
            }
    }

    static func fundIncome(_ db: Database) throws -> [FundIncomeRecord] {
        try Row.fetchAll(db, sql: "SELECT id, source, date, amountFen, note, recordedAt, recordedBy FROM fundIncome ORDER BY id").compactMap { r in
            FundColumns.income(id: r[0], source: r[1], date: r[2], amountFen: r[3], note: r[4], recordedAt: r[5], recordedBy: r[6])
        }
    }

    static func fundGrants(_ db: Database) throws -> [(stage: FundStage, amountFen: Int64, source: FundSource)] {
        try Row.fetchAll(db, sql: "SELECT stage, grantedFen, source FROM fundApplication WHERE grantedFen IS NOT NULL").compactMap { r in
            FundColumns.grant(stage: r[0], amountFen: r[1], source: r[2])
        }
    }
}
