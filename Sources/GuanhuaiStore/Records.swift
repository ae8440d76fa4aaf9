import GRDB
import GuanhuaiCalendar
import GuanhuaiCore

// Rows of the schema. Dates are stored as `YYYY-MM-DD` text, instants as UTC seconds. The records read in bulk
// (units, people, members) decode by column index, in the order their `databaseSelection` names, and are only
// Encodable; the others decode with Codable.

struct UnitRecord: Encodable, FetchableRecord, PersistableRecord, Equatable {
    static let databaseTableName = "unit"
    /// The column order `init(row:)` reads by index.
    static var databaseSelection: [any SQLSelectable] {
        ["id", "name", "kind", "parent", "secretary", "committee"].map { Column($0) }
    }
    var id: String
    var name: String
    var kind: String
    var parent: String?
    var secretary: String?
    var committee: String

    /// Decoding by column index: much faster than Codable for the thousands of rows a large committee has.
    init(row: Row) {
        id = row[0]
        name = row[1]
        kind = row[2]
        parent = row[3]
        secretary = row[4]
        committee = row[5]
    }

    init(_ u: OrgUnit) {
        id = u.id
        name = u.name
        kind = u.kind.rawValue
        parent = u.parent
        secretary = u.secretary
        committee = u.committeeMembers.joined(separator: ",")
    }

    var unit: OrgUnit? {
        guard let k = UnitKind(rawValue: kind) else { return nil }
        return OrgUnit(
            id: id, name: name, kind: k, parent: parent, secretary: secretary,
            committeeMembers: committee.split(separator: ",").map(String.init))
    }
}

struct PersonRecord: Encodable, FetchableRecord, PersistableRecord, Equatable {
    static let databaseTableName = "person"
    static var databaseSelection: [any SQLSelectable] {
        ["id", "name", "email", "mobile", "wecomUserID", "dingtalkUserID", "roles"].map { Column($0) }
    }
    var id: String
    var name: String
    var email: String?
    var mobile: String?
    var wecomUserID: String?
    var dingtalkUserID: String?
    var roles: String

    init(row: Row) {
        id = row[0]
        name = row[1]
        email = row[2]
        mobile = row[3]
        wecomUserID = row[4]
        dingtalkUserID = row[5]
        roles = row[6]
    }

    init(_ p: Person) {
        id = p.id
        name = p.name
        email = p.email
        mobile = p.mobile
        wecomUserID = p.wecomUserID
        dingtalkUserID = p.dingtalkUserID
        roles = p.roles.map(\.rawValue).sorted().joined(separator: ",")
    }

    var person: Person {
        Person(
            id: id, name: name, email: email, mobile: mobile, wecomUserID: wecomUserID,
            dingtalkUserID: dingtalkUserID, roles: Set(roles.split(separator: ",").compactMap { PersonRole(rawValue: String($0)) }))
    }
}

struct MemberRecord: Encodable, FetchableRecord, PersistableRecord, Equatable {
    static let databaseTableName = "member"
    static var databaseSelection: [any SQLSelectable] {
        [
            "id", "name", "gender", "birthDate", "joined", "fullMemberSince", "branch", "email", "mobile", "tags", "status",
            "statusDate", "smsOptOut",
        ].map { Column($0) }
    }
    var id: String
    var name: String
    var gender: String?
    var birthDate: String?
    var joined: String
    var fullMemberSince: String?
    var branch: String
    var email: String?
    var mobile: String?
    var tags: String
    var status: String
    var statusDate: String?
    var smsOptOut: Bool

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let branch = Column(CodingKeys.branch)
    }

    init(row: Row) {
        id = row[0]
        name = row[1]
        gender = row[2]
        birthDate = row[3]
        joined = row[4]
        fullMemberSince = row[5]
        branch = row[6]
        email = row[7]
        mobile = row[8]
        tags = row[9]
        status = row[10]
        statusDate = row[11]
        smsOptOut = row[12]
    }

    init(_ m: Member) {
        id = m.id
        name = m.name
        gender = m.gender
        birthDate = m.birthDate?.description
        joined = m.joined.description
        fullMemberSince = m.fullMemberSince?.description
        branch = m.branch
        email = m.email
        mobile = m.mobile
        smsOptOut = m.smsOptOut
        tags = m.tags.map(\.slug).sorted().joined(separator: ",")
        switch m.status {
        case .active:
            status = "active"
            statusDate = nil
        case .deceased(let d):
            status = "deceased"
            statusDate = d.description
        case .transferredOut(let d):
            status = "transferred-out"
            statusDate = d.description
        }
    }

    var member: Member? {
        guard let j = CivilDate(parsing: joined) else { return nil }
        let d = statusDate.flatMap { CivilDate(parsing: $0) }
        let s: MemberStatus =
            switch (status, d) {
            case ("deceased", let d?): .deceased(d)
            case ("transferred-out", let d?): .transferredOut(d)
            default: .active
            }
        return Member(
            id: id, name: name, gender: gender, birthDate: birthDate.flatMap { CivilDate(parsing: $0) }, joined: j,
            fullMemberSince: fullMemberSince.flatMap { CivilDate(parsing: $0) }, branch: branch, email: email,
            mobile: mobile, tags: Set(tags.split(separator: ",").compactMap { Tag(name: String($0)) }), status: s,
            smsOptOut: smsOptOut)
    }
}

struct RelationRecord: Codable, FetchableRecord, PersistableRecord, Hashable {
    static let databaseTableName = "relation"
    var kind: String
    var fromPerson: String
    var toID: String

    init(_ r: Relation) {
        kind = r.kind.rawValue
        fromPerson = r.from
        toID = r.to
    }

    var relation: Relation? { RelationKind(rawValue: kind).map { Relation(kind: $0, from: fromPerson, to: toID) } }
}

struct DependantRecord: Codable, FetchableRecord, PersistableRecord, Equatable {
    static let databaseTableName = "dependant"
    var id: String
    var member: String
    var name: String
    var birthDate: String

    init(_ d: Dependant) {
        id = d.id
        member = d.member
        name = d.name
        birthDate = d.birthDate.description
    }

    var dependant: Dependant? {
        CivilDate(parsing: birthDate).map { Dependant(id: id, member: member, name: name, birthDate: $0) }
    }
}

struct EventRecord: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "event"
    var seq: Int64?
    var id: String
    var member: String
    var kind: String
    var date: String
    var ends: String?
    var target: String?
    var note: String?
    var recordedAt: Int64
    var recordedBy: String

    mutating func didInsert(_ inserted: InsertionSuccess) { seq = inserted.rowID }

    var event: Event? {
        guard let k = EventKind(rawValue: kind), let d = CivilDate(parsing: date) else { return nil }
        return Event(
            id: id, member: member, kind: k, date: d, ends: ends.flatMap { CivilDate(parsing: $0) },
            target: target, note: note)
    }
}

struct CompletionRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "completion"
    var occurrence: String
    var date: String
    var byPerson: String?
    var note: String?
    var outcome: String
    var reason: String?
    var recordedAt: Int64
    var recordedBy: String
    var amountFen: Int?

    var completion: Completion? {
        guard let d = CivilDate(parsing: date) else { return nil }
        let o: Completion.Outcome = outcome == "waived" ? .waived(reason: reason ?? "") : .done
        return Completion(occurrence: occurrence, date: d, by: byPerson, note: note, outcome: o, amountFen: amountFen)
    }
}

struct AuditRecord: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "audit"
    var id: Int64?
    var at: Int64
    var actor: String
    var action: String
    var target: String
    var summary: String

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
