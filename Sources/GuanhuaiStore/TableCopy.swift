public import Foundation
import GRDB

/// A value as both engines hold it, for moving a committee between them (`guanhuai db copy`). SQLite's dynamic types
/// map onto PostgreSQL's columns by the column's declared type: a boolean travels as 0 or 1, as SQLite stores it.
public enum CopyValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)
}

/// One table's rows, in the order of its key.
public struct TableCopy: Sendable, Equatable {
    public var table: String
    public var columns: [String]
    public var rows: [[CopyValue]]

    public init(table: String, columns: [String], rows: [[CopyValue]]) {
        self.table = table
        self.columns = columns
        self.rows = rows
    }

    /// Every table that holds a committee, parents before children, with the columns that order its rows.
    /// (`guanhuai_migrations`/`grdb_migrations` are each engine's own, and not copied.)
    public static let tables: [(name: String, orderBy: String)] = [
        ("setting", "key"), ("unit", "id"), ("person", "id"), ("member", "id"), ("relation", "kind, fromPerson, toID"),
        ("dependant", "id"), ("event", "seq"), ("completion", "occurrence"), ("outbox", "id"), ("outboxItem", "outbox, occurrence"),
        ("closedNotice", "recipient, occurrence"), ("audit", "id"), ("disabledEndpoint", "channel"), ("linkGeneration", "person"),
        ("progressNote", "id"), ("smsReceipt", "outbox"), ("fundApplication", "id"), ("fundStep", "application, seq"),
        ("fundIncome", "id"),
    ]

    /// The columns whose values count from a sequence (PostgreSQL's identity columns, SQLite's rowid aliases).
    public static let identities: [(table: String, column: String)] = [
        ("event", "seq"), ("outbox", "id"), ("audit", "id"), ("progressNote", "id"), ("fundApplication", "id"), ("fundIncome", "id"),
    ]
}

extension AppDatabase {
    /// Every committee table, read in one transaction (a consistent copy while others write).
    public func copyOut() throws(StoreError) -> [TableCopy] {
        try read { db in
            try TableCopy.tables.map { t in try TableCopy.read(db, t.name, where: nil) }
        }
    }

    /// Whether any committee table holds a row (a copy goes only into an empty database).
    public func isEmpty() throws(StoreError) -> Bool {
        try read { db in
            try TableCopy.tables.allSatisfy { t in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(t.name)") == 0 }
        }
    }

    /// Writes the tables in one transaction; refuses (writing nothing) when the database is not empty.
    public func copyIn(_ tables: [TableCopy]) throws(StoreError) {
        try write { db in
            for t in TableCopy.tables where try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(t.name)") != 0 {
                throw StoreError.rejected("the target database is not empty (table \(t.name) has rows); copy into a new, empty database")
            }
            for t in tables {
                let statement = try db.makeStatement(
                    sql: "INSERT INTO \(t.table) (\(t.columns.joined(separator: ", "))) VALUES (\(t.columns.map { _ in "?" }.joined(separator: ", ")))")
                for row in t.rows {
                    try statement.execute(arguments: StatementArguments(row.map(\.databaseValue)))
                }
            }
        }
    }
}
