import NIOCore
import NIOPosix

/// Where Swift Concurrency's jobs run in guanhuaid (and in the benchmarks that measure its channels).
public enum EventLoopExecutor {
    /// Makes NIO's event loops Swift Concurrency's global executor, as Vapor's entrypoint does: a message's send, its
    /// result's write to PostgreSQL and the answers of both then resume on the thread their connection lives on
    /// instead of being handed between the concurrency pool and the loops, several thread switches per message. Two
    /// guanhuaid on one PostgreSQL sent 1,018 mails/s with it and 852/s without (`dispatch-benchmark.sh`, one
    /// sitting). Call it first thing in `main`, before any task exists. `GUANHUAI_EXECUTOR=swift` keeps Swift's own
    /// pool, for comparison; returns whether the loops took over.
    @discardableResult
    public static func install(environment: [String: String]) -> Bool {
        guard environment["GUANHUAI_EXECUTOR"] != "swift" else { return false }
        return NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
