public typealias PersonID = String
public typealias UnitID = String

/// Someone who can be responsible for an obligation or receive a reminder: a member, a leader, an office.
public struct Person: Hashable, Sendable {
    public var id: PersonID
    public var name: String
    public var email: String?
    public var mobile: String?
    public var wecomUserID: String?
    public var dingtalkUserID: String?
    public var roles: Set<PersonRole>

    public init(
        id: PersonID, name: String, email: String? = nil, mobile: String? = nil, wecomUserID: String? = nil,
        dingtalkUserID: String? = nil, roles: Set<PersonRole> = []
    ) {
        self.id = id
        self.name = name
        self.email = email
        self.mobile = mobile
        self.wecomUserID = wecomUserID
        self.dingtalkUserID = dingtalkUserID
        self.roles = roles
    }
}

public enum PersonRole: String, CaseIterable, Sendable {
    /// 校领导: directly contacts at least two members (X四).
    case leader
    /// 副科级及以上党员领导干部: contacts at least one member in hardship (Q一.2).
    case cadre
}

public enum UnitKind: String, CaseIterable, Sendable {
    case committee  // 党委
    case generalBranch = "general-branch"  // 党总支
    case branch  // 党支部

    public var chinese: String {
        switch self {
        case .committee: "党委"
        case .generalBranch: "党总支"
        case .branch: "党支部"
        }
    }
}

public struct OrgUnit: Hashable, Sendable {
    public var id: UnitID
    public var name: String
    public var kind: UnitKind
    public var parent: UnitID?
    public var secretary: PersonID?
    /// 委员: members of the unit's committee.
    public var committeeMembers: [PersonID]

    public init(
        id: UnitID, name: String, kind: UnitKind, parent: UnitID?, secretary: PersonID?,
        committeeMembers: [PersonID] = []
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.parent = parent
        self.secretary = secretary
        self.committeeMembers = committeeMembers
    }
}

/// The organisation tree: 党委 → 党总支 → 党支部 (a 党支部 may hang directly under the 党委), and the people who
/// are not (or not only) roster members: leaders, secretaries, the 组织部 office.
public struct Organization: Sendable {
    public var committee: OrgUnit
    public var units: [UnitID: OrgUnit]
    /// The 组织部 contact: a person (often an office mailbox or bot) who receives what goes "to 组织部".
    public var organizationDepartment: PersonID
    public var people: [PersonID: Person]

    public init(committee: OrgUnit, units: [OrgUnit], organizationDepartment: PersonID, people: [Person]) {
        self.committee = committee
        var all = Dictionary(units.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        all[committee.id] = committee
        self.units = all
        self.organizationDepartment = organizationDepartment
        self.people = Dictionary(people.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// A placeholder for an organisation not loaded yet.
    public static let empty = Organization(
        committee: OrgUnit(id: "", name: "", kind: .committee, parent: nil, secretary: nil), units: [],
        organizationDepartment: "", people: [])

    public func unit(_ id: UnitID) -> OrgUnit? { units[id] }

    public func parent(of id: UnitID) -> OrgUnit? { units[id]?.parent.flatMap { units[$0] } }

    /// The unit and every unit above it, nearest first, up to and including the committee. The one walk up the tree:
    /// bounded by the number of units, so a parent cycle (which the organisation file refuses) cannot hang it.
    public func lineage(of id: UnitID) -> [OrgUnit] {
        var out: [OrgUnit] = []
        var current = units[id]
        while let u = current, out.count <= units.count {
            out.append(u)
            if u.kind == .committee { break }
            current = u.parent.flatMap { units[$0] }
        }
        return out
    }

    /// Units of a kind, sorted by id so every iteration is deterministic.
    public func units(of kind: UnitKind) -> [OrgUnit] {
        units.values.filter { $0.kind == kind }.sorted { $0.id < $1.id }
    }

    /// The units that report to the committee: every 党总支, and every 党支部 directly under the committee.
    public var reportingUnits: [OrgUnit] {
        units.values.filter {
            $0.kind == .generalBranch || ($0.kind == .branch && $0.parent == committee.id)
        }.sorted { $0.id < $1.id }
    }

    public var committeeSecretary: PersonID? { committee.secretary }

    /// The units this person is secretary of, and every unit below them (bounded by the number of units).
    public func unitsLed(by person: PersonID) -> Set<UnitID> {
        var led = Set(units.values.filter { $0.secretary == person }.map(\.id))
        var grew = !led.isEmpty
        while grew {
            let below = units.values.filter { u in u.parent.map(led.contains) ?? false }.map(\.id)
            grew = !Set(below).isSubset(of: led)
            led.formUnion(below)
        }
        return led
    }
}
