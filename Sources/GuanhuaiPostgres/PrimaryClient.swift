public import Foundation
public import GuanhuaiConfig
public import GuanhuaiStore
public import Logging
import NIOCore
import NIOSSL
public import PostgresNIO
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The connection to whichever host of `[database] url` is the writable primary, followed when it moves.
///
/// postgres-nio's client takes one host, so the host list is ours (libpq's `target_session_attrs=read-write`): every
/// host is probed, and a host counts only when `pg_is_in_recovery()` is false. When two say so (an old primary
/// resumed after its standby was promoted: split brain), the one on the later WAL timeline wins, because the
/// promotion started it. A transaction that fails as a lost connection, a read-only transaction (25006), an
/// administrator's shutdown (57P01–03) or an unsupported feature of a demoted node (0A000), or that does not answer
/// within `transactionTimeout`, drops the client and runs again on the primary found by probing anew, with backoff,
/// until `retryFor` has passed (River #1225 and Laravel #48486 stayed on a demoted primary because they did not).
/// Every operation of the store is written to be run twice safely.
public actor PrimaryClient {
    public nonisolated let url: DatabaseURL
    let password: String?
    let logger: Logger
    /// How long one transaction may take before the server is presumed gone (a stopped process keeps its sockets
    /// open: only a timeout notices).
    public let transactionTimeout: Duration
    /// How long a call waits before the host is asked directly whether it is still the primary (`stillPrimary`).
    let liveCheck = Duration.seconds(2)
    /// How long a transaction keeps being retried across a failover before its caller is told.
    public let retryFor: Duration
    let poolSize: Int

    struct Current {
        var client: PostgresClient
        var task: Task<Void, Never>
        var host: DatabaseURL.Host
    }
    private var current: Current?
    /// Hosts in use, oldest first, and when each was chosen: `status` and /metrics show the last move.
    public private(set) var moves: [Move] = []

    public struct Move: Sendable {
        public var host: String
        public var at: Date
    }

    public init(
        url: DatabaseURL, password: String?, logger: Logger, poolSize: Int = 8,
        transactionTimeout: Duration = .seconds(20), retryFor: Duration = .seconds(45)
    ) {
        self.url = url
        self.password = password
        self.logger = logger
        self.poolSize = poolSize
        self.transactionTimeout = transactionTimeout
        self.retryFor = retryFor
    }

    /// The host in use now, if connected.
    public var host: String? { current?.host.description }

    /// Closes the client: its connections end.
    public func close() {
        current?.task.cancel()
        current = nil
        dropHeld()
    }

    // MARK: Running a transaction

    /// Runs `body` in one transaction on the primary, again after a failover if it was interrupted. `timeout`, when
    /// given, replaces `transactionTimeout` for this one: an import or a copy of a million rows is one transaction
    /// that rightly takes minutes (the host is still asked every `liveCheck` whether it is the primary).
    public func transaction<T: Sendable>(timeout: Duration? = nil, _ body: @escaping @Sendable (PostgresConnection) async throws -> T)
        async throws(StoreError) -> T
    {
        try await run(timeout: timeout) { client, logger in try await client.withTransaction(logger: logger) { conn in try await body(conn) } }
    }

    /// Runs `body` on one connection of the primary outside a transaction (each statement commits by itself).
    public func connection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(StoreError) -> T {
        try await run { client, _ in try await client.withConnection { conn in try await body(conn) } }
    }

    private func run<T: Sendable>(timeout: Duration? = nil, _ body: @escaping @Sendable (PostgresClient, Logger) async throws -> T)
        async throws(StoreError) -> T
    {
        let transactionTimeout = timeout ?? self.transactionTimeout
        let started = ContinuousClock.now
        var backoff = Duration.milliseconds(100)
        while true {
            let client: PostgresClient
            do { client = try await primary() } catch {
                if ContinuousClock.now - started > retryFor { throw error }
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(1))
                continue
            }
            let logger = self.logger
            // A call not answered within `liveCheck` asks the host directly, and again every `liveCheck`: one that no
            // longer answers as the primary ends the call now rather than at the timeout. After a SIGKILL the pool
            // kept trying to connect to the dead host and a call waited the whole 20 s for a connection; a stopped
            // host (SIGSTOP) keeps its sockets open and answers nothing.
            let outcome = await Deadline.run(within: transactionTimeout, check: (every: liveCheck, { await self.stillPrimary() })) {
                try await body(client, logger)
            }
            switch outcome {
            case .value(let v): return v
            case .timedOut:
                logger.warning(
                    "the database did not answer (within \(transactionTimeout), or it no longer answers as the primary); finding the primary again",
                    metadata: ["host": "\(host ?? "-")"])
                drop(client)
            case .failed(let error):
                // The error's own text can hold the query's values (a note): only the server's words are kept.
                guard PrimaryClient.meansMove(error) else { throw PrimaryClient.storeError(error, url: url) }
                logger.warning(
                    "the database connection was lost or is read-only; finding the primary again",
                    metadata: ["host": "\(host ?? "-")", "sqlstate": "\(PrimaryClient.sqlState(error) ?? "-")"])
                drop(client)
            }
            if Task.isCancelled { throw .failed(path: url.description, reason: "cancelled") }
            if ContinuousClock.now - started > retryFor {
                throw .failed(
                    path: url.description,
                    reason: "no writable primary answered for \(retryFor); try again once the database is back (repeating is safe)")
            }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(1))
        }
    }

    private func drop(_ client: PostgresClient) {
        guard let c = current, c.client === client else { return }
        c.task.cancel()
        current = nil
        dropHeld()
    }

    // MARK: One statement on a connection held beside the pool

    /// A connection of its own to the host in use, for `quick`: opened in the background the first time it is
    /// wanted, closed with the pool (a move) and at the first thing unusual.
    private struct Held {
        var client: PostgresClient
        var connection: PostgresConnection?
        /// When opening it last failed: no other attempt for `heldRetry`, so a dead host is not dialled per call.
        var failedAt: ContinuousClock.Instant?
    }
    private var held: Held?
    private let heldRetry = Duration.seconds(5)
    /// Statements `quick` ran on the held connection, and those it ran again the ordinary way after the held
    /// connection failed (the tests watch both; nothing else reads them).
    public private(set) var quickCounts = (held: 0, fallbacks: 0)

    /// Runs one statement, safe to run twice, on the held connection, or the ordinary way (`connection`) when there
    /// is none yet or anything goes wrong on it: an error, or no answer within `liveCheck`, after which it is closed
    /// (a stopped server answers nothing) and the statement runs again the ordinary way, with its probing and
    /// retries. The dispatcher records each message's result this way: a lease from the pool per result cost
    /// 0.15–0.25 ms of the 0.5–0.7 ms a result took (measured on this machine kind), and each message waits for
    /// its result before the next is sent.
    public func quick<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(StoreError) -> T {
        if let conn = heldConnection() {
            let watch = conn.eventLoop.scheduleTask(in: TimeAmount(liveCheck)) {
                PrimaryClient.closeNow(conn)
            }
            do {
                let value = try await body(conn)
                watch.cancel()
                quickCounts.held += 1
                return value
            } catch {
                watch.cancel()
                quickCounts.fallbacks += 1
                PrimaryClient.closeNow(conn)
                // Opened again after `heldRetry`, not at once (and never left looking as if it were opening).
                if held?.connection === conn {
                    held?.connection = nil
                    held?.failedAt = .now
                }
            }
        }
        return try await connection(body)
    }

    /// The held connection when it is open; otherwise nil, after starting to open one when none is under way.
    private func heldConnection() -> PostgresConnection? {
        guard let c = current else { return nil }
        if let h = held, h.client === c.client {
            if let conn = h.connection, !conn.isClosed { return conn }
            if h.connection == nil, h.failedAt == nil { return nil }  // opening
            if let failed = h.failedAt, ContinuousClock.now - failed < heldRetry { return nil }
        } else {
            dropHeld()
        }
        held = Held(client: c.client)
        guard let configuration = try? connectionConfiguration(c.host) else { return nil }
        var quiet = logger
        quiet.logLevel = .critical
        let client = c.client
        Task {
            let conn = try? await PostgresConnection.connect(configuration: configuration, id: 1, logger: quiet)
            self.opened(conn, for: client)
        }
        return nil
    }

    private func opened(_ conn: PostgresConnection?, for client: PostgresClient) {
        guard let h = held, h.client === client, current?.client === client else {
            if let conn { PrimaryClient.closeNow(conn) }
            return
        }
        if let conn { held?.connection = conn } else { held?.failedAt = .now }
    }

    private func dropHeld() {
        if let conn = held?.connection { PrimaryClient.closeNow(conn) }
        held = nil
    }

    /// Closes a connection at once, without waiting: what was waiting on it fails. The connection is kept until it
    /// is closed (postgres-nio asserts that a connection is closed before it goes).
    nonisolated static func closeNow(_ conn: PostgresConnection) {
        let closed: EventLoopFuture<Void> = conn.close()
        closed.whenComplete { _ in withExtendedLifetime(conn) {} }
    }

    deinit {
        if let conn = held?.connection { PrimaryClient.closeNow(conn) }
    }

    // MARK: Finding the primary

    /// A probe under way: callers arriving meanwhile wait for it rather than probe (and connect) again.
    private var probing: Task<PostgresClient, any Error>?

    /// The client of the primary, probing every host when there is none.
    func primary() async throws(StoreError) -> PostgresClient {
        if let c = current { return c.client }
        let probe: Task<PostgresClient, any Error>
        if let p = probing {
            probe = p
        } else {
            probe = Task { try await self.probe() }
            probing = probe
        }
        do {
            let client = try await probe.value
            if probing == probe { probing = nil }
            return client
        } catch {
            if probing == probe { probing = nil }
            throw error as? StoreError ?? .failed(path: url.description, reason: PrimaryClient.describe(error))
        }
    }

    /// Asks one host, on a connection of its own, whether it is in recovery and on which timeline.
    static func ask(_ configuration: PostgresConnection.Configuration, within timeout: Duration, logger: Logger) async
        -> Result<(Bool, Int64), any Error>
    {
        let outcome = await Deadline.run(within: timeout) { () async throws -> (Bool, Int64) in
            let conn = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            defer { Task { try? await conn.close() } }
            for try await (recovery, timeline) in try await conn.query(PrimaryClient.probe, logger: logger).decode((Bool, Int64).self) {
                return (recovery, timeline)
            }
            return (true, 0)
        }
        switch outcome {
        case .value(let v): return .success(v)
        case .failed(let e): return .failure(e)
        case .timedOut: return .failure(ProbeTimeout())
        }
    }

    /// Whether the host in use still answers as the primary, asked beside the pool: a pool whose host died keeps
    /// trying to connect, and what waits for one of its connections would wait for the whole timeout.
    func stillPrimary() async -> Bool {
        guard let host = current?.host, let configuration = try? connectionConfiguration(host) else { return false }
        let answer = await PrimaryClient.ask(configuration, within: .seconds(url.connectTimeoutSeconds), logger: logger)
        if case .success((false, _)) = answer { return true }
        return false
    }

    /// Probes every host and connects to the primary.
    private func probe() async throws(StoreError) -> PostgresClient {
        var answers: [(host: DatabaseURL.Host, timeline: Int64)] = []
        var seen: [String] = []
        // Each host is asked on a connection of its own (not the pool's, which would retry a refused connection
        // and hide why): a certificate, a password or a refusal is then said as it is.
        await withTaskGroup(of: (DatabaseURL.Host, Result<(Bool, Int64), any Error>).self) { group in
            for h in url.hosts {
                let configuration: PostgresConnection.Configuration
                do { configuration = try connectionConfiguration(h) } catch {
                    seen.append("\(h): \(PrimaryClient.describe(error))")
                    continue
                }
                let (logger, timeout) = (self.logger, Duration.seconds(url.connectTimeoutSeconds))
                group.addTask { (h, await PrimaryClient.ask(configuration, within: timeout, logger: logger)) }
            }
            for await (h, result) in group {
                switch result {
                case .success((false, let timeline)): answers.append((h, timeline))
                case .success: seen.append("\(h): a standby (in recovery)")
                case .failure(let e): seen.append("\(h): \(PrimaryClient.describe(e))")
                }
            }
        }
        // The latest timeline: a standby promoted after the old primary stopped.
        answers.sort { $0.timeline > $1.timeline }
        guard let best = answers.first else {
            throw .cannotOpen(path: url.description, reason: "no host is a writable primary — " + seen.sorted().joined(separator: "; "))
        }
        for other in answers.dropFirst() {
            logger.error(
                "two hosts say they are the primary; using the one on the later timeline",
                metadata: ["chosen": "\(best.host)", "timeline": "\(best.timeline)", "other": "\(other.host)", "other_timeline": "\(other.timeline)"])
        }
        // The pool's own log lines carry the driver's type names (PSQLError …) into the journal: it gets a logger that
        // says only what is critical, and what matters (a lost connection, a move) is said above in our words.
        var poolLogger = logger
        poolLogger.logLevel = .critical
        let client = PostgresClient(configuration: makeConfiguration(best.host), backgroundLogger: poolLogger)
        let task = Task { await client.run() }
        current = Current(client: client, task: task, host: best.host)
        if moves.last?.host != best.host.description {
            if !moves.isEmpty { logger.notice("the database primary moved", metadata: ["host": "\(best.host)"]) }
            moves.append(Move(host: best.host.description, at: Date()))
            if moves.count > 20 { moves.removeFirst() }
        }
        return client
    }

    /// Whether the host is a primary, and the timeline it writes on (0 for a standby).
    static let probe: PostgresQuery = """
        SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN 0::bigint
            ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint END
        """

    struct ProbeTimeout: Error {}

    func makeConfiguration(_ host: DatabaseURL.Host) -> PostgresClient.Configuration {
        var c: PostgresClient.Configuration
        switch host {
        case .socket:
            c = .init(unixSocketPath: host.socketPath!, username: url.user, password: password, database: url.database)
        case .tcp(let name, let port):
            c = .init(host: name, port: port, username: url.user, password: password, database: url.database, tls: tls())
        }
        c.options.maximumConnections = poolSize
        c.options.connectTimeout = .seconds(url.connectTimeoutSeconds)
        c.options.connectionIdleTimeout = .seconds(60)
        // No session state is kept: PgBouncer in transaction mode shares server connections (and refuses startup
        // parameters it does not know, so a server-side statement_timeout belongs on the role: docs/postgresql.md).
        // A transaction that does not answer is cut off here instead (`transactionTimeout`).
        c.options.additionalStartupParameters = [("application_name", url.applicationName)]
        return c
    }

    /// The same settings for one connection of its own (the probe).
    func connectionConfiguration(_ host: DatabaseURL.Host) throws -> PostgresConnection.Configuration {
        var c: PostgresConnection.Configuration
        switch host {
        case .socket:
            c = .init(unixSocketPath: host.socketPath!, username: url.user, password: password, database: url.database)
        case .tcp(let name, let port):
            let t: PostgresConnection.Configuration.TLS
            switch url.sslMode {
            case .disable: t = .disable
            case .allow, .prefer: t = .prefer(try NIOSSLContext(configuration: tlsConfiguration()))
            case .require, .verifyCA, .verifyFull: t = .require(try NIOSSLContext(configuration: tlsConfiguration()))
            }
            c = .init(host: name, port: port, username: url.user, password: password, database: url.database, tls: t)
        }
        c.options.connectTimeout = .seconds(Int64(url.connectTimeoutSeconds))
        c.options.additionalStartupParameters = [("application_name", url.applicationName)]
        return c
    }

    func tlsConfiguration() -> TLSConfiguration {
        var t = TLSConfiguration.makeClientConfiguration()
        t.certificateVerification = url.sslMode == .verifyCA ? .noHostnameVerification : .fullVerification
        if let root = url.sslRootCert { t.trustRoots = .file(root) }
        return t
    }

    func tls() -> PostgresClient.Configuration.TLS {
        let t = tlsConfiguration()
        switch url.sslMode {
        case .disable: return .disable
        case .allow, .prefer: return .prefer(t)
        case .require, .verifyCA, .verifyFull: return .require(t)
        }
    }

    // MARK: Errors

    /// The error that counts: a transaction's failure carries the one from BEGIN, the body or COMMIT inside.
    static func cause(_ error: any Error) -> any Error {
        guard let t = error as? PostgresTransactionError else { return error }
        return (t.beginError ?? t.closureError ?? t.commitError ?? t.rollbackError).map(cause) ?? error
    }

    static func sqlState(_ error: any Error) -> String? {
        (cause(error) as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// Whether the error means "this host is no longer the primary, or no longer there": find the primary again.
    static func meansMove(_ error: any Error) -> Bool {
        let error = cause(error)
        guard let e = error as? PSQLError else { return error is ProbeTimeout }
        if let state = e.serverInfo?[.sqlState] {
            return state.hasPrefix("08") || ["25006", "57P01", "57P02", "57P03", "0A000", "40001", "40P01"].contains(state)
        }
        return [.serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown, .poolClosed].contains(e.code)
    }

    /// An error in an operator's words: the server's message and its SQLSTATE, never a driver's type name.
    static func describe(_ error: any Error) -> String {
        let error = cause(error)
        if let e = error as? PSQLError {
            if let message = e.serverInfo?[.message] {
                return message + (e.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
            }
            switch e.code {
            case .connectionError: return "cannot connect" + (e.underlying.map { ": " + connectionFailure($0) } ?? "")
            case .serverClosedConnection, .uncleanShutdown: return "the server closed the connection"
            case .sslUnsupported: return "the server does not offer TLS, and sslmode asks for it"
            case .failedToAddSSLHandler: return "TLS could not be set up (check sslrootcert)"
            case .authMechanismRequiresPassword: return "the server asks for a password: set [database] password_credential"
            default: return "\(e.code)"
            }
        }
        if error is ProbeTimeout { return "no answer in time" }
        if let e = error as? StoreError { return e.description }
        // A driver's own error (a value it could not decode): its text names Swift types, which reach no one.
        return "an unexpected answer from the database (guanhuai and the schema may disagree: is a newer guanhuai writing to it?)"
    }

    /// Why a connection could not be made, without the types of the libraries underneath.
    static func connectionFailure(_ error: any Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        if error is NIOSSLExtraError {
            return "the server's certificate is not for this host name (verify-full checks it; use the name the certificate gives)"
        }
        if let tls = error as? NIOSSLError {
            if "\(tls)".contains("CERTIFICATE_VERIFY_FAILED") {
                return "the server's certificate could not be verified: set sslrootcert to the CA certificate that signed it"
            }
            return "TLS could not be established with the server"
        }
        if error is ChannelError { return "the connection failed or timed out" }
        return "the connection failed"
    }

    static func storeError(_ error: any Error, url: DatabaseURL) -> StoreError {
        if let e = cause(error) as? StoreError { return e }
        if sqlState(error) == "23505" { return .rejected("already recorded: " + describe(error)) }
        return .failed(path: url.description, reason: describe(error))
    }
}

/// Runs an operation with a time limit that holds even when the operation does not notice cancellation (a query to a
/// stopped server waits on its socket): the caller is answered at the deadline, and the operation is cancelled and
/// left to end when its connection is closed.
enum Deadline {
    enum Outcome<T: Sendable>: Sendable {
        case value(T)
        case failed(any Error)
        case timedOut
    }

    /// Who answers first: the operation or the timer. The other is cancelled.
    final class Race<T: Sendable>: Sendable {
        let state = Mutex<(k: CheckedContinuation<Outcome<T>, Never>?, work: Task<Void, Never>?, timer: Task<Void, Never>?)>((nil, nil, nil))

        func finish(_ outcome: Outcome<T>) {
            let (k, other) = state.withLock { s in
                defer { s = (nil, nil, nil) }
                return (s.k, outcome.isTimeout ? s.work : s.timer)
            }
            other?.cancel()
            k?.resume(returning: outcome)
        }
    }

    /// `check`: asked every so often whether to go on waiting; false ends the wait as a timeout now.
    static func run<T: Sendable>(
        within limit: Duration, check: (every: Duration, goOn: @Sendable () async -> Bool)? = nil,
        _ body: @escaping @Sendable () async throws -> T
    ) async -> Outcome<T> {
        let race = Race<T>()
        return await withCheckedContinuation { (k: CheckedContinuation<Outcome<T>, Never>) in
            race.state.withLock { $0.k = k }
            let work = Task {
                do { race.finish(.value(try await body())) } catch { race.finish(.failed(error)) }
            }
            let timer = Task {
                let end = ContinuousClock.now + limit
                if let check {
                    while ContinuousClock.now + check.every < end {
                        guard (try? await Task.sleep(for: check.every)) != nil else { return }
                        if await !check.goOn() {
                            race.finish(.timedOut)
                            return
                        }
                    }
                }
                guard (try? await Task.sleep(until: end, clock: .continuous)) != nil else { return }
                race.finish(.timedOut)
            }
            let finished = race.state.withLock { s in
                guard s.k != nil else { return true }
                s.work = work
                s.timer = timer
                return false
            }
            if finished { timer.cancel() }
        }
    }
}

extension Deadline.Outcome {
    var isTimeout: Bool { if case .timedOut = self { true } else { false } }
}
