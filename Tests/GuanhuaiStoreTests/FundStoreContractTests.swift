import Foundation
import GuanhuaiCalendar
import GuanhuaiCore
import GuanhuaiPostgres
import GuanhuaiStore
import GuanhuaiTestSupport
import Testing

/// The 专项资金's storage, asked of each store (SQLite, PostgreSQL, PgBouncer) through the protocol alone: an
/// application and each step are written once whatever is sent twice, a refused step writes nothing, the steps are
/// kept in order with their details, two decisions at once cannot spend the same money, and the audit never holds
/// the reason or the words.
@Suite struct FundStoreContractTests {
    static let day = CivilDate(2027, 3, 1)!

    static func application(_ member: String, nonce: String) -> NewFundApplication {
        NewFundApplication(
            member: member, category: "大病", reason: "胃出血住院，自付较多", amountAskedFen: 500_000, attachments: ["诊断证明.pdf", "费用清单, 2 页.pdf"],
            family: ["M015"], consent: true, appliedBy: "M001", appliedOn: day, nonce: nonce)
    }

    /// The step `action` would lead to, as the use case decides it (the procedure on the book as stored).
    static func decider(_ action: FundAction, by person: String, as role: FundRole) -> @Sendable (FundBook) -> Result<FundStep, FundRefusal> {
        { book in
            var c = FundCase(stage: .branchReview, member: book.application.member, branchSecretary: "M001", generalSecretary: "S01")
            for s in book.steps { c = FundLog.apply(s, to: c) }
            c.stage = book.application.stage
            return FundProcedure.next(c, action, by: person, as: role, balance: book.balance).map {
                FundStep(action: action, person: person, role: role, on: day, to: $0)
            }
        }
    }

    @Test(arguments: StoreMaker.all)
    func applicationsAndStepsAreWrittenOnceAndInOrder(_ maker: StoreMaker) async throws {
        let dir = try Scratch()
        let store = try await maker.make(dir)
        let actor = Actor(name: "uid 0", now: 1_800_000_000)
        let id = try await store.addFundApplication(Self.application("M014", nonce: "a1"), actor: actor)
        #expect(try await store.addFundApplication(Self.application("M014", nonce: "a1"), actor: actor) == id, "the same form twice is one application")
        var stored = try #require(try await store.fundApplications().first)
        #expect(stored.stage == .branchReview && stored.steps == 0 && stored.attachments == ["诊断证明.pdf", "费用清单, 2 页.pdf"] && stored.family == ["M015"])
        #expect(stored.reason == "胃出血住院，自付较多" && stored.consent && stored.appliedOn == Self.day)

        // Refused: nothing is written.
        let refused = try await store.takeFundStep(
            id, nonce: "s0", actor: actor, closes: "fund-step", Self.decider(.approve(opinion: "同意"), by: "S01", as: .generalSecretary))
        guard case .failure = refused else {
            Issue.record("a 党总支 secretary approved at the branch's review")
            return
        }
        #expect(try await store.fundSteps(of: id).isEmpty)

        let approve = Self.decider(.approve(opinion: "情况属实"), by: "M001", as: .branchSecretary)
        #expect(try await store.takeFundStep(id, nonce: "s1", actor: actor, closes: "fund-step", approve).flatMap { try? $0.get().to } == .generalReview)
        // The same request again (a second tap, a retry across a failover): the step it recorded, not a second one.
        #expect(try await store.takeFundStep(id, nonce: "s1", actor: actor, closes: "fund-step", approve).flatMap { try? $0.get().to } == .generalReview)
        #expect(try await store.fundSteps(of: id).count == 1)
        _ = try await store.takeFundStep(
            id, nonce: "s2", actor: actor, closes: "fund-step", Self.decider(.approve(opinion: "同意"), by: "S01", as: .generalSecretary))
        // A decision above the balance is refused with the figures; after income it is recorded.
        let decide = FundAction.decide(meeting: Self.day, attendees: ["L01", "L02"], amountFen: 300_000, source: .retainedDues)
        let short = try await store.takeFundStep(
            id, nonce: "s3", actor: actor, closes: "fund-step", Self.decider(decide, by: "ZZB", as: .organizationDepartment))
        guard case .failure(let why)? = short else {
            Issue.record("granted from an empty fund")
            return
        }
        #expect(why.chinese.contains("本级留存党费余额 0 元，不足以资助 3000 元"))
        _ = try await store.addFundIncome(FundIncome(source: .retainedDues, on: Self.day, amountFen: 1_000_000), note: "凭证 12 号", actor: actor)
        #expect(
            try await store.takeFundStep(id, nonce: "s4", actor: actor, closes: "fund-step", Self.decider(decide, by: "ZZB", as: .organizationDepartment))
                != nil)
        stored = try #require(try await store.fundApplications().first)
        #expect(stored.stage == .noticeCheck && stored.steps == 3 && stored.granted == Grant(amountFen: 300_000, source: .retainedDues))
        let steps = try await store.fundSteps(of: id)
        #expect(steps.map(\.seq) == [1, 2, 3] && steps.map(\.step.to) == [.generalReview, .decision, .noticeCheck])
        #expect(steps[2].step.action == decide, "the decision's meeting, attendees, amount and source read back")
        #expect(steps[0].step.action == .approve(opinion: "情况属实") && steps[0].step.role == .branchSecretary)
        #expect(try await store.fundIncome().map(\.note) == ["凭证 12 号"])
        #expect(try await store.takeFundStep(99, nonce: "s5", actor: actor, closes: "fund-step", approve) == nil, "no such application")

        // Each stage left is recorded done as the fund rule's occurrence: its queued reminders are taken back.
        let completions = try await Self.tables(store).first { $0.table == "completion" }!.rows.compactMap { (r: [CopyValue]) -> String? in
            if case .text(let t) = r[0] { t } else { nil }
        }
        #expect(completions == ["fund-step:1:0:branchReview", "fund-step:1:1:generalReview", "fund-step:1:2:decision"], "\(completions)")
        // The audit: every write, with the amount; never the reason or a reviewer's words.
        let audit = try await Self.tables(store).first { $0.table == "audit" }!.rows.map { $0.map { "\($0)" }.joined(separator: "|") }
        let fund = audit.filter { $0.contains("fund") }
        #expect(fund.count == 5, "\(fund)")
        #expect(fund.contains { $0.contains("decide by ZZB as organizationDepartment: decision → noticeCheck, 3000 yuan from 本级留存党费") }, "\(fund)")
        #expect(!audit.contains { $0.contains("胃出血") || $0.contains("情况属实") }, "\(audit)")
    }

    /// Two decisions at once on two applications, each granting 600 of the source's 1,000 yuan: one is recorded, the
    /// other refused with the balance the first left.
    @Test(arguments: StoreMaker.all)
    func twoDecisionsCannotSpendTheSameMoney(_ maker: StoreMaker) async throws {
        let dir = try Scratch()
        let store = try await maker.make(dir)
        let actor = Actor(name: "uid 0", now: 1_800_000_000)
        _ = try await store.addFundIncome(FundIncome(source: .donation, on: Self.day, amountFen: 100_000), note: nil, actor: actor)
        var ids: [Int64] = []
        for (i, m) in ["M014", "M020"].enumerated() {
            let id = try await store.addFundApplication(Self.application(m, nonce: "a\(i)"), actor: actor)
            _ = try await store.takeFundStep(
                id, nonce: "b\(i)", actor: actor, closes: "fund-step", Self.decider(.approve(opinion: ""), by: "M001", as: .branchSecretary))
            _ = try await store.takeFundStep(
                id, nonce: "g\(i)", actor: actor, closes: "fund-step", Self.decider(.approve(opinion: ""), by: "S01", as: .generalSecretary))
            ids.append(id)
        }
        let decide = FundAction.decide(meeting: Self.day, attendees: ["L01", "L02"], amountFen: 60_000, source: .donation)
        let outcomes = try await withThrowingTaskGroup(of: Result<FundStep, FundRefusal>?.self) { group in
            for id in ids {
                group.addTask {
                    try await store.takeFundStep(
                        id, nonce: "d\(id)", actor: actor, closes: "fund-step", Self.decider(decide, by: "ZZB", as: .organizationDepartment))
                }
            }
            var out: [Result<FundStep, FundRefusal>?] = []
            for try await o in group { out.append(o) }
            return out
        }
        let recorded = outcomes.filter { if case .success? = $0 { true } else { false } }
        #expect(recorded.count == 1, "\(outcomes)")
        #expect(outcomes.contains { if case .failure(let r)? = $0 { r.chinese.contains("捐赠余额 400 元") } else { false } }, "\(outcomes)")
        #expect(try await store.fundApplications().filter { $0.granted != nil }.count == 1)
    }

    /// The audit log and the steps are append-only and an application is never deleted: each engine refuses, by a
    /// trigger, whatever sends the statement. And the steps replay to the stage each application is at.
    @Test(arguments: ["SQLite"] + (PostgresServer.enabled ? ["PostgreSQL"] : []))
    func theLogIsAppendOnlyAndReplaysToEachApplicationsStage(_ engine: String) async throws {
        let dir = try Scratch()
        var sql: @Sendable (String) throws -> String
        let store: any CommitteeStore
        if engine == "SQLite" {
            store = try AppDatabase(path: dir.databasePath)
            let path = dir.databasePath
            // sqlite3 stops at the first failing statement: the marker after it is printed only when it ran.
            sql = { statement in
                let out = String(decoding: try runTool("/usr/bin/sqlite3", [path, statement + ";\nSELECT 'ran-to-the-end';"]), as: UTF8.self)
                guard out.contains("ran-to-the-end") else { throw StoreError.rejected("sqlite3 refused: \(statement)") }
                return out.replacingOccurrences(of: "ran-to-the-end", with: "")
            }
        } else {
            let server = try await PostgresServer.sharedServer()
            let url = try await server.newDatabase()
            store = try await PostgresStore.forTest(url: url)
            let database = String(url.split(separator: "/").last!)
            sql = { try server.psql($0, database: database) }
        }
        let actor = Actor(name: "uid 0", now: 1_800_000_000)
        _ = try await store.addFundIncome(FundIncome(source: .donation, on: Self.day, amountFen: 1_000_000), note: nil, actor: actor)
        let id = try await store.addFundApplication(Self.application("M014", nonce: "a"), actor: actor)
        for (i, (action, by, role)) in [
            (FundAction.approve(opinion: ""), "M001", FundRole.branchSecretary), (.returnForMore(words: "补充"), "S01", .generalSecretary),
            (.resubmit, "M001", .branchSecretary), (.approve(opinion: ""), "M001", .branchSecretary), (.approve(opinion: ""), "S01", .generalSecretary),
            (.decide(meeting: Self.day, attendees: ["L01", "L02"], amountFen: 100_000, source: .donation), "ZZB", .organizationDepartment),
        ].enumerated() {
            _ = try await store.takeFundStep(id, nonce: "s\(i)", actor: actor, closes: nil, Self.decider(action, by: by, as: role))
        }
        for statement in [
            "UPDATE audit SET summary = 'x'", "DELETE FROM audit", "UPDATE fundStep SET words = 'x'", "DELETE FROM fundStep",
            "DELETE FROM fundApplication",
        ] {
            #expect(throws: (any Error).self, "\(engine) allowed: \(statement)") { try sql(statement) }
        }
        #expect(try sql("SELECT count(*) FROM fundStep").trimmingCharacters(in: .whitespacesAndNewlines) == "6")
        // Replaying the stored steps from submission reaches the stored stage and grant.
        let stored = try #require(try await store.fundApplications().first)
        let steps = try await store.fundSteps(of: id).map(\.step)
        let start = FundCase(stage: .branchReview, member: "M014", branchSecretary: "M001", generalSecretary: "S01", family: ["M015"])
        let replayed = try FundLog.replay(start, steps) { _ in [.donation: 1_000_000] }.get()
        #expect(replayed.stage == stored.stage && replayed.stage == .noticeCheck && replayed.granted == stored.granted)
    }

    static func tables(_ store: any CommitteeStore) async throws -> [TableCopy] {
        if let s = store as? AppDatabase { return try s.copyOut() }
        return try await (store as! PostgresStore).copyOut()
    }
}
