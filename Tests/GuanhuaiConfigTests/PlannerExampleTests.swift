import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiTestSupport
import Testing

@Suite struct PlannerExampleTests {
    @Test func springFestivalVisitsOf2027AreDueOnNewYearsEve() throws {
        let occ = Example.plan(from: "2027-01-01", to: "2027-02-28", now: "2026-11-22", rules: ["spring-festival-visit"])
        let y2027 = occ.filter { $0.id.hasPrefix("spring-festival-visit:2027:") }
        #expect(!y2027.isEmpty)
        for o in y2027 {
            #expect(o.due.description == "2027-02-05")  // 除夕: there is no 腊月三十 in 2027
            #expect(o.windowStart.description == "2027-01-08")  // 腊月初一
        }
        // Subjects are the members in hardship and the old members: M014 (生活困难) and M003 (party age 50+).
        let subjects = Set(y2027.compactMap(\.subject))
        #expect(subjects.contains("M014") && subjects.contains("M003"))
        #expect(!subjects.contains("M019"))  // 专家人才 only, 43 years old
        // The responsible is the branch secretary; a reminder goes out at 08:30 Beijing time on the due day.
        let m014 = try #require(y2027.first { $0.subject == "M014" })
        #expect(m014.responsible == "M001")
        // 除夕 is a statutory day off (2027's provisional table): the due-day reminder comes the working day before.
        #expect(m014.reminders.contains { $0.kind == .due && $0.rfc3339 == "2027-02-04T08:30:00+08:00" }, "\(m014.reminders)")
    }

    @Test func julyFirstVisitsAreDueOnJulyFirst() {
        let occ = Example.plan(from: "2027-01-01", to: "2027-12-31", now: "2026-11-22", rules: ["july-first-visit"])
        #expect(!occ.isEmpty)
        #expect(occ.allSatisfy { $0.due.description == "2027-07-01" && $0.windowStart.description == "2027-06-01" })
    }

    @Test func politicalBirthdayIsTheMonthWithAGreetingOnTheDay() throws {
        let occ = Example.plan(from: "2027-02-01", to: "2027-02-28", now: "2026-11-22", rules: ["political-birthday"])
        let m001 = try #require(occ.first { $0.subject == "M001" })  // joined 1990-02-14
        #expect(m001.windowStart.description == "2027-02-01" && m001.due.description == "2027-02-28")
        let greeting = try #require(m001.reminders.first { $0.kind == .greeting })
        #expect(greeting.localDate.description == "2027-02-14" && greeting.to == ["M001"])
        // M001 is the branch secretary, so her own birthday falls to the secretary of the 党总支 above.
        #expect(m001.responsible == "S01")

        let m002 = try #require(occ.first { $0.subject == "M002" })  // joined 1992-02-29
        #expect(m002.reminders.first { $0.kind == .greeting }?.localDate.description == "2027-02-28")
        #expect(m002.responsible == "M001")
    }

    /// The secretary hears of a month's political birthdays on its first day, before any greeting in it: a member
    /// who joined on 1 July is not greeted two weeks before their secretary is first told.
    @Test func theSecretaryIsToldOnTheFirstOfTheMonthBeforeAnyGreeting() throws {
        let occ = Example.plan(from: "2027-01-01", to: "2027-12-31", now: "2026-11-22", rules: ["political-birthday"])
        #expect(occ.count > 20)
        for o in occ {
            let greeting = try #require(o.reminders.first { $0.kind == .greeting })
            let first = try #require(o.reminders.first { $0.to.contains(o.responsible) })
            // On the 1st, or the working day before it when the 1st is a day off (holidays.toml).
            let cal = Example.config.workCalendar!
            #expect(first.localDate == cal.previousWorkday(onOrBefore: o.windowStart) && o.windowStart.day == 1, "\(o.id)")
            #expect(first.at <= greeting.at, "\(o.id)")
        }
    }

    @Test func partyAgeCountsFromFullMembership() throws {
        let members = Example.config.membersByID
        let m003 = try #require(members["M003"])  // joined 1975-06-10: no probation in that era
        #expect(m003.partyAgeStart == PartyAgeStart(date: date("1975-06-10"), derived: true))
        #expect(m003.partyAge(on: date("2025-06-10")) == 50 && m003.partyAge(on: date("2025-06-09")) == 49)
        let m004 = try #require(members["M004"])  // joined 1976-03-01, roster gives 转正 1977-03-01
        #expect(m004.partyAgeStart == PartyAgeStart(date: date("1977-03-01"), derived: false))
        let m005 = try #require(members["M005"])  // joined 1978-03-01, no 转正日期
        #expect(m005.partyAgeStart == PartyAgeStart(date: date("1979-03-01"), derived: true))
        // The edges of the no-probation era (1969-04-01 … 1977-08-11).
        #expect(members["M006"]!.partyAgeStart.date == date("1969-04-01"))
        #expect(members["M007"]!.partyAgeStart.date == date("1977-08-11"))
        #expect(members["M008"]!.partyAgeStart.date == date("1978-08-12"))
        #expect(members["M009"]!.partyAgeStart.date == date("1970-03-31"))
    }

    @Test(arguments: [("M003", 2025), ("M004", 2027), ("M005", 2029), ("M012", 2026), ("M013", 2027), ("M007", 2028)])
    func gloryFiftyIsInTheFirstEligibleYear(_ member: String, _ year: Int) throws {
        let occ = Example.plan(from: "2024-01-01", to: "2030-12-31", now: "2024-01-01", rules: ["glory-50"])
        let mine = occ.filter { $0.subject == member }
        #expect(mine.count == 1, "once per member")
        let o = try #require(mine.first)
        #expect(o.windowStart == CivilDate(year, 5, 1)! && o.due == CivilDate(year, 6, 15)!)
        #expect(o.responsible == "ZZB")
    }

    @Test func gloryFiftyStaysOpenUntilTheMedalIsRecorded() {
        let open = Example.plan(from: "2027-01-01", to: "2027-12-31", now: "2027-03-01", rules: ["glory-50"])
        #expect(open.contains { $0.id == "glory-50:M003" && $0.status == .overdue })
        let recorded = Example.plan(
            from: "2027-01-01", to: "2027-12-31", now: "2027-03-01", rules: ["glory-50"],
            completions: [Completion(occurrence: "glory-50:M003", date: date("2025-06-01"), by: "ZZB")])
        #expect(!recorded.contains { $0.id == "glory-50:M003" })
    }

    @Test func annualTalkClosesWithACompletionAndOpensNextYear() {
        let id = "branch-annual-talk:2027:M014"
        let before = Example.plan(from: "2027-01-01", to: "2028-12-31", now: "2027-03-01", rules: ["branch-annual-talk"])
        #expect(before.first { $0.id == id }?.status == .pending)
        #expect(before.first { $0.id == id }?.reminders.isEmpty == false)
        let done = Completion(occurrence: id, date: date("2027-03-02"), by: "M001", note: "谈心谈话")
        let after = Example.plan(
            from: "2027-01-01", to: "2028-12-31", now: "2027-03-03", rules: ["branch-annual-talk"], completions: [done])
        let closed = after.first { $0.id == id }
        #expect(closed?.status == .done && closed?.reminders.isEmpty == true)
        let next = after.first { $0.id == "branch-annual-talk:2028:M014" }
        #expect(next?.status == .pending && next?.reminders.isEmpty == false)
    }

    @Test func aDeceasedMembersObligationsAreWaivedButCondolenceStays() throws {
        // M023 died on 2026-03-04 (roster and event E2026-002).
        let occ = Example.plan(from: "2026-01-01", to: "2026-12-31", now: "2026-03-10")
        let mine = occ.filter { $0.subject == "M023" }
        let condolence = try #require(mine.first { $0.rule == "condolence" })
        #expect(condolence.status == .overdue || condolence.status == .pending)
        #expect(condolence.due.description == "2026-03-07")
        let others = mine.filter { $0.rule != "condolence" }
        #expect(!others.isEmpty)
        for o in others {
            #expect(o.status == .waived, "\(o.id)")
            #expect(o.waivedReason?.contains("已故") == true)
            #expect(o.reminders.isEmpty)
        }
        // Nothing starts for them after the death: no 七一 visit, no second-half obligations.
        #expect(!mine.contains { $0.rule == "july-first-visit" })
    }

    @Test func aTransferredMemberStopsAfterTheTransfer() {
        // M024 转出 2026-09-01.
        let occ = Example.plan(from: "2026-01-01", to: "2027-12-31", now: "2026-09-10")
        let mine = occ.filter { $0.subject == "M024" }
        #expect(mine.contains { $0.id == "branch-annual-talk:2026:M024" && $0.status == .waived })
        #expect(!mine.contains { $0.id.contains(":2027") })
    }

    @Test func eventsOpenTalksAndVisitsWithTheirDeadlines() throws {
        let occ = Example.plan(from: "2026-11-01", to: "2026-12-31", now: "2026-11-22")
        let visit = try #require(occ.first { $0.id == "must-visit:E2026-003" })  // M017 hospitalised 2026-11-18
        #expect(visit.due.description == "2026-11-25" && visit.responsible == "M033")
        let talk = try #require(occ.first { $0.id == "talk-request:E2026-005" })  // M038 asked L02
        #expect(talk.responsible == "L02" && talk.due.description == "2026-11-27")
        let expiry = try #require(occ.first { $0.id == "discipline-expiry:E2026-004" })
        #expect(expiry.windowStart.description == "2026-12-01" && expiry.due.description == "2026-12-15")
        // An honoree's visit also tells 组织部 (X三/Q二.1).
        let honoree = Example.plan(
            from: "2027-01-01", to: "2027-01-31", now: "2027-01-05",
            events: [Event(id: "T1", member: "M018", kind: .illness, date: date("2027-01-04"))])
        let h = try #require(honoree.first { $0.id == "must-visit:T1" })
        #expect(h.reminders.first?.to == ["M001", "ZZB"])
    }

    /// An overdue notice and an escalation moved past the Spring Festival onto the same working day are one reminder,
    /// the escalation, and the supervisor still hears: two reminders on one day once lost the escalation.
    @Test func anEscalationMovedOntoAnOverdueNoticeIsNotLost() throws {
        // M014 hospitalised 2026-02-05: the visit is due 02-12; +3 and +7 fall in 春节 (02-15..02-23), both moved to 02-24.
        let occ = Example.plan(
            from: "2026-02-01", to: "2026-03-31", now: "2026-03-01",
            events: [Event(id: "T2", member: "M014", kind: .illness, date: date("2026-02-05"))])
        let visit = try #require(occ.first { $0.id == "must-visit:T2" })
        #expect(visit.due.description == "2026-02-12")
        let on24 = visit.reminders.filter { $0.localDate.description == "2026-02-24" }
        #expect(on24.count == 1 && on24.first?.kind == .escalation, "\(visit.reminders)")
        #expect(on24.first.map { Set($0.to) }?.isSuperset(of: ["M001", "S01"]) == true, "\(on24)")
    }

    /// A person's plan without reminders (how `agenda` asks) holds exactly what it holds with them.
    @Test(arguments: ["S01", "ZZB", "M001", "L02"])
    func aPersonsPlanIsTheSameWithoutReminders(_ person: String) throws {
        let input = Example.config.planInput()
        var lean = PlanQuery(from: CivilDate(2025, 1, 1)!, to: CivilDate(2027, 12, 31)!, now: Example.noon("2027-03-01"), person: person)
        lean.withReminders = false
        var full = lean
        full.withReminders = true
        let a = Planner(input).plan(lean).map(\.id)
        let b = Planner(input).plan(full).map(\.id)
        #expect(!b.isEmpty && a == b)
    }

    @Test func overdueRemindersEscalateUpTheTree() throws {
        let occ = Example.plan(from: "2027-01-01", to: "2027-12-31", now: "2027-08-01", rules: ["july-first-visit"])
        let o = try #require(occ.first { $0.subject == "M014" })  // branch wen-t under 党总支 wen
        #expect(o.status == .overdue)
        let esc = o.reminders.filter { $0.kind == .escalation }
        #expect(esc.map(\.localDate.description) == ["2027-07-08", "2027-07-15"])
        #expect(esc[0].to == ["M001", "S01"])  // the 党总支 secretary
        #expect(esc[1].to == ["M001", "ZZB"])  // then 组织部
        // Three days after 07-01 is Sunday 07-04: with the holiday table, reminders wait for Monday.
        #expect(o.reminders.first { $0.kind == .overdue }?.localDate.description == "2027-07-05")
        // A branch directly under the committee escalates straight to 组织部.
        let jg = try #require(occ.first { $0.subject == "M034" })
        #expect(jg.reminders.filter { $0.kind == .escalation }.first?.to == ["M036", "ZZB"])
    }

    /// China's working days (Config/holidays.toml): 主题党日 on the first working day — after 国庆, on a 调休 Sunday
    /// — and no reminder on a day off unless the rule says so (the political-birthday greeting keeps its day).
    @Test func theHolidayTableDecidesWorkingDays() throws {
        let cal = try #require(Example.config.workCalendar)
        #expect(cal.covers(year: 2025) && cal.covers(year: 2026))
        #expect(cal.isWorkday(CivilDate(2026, 2, 28)!), "a 调休 Saturday is a working day")
        #expect(cal.isWorkday(CivilDate(2026, 1, 4)!), "a 调休 Sunday is a working day")
        #expect(!cal.isWorkday(CivilDate(2026, 10, 5)!), "国庆 Monday is a day off")
        #expect(!cal.isWorkday(CivilDate(2026, 12, 5)!), "Saturday")
        #expect(cal.kind(CivilDate(2026, 10, 1)!) == "节假日" && cal.kind(CivilDate(2026, 2, 14)!) == "调休上班")
        let party = Example.plan(from: "2026-01-01", to: "2026-12-31", now: "2025-12-01", rules: ["theme-party-day"])
        let days = Set(party.map(\.due.description))
        #expect(days.contains("2026-10-08"), "the first working day after 国庆")
        #expect(days.contains("2026-01-04"), "元旦 off, Sunday the 4th a 调休 working day")
        #expect(!days.contains("2026-10-01") && !days.contains("2026-01-01"))
        #expect(party.allSatisfy { cal.isWorkday($0.due) })
        // October 2027 from the provisional table (国庆 1–3 October, a Friday to a Sunday): Monday the 4th.
        let october2027 = Example.plan(from: "2027-10-01", to: "2027-10-31", now: "2027-09-01", rules: ["theme-party-day"])
        #expect(Set(october2027.map(\.due.description)) == ["2027-10-04"])
        // No reminder on a day off, over two years of every rule; greetings keep their day.
        let all = Example.plan(from: "2025-01-01", to: "2026-12-31", now: "2024-12-01")
        var greetingsOnDaysOff = 0
        var offending: [String] = []
        for o in all {
            for r in o.reminders {
                let working = cal.isWorkday(r.localDate)
                if r.kind == .greeting {
                    if !working { greetingsOnDaysOff += 1 }
                } else if !working {
                    offending.append("\(o.id) \(r.kind) \(r.localDate)")
                }
            }
        }
        #expect(offending.isEmpty, "\(offending.prefix(10))")
        #expect(greetingsOnDaysOff > 0, "a political birthday on a weekend is greeted on the day")
    }

    /// Two processes, so two hash seeds: an order that came from iterating a Set or Dictionary would differ.
    @Test func twoRunsAreIdenticalByteForByte() throws {
        let args = [
            "plan", "--config", Example.configPath, "--now", "2026-11-22", "--from", "2026-01-01", "--to", "2027-12-31",
            "--format", "json",
        ]
        let a = try runCLI(args)
        let b = try runCLI(args)
        #expect(a.status == 0 && b.status == 0, "\(a.stderr)")
        #expect(a.stdout == b.stdout)
        #expect(a.stdout.utf8.count > 10_000)
    }

    @Test func everyCatalogRowIsADefaultRule() {
        let ids = Set(Example.config.rules.map(\.id))
        let catalog: Set<String> = [
            "spring-festival-visit", "july-first-visit", "leader-contact-visit", "honoree-festival-visit",
            "political-birthday", "branch-annual-talk", "secretary-talk", "committee-talk", "must-talk", "must-visit",
            "talk-request", "end-of-life", "condolence", "honoree-death-report", "duty-death-family",
            "minor-child-allowance", "elderly-regular-visit", "glory-50", "hardship-register-review",
            "monthly-subsidy", "july-first-commendation", "evaluations", "theme-party-day", "discipline-expiry",
            "leader-contact-quota", "fund-step",
        ]
        #expect(ids == catalog)
        #expect(Example.config.rules.allSatisfy { !$0.source.isEmpty })
        // Every rule produces something over two years of the example, but those that need an event not in it.
        let occ = Example.plan(from: "2025-01-01", to: "2027-12-31", now: "2026-11-22")
        let seen = Set(occ.map(\.rule))
        #expect(
            catalog.subtracting(seen).subtracting(["end-of-life", "honoree-death-report", "fund-step"]).isEmpty,
            "\(catalog.subtracting(seen))")
    }
}

func date(_ s: String) -> CivilDate { CivilDate(parsing: s)! }
