import GuanhuaiCore
import GuanhuaiSystem

/// A problem in a file an operator wrote: what was wrong, where, and what to do.
public struct InputError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    /// "line 12" (TOML) or "row 5" (CSV, the header being row 1), when known.
    public var location: String?
    /// The key or column.
    public var field: String?
    public var message: String

    public init(file: String, location: String? = nil, field: String? = nil, message: String) {
        self.file = file
        self.location = location
        self.field = field
        self.message = message
    }

    public var description: String {
        guard Lang.chinese else {
            var s = file
            if let location { s += " " + location }
            if let field { s += ", " + field }
            return s + ": " + message
        }
        // 「roster.csv 第 5 行，入党日期：…」
        var s = file
        if let location {
            let parts = location.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0] == "row" || parts[0] == "line", Int(parts[1]) != nil {
                s += " 第 \(parts[1]) 行"
            } else {
                s += " " + location
            }
        }
        if let field { s += "，" + field }
        return s + "：" + message
    }
}

/// Every problem found in one file, so an operator can fix them all in one pass.
public struct InputErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [InputError]

    public init(_ errors: [InputError]) { self.errors = errors }

    public var description: String {
        let shown = errors.prefix(50).map(\.description)
        let more = errors.count > 50 ? [L("… and \(errors.count - 50) more", "……另有 \(errors.count - 50) 处")] : []
        return (shown + more).joined(separator: "\n")
    }
}
