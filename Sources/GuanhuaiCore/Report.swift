public import GuanhuaiCalendar

/// 组织部's compliance report: for each unit (rolled up the tree), rule or responsible person, what was due in a
/// period and what became of it. Pure: the rows come from the same occurrences `plan` prints.
public struct Report: Sendable {
    public enum Grouping: String, Sendable, CaseIterable {
        case unit, rule, person
    }

    /// What became of one obligation due in the period, as of `now`.
    public enum Outcome: Sendable, Equatable {
        case onTime
        /// Done this many days after its due date.
        case late(days: Int)
        case overdue
        case notYetDue
        case waived

        public init?(_ o: Occurrence) {
            switch o.status {
            case .waived: self = .waived
            case .overdue: self = .overdue
            case .pending: self = .notYetDue
            // Before the committee started with guanhuai: not counted.
            case .history: return nil
            case .done:
                guard let on = o.closedOn else {
                    self = .onTime
                    return
                }
                let days = o.due.days(until: on)
                self = days > 0 ? .late(days: days) : .onTime
            }
        }
    }

    public struct Figures: Sendable, Equatable {
        public var due = 0
        public var onTime = 0
        public var late = 0
        public var overdue = 0
        public var notYetDue = 0
        public var waived = 0
        /// Days late of each late completion (for the median).
        public var lateDays: [Int] = []
        /// 慰问金 recorded, in fen.
        public var amountFen = 0

        public init() {}

        public var done: Int { onTime + late }
        /// done ÷ (due − waived); nil when nothing counted.
        public var coverage: Double? { due - waived > 0 ? Double(done) / Double(due - waived) : nil }
        /// The median of the days late of late completions; nil when none was late.
        public var medianDaysLate: Double? {
            guard !lateDays.isEmpty else { return nil }
            let s = lateDays.sorted()
            return s.count % 2 == 1 ? Double(s[s.count / 2]) : Double(s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }

        mutating func add(_ o: Occurrence, _ outcome: Outcome) {
            due += 1
            switch outcome {
            case .onTime: onTime += 1
            case .late(let d):
                late += 1
                lateDays.append(d)
            case .overdue: overdue += 1
            case .notYetDue: notYetDue += 1
            case .waived: waived += 1
            }
            amountFen += o.closedAmountFen ?? 0
        }

        public static func + (a: Figures, b: Figures) -> Figures {
            var r = a
            r.due += b.due
            r.onTime += b.onTime
            r.late += b.late
            r.overdue += b.overdue
            r.notYetDue += b.notYetDue
            r.waived += b.waived
            r.lateDays += b.lateDays
            r.amountFen += b.amountFen
            return r
        }
    }

    public struct Row: Sendable, Equatable {
        /// A unit id, a rule id or a person id.
        public var key: String
        public var name: String
        /// Depth in the tree (units only): 0 for the scope's root.
        public var depth: Int
        /// The unit above (units only), for rolling up.
        public var parent: String?
        public var figures: Figures

        public init(key: String, name: String, depth: Int, parent: String?, figures: Figures) {
            self.key = key
            self.name = name
            self.depth = depth
            self.parent = parent
            self.figures = figures
        }
    }

    public var from: CivilDate
    public var to: CivilDate
    public var grouping: Grouping
    /// The unit the report covers, with everything below it.
    public var scope: UnitID
    public var rows: [Row]
    /// Everything in scope.
    public var total: Figures

    /// The report over `occurrences` (those due in [from, to]; others are ignored), for `scope` and below.
    public init(
        occurrences: [Occurrence], organization org: Organization, rules: [Rule], from: CivilDate, to: CivilDate,
        scope: UnitID, grouping: Grouping, personName: (PersonID) -> String
    ) {
        self.from = from
        self.to = to
        self.grouping = grouping
        self.scope = scope
        // The scope's subtree in depth-first order, children by id.
        var children: [UnitID: [UnitID]] = [:]
        for u in org.units.values where u.id != org.committee.id || u.parent != nil {
            if let p = u.parent { children[p, default: []].append(u.id) }
        }
        var order: [(UnitID, Int)] = []
        var stack: [(UnitID, Int)] = [(scope, 0)]
        var seen = Set<UnitID>()
        while let (id, depth) = stack.popLast(), seen.count <= org.units.count {
            guard seen.insert(id).inserted else { continue }
            order.append((id, depth))
            for c in (children[id] ?? []).sorted().reversed() { stack.append((c, depth + 1)) }
        }
        let inScope = Set(order.map(\.0))
        var own: [UnitID: Figures] = [:]
        var byRule: [String: Figures] = [:]
        var byPerson: [PersonID: Figures] = [:]
        var total = Figures()
        for o in occurrences where o.due >= from && o.due <= to && inScope.contains(o.org) {
            guard let outcome = Outcome(o) else { continue }
            own[o.org, default: Figures()].add(o, outcome)
            byRule[o.rule, default: Figures()].add(o, outcome)
            byPerson[o.responsible, default: Figures()].add(o, outcome)
            total.add(o, outcome)
        }
        self.total = total
        switch grouping {
        case .unit:
            // Rolled up: a unit's row is its own obligations and those of every unit below it.
            var rolled: [UnitID: Figures] = [:]
            for (id, _) in order.reversed() {
                var f = own[id] ?? Figures()
                for c in children[id] ?? [] where inScope.contains(c) { f = f + (rolled[c] ?? Figures()) }
                rolled[id] = f
            }
            rows = order.map { id, depth in
                Row(
                    key: id, name: org.units[id]?.name ?? id, depth: depth, parent: id == scope ? nil : org.units[id]?.parent,
                    figures: rolled[id] ?? Figures())
            }
        case .rule:
            let titles = Dictionary(rules.map { ($0.id, $0.title) }, uniquingKeysWith: { a, _ in a })
            let ruleOrder = rules.map(\.id)
            rows = ruleOrder.compactMap { id in
                byRule[id].map { Row(key: id, name: titles[id] ?? id, depth: 0, parent: nil, figures: $0) }
            }
        case .person:
            rows = byPerson.keys.sorted().map { id in
                Row(key: id, name: personName(id), depth: 0, parent: nil, figures: byPerson[id]!)
            }
        }
    }
}

extension Report.Figures {
    /// Yuan with two decimals, from fen, exactly.
    public static func yuan(_ fen: Int) -> String {
        let sign = fen < 0 ? "-" : ""
        let a = abs(fen)
        let cents = a % 100
        return "\(sign)\(a / 100).\(cents < 10 ? "0" : "")\(cents)"
    }
}
