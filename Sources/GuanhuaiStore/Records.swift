public import GRDB
import GuanhuaiCalendar
public import GuanhuaiCore

// Rows of the schema. Dates are stored as `YYYY-MM-DD` text, instants as UTC seconds. The records read in bulk
// (units, people, members) decode by column index, in the order their `databaseSelection` names, and are only
// Encodable; the others decode with Codable. They are public so that the PostgreSQL store builds the same records
// from its rows and turns them into domain values by the same conversions (`unit`, `person`, `member`, …).

public struct UnitRecord: Encodable, FetchableRecord, PersistableRecord, Equatable, Sendable {
    public static let databaseTableName = "unit"
    /// The column order `init(row:)` reads by index.
    public static var databaseSelection: [any SQLSelectable] {
        ["id", "name", "kind", "parent", "secretary", "committee"].map { Column($0) }
    }
    var id: String
    var name: String
    var kind: String
    var parent: String?
    var secretary: String?
    var committee: String

    public init(id: String, name: String, kind: String, parent: String?, secretary: String?, committee: String) {
        (self.id, self.name, self.kind, self.parent, self.secretary, self.committee) = (id, name, kind, parent, secretary, committee)
    }

    /// Decoding by column index: much faster than Codable for the thousands of rows a large committee has.
    public init(row: Row) {
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

    public var unit: OrgUnit? {
        guard let k = UnitKind(rawValue: kind) else { return nil }
        return OrgUnit(
            id: id, name: name, kind: k, parent: parent, secretary: secretary,
            committeeMembers: committee.split(separator: ",").map(String.init))
    }
}

public struct PersonRecord: Encodable, FetchableRecord, PersistableRecord, Equatable, Sendable {
    public static let databaseTableName = "person"
    public static var databaseSelection: [any SQLSelectable] {
        ["id", "name", "email", "mobile", "wecomUserID", "dingtalkUserID", "roles", "feishuUserID", "reach"].map { Column($0) }
    }
    var id: String
    var name: String
    var email: String?
    var mobile: String?
    var wecomUserID: String?
    var dingtalkUserID: String?
    var roles: String
    var feishuUserID: String?
    var reach: String?

    public init(
        id: String, name: String, email: String?, mobile: String?, wecomUserID: String?, dingtalkUserID: String?, roles: String,
        feishuUserID: String?, reach: String?
    ) {
        (self.id, self.name, self.email, self.mobile) = (id, name, email, mobile)
        (self.wecomUserID, self.dingtalkUserID, self.roles) = (wecomUserID, dingtalkUserID, roles)
        (self.feishuUserID, self.reach) = (feishuUserID, reach)
    }

    public init(row: Row) {
        id = row[0]
        name = row[1]
        email = row[2]
        mobile = row[3]
        wecomUserID = row[4]
        dingtalkUserID = row[5]
        roles = row[6]
        feishuUserID = row[7]
        reach = row[8]
    }

    init(_ p: Person) {
        id = p.id
        name = p.name
        email = p.email
        mobile = p.mobile
        wecomUserID = p.wecomUserID
        dingtalkUserID = p.dingtalkUserID
        roles = p.roles.map(\.rawValue).sorted().joined(separator: ",")
        feishuUserID = p.feishuUserID
        reach = p.reach?.rawValue
    }

    public var person: Person {
        Person(
            id: id, name: name, email: email, mobile: mobile, wecomUserID: wecomUserID,
            dingtalkUserID: dingtalkUserID, feishuUserID: feishuUserID,
            roles: Set(roles.split(separator: ",").compactMap { PersonRole(rawValue: String($0)) }), reach: reach.flatMap(Reach.init(rawValue:)))
    }
}

public struct MemberRecord: Encodable, FetchableRecord, PersistableRecord, Equatable, Sendable {
    public static let databaseTableName = "member"
    public static var databaseSelection: [any SQLSelectable] {
        [
            "id", "name", "gender", "birthDate", "joined", "fullMemberSince", "branch", "email", "mobile", "tags", "status",
            "statusDate", "smsOptOut", "wecomUserID", "dingtalkUserID", "feishuUserID", "reach",
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
    var wecomUserID: String?
    var dingtalkUserID: String?
    var feishuUserID: String?
    var reach: String?

    public enum Columns {
        static let id = Column("id")
        static let branch = Column("branch")
    }

    public init(
        id: String, name: String, gender: String?, birthDate: String?, joined: String, fullMemberSince: String?, branch: String,
        email: String?, mobile: String?, tags: String, status: String, statusDate: String?, smsOptOut: Bool, wecomUserID: String?,
        dingtalkUserID: String?, feishuUserID: String?, reach: String?
    ) {
        (self.id, self.name, self.gender, self.birthDate, self.joined, self.fullMemberSince) = (id, name, gender, birthDate, joined, fullMemberSince)
        (self.branch, self.email, self.mobile, self.tags, self.status, self.statusDate) = (branch, email, mobile, tags, status, statusDate)
        self.smsOptOut = smsOptOut
        (self.wecomUserID, self.dingtalkUserID, self.feishuUserID, self.reach) = (wecomUserID, dingtalkUserID, feishuUserID, reach)
    }

    public init(row: Row) {
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
        wecomUserID = row[13]
        dingtalkUserID = row[14]
        feishuUserID = row[15]
        reach = row[16]
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
        wecomUserID = m.apps.wecom
        dingtalkUserID = m.apps.dingtalk
        feishuUserID = m.apps.feishu
        reach = m.reach?.rawValue
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

    public var member: Member? {
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
            smsOptOut: smsOptOut, apps: AppUserIDs(wecom: wecomUserID, dingtalk: dingtalkUserID, feishu: feishuUserID),
            reach: reach.flatMap(Reach.init(rawValue:)))
    }
}

public struct RelationRecord: Codable, FetchableRecord, PersistableRecord, Hashable, Sendable {
    public static let databaseTableName = "relation"
    var kind: String
    var fromPerson: String
    var toID: String

    public init(kind: String, fromPerson: String, toID: String) {
        (self.kind, self.fromPerson, self.toID) = (kind, fromPerson, toID)
    }

    init(_ r: Relation) {
        kind = r.kind.rawValue
        fromPerson = r.from
        toID = r.to
    }

    public var relation: Relation? { RelationKind(rawValue: kind).map { Relation(kind: $0, from: fromPerson, to: toID) } }
}

public struct DependantRecord: Codable, FetchableRecord, PersistableRecord, Equatable, Sendable {
    public static let databaseTableName = "dependant"
    var id: String
    var member: String
    var name: String
    var birthDate: String

    public init(id: String, member: String, name: String, birthDate: String) {
        (self.id, self.member, self.name, self.birthDate) = (id, member, name, birthDate)
    }

    init(_ d: Dependant) {
        id = d.id
        member = d.member
        name = d.name
        birthDate = d.birthDate.description
    }

    public var dependant: Dependant? {
        CivilDate(parsing: birthDate).map { Dependant(id: id, member: member, name: name, birthDate: $0) }
    }
}

public struct EventRecord: Codable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "event"
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

    public init(
        seq: Int64?, id: String, member: String, kind: String, date: String, ends: String?, target: String?, note: String?, recordedAt: Int64,
        recordedBy: String
    ) {
        (self.seq, self.id, self.member, self.kind, self.date, self.ends) = (seq, id, member, kind, date, ends)
        (self.target, self.note, self.recordedAt, self.recordedBy) = (target, note, recordedAt, recordedBy)
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { seq = inserted.rowID }

    public var event: Event? {
        guard let k = EventKind(rawValue: kind), let d = CivilDate(parsing: date) else { return nil }
        return Event(
            id: id, member: member, kind: k, date: d, ends: ends.flatMap { CivilDate(parsing: $0) },
            target: target, note: note)
    }
}

public struct CompletionRecord: Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "completion"
    var occurrence: String
    var date: String
    var byPerson: String?
    var note: String?
    var outcome: String
    var reason: String?
    var recordedAt: Int64
    var recordedBy: String
    var amountFen: Int?

    public init(
        occurrence: String, date: String, byPerson: String?, note: String?, outcome: String, reason: String?, recordedAt: Int64,
        recordedBy: String, amountFen: Int?
    ) {
        (self.occurrence, self.date, self.byPerson, self.note, self.outcome) = (occurrence, date, byPerson, note, outcome)
        (self.reason, self.recordedAt, self.recordedBy, self.amountFen) = (reason, recordedAt, recordedBy, amountFen)
    }

    public var completion: Completion? {
        guard let d = CivilDate(parsing: date) else { return nil }
        let o: Completion.Outcome = outcome == "waived" ? .waived(reason: reason ?? "") : .done
        return Completion(occurrence: occurrence, date: d, by: byPerson, note: note, outcome: o, amountFen: amountFen)
    }
}

struct AuditRecord: Codable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "audit"
    var id: Int64?
    var at: Int64
    var actor: String
    var action: String
    var target: String
    var summary: String

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
