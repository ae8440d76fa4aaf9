// Planning benchmark: one year of the default catalog for N synthetic members.
//
//     swift build -c release --product PlanBenchmark
//     taskset -c 0 .build/release/PlanBenchmark 100000 1000000
//
// Members are generated deterministically on the example organisation (Config/) with the tag mix of a real
// committee; 1 % have an event in the year, every 50th member is contacted by a leader.
import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore

#if canImport(Glibc)
    import Glibc
#endif

struct LCG {
    var state: UInt64
    mutating func next(_ n: Int) -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((state >> 33) % UInt64(n))
    }
}

func peakRSSMegabytes() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}

let configPath = ProcessInfo.processInfo.environment["GUANHUAI_CONFIG"] ?? "Config/config.toml"
let config = try Configuration.load(path: configPath)
let branches = config.organization.units(of: .branch).map(\.id)
let sizes = CommandLine.arguments.dropFirst().compactMap { Int($0) }

for n in sizes.isEmpty ? [100_000] : sizes {
    var rng = LCG(state: 42)
    var members: [Member] = []
    members.reserveCapacity(n)
    var events: [Event] = []
    var relations: [Relation] = []
    let kinds: [EventKind] = [.illness, .jobChange, .setback, .familyCrisis, .talkRequest, .discipline]
    for i in 0..<n {
        let birth = CivilDate(dayNumber: CivilDate(1940, 1, 1)!.dayNumber + rng.next(65 * 365))
        let joined = birth.adding(days: (18 + rng.next(20)) * 365 + rng.next(365))
        var tags: Set<Tag> = []
        let r = rng.next(100)
        if r < 10 { tags.insert(.hardship) }
        if r < 3 { tags.insert(.longTermHardship) }
        if rng.next(100) < 5 { tags.insert(.seriouslyIllElderly) }
        if rng.next(100) < 1 { tags.insert(.honoree) }
        let id = "B\(i)"
        members.append(
            Member(
                id: id, name: "党员\(i)", birthDate: birth, joined: joined, branch: branches[i % branches.count],
                email: "\(id)@example.edu.cn", tags: tags))
        if i % 100 == 0 {
            let kind = kinds[rng.next(kinds.count)]
            let d = CivilDate(2027, 1, 1)!.adding(days: rng.next(365))
            events.append(
                Event(
                    id: "EV\(i)", member: id, kind: kind, date: d, ends: kind == .discipline ? d.adding(days: 180) : nil,
                    target: kind == .talkRequest ? "L01" : nil))
        }
        if i % 50 == 0 { relations.append(Relation(kind: .leaderContact, from: ["L01", "L02", "L03"][rng.next(3)], to: id)) }
    }
    let input = PlanInput(
        organization: config.organization, members: members, relations: relations, events: events,
        rules: config.rules, settings: config.settings)
    let query = PlanQuery(
        from: CivilDate(2027, 1, 1)!, to: CivilDate(2027, 12, 31)!, now: Int64(CivilDate(2027, 3, 1)!.dayNumber) * 86400)
    let clock = ContinuousClock()
    var best = Duration.seconds(1000)
    var count = 0
    var reminders = 0
    for _ in 0..<3 {
        let start = clock.now
        let planner = Planner(input)
        let occurrences = planner.plan(query)
        let elapsed = clock.now - start
        best = min(best, elapsed)
        count = occurrences.count
        reminders = occurrences.reduce(0) { $0 + $1.reminders.count }
    }
    let seconds = Double(best.components.seconds) + Double(best.components.attoseconds) / 1e18
    print(
        String(
            format: "plan 1 year, %7d members: %8.3f s (best of 3)  %8d occurrences  %9d reminders  peak RSS %6.0f MB",
            n, seconds, count, reminders, peakRSSMegabytes()))
}
