import Foundation
public import GuanhuaiCore
import Mustache

extension ReportOutput {
    struct HTMLRow {
        var name: String
        var indent: Int
        var cells: [String]
        var strong: Bool
    }

    struct Bar {
        var y: Int
        var labelY: Int
        var name: String
        var width: Int
        var value: String
        var valueX: Int
        var low: Bool
    }

    struct HTMLPage {
        var title: String
        var organization: String
        var period: String
        var scope: String
        var generated: String
        var header: [String]
        var rows: [HTMLRow]
        var bars: [Bar]
        var chartHeight: Int
        var hasBars: Bool
        var note: String
        /// On the web: the stylesheet's address (the pages' CSP allows no inline style) and the way back.
        var stylesheet: String?
        var css: String
        var back: String?
        /// The 专项资金's tables (the whole committee's report only).
        var fund: [FundTable] = []
        var hasFund = false
    }

    struct FundTable {
        var title: String
        var header: [String]
        var rows: [FundRow]
    }

    struct FundRow {
        var cells: [String]
    }

    /// The report's style: inline in a file or a mail (it travels alone), served at /static/report.css on the web.
    public static let css = """
        @page { size: A4 portrait; margin: 16mm 14mm; }
        body { font: 10.5pt/1.5 "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "SimSun", sans-serif; color: #111; margin: 0; }
        h1 { font-size: 16pt; text-align: center; margin: 0 0 4pt; }
        .meta { text-align: center; color: #444; margin: 0 0 10pt; }
        .scroll { overflow-x: auto; }
        table { width: 100%; border-collapse: collapse; font-size: 9pt; page-break-inside: auto; }
        th, td { border: 0.5pt solid #777; padding: 2pt 4pt; text-align: right; }
        th { background: #eee; text-align: center; }
        td.name { text-align: left; white-space: nowrap; }
        td.d1 { padding-left: 1em; } td.d2 { padding-left: 2em; } td.d3 { padding-left: 3em; } td.d4 { padding-left: 4em; }
        tr { page-break-inside: avoid; }
        tr.strong td { font-weight: bold; }
        h2 { font-size: 12pt; margin: 14pt 0 6pt; }
        h3 { font-size: 10.5pt; margin: 10pt 0 4pt; }
        svg text { font-size: 9px; font-family: inherit; }
        .note { color: #555; font-size: 8.5pt; margin-top: 8pt; }
        .back a { display: inline-block; min-height: 44px; padding: .7rem 0; color: #0d47a1; }
        @media screen and (max-width: 40rem) { body { margin: .6rem; font-size: 11pt; } table { font-size: 10pt; } }
        """

    static let page = """
        <!DOCTYPE html>
        <html lang="zh-CN"><head><meta charset="utf-8"><title>{{title}}</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        {{#stylesheet}}<link rel="stylesheet" href="{{stylesheet}}">{{/stylesheet}}{{^stylesheet}}<style>
        {{{css}}}
        </style>{{/stylesheet}}</head><body>
        {{#back}}<p class="back"><a href="{{{back}}}" id="back">返回我的待办</a></p>{{/back}}
        <h1>{{title}}</h1>
        <p class="meta">{{organization}} · {{scope}} · 统计期间 {{period}} · 生成于 {{generated}}</p>
        <div class="scroll"><table>
        <thead><tr>{{#header}}<th>{{.}}</th>{{/header}}</tr></thead>
        <tbody>
        {{#rows}}<tr{{#strong}} class="strong"{{/strong}}><td class="name d{{indent}}">{{name}}</td>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>
        {{/rows}}
        </tbody></table></div>
        {{#hasBars}}
        <h2>覆盖率</h2>
        <svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 640 {{chartHeight}}" role="img" aria-label="覆盖率">
        <line x1="180" y1="0" x2="180" y2="{{chartHeight}}" stroke="#999" stroke-width="0.5"/>
        {{#bars}}<text x="174" y="{{labelY}}" text-anchor="end">{{name}}</text>
        <rect x="180" y="{{y}}" width="{{width}}" height="12" fill="{{#low}}#c62828{{/low}}{{^low}}#2e7d32{{/low}}"/>
        <text x="{{valueX}}" y="{{labelY}}">{{value}}</text>
        {{/bars}}
        </svg>
        {{/hasBars}}
        <p class="note">{{note}}</p>
        {{#hasFund}}<h2 id="fund">关怀帮扶专项资金</h2>
        {{#fund}}<h3>{{title}}</h3><div class="scroll"><table>
        <thead><tr>{{#header}}<th>{{.}}</th>{{/header}}</tr></thead>
        <tbody>{{#rows}}<tr>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>
        {{/rows}}</tbody></table></div>
        {{/fund}}{{/hasFund}}
        </body></html>
        """

    /// A page that prints on A4: the table, and an SVG bar chart of coverage per row (red below 80 %).
    /// On the web, `stylesheet` is the style's address and `back` the way back to 「我的待办」; a file or a mail
    /// carries its style inline.
    public static func html(
        _ r: Report, organization: String, scope: String, generated: String, stylesheet: String? = nil,
        back: String? = nil, fund: [FundReport.Table] = []
    ) -> String {
        var rows = r.rows.map { row in
            HTMLRow(
                name: row.name, indent: min(row.depth, 4), cells: Array(cells(row, indent: false).dropFirst()),
                strong: r.grouping == .unit && row.depth == 0)
        }
        if r.grouping != .unit {
            rows.append(HTMLRow(name: "合计", indent: 0, cells: Array(cells(totalRow(r), indent: false).dropFirst()), strong: true))
        }
        let charted = r.rows.filter { $0.figures.coverage != nil }.prefix(60)
        let bars = charted.enumerated().map { i, row in
            let c = row.figures.coverage ?? 0
            let w = Int((c * 400).rounded())
            return Bar(
                y: 6 + i * 18, labelY: 16 + i * 18, name: String(repeating: "　", count: row.depth) + row.name, width: w,
                value: percent(c), valueX: 186 + w, low: c < 0.8)
        }
        let title = "党内关怀帮扶工作情况统计（" + heading(r.grouping) + "）"
        let values = HTMLPage(
            title: title, organization: organization, period: "\(r.from) 至 \(r.to)", scope: scope, generated: generated,
            header: header(r.grouping), rows: rows, bars: bars, chartHeight: 12 + bars.count * 18, hasBars: !bars.isEmpty,
            note: "覆盖率 = 已办结 ÷（应办 − 不适用）；逾期天数中位数只计逾期办结的事项；上级单位的数字包含其下各单位。",
            stylesheet: stylesheet, css: css, back: back,
            fund: fund.map { FundTable(title: $0.title, header: $0.header, rows: $0.rows.map { FundRow(cells: $0.map(\.display)) }) },
            hasFund: !fund.isEmpty)
        var library = MustacheLibrary()
        try? library.register(page, named: "report")
        return library.render(values, withTemplate: "report") ?? ""
    }
}
