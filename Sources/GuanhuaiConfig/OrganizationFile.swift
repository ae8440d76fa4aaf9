import Foundation
public import GuanhuaiCore
import TOMLKit

/// `organization.toml`: the committee, its units, and the people who are not on the roster (docs/configuration.md).
public enum OrganizationFile {
    public static func load(path: String) throws(InputError) -> Organization {
        let (text, _) = try TextFile.read(path)
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(InputError) -> Organization {
        let r = try TOMLReader(file: file, text: text)
        let top = TOMLReader.Place(header: nil, index: 0, name: "")
        try r.checkKeys(r.root, allowed: ["committee", "unit", "person"], top)
        guard let c = try r.table(r.root, "committee", top) else {
            throw r.error(top, nil, "missing the [committee] table")
        }
        let cp = TOMLReader.Place(header: "committee", index: 0, name: "[committee]")
        try r.checkKeys(c, allowed: ["id", "name", "secretary", "organization_department", "committee"], cp)
        let committee = OrgUnit(
            id: try r.string(c, "id", cp, required: true)!, name: try r.string(c, "name", cp, required: true)!,
            kind: .committee, parent: nil, secretary: try r.string(c, "secretary", cp),
            committeeMembers: try r.strings(c, "committee", cp) ?? [])
        let orgDept = try r.string(c, "organization_department", cp, required: true)!

        var units: [OrgUnit] = []
        var unitPlaces: [UnitID: TOMLReader.Place] = [:]
        for (i, t) in try r.tables(r.root, "unit").enumerated() {
            var p = TOMLReader.Place(header: "unit", index: i, name: "unit #\(i + 1)")
            try r.checkKeys(t, allowed: ["id", "name", "kind", "parent", "secretary", "committee"], p)
            let id = try r.string(t, "id", p, required: true)!
            p.name = "unit #\(i + 1) (\(id))"
            if unitPlaces[id] != nil || id == committee.id { throw r.error(p, "id", "unit id \"\(id)\" is used twice") }
            let kindName = try r.string(t, "kind", p, required: true)!
            guard let kind = UnitKind(rawValue: kindName), kind != .committee else {
                throw r.error(p, "kind", "kind is \"general-branch\" (党总支) or \"branch\" (党支部)")
            }
            unitPlaces[id] = p
            units.append(
                OrgUnit(
                    id: id, name: try r.string(t, "name", p, required: true)!, kind: kind,
                    parent: try r.string(t, "parent", p) ?? committee.id, secretary: try r.string(t, "secretary", p),
                    committeeMembers: try r.strings(t, "committee", p) ?? []))
        }
        let byID = Dictionary(units.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for u in units {
            let p = unitPlaces[u.id]!
            guard let parent = u.parent, parent == committee.id || byID[parent] != nil else {
                throw r.error(p, "parent", "parent \"\(u.parent ?? "")\" is not the committee or a unit in this file")
            }
            if u.kind == .generalBranch && parent != committee.id {
                throw r.error(p, "parent", "a general branch (党总支) hangs directly under the committee")
            }
            if u.kind == .branch, parent != committee.id, byID[parent]?.kind != .generalBranch {
                throw r.error(p, "parent", "a branch (党支部) hangs under a general branch (党总支) or the committee")
            }
        }

        var people: [Person] = []
        var seen = Set<PersonID>()
        // A userid given to two people would send one person's links to the other.
        var appOwners: [String: PersonID] = [:]
        for (i, t) in try r.tables(r.root, "person").enumerated() {
            var p = TOMLReader.Place(header: "person", index: i, name: "person #\(i + 1)")
            try r.checkKeys(
                t, allowed: ["id", "name", "email", "mobile", "wecom_userid", "dingtalk_userid", "feishu_user_id", "reach", "roles"], p)
            let id = try r.string(t, "id", p, required: true)!
            p.name = "person #\(i + 1) (\(id))"
            guard seen.insert(id).inserted else { throw r.error(p, "id", "person id \"\(id)\" is used twice") }
            var roles: Set<PersonRole> = []
            for name in try r.strings(t, "roles", p) ?? [] {
                guard let role = PersonRole(rawValue: name) else {
                    throw r.error(p, "roles", "unknown role \"\(name)\"; use leader (校领导) or cadre (副科级以上)")
                }
                roles.insert(role)
            }
            let email = try r.string(t, "email", p)
            if let email, !email.contains("@") { throw r.error(p, "email", "\"\(email)\" is not an e-mail address") }
            var apps: [String: String] = [:]
            for key in ["wecom_userid", "dingtalk_userid", "feishu_user_id"] {
                guard let v = try r.string(t, key, p) else { continue }
                guard AppUserIDs.isValid(v) else {
                    throw r.error(p, key, "\"\(v)\" is not a userid: up to 64 characters, without spaces or | , ;")
                }
                if let other = appOwners[key + "\u{1F}" + v] {
                    throw r.error(p, key, "\(key) \"\(v)\" is also person \(other)'s: each person's messages would reach the other")
                }
                appOwners[key + "\u{1F}" + v] = id
                apps[key] = v
            }
            var reach: Reach?
            if let text = try r.string(t, "reach", p) {
                guard let value = Reach(name: text) else {
                    throw r.error(p, "reach", "reach is \"app+mail\", \"app\" or \"mail\" (应用和邮件, 仅应用, 仅邮件)")
                }
                reach = value
            }
            people.append(
                Person(
                    id: id, name: try r.string(t, "name", p, required: true)!, email: email,
                    mobile: try r.string(t, "mobile", p), wecomUserID: apps["wecom_userid"], dingtalkUserID: apps["dingtalk_userid"],
                    feishuUserID: apps["feishu_user_id"], roles: roles, reach: reach))
        }
        return Organization(committee: committee, units: units, organizationDepartment: orgDept, people: people)
    }
}
