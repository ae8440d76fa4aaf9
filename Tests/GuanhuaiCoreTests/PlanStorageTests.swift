import GuanhuaiCalendar
import Testing

@testable import GuanhuaiCore

/// What the planner's storage of a year's plan relies on.
@Suite struct PlanStorageTests {
    /// README and the issue give 96 bytes an occurrence while planned (5 million at 1,000,000 members).
    @Test func anOccurrenceIsHeldInNinetySixBytes() {
        #expect(MemoryLayout<Stored>.stride == 96)
    }

    /// The sort key packs dates in 24 bits: it must order them as dates do, across months, years and leap days.
    @Test func packedDatesSortAsDates() {
        var dates: [CivilDate] = []
        var d = CivilDate(1899, 12, 25)!
        while d <= CivilDate(2101, 1, 5)! {
            dates.append(d)
            d = d.adding(days: 13)
        }
        for (a, b) in zip(dates, dates.dropFirst()) {
            #expect(a.packed < b.packed, "\(a) \(b)")
        }
        #expect(CivilDate(2028, 2, 29)!.packed < CivilDate(2028, 3, 1)!.packed)
        #expect(CivilDate(2027, 12, 31)!.packed < CivilDate(2028, 1, 1)!.packed)
        #expect(CivilDate(2027, 12, 31)!.packed < 1 << 24)
    }

    /// An interned string is held once and found again, whether it was the last one seen or not.
    @Test func theInternerGivesOneIndexAString() {
        var strings = Interner()
        let a = strings("political-birthday:2027:")
        let b = strings("branch-annual-talk:2027:")
        #expect(a != b)
        #expect(strings("political-birthday:2027:") == a)
        #expect(strings("political-birthday:2027:") == a)
        #expect(strings("branch-annual-talk:2027:") == b)
        #expect(strings.values == ["political-birthday:2027:", "branch-annual-talk:2027:"])
        #expect(strings[b] == "branch-annual-talk:2027:")
    }
}
