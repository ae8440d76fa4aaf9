import Foundation
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiStore
import GuanhuaiWorkspace
import Logging
import Systemd

/// Closing the loop: what is recorded done since a reminder was queued takes it back out of the outbox.
extension Scheduling {
    /// Rows queued about things since done: withdrawn when nothing in them is open, else written again without
    /// what is done (the digest planned anew for its recipient and time, now that those are closed).
    func settleDone(now: Int64) async throws -> (withdrawn: Int, rewritten: Int) {
        let db = store
        let (withdrawn, partly) = try await db.settleDone()
        guard !partly.isEmpty else { return (withdrawn.count, 0) }
        var rewritten = 0
        let links = try await loaded.linkMaker()
        let router = loaded.router
        for row in partly {
            guard let key = DigestKey(row.idempotencyKey) else { continue }
            let (recipient, at) = (key.recipient, key.at)
            let input = try await loaded.workspace.planInput(forPerson: recipient)
            let today = Planner.today(at: at, zone: config.zone)
            let occ = Planner(input).plan(PlanQuery(from: today.adding(days: -lookback), to: today.adding(days: 1), now: now))
            let digest = Digest.collect(occ, after: at - 1, through: at).first { $0.recipient == recipient }
            var c = RenderContext(input: input)
            c.zone = config.zone
            c.links = links
            let fresh =
                digest.map {
                    // Routed as it was when queued (`createdAt`: late or not), so only the closed items differ.
                    router.route(
                        $0, context: c, contact: DigestRouter.contacts(input)[recipient], journal: true,
                        now: row.createdAt
                    )
                    .rows.first { $0.idempotencyKey == row.idempotencyKey }
                } ?? nil
            try await db.rewrite(row.id, payload: fresh?.payload, items: fresh?.items ?? [])
            rewritten += 1
        }
        return (withdrawn.count, rewritten)
    }
}
