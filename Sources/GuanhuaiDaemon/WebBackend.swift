import GuanhuaiWeb

/// The web pages' view of the daemon: its loaded configuration, and its loops to wake when something is recorded.
struct DaemonWebBackend: WebBackend {
    let runtime: Runtime
    let clock: any WallClock
    let schedulerBell: Doorbell
    let dispatcherBell: Doorbell

    func webState() async -> WebState? { await runtime.webState() }

    func didRecord() async {
        // The scheduler replans (its plan is stale), the dispatcher withdraws queued reminders about it.
        schedulerBell.ring()
        dispatcherBell.ring()
    }

    func now() -> Int64 { clock.now() }

    /// A pushed receipt released fallback mails: only the dispatcher has something to do.
    func releasedMail() async { dispatcherBell.ring() }
}

extension Runtime {
    func webState() -> WebState? {
        guard let web = loaded.config.web, let signer = loaded.signer else { return nil }
        return WebState(
            workspace: loaded.workspace, signer: signer, settings: web, loadGeneration: loadGeneration,
            smsReceiptPush: loaded.smsChannels.filter { $0.value.receiptPushToken != nil })
    }
}
