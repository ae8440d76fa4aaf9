import GuanhuaiCore
import GuanhuaiReport

/// JSON Lines output. Written by hand (not JSONEncoder) so the key order is fixed and readable and the bytes are the
/// same on every run.
extension Occurrence {
    /// One line of `guanhuai plan --format json`.
    var jsonLine: String {
        let o = self
        var s = "{\"occurrence\":\(Occurrence.jsonQuote(o.id)),\"rule\":\(Occurrence.jsonQuote(o.rule)),\"title\":\(Occurrence.jsonQuote(o.title))"
        s += ",\"subject\":" + (o.subject.map(Occurrence.jsonQuote) ?? "null")
        s += ",\"org\":\(Occurrence.jsonQuote(o.org)),\"responsible\":\(Occurrence.jsonQuote(o.responsible))"
        s += ",\"window_start\":\"\(o.windowStart)\",\"due\":\"\(o.due)\",\"status\":\"\(o.status.rawValue)\""
        if let r = o.waivedReason { s += ",\"waived_reason\":\(Occurrence.jsonQuote(r))" }
        if let d = o.closedOn { s += ",\"closed_on\":\"\(d)\"" }
        if let b = o.closedBy { s += ",\"closed_by\":\(Occurrence.jsonQuote(b))" }
        if let a = o.closedAmountFen { s += ",\"amount_fen\":\(a)" }
        s += ",\"reminders\":["
        s += o.reminders.map { r in
            "{\"at\":\"\(r.rfc3339)\",\"kind\":\"\(r.kind.rawValue)\",\"to\":[\(r.to.map(Occurrence.jsonQuote).joined(separator: ","))]}"
        }.joined(separator: ",")
        return s + "]}"
    }
}
