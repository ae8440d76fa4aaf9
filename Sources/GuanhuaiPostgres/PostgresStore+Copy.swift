import Foundation
public import GuanhuaiStore
import Logging
import NIOCore
import PostgresNIO

extension PostgresStore {
    /// Every committee table, read in one repeatable-read transaction (a consistent copy while instances write).
    public func copyOut() async throws(StoreError) -> [TableCopy] {
        try await bulk { conn, logger in
            try await conn.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            var out: [TableCopy] = []
            for t in TableCopy.tables {
                let columns = try await Self.columns(of: t.name, conn, logger)
                let rows = try await conn.query(
                    PostgresQuery(unsafeSQL: "SELECT \(columns.map(\.name).joined(separator: ", ")) FROM \(t.name) ORDER BY \(t.orderBy)"),
                    logger: logger)
                var values: [[CopyValue]] = []
                for try await row in rows {
                    var line: [CopyValue] = []
                    for cell in row {
                        guard cell.bytes != nil else {
                            line.append(.null)
                            continue
                        }
                        switch cell.dataType {
                        case .int8, .int4, .int2: line.append(.integer(try cell.decode(Int64.self)))
                        case .bool: line.append(.integer(try cell.decode(Bool.self) ? 1 : 0))
                        case .float8, .float4: line.append(.real(try cell.decode(Double.self)))
                        case .bytea: line.append(.blob(try cell.decode(Data.self)))
                        default: line.append(.text(try cell.decode(String.self)))
                        }
                    }
                    values.append(line)
                }
                out.append(TableCopy(table: t.name, columns: columns.map(\.name), rows: values))
            }
            return out
        }
    }

    /// A table's columns and their types, in order (names as PostgreSQL folded them: lower case).
    static func columns(of table: String, _ conn: PostgresConnection, _ logger: Logger) async throws -> [(name: String, type: String)] {
        var out: [(name: String, type: String)] = []
        for try await (name, type) in try await conn.query(
            """
            SELECT column_name::text, data_type::text FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = \(table.lowercased()) ORDER BY ordinal_position
            """, logger: logger
        ).decode((String, String).self) { out.append((name, type)) }
        return out
    }

    /// Writes the tables in one transaction, then moves each identity past the highest id copied; refuses (writing
    /// nothing) when the database is not empty.
    public func copyIn(_ tables: [TableCopy]) async throws(StoreError) {
        try await bulk { conn, logger in
            for t in TableCopy.tables {
                for try await n in try await conn.query(PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM \(t.name)"), logger: logger).decode(Int64.self)
                where n > 0 {
                    throw StoreError.rejected("the target database is not empty (table \(t.name) has rows); copy into a new, empty database")
                }
            }
            for t in tables { try await Self.insert(t, conn, logger) }
            for (table, column) in TableCopy.identities {
                try await conn.query(
                    PostgresQuery(
                        unsafeSQL:
                            "SELECT setval(pg_get_serial_sequence('\(table.lowercased())', '\(column.lowercased())'), COALESCE(MAX(\(column)), 0) + 1, false) FROM \(table)"
                    ), logger: logger)
            }
        }
    }

    /// Inserts a table's rows in batches under PostgreSQL's 65,535 parameters per statement, each value bound as its
    /// column's type. `onConflict` names the key whose existing rows are updated instead (an upsert).
    static func insert(_ t: TableCopy, onConflict key: [String] = [], _ conn: PostgresConnection, _ logger: Logger) async throws {
        guard !t.rows.isEmpty else { return }
        let types = Dictionary(uniqueKeysWithValues: try await Self.columns(of: t.table, conn, logger).map { ($0.name, $0.type) })
        let columnTypes = try t.columns.map { c in
            guard let type = types[c.lowercased()] else {
                throw StoreError.rejected("table \(t.table) has no column \(c) here: is the target an older guanhuai's?")
            }
            return type
        }
        var conflict = ""
        if !key.isEmpty {
            let set = t.columns.filter { !key.contains($0) }.map { "\($0) = EXCLUDED.\($0)" }
            conflict = " ON CONFLICT (\(key.joined(separator: ", "))) DO " + (set.isEmpty ? "NOTHING" : "UPDATE SET " + set.joined(separator: ", "))
        }
        let perBatch = max(1, 30_000 / max(1, t.columns.count))
        var start = 0
        while start < t.rows.count {
            let batch = t.rows[start..<min(start + perBatch, t.rows.count)]
            var binds = PostgresBindings(capacity: batch.count * t.columns.count)
            var tuples: [String] = []
            for row in batch {
                var marks: [String] = []
                for (value, type) in zip(row, columnTypes) {
                    try Self.bind(value, as: type, into: &binds)
                    marks.append("$\(binds.count)")
                }
                tuples.append("(" + marks.joined(separator: ", ") + ")")
            }
            try await conn.query(
                PostgresQuery(
                    unsafeSQL: "INSERT INTO \(t.table) (\(t.columns.joined(separator: ", "))) VALUES " + tuples.joined(separator: ", ") + conflict,
                    binds: binds),
                logger: logger)
            start += batch.count
        }
    }

    static func bind(_ value: CopyValue, as type: String, into binds: inout PostgresBindings) throws {
        switch (value, type) {
        case (.null, _): binds.appendNull()
        case (.integer(let i), "boolean"): binds.append(i != 0)
        case (.integer(let i), "text"): binds.append(String(i))
        case (.integer(let i), _): binds.append(i)
        case (.real(let d), _): binds.append(d)
        case (.text(let s), "bigint"):
            guard let i = Int64(s) else { throw StoreError.rejected("\"\(s)\" is not a whole number, for a bigint column") }
            binds.append(i)
        case (.text(let s), "bytea"): binds.append(ByteBuffer(string: s))
        case (.text(let s), _): binds.append(s)
        case (.blob(let b), _): binds.append(ByteBuffer(bytes: b))
        }
    }
}
