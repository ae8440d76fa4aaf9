import Foundation
public import GuanhuaiCalendar
public import GuanhuaiCore
import GuanhuaiSystem

/// The roster CSV (docs/configuration.md, "The roster file"): one member a row, Chinese headers.
public enum RosterFile {
    public static let required = ["编号", "姓名", "入党日期", "所在支部"]
    public static let optional = ["性别", "出生日期", "转正日期", "邮箱", "手机", "短信", "标签", "状态", "企业微信", "钉钉", "飞书", "提醒方式"]

    /// `[files] max_members` when config.toml does not set it.
    public static let defaultMaxMembers = 200_000

    /// With `today`, dates of birth and joining after it are refused (an import); without, they are not checked.
    public static func load(
        path: String, organization: Organization, today: CivilDate? = nil, maxMembers: Int = defaultMaxMembers
    ) throws(InputErrors) -> [Member] {
        let table: CSVTable
        do {
            table = try CSVTable(path: path, required: required, optional: optional)
        } catch {
            throw InputErrors([error])
        }
        return try parse(table, organization: organization, today: today, maxMembers: maxMembers)
    }

    public static func parse(
        text: String, file: String, organization: Organization, today: CivilDate? = nil,
        maxMembers: Int = defaultMaxMembers
    ) throws(InputErrors) -> [Member] {
        let table: CSVTable
        do {
            table = try CSVTable(text: text, file: file, required: required, optional: optional)
        } catch {
            throw InputErrors([error])
        }
        return try parse(table, organization: organization, today: today, maxMembers: maxMembers)
    }

    static func parse(_ table: CSVTable, organization: Organization, today: CivilDate?, maxMembers: Int)
        throws(InputErrors) -> [Member]
    {
        if table.rows.count > maxMembers {
            let (row, _) = table.rows[maxMembers]
            throw InputErrors([
                InputError(
                    file: table.file, location: "row \(row)",
                    message: L(
                        "the roster has \(table.rows.count) rows, more than [files] max_members = \(maxMembers) allows; check that this is your organisation's roster, and if it is, raise max_members in config.toml",
                        "名册有 \(table.rows.count) 行，超过 [files] max_members = \(maxMembers) 的上限；请确认这是本组织的名册，如果是，请在 config.toml 调高 max_members"))
            ])
        }
        var errors: [InputError] = []
        var members: [Member] = []
        var firstRow: [PersonID: Int] = [:]
        /// Each work-app userid and the row that has it (column, id → row).
        var appRows: [String: Int] = [:]
        // Branches may be named by id or by name, as a spreadsheet kept by people usually has them.
        var branches: [String: UnitID] = [:]
        for u in organization.units.values where u.kind == .branch {
            branches[u.id] = u.id
            branches[u.name] = u.id
        }
        for (number, row) in table.rows {
            func fail(_ field: String?, _ message: String) {
                errors.append(InputError(file: table.file, location: "row \(number)", field: field, message: message))
            }
            func date(_ column: String) -> CivilDate?? {
                guard let s = table.value(row, column) else { return .some(nil) }
                guard let d = CivilDate(parsing: s) else {
                    fail(column, L("\"\(s)\" is not a date; write YYYY-MM-DD, YYYY/M/D or YYYY年M月D日", "「\(s)」不是日期；请写成 YYYY-MM-DD、YYYY/M/D 或 YYYY年M月D日"))
                    return nil
                }
                guard d.isSupported else {
                    fail(
                        column,
                        L(
                            "\(d) is out of range; dates run \(CivilDate.supportedText(chinese: Lang.chinese))",
                            "\(d) 超出范围；日期须在 \(CivilDate.supportedText(chinese: Lang.chinese))"))
                    return nil
                }
                return .some(d)
            }
            let before = errors.count
            let id = table.value(row, "编号")
            let name = table.value(row, "姓名")
            if id == nil { fail("编号", L("is empty; every member needs an id", "为空；每名党员都要有编号")) }
            if name == nil { fail("姓名", L("is empty", "为空")) }
            if let id, let first = firstRow[id] { fail("编号", L("\"\(id)\" is also the id on row \(first)", "「\(id)」与第 \(first) 行的编号重复")) }
            let joined = date("入党日期")
            if case .some(nil) = joined { fail("入党日期", L("is empty; the date of joining is required", "为空；入党日期必填")) }
            let full = date("转正日期")
            let birth = date("出生日期")
            var branch: UnitID?
            if let b = table.value(row, "所在支部") {
                branch = branches[b]
                if branch == nil {
                    let known = organization.units(of: .branch).map(\.name).joined(separator: "、")
                    fail("所在支部", L("unknown branch \"\(b)\"; the organisation file has \(known)", "没有「\(b)」这个支部；组织文件中的支部有：\(known)"))
                }
            } else {
                fail("所在支部", L("is empty", "为空"))
            }
            var tags: Set<Tag> = []
            if let t = table.value(row, "标签") {
                for part in t.split(whereSeparator: { "、;；,，".contains($0) }) {
                    let name = part.trimmingCharacters(in: .whitespaces)
                    if name.isEmpty { continue }
                    if let tag = Tag(name: name) {
                        tags.insert(tag)
                    } else {
                        fail(
                            "标签",
                            L(
                                "unknown tag \"\(name)\"; use \(Tag.allCases.map(\.rawValue).joined(separator: "、"))",
                                "不认识的标签「\(name)」；可用：\(Tag.allCases.map(\.rawValue).joined(separator: "、"))"))
                    }
                }
            }
            if tags.contains(.longTermHardship) { tags.insert(.hardship) }
            var status = MemberStatus.active
            if let s = table.value(row, "状态") {
                status = parseStatus(s) ?? .active
                if parseStatus(s) == nil {
                    fail("状态", L("\"\(s)\" is not a status; write 正常, 已故 YYYY-MM-DD or 转出 YYYY-MM-DD", "「\(s)」不是状态；请写 正常、已故 YYYY-MM-DD 或 转出 YYYY-MM-DD"))
                }
            }
            let email = table.value(row, "邮箱")
            if let email, !email.contains("@") { fail("邮箱", L("\"\(email)\" is not an e-mail address", "「\(email)」不是电子邮箱地址")) }
            var mobile: String?
            if let m = table.value(row, "手机") {
                mobile = MobileNumber.mainland(m)
                if mobile == nil {
                    fail(
                        "手机",
                        L(
                            "\"\(m)\" is not a mainland China mobile number (11 digits starting 13–19, optionally +86); SMS and chat mentions need one",
                            "「\(m)」不是中国大陆手机号（以 13–19 开头的 11 位数字，可带 +86）；短信和群聊@需要正确的手机号"))
                }
            }
            var smsOptOut = false
            if let s = table.value(row, "短信") {
                switch s.lowercased() {
                case "是", "y", "yes", "true", "1": smsOptOut = false
                case "否", "n", "no", "false", "0": smsOptOut = true
                default: fail("短信", L("\"\(s)\" is neither 是 nor 否", "「\(s)」应为「是」或「否」"))
                }
            }
            var apps = AppUserIDs()
            for (column, key) in [("企业微信", \AppUserIDs.wecom), ("钉钉", \AppUserIDs.dingtalk), ("飞书", \AppUserIDs.feishu)] {
                guard let v = table.value(row, column) else { continue }
                if !AppUserIDs.isValid(v) {
                    fail(
                        column,
                        L(
                            "\"\(v)\" is not a \(column) userid: up to 64 characters, without spaces or | , ;",
                            "「\(v)」不是\(column)账号（userid）：不超过 64 个字符，不含空格和 | , ;"))
                } else if let other = appRows[column + "\u{1F}" + v] {
                    fail(
                        column,
                        L(
                            "\(column) userid \"\(v)\" is also row \(other)'s: each member's messages would reach the other",
                            "\(column)账号「\(v)」与第 \(other) 行重复：两人会收到对方的消息"))
                } else {
                    appRows[column + "\u{1F}" + v] = number
                    apps[keyPath: key] = v
                }
            }
            var reach: Reach?
            if let text = table.value(row, "提醒方式") {
                reach = Reach(name: text)
                if reach == nil {
                    fail("提醒方式", L("\"\(text)\" is not 应用和邮件, 仅应用 or 仅邮件", "「\(text)」应为「应用和邮件」「仅应用」或「仅邮件」"))
                }
            }
            if case .some(.some(let j)) = joined, case .some(.some(let f)) = full, f < j {
                fail("转正日期", L("\(f) is before the date of joining \(j)", "\(f) 早于入党日期 \(j)"))
            }
            if case .some(.some(let j)) = joined, case .some(.some(let b)) = birth, j <= b {
                fail("入党日期", L("\(j) is not after the date of birth \(b)", "\(j) 不晚于出生日期 \(b)"))
            }
            if let today, case .some(.some(let j)) = joined, j > today {
                fail("入党日期", L("\(j) is in the future (today is \(today))", "\(j) 是将来的日期（今天是 \(today)）"))
            }
            if let today, case .some(.some(let b)) = birth, b > today {
                fail("出生日期", L("\(b) is in the future (today is \(today))", "\(b) 是将来的日期（今天是 \(today)）"))
            }
            guard errors.count == before, let id, let name, case .some(.some(let j)) = joined, let branch else {
                continue
            }
            firstRow[id] = number
            members.append(
                Member(
                    id: id, name: name, gender: table.value(row, "性别"), birthDate: birth ?? nil, joined: j,
                    fullMemberSince: full ?? nil, branch: branch, email: email, mobile: mobile,
                    tags: tags, status: status, smsOptOut: smsOptOut, apps: apps, reach: reach))
        }
        if !errors.isEmpty { throw InputErrors(errors) }
        return members
    }

    /// 正常; 已故 2025-03-04; 转出（2024/9/1）; the date may follow with any separator.
    static func parseStatus(_ s: String) -> MemberStatus? {
        let t = s.trimmingCharacters(in: .whitespaces)
        if t == "正常" || t == "active" { return .active }
        for (word, make) in [("已故", MemberStatus.deceased), ("转出", MemberStatus.transferredOut)] where t.hasPrefix(word) {
            let rest = t.dropFirst(word.count).trimmingCharacters(in: CharacterSet(charactersIn: " :：()（）,，"))
            guard let d = CivilDate(parsing: rest) else { return nil }
            return make(d)
        }
        return nil
    }
}

/// Mainland China mobile numbers, as SMS providers take them.
public enum MobileNumber {
    /// The 11 digits of a mainland mobile number written with spaces, hyphens or a +86/0086 prefix; nil otherwise.
    public static func mainland(_ text: String) -> String? {
        var digits = text.filter { !" -()（）".contains($0) }
        for prefix in ["+86", "0086", "86"] where digits.hasPrefix(prefix) && digits.count == 11 + prefix.count {
            digits = String(digits.dropFirst(prefix.count))
        }
        let u = Array(digits.utf8)
        guard u.count == 11, u[0] == UInt8(ascii: "1"), (UInt8(ascii: "3")...UInt8(ascii: "9")).contains(u[1]),
            u.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        return digits
    }
}
