import GuanhuaiCore
import GuanhuaiTestSupport
import Testing

@Suite struct OccurrenceIDTests {
    @Test(arguments: [
        ("political-birthday:2027:M002", "political-birthday", "2027", "M002"),
        ("monthly-subsidy:2026-11:M015", "monthly-subsidy", "2026-11", "M015"),
        ("leader-contact-visit:2027-H1:M003/L01", "leader-contact-visit", "2027-H1", "M003/L01"),
        ("must-visit:E2026-003:M017:x", "must-visit", "E2026-003", "M017:x"),
        ("glory-50:M017", "glory-50", nil, "M017"),
    ])
    func anIdIsItsParts(_ text: String, _ rule: String, _ period: String?, _ key: String) throws {
        let id = try #require(OccurrenceID(text))
        #expect(id.rule == rule && id.period == period && id.key == key)
        #expect(id.description == text)
    }

    @Test(arguments: ["", "x", "a:", ":b", "a::c", ":b:c", "a:b:"])
    func anythingElseIsNoId(_ text: String) {
        #expect(OccurrenceID(text) == nil)
    }

    /// Every id the planner makes parses, and the search finds each one again from its due date.
    @Test func thePlannersIdsParseAndAreFoundAgain() throws {
        let plan = Example.plan(from: "2027-01-01", to: "2027-12-31", now: "2027-06-01")
        #expect(plan.allSatisfy { OccurrenceID($0.id)?.description == $0.id })
        let planner = Planner(Example.config.planInput())
        for o in plan.filter({ $0.status.isOpen }).prefix(40) {
            let id = try #require(OccurrenceID(o.id))
            #expect(planner.occurrence(id, around: o.due, now: Example.noon("2027-06-01"))?.id == o.id)
        }
    }
}

@Suite struct DigestKeyTests {
    @Test(arguments: [
        ("digest:M001:1800000000:mail", "M001", Int64(1_800_000_000), "mail", 1),
        ("digest:M001:1800000000:robot#3", "M001", 1_800_000_000, "robot", 3),
        ("digest:a:b:1800000000:sms", "a:b", 1_800_000_000, "sms", 1),
    ])
    func aKeyIsItsParts(_ text: String, _ recipient: String, _ at: Int64, _ channel: String, _ part: Int) throws {
        let k = try #require(DigestKey(text))
        #expect(k.recipient == recipient && k.at == at && k.channel == channel && k.part == part)
        #expect(k.description == text)
    }

    @Test(arguments: ["report:2027-01:ZZB", "digest:M001:x:mail", "digest:M001:1:mail#1", "digest:mail", ""])
    func otherKeysAreNotDigests(_ text: String) {
        #expect(DigestKey(text) == nil)
    }
}
