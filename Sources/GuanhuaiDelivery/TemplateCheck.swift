import Foundation
public import GuanhuaiConfig

/// What a digest template may name, and a check that it names nothing else.
///
/// swift-mustache renders an unknown name as nothing, and keeps its token tree internal, so a typo such as
/// `{{cuont}}` would silently empty a line of every reminder. This small tag scanner is written by hand because no
/// maintained library lists a template's names; it reads only `{{…}}` tags, the way the Mustache spec delimits them.
public enum TemplateCheck {
    /// Names of a whole digest (`DigestValues`).
    public static var digestNames: Set<String> { DigestValues.names }
    /// Names of one item, inside `{{#items}}…{{/items}}`.
    public static var itemNames: Set<String> { DigestValues.Item.names }

    /// Every unknown name in `text` (the file `file`), with its line.
    public static func unknownNames(in text: String, file: String) -> [InputError] {
        var errors: [InputError] = []
        var sections: [String] = []
        var rest = Substring(text)
        var line = 1
        while let open = rest.range(of: "{{") {
            line += rest[rest.startIndex..<open.lowerBound].filter(\.isNewline).count
            let afterOpen = rest[open.upperBound...]
            guard let close = afterOpen.range(of: "}}") else { break }
            var tag = afterOpen[afterOpen.startIndex..<close.lowerBound]
            let tagLine = line
            line += tag.filter(\.isNewline).count
            rest = afterOpen[close.upperBound...]
            if tag.hasPrefix("{") {  // {{{name}}}: the third brace closes after the two
                tag = tag.dropFirst()
                if rest.hasPrefix("}") { rest = rest.dropFirst() }
            }
            let sigil = tag.first.map(String.init) ?? ""
            if ["#", "^", "/", "&"].contains(sigil) { tag = tag.dropFirst() }
            switch sigil {
            case "!", "%", ">", "<", "$": continue  // comments, pragmas, partials and blocks name no value
            case "=": return errors  // changed delimiters: this scanner stops rather than guess
            default: break
            }
            var name = tag.trimmingCharacters(in: .whitespaces)
            // A transform, `uppercased(name)`: the value is what is in the innermost parentheses.
            if let l = name.lastIndex(of: "("), let r = name[l...].firstIndex(of: ")") {
                name = String(name[name.index(after: l)..<r]).trimmingCharacters(in: .whitespaces)
            }
            let head = String(name.split(separator: ".", maxSplits: 1).first ?? "")
            if sigil == "/" {
                if let i = sections.lastIndex(of: head) { sections.removeSubrange(i...) }
                continue
            }
            var known = sections.contains("items") ? digestNames.union(itemNames) : digestNames
            if sections.contains("closed") { known.formUnion(DigestValues.Closed.names) }
            if name != "." && !known.contains(head) {
                var message = "unknown name {{\(name)}}; "
                if let near = nearest(head, in: known) { message += "did you mean {{\(near)}}? " }
                message +=
                    "a template sees "
                    + (sections.contains("items")
                        ? "inside {{#items}}: \(itemNames.sorted().joined(separator: ", ")), and outside: \(digestNames.sorted().joined(separator: ", "))"
                        : "\(digestNames.sorted().joined(separator: ", ")) (item names only inside {{#items}}…{{/items}})")
                errors.append(InputError(file: file, location: "line \(tagLine)", field: "{{\(name)}}", message: message))
            }
            if sigil == "#" || sigil == "^" { sections.append(head) }
        }
        return errors
    }

    /// The known name within two edits of `name`, if there is exactly one nearest.
    static func nearest(_ name: String, in known: Set<String>) -> String? {
        let scored = known.map { ($0, distance(Array(name), Array($0))) }.filter { $0.1 <= 2 }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }
        return scored.first?.0
    }

    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
