import GuanhuaiStore
import Testing

@testable import GuanhuaiDaemon

/// The daemon's store as the SQLite database these tests run it on (the PostgreSQL daemon has tests of its own).
extension Runtime {
    var sqlite: AppDatabase {
        get throws { try #require(database as? AppDatabase, "the daemon runs on SQLite here") }
    }
}

extension Loaded {
    var sqlite: AppDatabase {
        get throws { try #require(database as? AppDatabase, "the daemon runs on SQLite here") }
    }
}
