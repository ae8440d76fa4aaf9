import Foundation
import GuanhuaiCalendar
import GuanhuaiCore
import GuanhuaiStore
import GuanhuaiWorkspace
import Synchronization

extension Handlers {
    // MARK: Reading the plan

    /// What one person's pages are made from: their open items for a year either side of today, and the names those
    /// need. Kept per person until the database, the configuration or the day changes (`ViewCache`), so a page view
    /// renders without planning; the rare paths that need the whole plan input (an item no longer open, recording an
    /// event) read it again.
    struct View: Sendable {
        var person: PersonID
        var today: CivilDate
        var zone: ZoneRules
        var names: [PersonID: String]
        var units: [UnitID: OrgUnit]
        var chatTitles: [String: String]
        /// Event notes of the person's own open items (the responsible person's page may show why).
        var notes: [String: String]
        var dependants: [PersonID: String]
        /// Open items, overdue first (oldest first), then by due date.
        var open: [Occurrence]
        /// Members of the units this person is secretary of, and of the units below them.
        var own: [Member]
        /// People these pages name whom this person's plan input does not hold (a responsible secretary of another
        /// branch): `Handlers.view` looks them up, so no page shows an id.
        var unnamed: Set<PersonID>
        /// What it was made under: pages rendered from it are kept under the same key.
        var key: ViewCache.Key

        init(_ input: PlanInput, person: PersonID, now: Int64, key: ViewCache.Key) {
            self.person = person
            self.key = key
            zone = input.settings.zone
            let today = Planner.today(at: now, zone: zone)
            self.today = today
            let org = input.organization
            // What this person may record (Organization.mayRecord): a greeting or a copy reaches others too, but
            // they are told, not asked, and the item is not on their list.
            open = Planner(input).plan(
                PlanQuery(
                    from: today.adding(days: -366), to: today.adding(days: 366), now: now,
                    person: person)
            ).filter { $0.status.isOpen && org.mayRecord($0, by: person) }.sorted { a, b in
                let ao = a.status == .overdue
                let bo = b.status == .overdue
                if ao != bo { return ao }
                return (a.due, a.id) < (b.due, b.id)
            }
            let units = org.unitsLed(by: person)
            own = input.members.filter { units.contains($0.branch) && $0.status == .active }
                .sorted { ($0.branch, $0.id) < ($1.branch, $1.id) }
            // Only the names these pages can show.
            var wanted = Set(own.map(\.id))
            wanted.insert(person)
            for o in open {
                wanted.insert(o.responsible)
                if let s = o.subject { wanted.insert(s) }
            }
            var names: [PersonID: String] = [:]
            for m in input.members where wanted.contains(m.id) { names[m.id] = m.name }
            for p in org.people.values where wanted.contains(p.id) { names[p.id] = p.name }
            self.names = names
            unnamed = wanted.subtracting(names.keys)
            self.units = org.units
            chatTitles = Dictionary(input.rules.map { ($0.id, $0.chatLabel) }, uniquingKeysWith: { a, _ in a })
            let mineEvents = Set(open.filter { $0.responsible == person }.compactMap(\.event))
            notes = Dictionary(
                input.events.compactMap { e in mineEvents.contains(e.id) ? e.note.map { (e.id, $0) } : nil },
                uniquingKeysWith: { a, _ in a })
            dependants = Dictionary(
                input.dependants.filter { wanted.contains($0.id) }.map { ($0.id, $0.name) },
                uniquingKeysWith: { a, _ in a })
        }

        /// A person by name; one never found (a person taken out of the roster since) as a role, never as an id.
        func name(_ p: PersonID) -> String { names[p] ?? "（已不在名册）" }
        func subject(_ o: Occurrence) -> String {
            guard let s = o.subject else { return units[o.org]?.name ?? o.org }
            return dependants[s] ?? name(s)
        }
        /// What is open in the next `days` days (and everything overdue).
        func open(within days: Int) -> [Occurrence] {
            let end = today.adding(days: days)
            return open.filter { $0.due <= end && $0.windowStart <= end }
        }
    }

    func input(_ s: WebState, person: PersonID) async throws(Refusal) -> PlanInput {
        do {
            return try await s.workspace.planInput(forPerson: person)
        } catch {
            throw Refusal.unreadable
        }
    }

    /// The key a person's view is kept under now: one read of the database's change counter.
    func viewKey(_ s: WebState, person: PersonID, now: Int64) async throws(Refusal) -> ViewCache.Key {
        let generation: Int64
        do { generation = try await store(s).changeGeneration() } catch { throw Refusal.unreadable }
        return ViewCache.Key(
            person: person, database: generation, configuration: s.loadGeneration,
            day: Planner.today(at: now, zone: s.workspace.config.zone))
    }

    /// The person's view, made once however many requests ask for it at the same moment: a calendar app polling,
    /// or 200 connections at once, wait for the one being made rather than each plan the committee (at 100,000
    /// members 组织部's view is a second of planning and a few hundred megabytes).
    func view(_ s: WebState, person: PersonID, now: Int64) async throws(Refusal) -> View {
        let key = try await viewKey(s, person: person, now: now)
        if let v = cache.get(key) { return v }
        let making = cache.making(key) { () async throws(Refusal) -> View in
            var v = View(try await input(s, person: person), person: person, now: now, key: key)
            if !v.unnamed.isEmpty, let db = s.workspace.database {
                do {
                    for m in try await db.members(inBranches: [], orIDs: v.unnamed) { v.names[m.id] = m.name }
                } catch { throw Refusal.unreadable }
            }
            return v
        }
        let result = await making.value
        return try result.get()
    }

    /// The occurrence a link names: among the person's open items, else found near its due date (wider if it moved).
    func occurrence(_ id: String, due: CivilDate?, _ v: View, _ s: WebState, now: Int64) async throws(Refusal) -> Occurrence? {
        if let o = v.open.first(where: { $0.id == id }) { return o }
        guard let parsed = OccurrenceID(id) else { return nil }
        return Planner(try await input(s, person: v.person)).occurrence(parsed, around: due ?? v.today, now: now)
    }

    /// 「已由 X 于 Y 登记」 when the item is on record already.
    func recordedLine(_ s: WebState, _ v: View, _ id: String) async throws(Refusal) -> String? {
        let r: RecordedCompletion?
        do { r = try await store(s).recordedCompletion(for: id) } catch {
            throw Refusal.unreadable
        }
        guard let r else { return nil }
        let what =
            switch r.completion.outcome {
            case .done: "办结（办结日期 \(r.completion.date)）"
            case .waived: "不适用"
            }
        // Who: the person it was recorded for (`--by`, or the web's signed-in person); else it was recorded at the
        // command line, whose login name is no one's name here.
        let who = (r.completion.by ?? r.recordedBy)
        var name = v.names[who] ?? s.workspace.organization.people[who]?.name
        if name == nil, let db = s.workspace.database {
            name = (try? await db.members(inBranches: [], orIDs: [who]))?.first?.name
        }
        return "已由 \(name ?? "管理员") 于 \(v.zone.minute(atUTC: r.recordedAt)) 登记为\(what)。无需再次登记。"
    }
}

/// The last views made, one per person (at most `capacity` people); a view is used only while its key holds.
final class ViewCache: Sendable {
    struct Key: Hashable, Sendable {
        var person: PersonID
        var database: Int64
        var configuration: Int
        var day: CivilDate
    }

    let capacity = 64
    private let entries = Mutex<[PersonID: (key: Key, view: Handlers.View)]>([:])
    /// Rendered agenda pages, per person: the key they were made under, and the page per link (at most 4 links).
    private let pages = Mutex<[PersonID: (key: Key, byToken: [String: String])]>([:])

    func page(_ key: Key, token: String) -> String? {
        pages.withLock { p in p[key.person].flatMap { $0.key == key ? $0.byToken[token] : nil } }
    }

    func putPage(_ key: Key, token: String, _ html: String) {
        pages.withLock { p in
            var entry: (key: Key, byToken: [String: String]) = p[key.person].flatMap { $0.key == key ? $0 : nil } ?? (key, [:])
            if entry.byToken.count >= 4 { entry.byToken.removeAll() }
            entry.byToken[token] = html
            if p[key.person] == nil, p.count >= capacity, let stale = p.keys.first { p[stale] = nil }
            p[key.person] = entry
        }
    }

    /// Views being made, by key: a second request for the same waits for the first's.
    private let inflight = Mutex<[Key: Task<Result<Handlers.View, Refusal>, Never>]>([:])

    /// The task making the view for `key`: the one already running, or a new one running `make`, which puts its
    /// view in the cache when done.
    func making(_ key: Key, _ make: @escaping @Sendable () async throws(Refusal) -> Handlers.View)
        -> Task<Result<Handlers.View, Refusal>, Never>
    {
        inflight.withLock { inflight in
            if let running = inflight[key] { return running }
            let task = Task { () -> Result<Handlers.View, Refusal> in
                let result: Result<Handlers.View, Refusal>
                do throws(Refusal) { result = .success(try await make()) } catch { result = .failure(error) }
                if case .success(let v) = result { self.put(key, v) }
                _ = self.inflight.withLock { $0.removeValue(forKey: key) }
                return result
            }
            inflight[key] = task
            return task
        }
    }

    func get(_ key: Key) -> Handlers.View? {
        entries.withLock { e in e[key.person].flatMap { $0.key == key ? $0.view : nil } }
    }

    func put(_ key: Key, _ view: Handlers.View) {
        entries.withLock { e in
            if e[key.person] == nil, e.count >= capacity,
                let stale = e.first(where: { $0.value.key.database != key.database })?.key
                    ?? e.keys.first
            {
                e[stale] = nil
            }
            e[key.person] = (key, view)
        }
    }
}
