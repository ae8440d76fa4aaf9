import Foundation
public import GuanhuaiCalendar
public import GuanhuaiCore
import GuanhuaiSystem

/// An optional events CSV (docs/configuration.md): 编号,党员,类型,日期[,结束日期,对象,备注]. The store (`guanhuai event add`)
/// is the usual home of events; a file suits a first import and the example.
public enum EventsFile {
    public static let required = ["编号", "党员", "类型", "日期"]
    public static let optional = ["结束日期", "对象", "备注"]

    /// With `members` nil (the roster lives in the database) the member ids are not checked here.
    /// With `today`, events dated after it are refused.
    public static func load(path: String, members: [Member]?, people: Set<PersonID>, today: CivilDate? = nil)
        throws(InputErrors) -> [Event]
    {
        let table: CSVTable
        do {
            table = try CSVTable(path: path, required: required, optional: optional)
        } catch {
            throw InputErrors([error])
        }
        let byID = members.map { Dictionary($0.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }) }
        var errors: [InputError] = []
        var events: [Event] = []
        var ids = Set<String>()
        var deaths: [PersonID: String] = [:]
        for (number, row) in table.rows {
            func fail(_ field: String, _ message: String) {
                errors.append(InputError(file: table.file, location: "row \(number)", field: field, message: message))
            }
            guard let id = table.value(row, "编号"), ids.insert(id).inserted else {
                fail("编号", L("every event needs its own id", "每个事件都要有自己的编号（为空或重复）"))
                continue
            }
            guard let memberID = table.value(row, "党员"), byID == nil || byID?[memberID] != nil else {
                fail("党员", L("unknown member \"\(table.value(row, "党员") ?? "")\"", "名册上没有党员「\(table.value(row, "党员") ?? "")」"))
                continue
            }
            let member = byID?[memberID]
            guard let k = table.value(row, "类型"), let kind = EventKind(name: k) else {
                fail(
                    "类型",
                    L(
                        "unknown event kind \"\(table.value(row, "类型") ?? "")\"; see docs/configuration.md, \"Event kinds\"",
                        "不认识的事件类型「\(table.value(row, "类型") ?? "")」；见 docs/configuration.md「Event kinds」"))
                continue
            }
            guard let d = table.value(row, "日期"), let date = CivilDate(parsing: d) else {
                fail("日期", L("is not a date; write YYYY-MM-DD", "不是日期；请写成 YYYY-MM-DD"))
                continue
            }
            if let problem = date.pastDateProblem(today: today) {
                fail("日期", problem + (date.isSupported ? L("; record an event once it has happened", "；事件发生后再登记") : ""))
                continue
            }
            let isDeath = kind == .death || kind == .deathOnDuty
            if isDeath, let first = deaths[memberID] {
                fail("类型", L("\(memberID) already has a death recorded (event \(first)); a member dies once", "\(memberID) 已登记过去世（事件 \(first)），不能再登记"))
                continue
            }
            if case .deceased(let died) = member?.status, date > died, !isDeath {
                fail(
                    "日期",
                    L(
                        "\(date) is after \(member?.name ?? memberID) died (\(died)); no event can follow a death",
                        "\(date) 在 \(member?.name ?? memberID) 去世（\(died)）之后；去世后不能再有事件"))
                continue
            }
            if isDeath { deaths[memberID] = id }
            if let member, date < member.joined && kind != .development {
                fail("日期", L("\(date) is before \(member.name) joined (\(member.joined))", "\(date) 早于 \(member.name) 入党（\(member.joined)）"))
                continue
            }
            var ends: CivilDate?
            if let e = table.value(row, "结束日期") {
                guard let d = CivilDate(parsing: e), d >= date else {
                    fail("结束日期", L("\"\(e)\" is not a date on or after \(date)", "「\(e)」不是 \(date) 当天或之后的日期"))
                    continue
                }
                ends = d
            }
            let target = table.value(row, "对象")
            if let target, byID != nil, !people.contains(target) {
                fail("对象", L("unknown person \"\(target)\"", "没有「\(target)」这个人"))
                continue
            }
            events.append(
                Event(
                    id: id, member: memberID, kind: kind, date: date, ends: ends, target: target,
                    note: table.value(row, "备注")))
        }
        if !errors.isEmpty { throw InputErrors(errors) }
        return events
    }
}
