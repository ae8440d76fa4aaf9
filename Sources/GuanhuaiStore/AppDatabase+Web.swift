import GRDB
public import GuanhuaiCalendar
public import GuanhuaiCore

/// A 登记情况 line: what a person noted on an item still open.
public struct ProgressNote: Sendable, Equatable {
    public var person: PersonID
    public var date: CivilDate
    public var note: String
    public var recordedAt: Int64

    public init(person: PersonID, date: CivilDate, note: String, recordedAt: Int64) {
        self.person = person
        self.date = date
        self.note = note
        self.recordedAt = recordedAt
    }
}

/// What the web pages keep: link revocations and progress notes (登记情况).
extension AppDatabase {
    /// The generation a person's links carry; `revokeLinks` raises it, so every older link stops working.
    public func linkGeneration(of person: PersonID) throws(StoreError) -> Int {
        try read { db in
            try Int.fetchOne(db, sql: "SELECT generation FROM linkGeneration WHERE person = ?", arguments: [person]) ?? 0
        }
    }

    /// Every person ever revoked, with their generation (everyone else is at 0).
    public func linkGenerations() throws(StoreError) -> [PersonID: Int] {
        try read { db in
            var out: [PersonID: Int] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT person, generation FROM linkGeneration") { out[r["person"]] = r["generation"] }
            return out
        }
    }

    /// Revokes every link a person has been sent. Returns the new generation.
    @discardableResult
    public func revokeLinks(of person: PersonID, actor: Actor) throws(StoreError) -> Int {
        try write { db in
            let g = (try Int.fetchOne(db, sql: "SELECT generation FROM linkGeneration WHERE person = ?", arguments: [person]) ?? 0) + 1
            try db.execute(
                sql: "INSERT OR REPLACE INTO linkGeneration (person, generation, revokedAt) VALUES (?, ?, ?)",
                arguments: [person, g, actor.now])
            try AppDatabase.audit(db, actor, .webRevoke, person, "every link sent to \(person) revoked")
            return g
        }
    }

    /// Records a progress note once per form (`nonce`); false when that form was already sent.
    public func addProgressNote(
        occurrence: String, person: PersonID, date: CivilDate, note: String, nonce: String,
        actor: Actor
    ) throws(StoreError) -> Bool {
        try write { db in
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO progressNote (occurrence, person, date, note, nonce, recordedAt) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [occurrence, person, date.description, note, nonce, actor.now])
            guard db.changesCount > 0 else { return false }
            try AppDatabase.audit(
                db, actor, .progress, occurrence,
                "progress noted, dated \(date)"
                    + (actor.via.map { " via \($0)" } ?? ""))
            return true
        }
    }

    public func progressNotes(occurrence: String) throws(StoreError) -> [ProgressNote] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM progressNote WHERE occurrence = ? ORDER BY id", arguments: [occurrence])
                .compactMap { r in
                    guard let d = CivilDate(parsing: r["date"] as String) else { return nil }
                    return ProgressNote(person: r["person"], date: d, note: r["note"], recordedAt: r["recordedAt"])
                }
        }
    }
}
