import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiTestSupport
import Testing

@testable import GuanhuaiDelivery

/// A template names only what a digest has, and a template that does not parse says where, in an operator's words.
@Suite struct TemplateTests {
    static let source = Example.root.appendingPathComponent("Config/templates")

    /// A copy of the example templates with one file changed.
    static func templates(_ dir: borrowing Scratch, _ name: String, _ change: (String) -> String) throws -> String {
        let copy = dir.url.appendingPathComponent("templates")
        try FileManager.default.copyItem(at: source, to: copy)
        let file = copy.appendingPathComponent(name)
        try Data(change(try String(contentsOf: file, encoding: .utf8)).utf8).write(to: file)
        return copy.path
    }

    @Test func theExampleTemplatesNameOnlyWhatADigestHas() async throws {
        _ = try await DigestRenderer.load(directory: TemplateTests.source.path)
    }

    @Test func aMisspelledNameIsRefusedWithItsFileLineAndTheNearestName() async throws {
        let dir = try Scratch()
        let path = try TemplateTests.templates(dir, "mail-text.mustache") { $0.replacingOccurrences(of: "{{count}}", with: "{{cuont}}") }
        await #expect { try await DigestRenderer.load(directory: path) } throws: { e in
            let s = "\(e)"
            return s.contains("mail-text.mustache line 5, {{cuont}}") && s.contains("did you mean {{count}}?")
        }
    }

    @Test func anItemNameOutsideTheItemsSectionIsRefused() async throws {
        let dir = try Scratch()
        let path = try TemplateTests.templates(dir, "mail-subject.mustache") { $0 + "{{due}}" }
        await #expect { try await DigestRenderer.load(directory: path) } throws: { "\($0)".contains("only inside {{#items}}") }
    }

    @Test(arguments: ["{{#items}}unclosed", "{{#items}}{{/late}}", "{{name", "{{% NOPE }}"])
    func aTemplateThatDoesNotParseSaysWhereWithoutTypeNames(_ tail: String) async throws {
        let dir = try Scratch()
        let path = try TemplateTests.templates(dir, "chat-text.mustache") { $0 + "\n" + tail }
        await #expect { try await DigestRenderer.load(directory: path) } throws: { e in
            let s = "\(e)"
            return s.contains("chat-text.mustache line ") && !s.contains("Mustache") && !s.contains("Error")
                && !s.contains("ParserContext")
        }
    }

    /// What `values` gives a template is exactly what the check allows: a name added to one must be added to the other.
    @Test func theCheckedNamesAreTheRenderedNames() async throws {
        let renderer = try await DigestRenderer.load(directory: TemplateTests.source.path)
        let occ = Example.plan(from: "2026-01-01", to: "2027-12-31", now: "2027-06-01")
        let digests = Digest.collect(occ, after: Example.noon("2026-06-01"), through: Example.noon("2027-06-01"))
        var context = RenderContext(input: Example.config.planInput(), lateSince: CivilDate(2027, 1, 1))
        context.links = LinkMaker(
            publicURL: "https://guanhuai.example.edu.cn", signer: LinkSigner(key: Array(repeating: 7, count: 32)),
            actionDays: 30, agendaDays: 45)
        context.closed = [.init(label: "七一走访慰问（郑国栋）", date: "2027-05-30", by: "周海燕")]
        var top = Set<String>()
        var item = Set<String>()
        for d in digests {
            let v = renderer.values(d, context, withNotes: true)
            top.formUnion(TemplateCheck.digestNames.filter { v.child(named: $0) != nil })
            for i in v.items { item.formUnion(TemplateCheck.itemNames.filter { i.child(named: $0) != nil }) }
            #expect(v.child(named: "cuont") == nil && v.items.allSatisfy { $0.child(named: "cuont") == nil })
        }
        // Every name a template may use is answered for some digest of the example (its events carry no note).
        #expect(top == TemplateCheck.digestNames)
        #expect(item == TemplateCheck.itemNames.subtracting(["note"]))
    }
}

/// Who reads which words: the responsible person 「您负责的…已逾期」, those above them 「…尚未办结，请督促落实」 —
/// also when an escalation reaches the responsible person themselves (组织部's own obligations escalate to 组织部).
@Suite struct WordingTests {
    @Test func theResponsibleReadsTheirOwnWordsAndOnlySupervisorsAreAskedToUrge() async throws {
        let input = Example.config.planInput()
        let planner = Planner(input)
        let occ = planner.plan(PlanQuery(from: CivilDate(2026, 1, 1)!, to: CivilDate(2027, 12, 31)!, now: Example.noon("2026-01-01")))
        // An obligation of 组织部 whose escalation is sent to 组织部 and to the committee's secretary.
        let o = try #require(
            occ.first { o in
                o.responsible == "ZZB" && o.reminders.contains { $0.kind == .escalation && $0.to.contains("ZZB") && $0.to.count > 1 }
            })
        let r = o.reminders.first { $0.kind == .escalation && $0.to.contains("ZZB") }!
        let digests = Digest.collect([o], after: r.at - 1, through: r.at)
        let own = try #require(digests.first { $0.recipient == "ZZB" })
        let above = try #require(digests.first { $0.recipient != "ZZB" })
        #expect(own.items.map(\.kind) == [.overdue])
        #expect(above.items.map(\.kind) == [.escalation])
        let renderer = try await DigestRenderer.load(directory: Example.root.appendingPathComponent("Config/templates").path)
        let context = RenderContext(input: input)
        let mine = renderer.mail(own, context: context)
        let theirs = renderer.mail(above, context: context)
        #expect(mine.text.contains("您负责的此项已逾期") && !mine.text.contains("督促"), "\(mine.text)")
        #expect(mine.html?.contains("您负责的此项") == true && mine.html?.contains("督促") == false)
        #expect(theirs.text.contains("尚未办结，请督促落实") && !theirs.text.contains("您负责的"), "\(theirs.text)")
    }

    /// A visit due on 除夕, a day off, is reminded the working day before: the mail says it is coming due, not 今日到期.
    @Test func aDueDayReminderBeforeAHolidaySaysTheDayIsComing() async throws {
        let input = Example.config.planInput()
        let occ = Planner(input).plan(
            PlanQuery(
                from: CivilDate(2027, 2, 1)!, to: CivilDate(2027, 2, 28)!, now: Example.noon("2027-01-01"), rules: ["spring-festival-visit"]))
        let o = try #require(occ.first { $0.subject == "M014" })
        let r = try #require(o.reminders.first { $0.kind == .due })
        #expect(r.localDate.description == "2027-02-04" && o.due.description == "2027-02-05")
        let digest = try #require(Digest.collect([o], after: r.at - 1, through: r.at).first)
        let renderer = try await DigestRenderer.load(directory: Example.root.appendingPathComponent("Config/templates").path)
        let mail = renderer.mail(digest, context: RenderContext(input: input))
        #expect(mail.text.contains("即将到期（到期日休息）") && !mail.text.contains("今日到期"), "\(mail.text)")
    }
}
