import Foundation
public import GuanhuaiConfig
public import GuanhuaiCore
import GuanhuaiPostgres
public import GuanhuaiStore
public import Logging

/// The configuration together with the store: what the CLI and the daemon plan from.
///
/// Once a roster has been imported the store is authoritative for the organisation, the roster and the relations;
/// until then the files the configuration names are. Events come from both; completions only from the store.
public struct Workspace: Sendable {
    public let config: Configuration
    /// The store: SQLite (`AppDatabase`) or PostgreSQL (`PostgresStore`); nil when the SQLite file does not exist yet.
    public let database: (any CommitteeStore)?

    public enum OpenError: Error {
        case input(InputErrors)
        case store(StoreError)
    }

    /// Loads the configuration and opens the store: the SQLite file, or the PostgreSQL database `[database] url`
    /// names. `create: false` leaves a missing SQLite file missing (reading commands on a fresh install). The roster
    /// file is read only while the database holds no roster. `reusing` a workspace whose PostgreSQL settings are the
    /// same keeps its connections (a reload); `logger` is where the PostgreSQL store says what it does.
    public static func open(
        configPath: String, environment: [String: String], create: Bool, organizationOnly: Bool = false,
        now: Int64? = nil, reusing previous: Workspace? = nil, logger: Logger? = nil
    ) async throws(OpenError) -> Workspace {
        do {
            let settings = try Configuration.loadSettings(path: configPath, environment: environment)
            var database: (any CommitteeStore)?
            if let pg = settings.postgres {
                if let previous, previous.config.postgres == pg, let kept = previous.database as? PostgresStore {
                    database = kept
                } else {
                    let password: String?
                    do { password = try pg.password?.read(environment: environment) } catch { throw InputErrors([error]) }
                    database = try await PostgresStore(
                        url: pg.url, password: password, logger: logger ?? Workspace.quietLogger, claimSeconds: pg.claimSeconds)
                }
            } else if create || FileManager.default.fileExists(atPath: settings.databasePath) {
                database = try AppDatabase(path: settings.databasePath, busyTimeout: settings.busyTimeout)
            }
            var rosterInStore = false
            var storeOrganization: Organization?
            if let database {
                rosterInStore = try await database.holdings().roster
                storeOrganization = try await database.storedOrganization()
            }
            let config = try settings.loadingFiles(
                storeOrganization: storeOrganization, rosterInStore: rosterInStore, organizationOnly: organizationOnly,
                now: now)
            return Workspace(config: config, database: database)
        } catch let e as InputErrors {
            throw .input(e)
        } catch let e as StoreError {
            throw .store(e)
        } catch {
            throw .store(.failed(path: configPath, reason: "\(error)"))
        }
    }

    /// What the command line's PostgreSQL store logs: nothing below an error (what fails is thrown and said).
    static let quietLogger: Logger = {
        var l = Logger(label: "guanhuai")
        l.logLevel = .error
        return l
    }()

    public init(config: Configuration, database: (any CommitteeStore)?) {
        self.config = config
        self.database = database
    }

    /// The SQLite database, for what only it does (backup, restore, the service lock); nil on PostgreSQL or before one exists.
    public var sqlite: AppDatabase? { database as? AppDatabase }

    /// The database, for what writes: a workspace opened with `create: true` always has one. Without one (opened
    /// to read, before anything was imported) this says so rather than crashing.
    public func store() throws(StoreError) -> any CommitteeStore {
        guard let database else {
            throw .cannotOpen(path: config.databasePath, reason: "there is no database yet (nothing was imported, guanhuaid has not run)")
        }
        return database
    }

    /// The database's organisation once imported, else the organisation file's (see `open`).
    public var organization: Organization { config.organization }

    /// Everything, for planning all obligations.
    public func planInput() async throws(StoreError) -> PlanInput {
        guard let database else { return config.planInput() }
        let snap = try await database.snapshot(includingOrganization: false)
        var input = merge(snap, members: snap.members)
        input.fund = try await fundObligations(database, known: input.members)
        return input
    }

    /// Only the members whose obligations can reach `person` (as responsible, escalation target or subject), so one
    /// person's agenda on a large roster does not plan everyone's.
    public func planInput(forPerson person: PersonID) async throws(StoreError) -> PlanInput {
        guard let database, try await database.holdings().roster else { return try await planInput() }
        let org = organization
        if person == org.organizationDepartment || person == org.committeeSecretary { return try await planInput() }
        let units = org.unitsLed(by: person)
        let (relations, events) = try await database.relationsAndEvents()
        var ids: Set<PersonID> = [person]
        for r in relations where r.from == person { ids.insert(r.to) }
        for e in events + config.events where e.target == person { ids.insert(e.member) }
        return try await stored(database, branches: units, ids: ids, relations: relations, events: events)
    }

    /// These members alone, with the organisation, relations, events and completions: what plans their own
    /// obligations (the scheduler's step after an event is recorded for one of them). Nil without an imported roster.
    public func planInput(forMembers ids: Set<PersonID>) async throws(StoreError) -> PlanInput? {
        guard let database, try await database.holdings().roster else { return nil }
        let (relations, events) = try await database.relationsAndEvents()
        return try await stored(database, branches: [], ids: ids, relations: relations, events: events)
    }

    /// The stored input with only the members of `branches` and those in `ids`.
    private func stored(
        _ database: any CommitteeStore, branches: Set<UnitID>, ids: Set<PersonID>, relations: [Relation],
        events: [Event]
    ) async throws(StoreError) -> PlanInput {
        let members = try await database.members(inBranches: branches, orIDs: ids)
        let snap = try await database.snapshot(members: members, relations: relations, events: events)
        var input = merge(snap, members: members, rosterImported: true)
        input.fund = try await fundObligations(database, known: members)
        return input
    }

    func merge(_ snap: StoreSnapshot, members: [Member], rosterImported: Bool? = nil) -> PlanInput {
        let imported = rosterImported ?? !snap.members.isEmpty
        let storeIDs = Set(snap.events.map(\.id))
        var settings = config.settings
        if settings.since == nil, let at = snap.rosterFirstImported {
            // No [guanhuai] since: reminders start on the day the roster was first imported.
            settings.since = Planner.today(at: at, zone: config.zone)
        }
        return PlanInput(
            organization: config.organization,
            members: imported ? members : config.members,
            relations: imported ? snap.relations : config.relations,
            dependants: imported ? snap.dependants : config.dependants,
            events: config.events.filter { !storeIDs.contains($0.id) } + snap.events,
            completions: snap.completions, rules: config.rules, settings: settings)
    }
}
