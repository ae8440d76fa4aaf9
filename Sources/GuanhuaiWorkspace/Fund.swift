public import GuanhuaiCalendar
public import GuanhuaiCore
public import GuanhuaiStore
public import GuanhuaiSystem

/// Why a fund request was not carried out. The command line and the pages each say it in their own words; the
/// decision is made once, in `FundProcedure`, through the functions below.
public enum FundProblem: Error, Equatable, Sendable {
    /// The procedure refused the step (who, when, what it needs).
    case refused(FundRefusal)
    case noSuchApplication(Int64)
    case unknownMember(String)
    /// The category is not one `[fund] categories` names.
    case unknownCategory(String, known: [String])
    /// The person is nothing to this application (not its member, their secretaries or 组织部).
    case notInvolved(PersonID)
    case store(StoreError)

    public func message(chinese: Bool = Lang.chinese) -> String {
        func L(_ english: String, _ zh: String) -> String { chinese ? zh : english }
        return switch self {
        case .refused(let r): chinese ? r.chinese : r.english
        case .noSuchApplication(let id): L("there is no application #\(id); `guanhuai fund list` lists them", "没有编号为 \(id) 的申请")
        case .unknownMember(let m): L("\"\(m)\" is not a member on the roster", "「\(m)」不是名册中的党员")
        case .unknownCategory(let c, let known):
            L(
                "\"\(c)\" is not a category of the fund; use one of: \(known.joined(separator: ", ")) ([fund] categories)",
                "「\(c)」不是专项资金的资助类别；可选：\(known.joined(separator: "、"))")
        case .notInvolved(let p):
            L(
                "\(p) is neither the member, their branch or 党总支 secretary, nor 组织部: they take no step on it",
                "\(p) 不是申请人本人、其党支部或党总支书记，也不是组织部，不能办理")
        case .store(let e): L("it could not be recorded: \(e)", "未能记录：\(e)")
        }
    }
}

/// The 专项资金's use cases: applying, each step, income. The CLI and the pages call these and nothing else, so a
/// step allowed in one is allowed in the other, refused with the same reason, recorded and audited the same way.
extension Workspace {
    /// Working days for the fund's deadlines: the holiday table's, or Monday to Friday without one.
    public var workCalendar: WorkCalendar { config.workCalendar ?? WorkCalendar() }

    /// A member as the store (or, before an import, the roster file) has them.
    public func member(_ id: PersonID) async throws(StoreError) -> Member? {
        if let database, try await database.holdings().roster {
            return try await database.members(inBranches: [], orIDs: [id]).first { $0.id == id }
        }
        return config.members.first { $0.id == id }
    }

    /// The case as the procedure sees it: the member's branch and 党总支 secretaries from the organisation as it is
    /// now, the family declared at application, and who reviewed and what was granted from its steps.
    public func fundCase(_ a: FundApplication, branch: UnitID?, steps: [FundStep]) -> FundCase {
        let org = organization
        let unit = branch.flatMap { org.unit($0) }
        let general = branch.flatMap { org.parent(of: $0) }.flatMap { $0.kind == .generalBranch ? $0 : nil }
        var c = FundCase(
            stage: .branchReview, member: a.member, branchSecretary: unit?.secretary, generalSecretary: general?.secretary,
            family: Set(a.family))
        for s in steps { c = FundLog.apply(s, to: c) }
        c.stage = a.stage
        return c
    }

    /// Submits an application for `member`, by `person` (the member, their branch secretary, or 组织部). Returns its
    /// number; the same `nonce` again returns the same number.
    public func fundApply(
        member id: PersonID, category: String, reason: String, amountFen: Int64, attachments: [String], family: [PersonID],
        consent: Bool, by person: PersonID, today: CivilDate, actor: Actor, nonce: String
    ) async throws(FundProblem) -> Int64 {
        let fund = config.fund
        guard fund.categories.contains(category) else { throw .unknownCategory(category, known: fund.categories) }
        let m: Member?
        do { m = try await member(id) } catch { throw .store(error) }
        guard let m else { throw .unknownMember(id) }
        let draft = FundApplication(
            id: 0, member: m.id, category: category, reason: reason, amountAskedFen: amountFen, family: family, consent: consent,
            appliedBy: person, appliedOn: today)
        let c = fundCase(draft, branch: m.branch, steps: [])
        // Someone who is nothing to the member is refused by `apply`, in its words.
        let role = FundProcedure.role(of: person, in: c, organizationDepartment: organization.organizationDepartment) ?? .applicant
        if case .failure(let r) = FundProcedure.apply(c, by: person, as: role, amountFen: amountFen, reason: reason, consent: consent) {
            throw .refused(r)
        }
        do {
            return try await store().addFundApplication(
                NewFundApplication(
                    member: m.id, category: category, reason: reason, amountAskedFen: amountFen, attachments: attachments, family: family,
                    consent: consent, appliedBy: person, appliedOn: today, nonce: nonce), actor: actor)
        } catch { throw .store(error) }
    }

    /// Takes one step on application `id` as `person` (in the capacity the case gives them, or `role` when given:
    /// guanhuaid as `.system`). Decided inside the store's transaction on the application as it stands, with the
    /// fund's balance then; returns the stage it leads to.
    public func fundStep(
        _ id: Int64, _ action: FundAction, by person: PersonID, as role: FundRole? = nil, today: CivilDate, actor: Actor, nonce: String
    ) async throws(FundProblem) -> FundStage {
        let store: any CommitteeStore
        do { store = try self.store() } catch { throw .store(error) }
        // The member's branch as it is now (a transfer moves who reviews).
        let application: FundApplication?
        do { application = try await store.fundApplications().first { $0.id == id } } catch { throw .store(error) }
        guard let application else { throw .noSuchApplication(id) }
        let branch: UnitID?
        do { branch = try await member(application.member)?.branch } catch { throw .store(error) }
        let department = organization.organizationDepartment
        let ws = self
        let outcome: Result<FundStep, FundRefusal>?
        do {
            outcome = try await store.takeFundStep(id, nonce: nonce, actor: actor, closes: fundRule) { book in
                let c = ws.fundCase(book.application, branch: branch, steps: book.steps)
                guard let as_ = role ?? FundProcedure.role(of: person, in: c, organizationDepartment: department) else {
                    return .failure(FundRefusal("\(person) 不是申请人本人、其党支部或党总支书记，也不是组织部，不能办理。", "\(person) takes no step on this application"))
                }
                return FundProcedure.next(c, action, by: person, as: as_, balance: book.balance).map {
                    FundStep(action: action, person: person, role: as_, on: today, to: $0)
                }
            }
        } catch { throw .store(error) }
        switch outcome {
        case nil: throw .noSuchApplication(id)
        case .failure(let r)?: throw .refused(r)
        case .success(let step)?: return step.to
        }
    }

    /// The id of the rule that reminds the fund's stages (`trigger = { kind = "fund" }`), if the rules have one.
    public var fundRule: String? { config.rules.first { $0.enabled && $0.trigger == .fund }?.id }

    /// The open stages of the applications, each with its responsible person and deadline, for the planner. `known`:
    /// members already read (their branches); the others are looked up.
    func fundObligations(_ database: any CommitteeStore, known: [Member]) async throws(StoreError) -> [FundObligation] {
        guard fundRule != nil else { return [] }
        let open = try await database.fundApplications().filter { !$0.stage.isFinal }
        guard !open.isEmpty else { return [] }
        let wanted = Set(open.map(\.member))
        var branch: [PersonID: UnitID] = [:]
        for m in known where wanted.contains(m.id) { branch[m.id] = m.branch }
        let missing = wanted.subtracting(branch.keys)
        if !missing.isEmpty {
            let found = try await database.holdings().roster ? try await database.members(inBranches: [], orIDs: missing) : config.members
            for m in found where missing.contains(m.id) { branch[m.id] = m.branch }
        }
        let department = organization.organizationDepartment
        return open.compactMap { a in
            guard let unit = branch[a.member],
                let who = FundProcedure.responsible(for: fundCase(a, branch: unit, steps: []), organizationDepartment: department),
                let due = config.fund.deadlines.due(a.stage, entered: a.stageSince, calendar: workCalendar)
            else { return nil }
            return FundObligation(
                application: a.id, seq: a.steps, stage: a.stage, member: a.member, unit: unit, responsible: who, since: a.stageSince, due: due)
        }
    }

    /// 公示 periods over with no objection: each grant moves on to 发放 by itself, as guanhuaid (`.system`), dated the
    /// day after the period's last working day. The step's nonce is the application's and its count, so two
    /// instances doing this at once record it once. Returns the applications moved.
    public func fundNoticesEnded(today: CivilDate, now: Int64) async throws(FundProblem) -> [Int64] {
        guard let database else { return [] }
        let inNotice: [FundApplication]
        do { inNotice = try await database.fundApplications().filter { $0.stage == .notice } } catch { throw .store(error) }
        var moved: [Int64] = []
        for a in inNotice {
            guard let last = config.fund.deadlines.due(.notice, entered: a.stageSince, calendar: workCalendar), last < today else { continue }
            _ = try await fundStep(
                a.id, .noticeEnded, by: "guanhuaid", as: .system, today: last.adding(days: 1), actor: Actor(name: "guanhuaid", now: now),
                nonce: "notice-ended:\(a.id):\(a.steps)")
            moved.append(a.id)
        }
        return moved
    }

    /// The fund's part of a report for `from…to` (`guanhuai report`, the workbook, the web report, the monthly mail).
    /// `condolenceFen`: the 慰问金 recorded with completions in the same report, named apart.
    public func fundReport(from: CivilDate, to: CivilDate, today: CivilDate, condolenceFen: Int) async throws(StoreError) -> FundReport? {
        guard let database else { return nil }
        let applications = try await database.fundApplications()
        let income = try await database.fundIncome().map(\.income)
        guard !applications.isEmpty || !income.isEmpty else { return nil }
        let steps = Dictionary(grouping: try await database.fundSteps(of: nil), by: \.application).mapValues { $0.map(\.step) }
        var branchOf: [PersonID: UnitID] = [:]
        for id in Set(applications.map(\.member)) { branchOf[id] = try await member(id)?.branch }
        return FundReport(
            applications: applications, steps: steps, income: income, from: from, to: to, today: today, calendar: workCalendar,
            organization: organization, branchOf: branchOf, condolenceFen: condolenceFen)
    }

    /// Money into the fund from one source.
    public func fundIncome(_ income: FundIncome, note: String?, actor: Actor) async throws(FundProblem) -> Int64 {
        guard income.amountFen > 0 else { throw .refused(FundRefusal("金额须大于零。", "the amount must be more than zero")) }
        do { return try await store().addFundIncome(income, note: note, actor: actor) } catch { throw .store(error) }
    }

    /// Each source's balance now: income less what the decisions committed.
    public func fundBalance() async throws(StoreError) -> [FundSource: Int64] {
        let store = try self.store()
        let income = try await store.fundIncome().map(\.income)
        return FundLog.balance(income: income, applications: try await store.fundApplications())
    }
}
