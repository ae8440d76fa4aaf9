/// A leader or cadre with fewer contacts than the quota asks (X四, Q一.2): who, how many they contact, how many are
/// missing. The quota rule's reminders and `guanhuai check` say the same.
public struct QuotaShortfall: Sendable, Equatable {
    public var person: PersonID
    public var name: String
    /// 领导 (leader: members contacted) or 干部 (cadre: members in hardship contacted).
    public var leaderHas: Int?
    public var leaderNeeds: Int?
    public var cadreHas: Int?
    public var cadreNeeds: Int?

    /// 「王建国：联系党员 1 名，至少 2 名，缺 1 名」.
    public var chinese: String {
        var parts: [String] = []
        if let has = leaderHas, let needs = leaderNeeds {
            parts.append("联系党员 \(has) 名，至少 \(needs) 名，缺 \(needs - has) 名")
        }
        if let has = cadreHas, let needs = cadreNeeds {
            parts.append("联系困难党员 \(has) 名，至少 \(needs) 名，缺 \(needs - has) 名")
        }
        return "\(name)：" + parts.joined(separator: "；")
    }

    public static func all(_ input: PlanInput, members: [PersonID: Member], leaderMin: Int, cadreMin: Int) -> [QuotaShortfall] {
        all(input, member: { members[$0] }, leaderMin: leaderMin, cadreMin: cadreMin)
    }

    public static func all(_ input: PlanInput, member: (PersonID) -> Member?, leaderMin: Int, cadreMin: Int) -> [QuotaShortfall] {
        var leaderCount: [PersonID: Int] = [:]
        var cadreCount: [PersonID: Int] = [:]
        for r in input.relations {
            guard let m = member(r.to), m.status == .active else { continue }
            if r.kind == .leaderContact { leaderCount[r.from, default: 0] += 1 }
            if r.kind == .cadreHardshipContact, m.tags.contains(.hardship) || m.tags.contains(.longTermHardship) {
                cadreCount[r.from, default: 0] += 1
            }
        }
        return input.organization.people.values.sorted { $0.id < $1.id }.compactMap { p in
            var s = QuotaShortfall(person: p.id, name: p.name)
            if p.roles.contains(.leader), leaderCount[p.id, default: 0] < leaderMin {
                s.leaderHas = leaderCount[p.id, default: 0]
                s.leaderNeeds = leaderMin
            }
            if p.roles.contains(.cadre), cadreCount[p.id, default: 0] < cadreMin {
                s.cadreHas = cadreCount[p.id, default: 0]
                s.cadreNeeds = cadreMin
            }
            return s.leaderNeeds == nil && s.cadreNeeds == nil ? nil : s
        }
    }
}
