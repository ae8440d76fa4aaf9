import CSV
public import Foundation
public import GuanhuaiCore
import Mustache
import ZIPFoundation

/// A report as people and machines read it: CSV for Excel, a workbook, a page that prints on A4, JSON Lines.
public enum ReportOutput {
    /// The columns, in Chinese, after the row's name.
    static let columns = ["应办", "按期办结", "逾期办结", "逾期未办", "未到期", "不适用", "覆盖率", "逾期天数中位数", "慰问金（元）"]

    static func heading(_ g: Report.Grouping) -> String {
        switch g {
        case .unit: "单位"
        case .rule: "事项"
        case .person: "责任人"
        }
    }

    static func sheetName(_ g: Report.Grouping) -> String {
        switch g {
        case .unit: "按单位"
        case .rule: "按事项"
        case .person: "按责任人"
        }
    }

    public static func percent(_ v: Double?) -> String {
        guard let v else { return "—" }
        let tenths = Int((v * 1000).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }

    static func median(_ v: Double?) -> String {
        guard let v else { return "—" }
        return v == v.rounded() ? String(Int(v)) : String(format: "%.1f", v)
    }

    /// The cells of a row as text (table, CSV): names indented by depth for units.
    public static func cells(_ row: Report.Row, indent: Bool) -> [String] {
        let f = row.figures
        return [
            (indent ? String(repeating: "  ", count: row.depth) : "") + row.name, String(f.due), String(f.onTime),
            String(f.late), String(f.overdue), String(f.notYetDue), String(f.waived), percent(f.coverage),
            median(f.medianDaysLate), Report.Figures.yuan(f.amountFen),
        ]
    }

    public static func header(_ g: Report.Grouping) -> [String] { [heading(g)] + columns }

    public static func totalRow(_ r: Report) -> Report.Row {
        Report.Row(key: "", name: "合计", depth: 0, parent: nil, figures: r.total)
    }

    /// UTF-8 with a byte-order mark (Excel on Chinese Windows reads it as UTF-8 then), CRLF line ends, through
    /// CSV.swift's writer. Unit rows carry their id and parent, so a machine can roll them up.
    public static func csv(_ r: Report) throws -> Data {
        let stream = OutputStream(toMemory: ())
        stream.open()
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        _ = stream.write(bom, maxLength: 3)
        let w = try CSVWriter(stream: stream, codecType: UTF8.self, newline: .crlf)
        try w.write(row: ["编号", "上级"] + header(r.grouping))
        for row in r.rows { try w.write(row: [row.key, row.parent ?? ""] + cells(row, indent: false)) }
        if r.grouping != .unit { try w.write(row: ["", ""] + cells(totalRow(r), indent: false)) }
        w.stream.close()
        return stream.property(forKey: .dataWrittenToMemoryStreamKey) as? Data ?? Data()
    }

    /// One JSON object per row; amounts in fen and coverage as a number, for machines.
    public static func jsonLines(_ r: Report) -> String {
        var out = ""
        for row in r.rows {
            let f = row.figures
            var s = "{\"group\":\"\(r.grouping.rawValue)\",\"key\":\(Occurrence.jsonQuote(row.key)),\"name\":\(Occurrence.jsonQuote(row.name))"
            s += ",\"parent\":" + (row.parent.map(Occurrence.jsonQuote) ?? "null")
            s += ",\"from\":\"\(r.from)\",\"to\":\"\(r.to)\",\"due\":\(f.due),\"on_time\":\(f.onTime),\"late\":\(f.late)"
            s += ",\"overdue\":\(f.overdue),\"not_yet_due\":\(f.notYetDue),\"waived\":\(f.waived)"
            s += ",\"coverage\":" + (f.coverage.map { String(format: "%.4f", $0) } ?? "null")
            s += ",\"median_days_late\":" + (f.medianDaysLate.map { String($0) } ?? "null")
            s += ",\"amount_fen\":\(f.amountFen)}\n"
            out += s
        }
        return out
    }
}

extension Occurrence {
    /// A JSON string literal: the one escaper for `plan --format json` and `report --format json`. Written by hand so
    /// the bytes are fixed (JSONSerialization escapes `/` and orders keys its own way).
    public static func jsonQuote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}

// MARK: XLSX

extension ReportOutput {
    /// An Office Open XML workbook, one sheet per grouping: written by hand as SpreadsheetML (the few parts a valid
    /// workbook needs; no maintained Swift library writes XLSX), zipped with ZIPFoundation. Counts are numbers,
    /// coverage a percentage, amounts yuan with two decimals, the header row bold and frozen.
    public static func xlsx(_ reports: [Report], title: String, fund: [FundReport.Table] = []) throws -> Data {
        let archive: Archive
        do {
            archive = try Archive(data: Data(), accessMode: .create)
        } catch {
            throw ReportError("cannot create the workbook")
        }
        func add(_ path: String, _ text: String) throws {
            let data = Data(text.utf8)
            try archive.addEntry(
                with: path, type: .file, uncompressedSize: Int64(data.count),
                modificationDate: Date(timeIntervalSince1970: 1_800_000_000), compressionMethod: .deflate
            ) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        let sheets = reports.enumerated().map { (i, r) in (i + 1, sheetName(r.grouping), r) }
        // The 专项资金 as one more sheet after the groupings, its tables one under another.
        let names = sheets.map { ($0.0, $0.1) } + (fund.isEmpty ? [] : [(sheets.count + 1, "专项资金")])
        try add(
            "[Content_Types].xml",
            """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
            <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
            <Default Extension="xml" ContentType="application/xml"/>\
            <Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
            <Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
            \(names.map { "<Override PartName=\"/xl/worksheets/sheet\($0.0).xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>" }.joined())\
            </Types>
            """)
        try add(
            "_rels/.rels",
            """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
            <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>\
            </Relationships>
            """)
        try add(
            "xl/workbook.xml",
            """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\
            <sheets>\(names.map { "<sheet name=\"\($0.1)\" sheetId=\"\($0.0)\" r:id=\"rId\($0.0)\"/>" }.joined())</sheets>\
            </workbook>
            """)
        try add(
            "xl/_rels/workbook.xml.rels",
            """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
            \(names.map { "<Relationship Id=\"rId\($0.0)\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet\($0.0).xml\"/>" }.joined())\
            <Relationship Id="rId\(names.count + 1)" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>\
            </Relationships>
            """)
        // Styles: 0 default, 1 bold header, 2 integer, 3 percent with one decimal, 4 yuan, 5 one decimal.
        try add(
            "xl/styles.xml",
            """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
            <numFmts count="2"><numFmt numFmtId="164" formatCode="0.0%"/><numFmt numFmtId="165" formatCode="#,##0.00"/></numFmts>\
            <fonts count="2"><font><sz val="11"/><name val="宋体"/></font><font><b/><sz val="11"/><name val="宋体"/></font></fonts>\
            <fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>\
            <borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
            <cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
            <cellXfs count="6"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
            <xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
            <xf numFmtId="1" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
            <xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
            <xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
            <xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>\
            </styleSheet>
            """)
        for (n, _, r) in sheets { try add("xl/worksheets/sheet\(n).xml", sheet(r, title: title)) }
        if !fund.isEmpty { try add("xl/worksheets/sheet\(sheets.count + 1).xml", fundSheet(fund)) }
        guard let data = archive.data else { throw ReportError("cannot write the workbook") }
        return data
    }

    static func xml(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: if c.value >= 0x20 || c == "\t" || c == "\n" { out.unicodeScalars.append(c) }
            }
        }
        return out
    }

    static func column(_ i: Int) -> String {
        var n = i + 1
        var s = ""
        while n > 0 {
            let r = (n - 1) % 26
            s = String(UnicodeScalar(UInt8(65 + r))) + s
            n = (n - 1) / 26
        }
        return s
    }

    static func sheet(_ r: Report, title: String) -> String {
        var rows: [String] = []
        func text(_ ref: String, _ s: String, style: Int = 0) -> String {
            "<c r=\"\(ref)\" t=\"inlineStr\"\(style > 0 ? " s=\"\(style)\"" : "")><is><t xml:space=\"preserve\">\(xml(s))</t></is></c>"
        }
        func number(_ ref: String, _ v: String, style: Int) -> String { "<c r=\"\(ref)\" s=\"\(style)\"><v>\(v)</v></c>" }
        let head = header(r.grouping)
        rows.append("<row r=\"1\">" + head.enumerated().map { text("\(column($0))1", $1, style: 1) }.joined() + "</row>")
        var all = r.rows
        if r.grouping != .unit { all.append(totalRow(r)) }
        for (i, row) in all.enumerated() {
            let n = i + 2
            let f = row.figures
            var cells = [text("A\(n)", String(repeating: "　", count: row.depth) + row.name)]
            for (j, v) in [f.due, f.onTime, f.late, f.overdue, f.notYetDue, f.waived].enumerated() {
                cells.append(number("\(column(j + 1))\(n)", String(v), style: 2))
            }
            cells.append(f.coverage.map { number("H\(n)", String(format: "%.6f", $0), style: 3) } ?? text("H\(n)", "—"))
            cells.append(f.medianDaysLate.map { number("I\(n)", String($0), style: 5) } ?? text("I\(n)", "—"))
            cells.append(number("J\(n)", Report.Figures.yuan(f.amountFen), style: 4))
            rows.append("<row r=\"\(n)\">" + cells.joined() + "</row>")
        }
        return """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
            <sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>\
            <cols><col min="1" max="1" width="28" customWidth="1"/><col min="2" max="10" width="12" customWidth="1"/></cols>\
            <sheetData>\(rows.joined())</sheetData>\
            </worksheet>
            """
    }
}

extension ReportOutput {
    /// The 专项资金's tables in one sheet: each table's title in bold, its header, its rows, a blank row between.
    /// Counts and working days are numbers, amounts yuan with two decimals.
    static func fundSheet(_ tables: [FundReport.Table]) -> String {
        var rows: [String] = []
        var n = 0
        func text(_ ref: String, _ s: String, style: Int = 0) -> String {
            "<c r=\"\(ref)\" t=\"inlineStr\"\(style > 0 ? " s=\"\(style)\"" : "")><is><t xml:space=\"preserve\">\(xml(s))</t></is></c>"
        }
        func number(_ ref: String, _ v: String, style: Int) -> String { "<c r=\"\(ref)\" s=\"\(style)\"><v>\(v)</v></c>" }
        for t in tables {
            n += 1
            rows.append("<row r=\"\(n)\">" + text("A\(n)", t.title, style: 1) + "</row>")
            n += 1
            rows.append("<row r=\"\(n)\">" + t.header.enumerated().map { text("\(column($0))\(n)", $1, style: 1) }.joined() + "</row>")
            for r in t.rows {
                n += 1
                let cells = r.enumerated().map { (j, c) -> String in
                    let ref = "\(column(j))\(n)"
                    switch c {
                    case .text(let s): return text(ref, s)
                    case .count(let v): return number(ref, String(v), style: 2)
                    case .yuan(let f): return number(ref, Amount.yuan(f), style: 4)
                    case .days(let d): return d.map { number(ref, String($0), style: 5) } ?? text(ref, "—")
                    }
                }
                rows.append("<row r=\"\(n)\">" + cells.joined() + "</row>")
            }
            n += 1
        }
        return """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
            <cols><col min="1" max="1" width="36" customWidth="1"/><col min="2" max="6" width="16" customWidth="1"/></cols>\
            <sheetData>\(rows.joined())</sheetData>\
            </worksheet>
            """
    }
}

public struct ReportError: Error, CustomStringConvertible {
    public var description: String
    init(_ s: String) { description = s }
}
