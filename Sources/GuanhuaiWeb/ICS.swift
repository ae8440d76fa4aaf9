import GuanhuaiCalendar
import GuanhuaiCore

/// An RFC 5545 calendar of open items as all-day VEVENTs (Outlook, Google and Apple ignore VTODO in subscriptions).
/// Written by hand: no maintained Swift iCalendar library exists on this machine, and the subset is small (text
/// escaping §3.3.11, line folding at 75 octets §3.1, CRLF). Content is chat-level: who and what, never why.
enum ICS {
    struct Event {
        var uid: String
        var sequence: Int
        var date: CivilDate
        var summary: String
        var description: String
    }

    static func calendar(name: String, events: [Event], stamp: Int64) -> String {
        var lines = [
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//guanhuai//guanhuai//ZH", "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH", "X-WR-CALNAME:" + text(name), "X-WR-TIMEZONE:Asia/Shanghai",
            "REFRESH-INTERVAL;VALUE=DURATION:PT6H", "X-PUBLISHED-TTL:PT6H",
        ]
        let dtstamp = utc(stamp)
        for e in events {
            lines += [
                "BEGIN:VEVENT", "UID:" + e.uid, "SEQUENCE:\(e.sequence)", "DTSTAMP:" + dtstamp,
                "DTSTART;VALUE=DATE:" + compact(e.date), "DTEND;VALUE=DATE:" + compact(e.date.adding(days: 1)),
                "SUMMARY:" + text(e.summary), "DESCRIPTION:" + text(e.description), "TRANSP:TRANSPARENT",
                "CLASS:PRIVATE", "END:VEVENT",
            ]
        }
        lines.append("END:VCALENDAR")
        return lines.map(fold).joined(separator: "\r\n") + "\r\n"
    }

    static func compact(_ d: CivilDate) -> String {
        let s = d.description
        return s.replacingOccurrences(of: "-", with: "")
    }

    static func utc(_ t: Int64) -> String {
        let (date, seconds) = Timestamp.split(t)
        return compact(date) + "T" + Timestamp.two(seconds / 3600) + Timestamp.two(seconds / 60 % 60)
            + Timestamp.two(seconds % 60) + "Z"
    }

    /// §3.3.11: backslash, semicolon, comma and newline are escaped.
    static func text(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case ";": out += "\\;"
            case ",": out += "\\,"
            case "\n", "\r\n": out += "\\n"
            case "\r": continue
            default: out.append(c)
            }
        }
        return out
    }

    /// §3.1: lines longer than 75 octets are folded with CRLF and a space, never inside a UTF-8 character.
    static func fold(_ line: String) -> String {
        guard line.utf8.count > 75 else { return line }
        var out = ""
        var count = 0
        for ch in line {
            let n = String(ch).utf8.count
            if count + n > 75 {
                out += "\r\n "
                count = 1
            }
            out.append(ch)
            count += n
        }
        return out
    }
}
