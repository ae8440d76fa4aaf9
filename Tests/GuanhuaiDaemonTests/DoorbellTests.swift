import GuanhuaiDaemon
import Testing

/// Serialized: the 20,000-wait test keeps the cooperative pool busy, and a ring beside it was seen to take 5.4 s to
/// land under a loaded CI run. The time checks tell a ring (milliseconds) from the 30 s timeout; 20 s leaves room.
@Suite(.serialized) struct DoorbellTests {
    /// A zero timeout makes the sleep win the race, so the ring-waiter is often cancelled before it starts. Before the
    /// fix, its cancellation handler ran first, found no waiter, and the waiter then parked forever: this hung.
    @Test(.timeLimit(.minutes(1)))
    func aWaitWhoseSleepFinishesFirstAlwaysReturns() async {
        let bell = Doorbell()
        for _ in 0..<20_000 {
            await bell.wait(timeout: .zero, on: ContinuousClock())
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aRingBeforeTheWaitIsNotLost() async {
        let bell = Doorbell()
        bell.ring()
        let start = ContinuousClock.now
        await bell.wait(timeout: .seconds(30), on: ContinuousClock())
        #expect(ContinuousClock.now - start < .seconds(20))
    }

    @Test(.timeLimit(.minutes(1)))
    func aRingDuringTheWaitWakesIt() async {
        let bell = Doorbell()
        async let waited: Void = bell.wait(timeout: .seconds(30), on: ContinuousClock())
        try? await Task.sleep(for: .milliseconds(50))
        let start = ContinuousClock.now
        bell.ring()
        await waited
        #expect(ContinuousClock.now - start < .seconds(20))
    }
}
