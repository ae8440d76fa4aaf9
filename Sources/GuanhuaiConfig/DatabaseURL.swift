import Foundation

/// `[database] url`: a PostgreSQL connection URI in libpq's form, several hosts included
/// (`postgresql://guanhuai@db1:5432,db2:5432/guanhuai?target_session_attrs=read-write`). Parsed by hand: Foundation's
/// `URLComponents` refuses libpq's comma-separated host list, and no maintained Swift library reads it (postgres-nio
/// takes one host). Only what guanhuai uses is accepted; anything else is refused by name rather than ignored.
public struct DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    /// One place to connect: a TCP host and port, or a directory holding the server's Unix socket.
    public enum Host: Sendable, Equatable, CustomStringConvertible {
        case tcp(String, port: Int)
        case socket(directory: String, port: Int)

        public var description: String {
            switch self {
            case .tcp(let h, let p): h.contains(":") ? "[\(h)]:\(p)" : "\(h):\(p)"
            case .socket(let d, let p): "\(d)/.s.PGSQL.\(p)"
            }
        }

        /// The socket file itself (`DIR/.s.PGSQL.PORT`, as libpq names it).
        public var socketPath: String? {
            if case .socket(let d, let p) = self { return "\(d)/.s.PGSQL.\(p)" }
            return nil
        }
    }

    /// libpq's `sslmode`. guanhuai verifies a certificate whenever it uses TLS: `require` checks the chain and the
    /// host name as `verify-full` does (libpq's `require` checks nothing unless a root certificate is present).
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var hosts: [Host]
    public var user: String
    public var database: String
    public var sslMode: SSLMode
    public var sslRootCert: String?
    public var applicationName: String
    public var connectTimeoutSeconds: Int

    /// The URL without anything secret (there is nothing secret in it: a password is refused).
    public var description: String {
        "postgresql://\(user)@\(hosts.map(\.description).joined(separator: ","))/\(database)"
    }

    public init(
        hosts: [Host], user: String, database: String, sslMode: SSLMode = .prefer, sslRootCert: String? = nil,
        applicationName: String = "guanhuai", connectTimeoutSeconds: Int = 10
    ) {
        self.hosts = hosts
        self.user = user
        self.database = database
        self.sslMode = sslMode
        self.sslRootCert = sslRootCert
        self.applicationName = applicationName
        self.connectTimeoutSeconds = connectTimeoutSeconds
    }

    /// Whether `text` is meant as a PostgreSQL URL (`postgresql://` or `postgres://`).
    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
    }

    /// Parses the URL; the error says what is wrong in it and how libpq would want it written. `source` names
    /// where it came from: `[database] url`, or a command's option (`--to`), whose password goes in a file instead.
    public init(parsing text: String, source: String = "[database] url") throws(InputError) {
        func fail(_ why: String) -> InputError { InputError(file: source, message: why) }
        let noPassword =
            source == "[database] url"
            ? "the URL holds a password; remove it and name a systemd credential instead: [database] password_credential = \"database-password\""
            : "the URL holds a password; remove it and give the password in a file: --password-file FILE"
        let rest: Substring
        if text.hasPrefix("postgresql://") {
            rest = text.dropFirst("postgresql://".count)
        } else if text.hasPrefix("postgres://") {
            rest = text.dropFirst("postgres://".count)
        } else {
            // Only the scheme is repeated: the rest of a mistyped URL may hold a password.
            let scheme = text.firstRange(of: "://").map { String(text[..<$0.lowerBound]) + "://…" } ?? "the value"
            throw fail("\(scheme) is not a PostgreSQL URL: it starts postgresql://USER@HOST:PORT/DATABASE")
        }
        var authority = rest
        var path = Substring("")
        var query = Substring("")
        if let q = authority.firstIndex(of: "?") {
            query = authority[authority.index(after: q)...]
            authority = authority[..<q]
        }
        if let slash = authority.firstIndex(of: "/") {
            path = authority[authority.index(after: slash)...]
            authority = authority[..<slash]
        }
        var user = "guanhuai"
        if let at = authority.lastIndex(of: "@") {
            let userinfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if userinfo.contains(":") { throw fail(noPassword) }
            guard let u = String(userinfo).removingPercentEncoding, !u.isEmpty else { throw fail("the user name in the URL is empty or badly encoded") }
            user = u
        }
        var params: [String: String] = [:]
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, let k = String(kv[0]).removingPercentEncoding, let v = String(kv[1]).removingPercentEncoding else {
                throw fail("\"\(pair)\" in the URL is not KEY=VALUE")
            }
            params[k] = v
        }
        let known: Set = [
            "host", "port", "dbname", "user", "sslmode", "sslrootcert", "target_session_attrs", "application_name", "connect_timeout",
        ]
        if let unknown = params.keys.sorted().first(where: { !known.contains($0) }) {
            let why =
                unknown == "password"
                ? noPassword
                : "guanhuai does not use \"\(unknown)\" in the URL; it understands \(known.sorted().joined(separator: ", "))"
            throw fail(why)
        }
        if let u = params["user"] { user = u }
        // Hosts: the authority's comma-separated list, or the `host=` parameter (libpq allows both; the parameter
        // wins). A host starting with "/" is a socket directory (percent-encoded in the authority: %2Fvar%2Frun…).
        var hostSpecs: [(host: String, port: String?)] = []
        if let h = params["host"] {
            let ports = params["port"].map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) } ?? []
            for (i, host) in h.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
                hostSpecs.append((String(host), i < ports.count ? ports[i] : ports.count == 1 ? ports[0] : nil))
            }
        } else if !authority.isEmpty {
            for spec in authority.split(separator: ",", omittingEmptySubsequences: false) {
                var host = Substring(spec)
                var port: String?
                if host.hasPrefix("[") {
                    guard let close = host.firstIndex(of: "]") else { throw fail("\"\(spec)\": an IPv6 address needs its closing ]") }
                    let after = host[host.index(after: close)...]
                    if after.hasPrefix(":") { port = String(after.dropFirst()) } else if !after.isEmpty { throw fail("\"\(spec)\" is not HOST:PORT") }
                    host = host[host.index(after: host.startIndex)..<close]
                } else if let colon = host.lastIndex(of: ":") {
                    port = String(host[host.index(after: colon)...])
                    host = host[..<colon]
                }
                guard let decoded = String(host).removingPercentEncoding else { throw fail("\"\(spec)\" is badly percent-encoded") }
                hostSpecs.append((decoded, port ?? params["port"]))
            }
        } else {
            hostSpecs.append(("/var/run/postgresql", params["port"]))
        }
        var hosts: [Host] = []
        for (host, portText) in hostSpecs {
            guard !host.isEmpty else { throw fail("an empty host in \"\(text)\"; list them as db1:5432,db2:5432") }
            var port = 5432
            if let portText, !portText.isEmpty {
                guard let p = Int(portText), (1...65535).contains(p) else { throw fail("\"\(portText)\" is not a port number (1–65535)") }
                port = p
            }
            hosts.append(host.hasPrefix("/") ? .socket(directory: host, port: port) : .tcp(host, port: port))
        }
        var database = params["dbname"] ?? (String(path).removingPercentEncoding ?? "")
        if database.isEmpty { database = user }
        var sslMode = SSLMode.prefer
        if let m = params["sslmode"] {
            guard let mode = SSLMode(rawValue: m) else {
                throw fail("sslmode \"\(m)\" is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            sslMode = mode
        }
        if let t = params["target_session_attrs"], !["read-write", "primary", "any"].contains(t) {
            throw fail(
                "target_session_attrs \"\(t)\": guanhuai writes, so it always connects to the writable primary (read-write); leave it out or write read-write")
        }
        var timeout = 10
        if let c = params["connect_timeout"] {
            guard let s = Int(c), (1...600).contains(s) else { throw fail("connect_timeout \"\(c)\" is not a number of seconds (1–600)") }
            timeout = s
        }
        self.init(
            hosts: hosts, user: user, database: database, sslMode: sslMode, sslRootCert: params["sslrootcert"],
            applicationName: params["application_name"] ?? "guanhuai", connectTimeoutSeconds: timeout)
    }
}

/// `[database] url` and what goes with it: the store on PostgreSQL.
public struct PostgresSettings: Sendable, Equatable {
    public var url: DatabaseURL
    /// `password_credential`: the systemd credential holding the password; nil for peer or certificate login.
    public var password: SecretRef?
    /// `claim_seconds`: how long a claimed message is this instance's before another may take it over. Longer than
    /// the slowest send (a mail server's timeouts), shorter than anyone would wait for a message a dead instance held.
    public var claimSeconds: Int64 = 300
    /// `instances`: how many guanhuaid run on this database. Each sends within its share of a robot's rate window
    /// (`rate_per_minute / instances`), so together they stay within the endpoint's limit.
    public var instances: Int = 1

    public init(url: DatabaseURL, password: SecretRef? = nil, claimSeconds: Int64 = 300) {
        self.url = url
        self.password = password
        self.claimSeconds = claimSeconds
    }

    /// The `[database]` table's PostgreSQL keys; nil without `url`.
    static func parse(_ r: TOMLReader) throws(InputError) -> PostgresSettings? {
        let top = TOMLReader.Place(header: nil, index: 0, name: "")
        guard let d = try r.table(r.root, "database", top) else { return nil }
        let dp = TOMLReader.Place(header: "database", index: 0, name: "[database]")
        guard let text = try r.string(d, "url", dp) else {
            for key in ["password_credential", "claim_seconds", "instances"] where d.contains(key: key) {
                throw r.error(dp, key, "\(key) is for PostgreSQL: it needs url = \"postgresql://USER@HOST:PORT/DATABASE\" beside it")
            }
            return nil
        }
        if d.contains(key: "path") {
            throw r.error(
                dp, "path", "path is the SQLite file and url a PostgreSQL database: the store is one or the other; remove one of them")
        }
        let url: DatabaseURL
        do { url = try DatabaseURL(parsing: text) } catch { throw r.error(dp, "url", error.message) }
        var settings = PostgresSettings(url: url)
        settings.password = try r.string(d, "password_credential", dp).map(SecretRef.credential)
        settings.claimSeconds = Int64(try r.int(d, "claim_seconds", dp, range: 30...86400) ?? 300)
        settings.instances = try r.int(d, "instances", dp, range: 1...16) ?? 1
        return settings
    }
}
