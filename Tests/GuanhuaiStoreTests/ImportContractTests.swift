import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiPostgres
import GuanhuaiStore
import GuanhuaiTestSupport
import Testing

/// The imports, asked of each store through `ImportStore` alone: SQLite, PostgreSQL, and PostgreSQL behind
/// PgBouncer report and write the same.
@Suite struct ImportContractTests {
    static let actor = Actor(name: "tester", now: 1_795_000_000)
    static let today = CivilDate(2026, 11, 22)!

    @Test(arguments: StoreMaker.all)
    func aRosterImportsOnceReportsItsChangesAndNeverDeletes(_ maker: StoreMaker) async throws {
        let dir = try Scratch()
        let db = try await maker.make(dir)
        let members = Example.config.members
        let dry = try await db.importRoster(members, dryRun: true, prune: false, today: Self.today, actor: Self.actor)
        #expect(dry.added.count == 40 && dry.dryRun)
        #expect(try await db.holdings().roster == false, "a dry run writes nothing")
        #expect(try await db.rosterFirstImported() == nil)

        let first = try await db.importRoster(members, dryRun: false, prune: false, today: Self.today, actor: Self.actor)
        #expect(first.added.count == 40 && first.changed.isEmpty && first.unchanged == 0)
        #expect(try await db.rosterFirstImported() == Self.actor.now)
        // Read back and compared, every member equals what was written: a second import changes nothing.
        let again = try await db.importRoster(members, dryRun: false, prune: false, today: Self.today, actor: Self.actor)
        #expect(again.added.isEmpty && again.changed.isEmpty && again.unchanged == 40, "\(again.changed)")
        #expect(try await db.snapshot(includingOrganization: false).members == members.sorted { $0.id < $1.id })

        var edited = members.filter { $0.id != "M040" }
        edited[0].email = "new@example.edu.cn"
        edited[1].smsOptOut = true
        edited[2].apps = AppUserIDs(wecom: "zhangsan", dingtalk: "ding-3", feishu: "ou_3")
        edited[2].reach = .app
        let third = try await db.importRoster(edited, dryRun: false, prune: false, today: Self.today, actor: Self.actor)
        #expect(third.changed == [edited[0].id, edited[1].id, edited[2].id] && third.missing == ["M040"] && third.pruned.isEmpty)
        let stored = try await db.members(inBranches: [], orIDs: ["M040", edited[0].id, edited[1].id, edited[2].id])
        #expect(stored.first { $0.id == "M040" }?.status == .active, "never deleted silently")
        #expect(stored.first { $0.id == edited[0].id }?.email == "new@example.edu.cn")
        #expect(stored.first { $0.id == edited[1].id }?.smsOptOut == true)
        #expect(stored.first { $0.id == edited[2].id } == edited[2], "the work-app ids and 提醒方式 read back as written")

        let pruned = try await db.importRoster(edited, dryRun: false, prune: true, today: Self.today, actor: Self.actor)
        #expect(pruned.pruned == ["M040"])
        #expect(try await db.members(inBranches: [], orIDs: ["M040"]).first?.status == .transferredOut(Self.today))
        // Four imports written, one dry run not: each audited, and each a change the daemon's step sees.
        let changes = try await db.changes(since: 0).compactMap(\.action)
        #expect(changes.filter { $0 == .importRoster }.count == 4)
    }

    @Test(arguments: StoreMaker.all)
    func theOrganisationIsReplacedButNeverStrandsAMember(_ maker: StoreMaker) async throws {
        let dir = try Scratch()
        let db = try await maker.make(dir)
        let org = Example.config.organization
        let first = try await db.importOrganization(org, dryRun: false, actor: Self.actor)
        #expect(first.added.count == org.units.count + org.people.count && first.removed.isEmpty)
        let stored = try #require(try await db.storedOrganization())
        #expect(OrganizationImage(stored) == OrganizationImage(org))
        let again = try await db.importOrganization(org, dryRun: false, actor: Self.actor)
        #expect(again.added.isEmpty && again.changed.isEmpty && again.unchanged == org.units.count + org.people.count)

        _ = try await db.importRoster(Example.config.members, dryRun: false, prune: false, today: Self.today, actor: Self.actor)
        // A file without a branch that has members is refused whole.
        let branch = try #require(Example.config.members.first?.branch)
        var smaller = org
        smaller.units[branch] = nil
        await #expect(throws: StoreError.self) { try await db.importOrganization(smaller, dryRun: false, actor: Self.actor) }
        #expect(try await db.storedOrganization()?.units[branch] != nil, "nothing written")
        // A changed unit is reported as changed, and read back as written.
        // The organisation file's work-app ids and reach read back as written.
        var withApps = org
        withApps.people["ZZB"]?.feishuUserID = "ou_zzb"
        withApps.people["ZZB"]?.reach = .app
        _ = try await db.importOrganization(withApps, dryRun: false, actor: Self.actor)
        #expect(try await db.storedOrganization()?.people["ZZB"] == withApps.people["ZZB"])
        var renamed = withApps
        renamed.units[branch]?.name = "改名后的支部"
        let changed = try await db.importOrganization(renamed, dryRun: false, actor: Self.actor)
        #expect(changed.changed == ["unit \(branch)"])
        #expect(try await db.storedOrganization()?.units[branch]?.name == "改名后的支部")
    }

    @Test(arguments: StoreMaker.all)
    func relationsAndChildrenAreReplaced(_ maker: StoreMaker) async throws {
        let dir = try Scratch()
        let db = try await maker.make(dir)
        let (relations, dependants) = (Example.config.relations, Example.config.dependants)
        #expect(!relations.isEmpty && !dependants.isEmpty)
        let first = try await db.importRelations(relations, dependants: dependants, dryRun: false, actor: Self.actor)
        #expect(first.added.count == relations.count + dependants.count)
        let again = try await db.importRelations(relations, dependants: dependants, dryRun: false, actor: Self.actor)
        #expect(again.added.isEmpty && again.removed.isEmpty && again.unchanged == relations.count + dependants.count)
        let fewer = try await db.importRelations(Array(relations.dropFirst()), dependants: dependants, dryRun: false, actor: Self.actor)
        #expect(fewer.removed.count == 1)
        #expect(Set(try await db.relationsAndEvents().relations) == Set(relations.dropFirst()))
        #expect(Set(try await db.snapshot(includingOrganization: false).dependants) == Set(dependants))
    }
}
