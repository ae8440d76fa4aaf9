public import GuanhuaiCalendar

/// The 专项资金 in `guanhuai report`, the workbook and the web report: applications by stage and age, grants and
/// payments by category, unit and source, each source's balance, and the working days each stage took. Kept apart
/// from the 慰问金 recorded with completions (`done --amount`), which the report names as such. Pure: built from
/// the stored applications, their steps and the income.
public struct FundReport: Sendable {
    /// One cell: text, a count, an amount in fen, or a number of working days.
    public enum Cell: Sendable, Equatable {
        case text(String)
        case count(Int)
        case yuan(Int64)
        case days(Double?)

        public var display: String {
            switch self {
            case .text(let s): s
            case .count(let n): String(n)
            case .yuan(let f): Amount.yuan(f)
            case .days(let d): d.map { $0 == $0.rounded() ? String(Int($0)) : String(($0 * 10).rounded() / 10) } ?? "—"
            }
        }
    }

    public struct Table: Sendable, Equatable {
        public var title: String
        public var header: [String]
        public var rows: [[Cell]]
    }

    public var tables: [Table]
    /// Whether there is anything to report (no application and no income: the section is left out).
    public var isEmpty: Bool

    /// - applications: every stored application; those applied in `from…to` are counted, and their steps timed.
    /// - branchOf: each applicant's branch, for the rows by unit (the reporting unit above it).
    public init(
        applications: [FundApplication], steps: [Int64: [FundStep]], income: [FundIncome], from: CivilDate, to: CivilDate,
        today: CivilDate, calendar: WorkCalendar, organization org: Organization, branchOf: [PersonID: UnitID], condolenceFen: Int
    ) {
        let inPeriod = applications.filter { $0.appliedOn >= from && $0.appliedOn <= to }
        isEmpty = inPeriod.isEmpty && income.isEmpty
        var tables: [Table] = []

        // By stage, with the age of the oldest still there (working days since it entered the stage).
        var byStage: [[Cell]] = []
        for stage in FundStage.allCases {
            let here = inPeriod.filter { $0.stage == stage }
            guard !here.isEmpty else { continue }
            let ages = stage.isFinal ? [] : here.map { calendar.workdays(from: $0.stageSince, to: today) }
            byStage.append([.text(stage.words), .count(here.count), .days(ages.max().map(Double.init))])
        }
        tables.append(Table(title: "申请办理情况（按阶段）", header: ["阶段", "件数", "在本阶段最久（工作日）"], rows: byStage))

        // Grants (decided in the period, not since withdrawn or refused) and payments (paid in the period).
        struct Sum {
            var grants = 0
            var grantedFen: Int64 = 0
            var paid = 0
            var paidFen: Int64 = 0
        }
        var byCategory: [String: Sum] = [:]
        var byUnit: [UnitID: Sum] = [:]
        var bySource: [FundSource: Sum] = [:]
        for a in applications {
            let unit = branchOf[a.member].map { FundNotice.unit(ofBranch: $0, in: org) } ?? ""
            for s in steps[a.id] ?? [] where s.on >= from && s.on <= to {
                switch s.action {
                case .decide(_, _, let amount, let source) where a.stage != .withdrawn && a.stage != .rejected:
                    byCategory[a.category, default: Sum()].grants += 1
                    byCategory[a.category, default: Sum()].grantedFen += amount
                    byUnit[unit, default: Sum()].grants += 1
                    byUnit[unit, default: Sum()].grantedFen += amount
                    bySource[source, default: Sum()].grants += 1
                    bySource[source, default: Sum()].grantedFen += amount
                case .pay(_, let amount, let source):
                    byCategory[a.category, default: Sum()].paid += 1
                    byCategory[a.category, default: Sum()].paidFen += amount
                    byUnit[unit, default: Sum()].paid += 1
                    byUnit[unit, default: Sum()].paidFen += amount
                    bySource[source, default: Sum()].paid += 1
                    bySource[source, default: Sum()].paidFen += amount
                default: break
                }
            }
        }
        func rows<K>(_ sums: [K: Sum], _ order: [K], _ name: (K) -> String) -> [[Cell]] {
            var out = order.compactMap { k in
                sums[k].map { s in [.text(name(k)), .count(s.grants), .yuan(s.grantedFen), .count(s.paid), .yuan(s.paidFen)] as [Cell] }
            }
            let t = sums.values.reduce(Sum()) { a, b in
                Sum(grants: a.grants + b.grants, grantedFen: a.grantedFen + b.grantedFen, paid: a.paid + b.paid, paidFen: a.paidFen + b.paidFen)
            }
            out.append([.text("合计"), .count(t.grants), .yuan(t.grantedFen), .count(t.paid), .yuan(t.paidFen)])
            return out
        }
        let sumHeader = ["", "决定资助（件）", "决定金额（元）", "已发放（件）", "发放金额（元）"]
        tables.append(
            Table(title: "资助与发放（按类别）", header: ["类别"] + sumHeader.dropFirst(), rows: rows(byCategory, byCategory.keys.sorted()) { $0 }))
        tables.append(
            Table(
                title: "资助与发放（按单位）", header: ["单位"] + sumHeader.dropFirst(),
                rows: rows(byUnit, byUnit.keys.sorted()) { org.unit($0)?.name ?? $0 }))
        tables.append(
            Table(
                title: "资助与发放（按资金来源）", header: ["资金来源"] + sumHeader.dropFirst(),
                rows: rows(bySource, FundSource.allCases) { $0.rawValue }))

        // Each source's balance now: all income, less every grant decided and not withdrawn or refused.
        let balance = FundLog.balance(income: income, applications: applications)
        tables.append(
            Table(
                title: "资金余额（截至 \(today)）", header: ["资金来源", "收入（元）", "已决定资助（元）", "余额（元）"],
                rows: FundSource.allCases.map { s in
                    let inc = income.filter { $0.source == s }.reduce(Int64(0)) { $0 + $1.amountFen }
                    return [.text(s.rawValue), .yuan(inc), .yuan(inc - (balance[s] ?? 0)), .yuan(balance[s] ?? 0)]
                }))

        // The working days each stage took (closed ones), and the longest still open.
        var took: [FundStage: [Int]] = [:]
        var open: [FundStage: (days: Int, application: Int64)] = [:]
        for a in inPeriod {
            for span in FundLog.workdaysPerStage(a.appliedOn, steps[a.id] ?? [], today: today, calendar: calendar) {
                if span.open {
                    if span.workdays > (open[span.stage]?.days ?? -1) { open[span.stage] = (span.workdays, a.id) }
                } else {
                    took[span.stage, default: []].append(span.workdays)
                }
            }
        }
        tables.append(
            Table(
                title: "各环节用时（工作日）", header: ["环节", "已办结（件）", "用时中位数", "最久未办结", "申请编号"],
                rows: FundStage.allCases.filter { !$0.isFinal && (took[$0] != nil || open[$0] != nil) }.map { s in
                    let done = (took[s] ?? []).sorted()
                    let median: Double? =
                        done.isEmpty ? nil : done.count % 2 == 1 ? Double(done[done.count / 2]) : Double(done[done.count / 2 - 1] + done[done.count / 2]) / 2
                    return [
                        .text(s.words), .count(done.count), .days(median), .days(open[s].map { Double($0.days) }),
                        .text(open[s].map { String($0.application) } ?? ""),
                    ]
                }))
        tables.append(
            Table(
                title: "说明", header: ["项目", "金额（元）"],
                rows: [[.text("走访慰问时登记的慰问金（不属专项资金，见上表「慰问金」列）"), .yuan(Int64(condolenceFen))]]))
        self.tables = tables
    }
}
