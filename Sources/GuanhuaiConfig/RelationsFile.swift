import Foundation
public import GuanhuaiCalendar
public import GuanhuaiCore
import GuanhuaiSystem

/// The relations CSV (docs/configuration.md, "The relations file"): 类型,人员,对象[,姓名,出生日期].
///
/// 类型 is 领导联系, 干部联系困难党员, 结对帮扶, 委员挂联 (对象 a 党总支) or 未成年子女 (人员 the member who died on
/// duty, 对象 the child's id, with 姓名 and 出生日期).
public enum RelationsFile {
    public static let required = ["类型", "人员", "对象"]
    public static let optional = ["姓名", "出生日期", "备注"]

    /// With `today`, a child born after it is refused.
    public static func load(path: String, organization: Organization, members: [Member], today: CivilDate? = nil)
        throws(InputErrors)
        -> (relations: [Relation], dependants: [Dependant])
    {
        let table: CSVTable
        do {
            table = try CSVTable(path: path, required: required, optional: optional)
        } catch {
            throw InputErrors([error])
        }
        let memberIDs = Set(members.map(\.id))
        let known = memberIDs.union(organization.people.keys)
        var errors: [InputError] = []
        var relations: [Relation] = []
        var dependants: [Dependant] = []
        var seen = Set<Relation>()
        for (number, row) in table.rows {
            func fail(_ field: String, _ message: String) {
                errors.append(InputError(file: table.file, location: "row \(number)", field: field, message: message))
            }
            guard let kindName = table.value(row, "类型"), let from = table.value(row, "人员"),
                let to = table.value(row, "对象")
            else {
                fail("类型", L("类型, 人员 and 对象 must all be filled in", "类型、人员、对象都必须填写"))
                continue
            }
            if kindName == "未成年子女" {
                guard memberIDs.contains(from) else {
                    fail("人员", L("unknown member \"\(from)\"", "名册上没有党员「\(from)」"))
                    continue
                }
                guard let name = table.value(row, "姓名") else {
                    fail("姓名", L("a minor child needs a name", "未成年子女须填写姓名"))
                    continue
                }
                guard let b = table.value(row, "出生日期"), let birth = CivilDate(parsing: b) else {
                    fail("出生日期", L("a minor child needs a birth date, YYYY-MM-DD", "未成年子女须填写出生日期，YYYY-MM-DD"))
                    continue
                }
                if let problem = birth.pastDateProblem(today: today) {
                    fail("出生日期", problem)
                    continue
                }
                dependants.append(Dependant(id: to, member: from, name: name, birthDate: birth))
                continue
            }
            guard let kind = RelationKind(name: kindName) else {
                fail(
                    "类型",
                    L("unknown relation \"\(kindName)\"; use 领导联系, 干部联系困难党员, 结对帮扶, 委员挂联 or 未成年子女", "不认识的关系「\(kindName)」；请用 领导联系、干部联系困难党员、结对帮扶、委员挂联 或 未成年子女"))
                continue
            }
            guard known.contains(from) else {
                fail("人员", L("unknown person \"\(from)\"; add them to the roster or to organization.toml", "没有「\(from)」这个人；请加入名册或 organization.toml"))
                continue
            }
            if kind == .committeeLink {
                guard organization.unit(to)?.kind == .generalBranch else {
                    fail("对象", L("\"\(to)\" is not a 党总支 in organization.toml", "「\(to)」不是 organization.toml 中的党总支"))
                    continue
                }
            } else if !memberIDs.contains(to) {
                fail("对象", L("unknown member \"\(to)\"", "名册上没有党员「\(to)」"))
                continue
            }
            let r = Relation(kind: kind, from: from, to: to)
            if seen.insert(r).inserted { relations.append(r) }
        }
        if !errors.isEmpty { throw InputErrors(errors) }
        return (relations, dependants)
    }
}
