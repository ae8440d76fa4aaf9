import GuanhuaiDaemon
import Testing

@Suite struct DoorbellTests {
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
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test(.timeLimit(.minutes(1)))
    func aRingDuringTheWaitWakesIt() async {
        let bell = Doorbell()
        async let waited: Void = bell.wait(timeout: .seconds(30), on: ContinuousClock())
        try? await Task.sleep(for: .milliseconds(50))
        let start = ContinuousClock.now
        bell.ring()
        await waited
        #expect(ContinuousClock.now - start < .seconds(5))
    }
}
