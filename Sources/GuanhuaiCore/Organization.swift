public typealias PersonID = String
public typealias UnitID = String

/// Someone's ids in the work apps, as each app names its users.
public struct AppUserIDs: Hashable, Sendable {
    /// 企业微信 userid.
    public var wecom: String?
    /// 钉钉 userid.
    public var dingtalk: String?
    /// 飞书 user_id.
    public var feishu: String?

    public init(wecom: String? = nil, dingtalk: String? = nil, feishu: String? = nil) {
        self.wecom = wecom
        self.dingtalk = dingtalk
        self.feishu = feishu
    }

    public var isEmpty: Bool { wecom == nil && dingtalk == nil && feishu == nil }

    /// These ids (the organisation file's) over `roster`'s, one app at a time: a `[[person]]` entry wins where it
    /// gives an id, the roster's column fills in the rest.
    public func over(_ roster: AppUserIDs?) -> AppUserIDs {
        AppUserIDs(wecom: wecom ?? roster?.wecom, dingtalk: dingtalk ?? roster?.dingtalk, feishu: feishu ?? roster?.feishu)
    }

    /// A userid as the apps allow one: up to 64 characters, no spaces, and none of | , ; (the separators their
    /// APIs put between recipients, which would send one person's links to others).
    public static func isValid(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 64 && !id.contains { $0.isWhitespace || "|,;，；、".contains($0) }
    }
}

/// How a person wants their reminders (提醒方式), where the committee has a work app.
public enum Reach: String, Hashable, Sendable, CaseIterable {
    /// 应用和邮件: the work-app message and the mail.
    case appAndMail = "app+mail"
    /// 仅应用: the work-app message in place of the mail (mail still when the app cannot reach them).
    case app
    /// 仅邮件: mail only.
    case mail

    public var chinese: String {
        switch self {
        case .appAndMail: "应用和邮件"
        case .app: "仅应用"
        case .mail: "仅邮件"
        }
    }

    /// 应用和邮件 / 仅应用 / 仅邮件, or app+mail / app / mail.
    public init?(name: String) {
        let t = name.trimmingCharacters(in: .whitespaces)
        guard let r = Reach(rawValue: t.lowercased()) ?? Reach.allCases.first(where: { $0.chinese == t }) else { return nil }
        self = r
    }
}

/// Someone who can be responsible for an obligation or receive a reminder: a member, a leader, an office.
public struct Person: Hashable, Sendable {
    public var id: PersonID
    public var name: String
    public var email: String?
    public var mobile: String?
    public var wecomUserID: String?
    public var dingtalkUserID: String?
    /// 飞书 user_id.
    public var feishuUserID: String?
    public var roles: Set<PersonRole>
    /// How they want reminders (nil: the committee's default).
    public var reach: Reach?

    /// Their ids in the work apps, as the organisation file gives them.
    public var apps: AppUserIDs { AppUserIDs(wecom: wecomUserID, dingtalk: dingtalkUserID, feishu: feishuUserID) }

    public init(
        id: PersonID, name: String, email: String? = nil, mobile: String? = nil, wecomUserID: String? = nil,
        dingtalkUserID: String? = nil, feishuUserID: String? = nil, roles: Set<PersonRole> = [], reach: Reach? = nil
    ) {
        self.feishuUserID = feishuUserID
        self.reach = reach
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
