import Foundation
import GuanhuaiConfig
import GuanhuaiTestSupport
import Testing

/// `[database] url` in libpq's multi-host form, and what it refuses.
@Suite struct DatabaseURLTests {
    @Test func theMultiHostFormReadsAsLibpqReadsIt() throws {
        let u = try DatabaseURL(parsing: "postgresql://guanhuai@db1:5432,db2:5433/guanhuai?target_session_attrs=read-write")
        #expect(u.hosts == [.tcp("db1", port: 5432), .tcp("db2", port: 5433)])
        #expect(u.user == "guanhuai")
        #expect(u.database == "guanhuai")
        #expect(u.sslMode == .prefer)
        #expect(u.description == "postgresql://guanhuai@db1:5432,db2:5433/guanhuai")
    }

    @Test func socketsIPv6AndParameters() throws {
        let s = try DatabaseURL(parsing: "postgres://app@%2Fvar%2Frun%2Fpostgresql:5433/committee")
        #expect(s.hosts == [.socket(directory: "/var/run/postgresql", port: 5433)])
        #expect(s.hosts[0].socketPath == "/var/run/postgresql/.s.PGSQL.5433")
        let v6 = try DatabaseURL(parsing: "postgresql://app@[2001:db8::1]:6432,[2001:db8::2]/db?sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem")
        #expect(v6.hosts == [.tcp("2001:db8::1", port: 6432), .tcp("2001:db8::2", port: 5432)])
        #expect(v6.sslMode == .verifyFull)
        #expect(v6.sslRootCert == "/etc/ssl/ca.pem")
        let p = try DatabaseURL(parsing: "postgresql:///db?host=/run/pg,/run/pg2&port=5432,5433&user=x&connect_timeout=3")
        #expect(p.hosts == [.socket(directory: "/run/pg", port: 5432), .socket(directory: "/run/pg2", port: 5433)])
        #expect(p.user == "x")
        #expect(p.connectTimeoutSeconds == 3)
    }

    @Test(arguments: [
        ("postgresql://u:secret@db/x", "password_credential"),
        ("postgresql://u@db/x?password=secret", "password_credential"),
        ("mysql://u:secret@db/x", "mysql://… is not a PostgreSQL URL"),
        ("postgresql://u@db:99999/x", "not a port number"),
        ("postgresql://u@db1,,db2/x", "empty host"),
        ("postgresql://u@db/x?sslmode=maybe", "sslmode \"maybe\""),
        ("postgresql://u@db/x?target_session_attrs=read-only", "writable primary"),
        ("postgresql://u@db/x?options=-c", "does not use \"options\""),
    ])
    func whatIsRefusedSaysWhy(_ text: String, _ says: String) {
        #expect {
            _ = try DatabaseURL(parsing: text)
        } throws: { error in
            let message = (error as? InputError)?.message ?? ""
            return message.contains(says) && !message.contains("secret")
        }
    }

    /// `[database]` in config.toml: the PostgreSQL keys read, and mistakes said where they are.
    @Test(arguments: [
        ("url = \"postgresql://guanhuai@db1,db2/guanhuai\"\npassword_credential = \"database-password\"\ninstances = 2\n", nil),
        ("url = \"postgresql://guanhuai:secret@db1/guanhuai\"\n", "line 22, [database], url: the URL holds a password"),
        ("path = \"x.sqlite\"\nurl = \"postgresql://guanhuai@db1/guanhuai\"\n", "the store is one or the other"),
        ("instances = 2\n", "instances is for PostgreSQL: it needs url"),
        ("url = \"postgresql://guanhuai@db1/guanhuai\"\ninstances = 40\n", "instances"),
    ])
    func theDatabaseTableOfTheConfiguration(_ table: String, _ says: String?) throws {
        let dir = try Scratch()
        let config = try dir.exampleCopy()
        let text = try String(contentsOfFile: config, encoding: .utf8)
        let start = try #require(text.range(of: "[database]"))
        let end = try #require(text.range(of: "\n\n", range: start.upperBound..<text.endIndex))
        try Data((text[..<start.upperBound] + "\n" + table + text[end.lowerBound...]).utf8).write(to: URL(fileURLWithPath: config))
        do {
            let c = try Configuration.loadSettings(path: config)
            #expect(says == nil, "accepted: \(table)")
            #expect(c.postgres?.url.hosts.count == 2)
            #expect(c.postgres?.password == .credential("database-password"))
            #expect(c.delivery.instances == 2)
        } catch {
            let message = error.description
            #expect(says.map { message.contains($0) } == true, "\(message)")
            #expect(!message.contains("secret"), "the password is not repeated: \(message)")
        }
    }
}
