import CSV
import Foundation

/// A CSV file read with CSV.swift, with Chinese headers mapped to fields and every row numbered as a spreadsheet
/// shows it (the header is row 1).
struct CSVTable {
    let file: String
    let header: [String]
    let rows: [(number: Int, fields: [String])]
    let encoding: TextFile.Encoding
    /// Column positions, looked up once rather than per cell.
    let columns: [String: Int]

    init(path: String, required: [String], optional: [String]) throws(InputError) {
        let (text, encoding) = try TextFile.read(path)
        try self.init(text: text, file: path, encoding: encoding, required: required, optional: optional)
    }

    init(text: String, file: String, encoding: TextFile.Encoding = .utf8, required: [String], optional: [String])
        throws(InputError)
    {
        self.file = file
        self.encoding = encoding
        let reader: CSVReader
        do {
            reader = try CSVReader(string: text, hasHeaderRow: true, trimFields: true)
        } catch {
            throw InputError(file: file, location: "row 1", message: "has no header row; the first row names the columns")
        }
        guard let head = reader.headerRow else {
            throw InputError(file: file, location: "row 1", message: "has no header row; the first row names the columns")
        }
        header = head.map { $0.trimmingCharacters(in: .whitespaces) }
        columns = Dictionary(header.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        for column in required where !header.contains(column) {
            throw InputError(file: file, location: "row 1", field: column,
                message: "the column \"\(column)\" is missing; the header must name \(required.joined(separator: ", "))")
        }
        for column in header where !column.isEmpty && !required.contains(column) && !optional.contains(column) {
            throw InputError(file: file, location: "row 1", field: column,
                message: "unknown column \"\(column)\"; known columns: \((required + optional).joined(separator: ", "))")
        }
        var rows: [(Int, [String])] = []
        var n = 1
        while let row = reader.next() {
            n += 1
            if row.allSatisfy({ $0.isEmpty }) { continue }
            rows.append((n, row))
        }
        if reader.error != nil {
            throw InputError(file: file, location: "row \(n + 1)", message: "is not valid CSV (an unclosed quote?)")
        }
        self.rows = rows
    }

    /// A cell, or nil when empty. The reader has trimmed it already (trimFields).
    func value(_ row: [String], _ column: String) -> String? {
        guard let i = columns[column], i < row.count, !row[i].isEmpty else { return nil }
        return row[i]
    }
}
