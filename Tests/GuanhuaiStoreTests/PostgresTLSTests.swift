import Foundation
import GuanhuaiConfig
import GuanhuaiPostgres
import GuanhuaiStore
import GuanhuaiTestSupport
import Logging
import Testing

/// TLS to PostgreSQL is verified: a server with a certificate of its own CA is reached with `sslrootcert` naming
/// that CA, and refused without it (the system's roots do not know it), saying why.
@Suite(.enabled(if: PostgresServer.enabled, "PostgreSQL 15 is not installed here (Debian postgresql-15)"))
struct PostgresTLSTests {
    @Test func theCertificateIsVerified() async throws {
        let certs = try Scratch()
        let (cert, key) = try makeCertificate(name: "localhost", in: certs.url)
        if getuid() == 0, let pw = getpwnam("postgres")?.pointee {
            chown(certs.url.path, pw.pw_uid, pw.pw_gid)
            for f in [cert, key] { chown(f, pw.pw_uid, pw.pw_gid) }
        }
        chmod(key, 0o600)
        let port = Int.random(in: 30000...39000)
        let server = try await offThePool {
            try PostgresServer(port: port, extraConfig: "listen_addresses = '127.0.0.1'\nssl = on\nssl_cert_file = '\(cert)'\nssl_key_file = '\(key)'")
        }
        defer { server.stop() }
        _ = try await offThePool { try server.psql("CREATE DATABASE tls") }
        let logger = Logger(label: "tls")
        let verified = try DatabaseURL(parsing: "postgresql://postgres@localhost:\(port)/tls?sslmode=verify-full&sslrootcert=\(cert)")
        let store = try await PostgresStore(url: verified, password: nil, logger: logger)
        #expect(try await store.outboxCounts() == (pending: 0, sent: 0, failed: 0))
        #expect(try await offThePool { try server.psql("SELECT count(*) FROM pg_stat_ssl WHERE ssl", database: "tls") } != "0")
        await store.close()

        let unknownCA = try DatabaseURL(parsing: "postgresql://postgres@localhost:\(port)/tls?sslmode=require&connect_timeout=2")
        await #expect {
            _ = try await PostgresStore(url: unknownCA, password: nil, logger: logger, retryFor: .seconds(1))
        } throws: { error in
            let text = "\(error)"
            return text.contains("set sslrootcert to the CA certificate") && typeNameLeak(text) == nil
        }
    }
}
