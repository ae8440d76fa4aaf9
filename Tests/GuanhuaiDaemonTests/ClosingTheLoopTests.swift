import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiStore
import GuanhuaiTestSupport
import Logging
import Systemd
import Testing

@testable import GuanhuaiDaemon

/// Once an item is done, no reminder about it goes out, even one already queued; those who were sent an escalation
/// about it learn in their next digest that it was done.
@Suite struct ClosingTheLoopTests {
    static func runtime(_ dir: borrowing Scratch) async throws -> (Runtime, AppDatabase, String) {
        let rig = try MailRig(dir)
        let runtime = try await builtDaemon(
            config: rig.config, environment: rig.environment,
            notifier: Notifier(sink: { _ in }, watchdogInterval: nil)
        ).runtime
        return (runtime, try await runtime.sqlite, rig.config)
    }

    @Test func aQueuedReminderIsRewrittenWithoutWhatIsDoneAndWithdrawnWhenNothingIsLeft() async throws {
        let dir = try Scratch()
        let (runtime, db, _) = try await Self.runtime(dir)
        let t = EndToEndTests.sendTime
        try db.enqueue([], processedThrough: t - 60, now: t - 60)
        let (added, _) = try await runtime.schedule(now: t)
        #expect(added > 0)
        // A queued mail about at least two things.
        var target: (row: OutboxRow, items: [String])?
        for row in try db.outbox() where row.channel == "mail" {
            let about = try db.outboxItems(of: row.id)
            if about.count >= 2 {
                target = (row, about)
                break
            }
        }
        let (row, items) = try #require(target, "some digest carries two items")
        let actor = Actor(name: "M001", now: t + 5, via: "a test")
        let day = try #require(CivilDate(parsing: "2027-06-01"))
        try db.record(Completion(occurrence: items[0], date: day, by: "M001"), actor: actor)
        // Until the scheduler's step has settled it, the dispatcher does not get it: it never plans, and never
        // sends what is done (the row waits to be written again).
        #expect(try await !db.dueOutbox(now: t + 3600).contains { $0.id == row.id })

        var settled = try await runtime.settleDone(now: t + 6)
        #expect(settled.withdrawn == 0 && settled.rewritten == 1)
        let rewritten = try #require(try db.outbox().first { $0.id == row.id })
        #expect(rewritten.state == .pending && rewritten.payload != row.payload)
        #expect(try db.outboxItems(of: row.id) == Array(items.dropFirst()))
        #expect(try await db.dueOutbox(now: t + 3600).contains { $0.id == row.id }, "written again, it goes")

        for o in items.dropFirst() { try db.record(Completion(occurrence: o, date: day, by: "M001"), actor: actor) }
        settled = try await runtime.settleDone(now: t + 7)
        #expect(settled.withdrawn >= 1)
        #expect(try db.outbox().first { $0.id == row.id }?.state == .withdrawn)
        // Withdrawn rows are not due, and not counted as queued or failed.
        #expect(try await !db.dueOutbox(now: t + 3600).contains { $0.id == row.id })
    }

    @Test func whoWasSentAnEscalationLearnsItWasDoneInTheirNextDigest() async throws {
        let dir = try Scratch()
        let (runtime, db, _) = try await Self.runtime(dir)
        // The first escalation of 2027 in the example, to someone with an e-mail address.
        let input = Example.config.planInput()
        let mailable = Set(input.members.filter { $0.email != nil }.map(\.id) + input.organization.people.values.filter { $0.email != nil }.map(\.id))
        let occ = Example.plan(from: "2026-06-01", to: "2027-12-31", now: "2027-01-01")
        let t = try #require(
            occ.flatMap(\.reminders).filter {
                $0.kind == .escalation && $0.at > Example.noon("2027-01-01") && $0.to.contains(where: mailable.contains)
            }.map(\.at).min())
        try db.enqueue([], processedThrough: t - 60, now: t - 60)
        _ = try await runtime.schedule(now: t)
        // Every mail goes out; an escalation among them is then done.
        for row in try db.outbox() { try db.markSent(row.id, at: t + 1, tracking: nil) }
        let escalated = try db.outbox().filter { $0.channel == "mail" }.flatMap { row in
            try db.outboxItemKinds(of: row.id).filter { $0.kind == "escalation" }.map { (row.recipient, $0.occurrence) }
        }
        let (recipient, occurrence) = try #require(escalated.first, "the example escalates something on 2027-06-01")
        let day = Planner.today(at: t, zone: input.settings.zone)
        try db.record(Completion(occurrence: occurrence, date: day, by: "M001"), actor: Actor(name: "M001", now: t + 60))
        let notices = try db.closedNotices(for: [recipient])
        #expect(notices[recipient]?.map(\.occurrence) == [occurrence])
        // The next digest to that person carries the 「已办结」 line, once.
        var next: Int64 = t
        var found = false
        for _ in 0..<60 where !found {
            next += 86400
            _ = try await runtime.schedule(now: next)
            for row in try db.outbox() where row.recipient == recipient && row.channel == "mail" && row.createdAt == next {
                if case .mail(_, _, let data) = OutboxPayload.decode(row.payload) {
                    // Read as a mail client would (Python's email package decodes the transfer encoding).
                    let file = dir.url.appendingPathComponent("next.eml")
                    try data.write(to: file)
                    let parsed = try JSONSerialization.jsonObject(with: try runTool(venvPython, [checkMailScript, file.path])) as! [String: Any]
                    let text = (parsed["parts"] as? [String: String])?["text/plain"] ?? ""
                    found = text.contains("已办结：") && text.contains("于 \(day) 办结")
                }
            }
        }
        #expect(found, "a later digest to \(recipient) says 已办结")
        #expect(try db.closedNotices(for: [recipient]).isEmpty, "said once")
    }
}
