import GuanhuaiCore

/// JSON Lines output. Written by hand (not JSONEncoder) so the key order is fixed and readable and the bytes are the
/// same on every run.
extension Occurrence {
    /// One line of `guanhuai plan --format json`.
    var jsonLine: String {
        let o = self
        var s = "{\"occurrence\":\(Occurrence.quote(o.id)),\"rule\":\(Occurrence.quote(o.rule)),\"title\":\(Occurrence.quote(o.title))"
        s += ",\"subject\":" + (o.subject.map(Occurrence.quote) ?? "null")
        s += ",\"org\":\(Occurrence.quote(o.org)),\"responsible\":\(Occurrence.quote(o.responsible))"
        s += ",\"window_start\":\"\(o.windowStart)\",\"due\":\"\(o.due)\",\"status\":\"\(o.status.rawValue)\""
        if let r = o.waivedReason { s += ",\"waived_reason\":\(Occurrence.quote(r))" }
        if let d = o.closedOn { s += ",\"closed_on\":\"\(d)\"" }
        if let b = o.closedBy { s += ",\"closed_by\":\(Occurrence.quote(b))" }
        if let a = o.closedAmountFen { s += ",\"amount_fen\":\(a)" }
        s += ",\"reminders\":["
        s += o.reminders.map { r in
            "{\"at\":\"\(r.rfc3339)\",\"kind\":\"\(r.kind.rawValue)\",\"to\":[\(r.to.map(Occurrence.quote).joined(separator: ","))]}"
        }.joined(separator: ",")
        return s + "]}"
    }

    static func quote(_ s: String) -> String {
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
