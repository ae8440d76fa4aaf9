/// 慰问金 as people write it: yuan with at most two decimals ("500", "500.5", "500.50"), read exactly into fen.
public enum Amount {
    /// Fen, or nil when the text is not such an amount (negative, more than two decimals, over 10,000,000 yuan).
    public static func fen(_ text: String) -> Int? {
        let s = trimmed(text)
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].count <= 8,
            parts[0].utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let yuan = Int(parts[0]), yuan <= 10_000_000
        else { return nil }
        var fen = yuan * 100
        if parts.count == 2 {
            let f = parts[1]
            guard (1...2).contains(f.count), f.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let v = Int(f) else { return nil }
            fen += f.count == 1 ? v * 10 : v
        }
        return fen
    }

    /// Fen as yuan the way people write it: "500", "500.50".
    public static func yuan(_ fen: Int64) -> String {
        let sign = fen < 0 ? "-" : ""
        let f = fen.magnitude
        let cents = f % 100
        return sign + String(f / 100) + (cents == 0 ? "" : "." + (cents < 10 ? "0" : "") + String(cents))
    }
}

/// Without the spaces and tabs around it.
private func trimmed(_ text: String) -> Substring {
    var s = Substring(text)
    while s.first == " " || s.first == "\t" { s.removeFirst() }
    while s.last == " " || s.last == "\t" { s.removeLast() }
    return s
}
