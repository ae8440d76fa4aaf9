import GuanhuaiCore

/// JSON Lines output. Written by hand (not JSONEncoder) so the key order is fixed and readable and the bytes are the
/// same on every run.
extension BufferedOutput {
    /// One line of `guanhuai plan --format json`, written straight into the buffer: no String per line or per value,
    /// the timestamps as digits. A year of 100,000 members is 356,000 of these. Its bytes are pinned by a fixture
    /// written by the String-building serializer it replaced (PlanOutputTests).
    func writeJSONLine(_ o: Occurrence) {
        append("{\"occurrence\":")
        appendJSONString(o.id)
        append(",\"rule\":")
        appendJSONString(o.rule)
        append(",\"title\":")
        appendJSONString(o.title)
        append(",\"subject\":")
        if let s = o.subject { appendJSONString(s) } else { append("null") }
        append(",\"org\":")
        appendJSONString(o.org)
        append(",\"responsible\":")
        appendJSONString(o.responsible)
        append(",\"window_start\":\"")
        appendDate(o.windowStart)
        append("\",\"due\":\"")
        appendDate(o.due)
        append("\",\"status\":\"")
        write(o.status.rawValue, flushing: false)
        append(0x22)
        if let r = o.waivedReason {
            append(",\"waived_reason\":")
            appendJSONString(r)
        }
        if let d = o.closedOn {
            append(",\"closed_on\":\"")
            appendDate(d)
            append(0x22)
        }
        if let b = o.closedBy {
            append(",\"closed_by\":")
            appendJSONString(b)
        }
        if let a = o.closedAmountFen {
            append(",\"amount_fen\":")
            appendInt(a)
        }
        append(",\"reminders\":[")
        for (i, r) in o.reminders.enumerated() {
            if i > 0 { append(0x2C) }
            append("{\"at\":\"")
            appendRFC3339(utc: r.at, offsetSeconds: r.offsetSeconds)
            append("\",\"kind\":\"")
            write(r.kind.rawValue, flushing: false)
            append("\",\"to\":[")
            for (k, p) in r.to.enumerated() {
                if k > 0 { append(0x2C) }
                appendJSONString(p)
            }
            append("]}")
        }
        append("]}")
        endLine()
    }
}
