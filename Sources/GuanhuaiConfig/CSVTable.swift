import CSV
import Foundation
import GuanhuaiCalendar
import GuanhuaiCore
import GuanhuaiSystem

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
            reader = try CSVReader(string: TextFile.normalized(text), hasHeaderRow: true, trimFields: true)
        } catch {
            throw InputError(file: file, location: "row 1", message: L("has no header row; the first row names the columns", "没有表头：第一行应写各列的名称"))
        }
        guard let head = reader.headerRow else {
            throw InputError(file: file, location: "row 1", message: L("has no header row; the first row names the columns", "没有表头：第一行应写各列的名称"))
        }
        header = head.map { $0.trimmingCharacters(in: .whitespaces) }
        columns = Dictionary(header.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        for column in required where !header.contains(column) {
            throw InputError(
                file: file, location: "row 1", field: column,
                message: L(
                    "the column \"\(column)\" is missing; the header must name \(required.joined(separator: ", "))",
                    "缺少「\(column)」列；表头必须包含 \(required.joined(separator: "、"))"))
        }
        for column in header where !column.isEmpty && !required.contains(column) && !optional.contains(column) {
            throw InputError(
                file: file, location: "row 1", field: column,
                message: L(
                    "unknown column \"\(column)\"; known columns: \((required + optional).joined(separator: ", "))",
                    "不认识的列「\(column)」；可用的列：\((required + optional).joined(separator: "、"))"))
        }
        var rows: [(Int, [String])] = []
        var n = 1
        while let row = reader.next() {
            n += 1
            if row.allSatisfy({ $0.isEmpty }) { continue }
            // Limits that keep one bad cell (a pasted document, a 10 MB name) from making every plan crawl.
            if row.reduce(0, { $0 + $1.utf8.count }) > CSVTable.rowLimitBytes {
                throw InputError(
                    file: file, location: "row \(n)",
                    message: L(
                        "is longer than \(CSVTable.rowLimitBytes / 1024) kB; a row holds one person or record",
                        "超过 \(CSVTable.rowLimitBytes / 1024) kB；一行只写一个人或一条记录"))
            }
            for (i, cell) in row.enumerated() {
                let limit =
                    CSVTable.nameColumns.contains(i < header.count ? header[i] : "")
                    ? CSVTable.nameLimit : CSVTable.cellLimit
                if cell.count > limit {
                    throw InputError(
                        file: file, location: "row \(n)", field: i < header.count ? header[i] : "column \(i + 1)",
                        message: L("has \(cell.count) characters; at most \(limit) fit here", "有 \(cell.count) 个字符，此处最多 \(limit) 个"))
                }
            }
            rows.append((n, row))
        }
        if reader.error != nil {
            throw InputError(file: file, location: "row \(n + 1)", message: L("is not valid CSV (an unclosed quote?)", "不是有效的 CSV（引号没有闭合？）"))
        }
        self.rows = rows
    }

    static let rowLimitBytes = 64 * 1024
    static let cellLimit = 2000
    static let nameLimit = 64
    /// Columns that hold a name or an id: short.
    static let nameColumns: Set<String> = ["姓名", "编号", "党员", "对象", "所在支部", "性别", "手机", "邮箱", "类型"]

    /// A cell, or nil when empty. The reader has trimmed it already (trimFields).
    func value(_ row: [String], _ column: String) -> String? {
        guard let i = columns[column], i < row.count, !row[i].isEmpty else { return nil }
        return row[i]
    }
}

extension CivilDate {
    /// Why a date read from a file cannot be a day that has already come: out of the supported range, or after
    /// `today` (when given). Nil when it can.
    func pastDateProblem(today: CivilDate?) -> String? {
        if !isSupported {
            return L(
                "\(self) is out of range; dates must lie \(CivilDate.supportedText(chinese: Lang.chinese))",
                "\(self) 超出范围；日期须在 \(CivilDate.supportedText(chinese: Lang.chinese))")
        }
        if let today, self > today { return L("\(self) is in the future (today is \(today))", "\(self) 是将来的日期（今天是 \(today)）") }
        return nil
    }
}
