import Foundation
import GuanhuaiCalendar
import GuanhuaiCore
import TOMLKit

/// Strict reading of a TOML document: unknown keys and wrong types are errors naming the file, the line and the key.
///
/// TOMLKit gives no source positions for keys, so lines are found in the text: the n-th header of a section (from
/// `TOMLStructure`, which also keeps toml++ away from the headers it would abort on), then the first line after it
/// that assigns the key.
struct TOMLReader {
    let file: String
    let lines: [Substring]
    let headers: [TOMLStructure.Header]
    let root: TOMLTable

    init(file: String, text original: String) throws(InputError) {
        self.file = file
        let text = TextFile.normalized(original)
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        do {
            headers = try TOMLStructure(text).headers
        } catch {
            throw InputError(file: file, location: "line \(error.line)", message: error.message)
        }
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw InputError(file: file, location: "line \(error.source.begin.line)", message: error.description)
        } catch {
            throw InputError(file: file, message: "is not valid TOML")
        }
    }

    /// Where a table lives, for error messages and line lookup.
    struct Place {
        var header: String?  // "rule" for [[rule]], "committee" for [committee]; nil for the top level
        var index: Int  // which occurrence of an array-of-tables header
        var name: String  // what a person reads: "rule #3 (glory-50)"
    }

    /// The 1-based line of a section's header (the n-th `[[header]]`), if the section has one.
    func headerLine(_ place: Place) -> Int? {
        guard let header = place.header else { return nil }
        let matching = headers.filter { $0.path == header }
        return place.index < matching.count ? matching[place.index].line : nil
    }

    func line(of key: String, in place: Place) -> Int? {
        var start = 0
        var end = lines.count
        if place.header != nil {
            guard let h = headerLine(place) else { return nil }
            start = h - 1
            end = headers.first(where: { $0.line > h }).map { $0.line - 1 } ?? lines.count
        } else if let first = headers.first {
            end = first.line - 1
        }
        for i in start..<max(start, min(end, lines.count)) {
            // TOML's whitespace is spaces and tabs alike; any run of it reads as one space here.
            let t = lines[i].split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
            if t.hasPrefix(key + " ") || t.hasPrefix(key + "=") || t.contains(" \(key) =") || t.contains("{\(key) =")
                || t.contains("{ \(key) =") || t.contains(" \(key)=") || t.contains("{\(key)=")
            {
                return i + 1
            }
        }
        return place.header == nil ? nil : start + 1
    }

    func error(_ place: Place, _ key: String?, _ message: String) -> InputError {
        let found = key.flatMap { self.line(of: $0, in: place) } ?? headerLine(place)
        let field = [place.name.isEmpty ? nil : place.name, key].compactMap { $0 }.joined(separator: ", ")
        return InputError(
            file: file, location: found.map { "line \($0)" }, field: field.isEmpty ? nil : field,
            message: message)
    }

    func checkKeys(_ table: TOMLTable, allowed: Set<String>, _ place: Place) throws(InputError) {
        for key in table.keys where !allowed.contains(key) {
            let known = allowed.sorted().joined(separator: ", ")
            throw error(place, key, "unknown key \"\(key)\"; known keys here: \(known)")
        }
    }

    func string(_ t: TOMLTable, _ key: String, _ place: Place, required: Bool = false) throws(InputError) -> String? {
        guard let v = t[key] else {
            if required { throw error(place, nil, "missing required key \"\(key)\"") }
            return nil
        }
        guard let s = v.string else { throw error(place, key, "\"\(key)\" must be a string in quotes") }
        return s
    }

    func int(_ t: TOMLTable, _ key: String, _ place: Place, range: ClosedRange<Int>) throws(InputError) -> Int? {
        guard let v = t[key] else { return nil }
        guard let i = v.int else { throw error(place, key, "\"\(key)\" must be a whole number") }
        guard range.contains(i) else {
            throw error(place, key, "\"\(key)\" is \(i); it must be from \(range.lowerBound) to \(range.upperBound)")
        }
        return i
    }

    func bool(_ t: TOMLTable, _ key: String, _ place: Place) throws(InputError) -> Bool? {
        guard let v = t[key] else { return nil }
        guard let b = v.bool else { throw error(place, key, "\"\(key)\" must be true or false") }
        return b
    }

    /// An OnCalendar expression (a rule's `on`, `[report] on`): one that does not parse, or parses but never fires
    /// (*-02-30, which would silently remind no one), is refused with the command that shows why.
    func calendarExpression(_ t: TOMLTable, _ key: String, _ place: Place, default fallback: String?) throws(InputError)
        -> (expression: CalendarExpression, text: String)
    {
        guard let text = try string(t, key, place, required: fallback == nil) ?? fallback else {
            throw error(place, key, "missing required key \"\(key)\"")
        }
        let expr: CalendarExpression
        do {
            expr = try CalendarExpression(text)
        } catch {
            throw self.error(place, key, error.description + "; check it with: guanhuai calendar '\(text)'")
        }
        if expr.next(afterMicroseconds: Int64(CivilDate(2025, 1, 1)!.dayNumber) * 86_400_000_000) == nil {
            throw error(place, key, "\"\(text)\" never happens (there is no such day); check it with: guanhuai calendar '\(text)'")
        }
        return (expr, text)
    }

    func strings(_ t: TOMLTable, _ key: String, _ place: Place) throws(InputError) -> [String]? {
        guard let v = t[key] else { return nil }
        if let s = v.string { return [s] }
        guard let a = v.array else { throw error(place, key, "\"\(key)\" must be a list of strings, [\"a\", \"b\"]") }
        var out: [String] = []
        for e in a {
            guard let s = e.string else { throw error(place, key, "\"\(key)\" must list strings only") }
            out.append(s)
        }
        return out
    }

    func ints(_ t: TOMLTable, _ key: String, _ place: Place, range: ClosedRange<Int>) throws(InputError) -> [Int]? {
        guard let v = t[key] else { return nil }
        guard let a = v.array else { throw error(place, key, "\"\(key)\" must be a list of numbers, [14, 3]") }
        var out: [Int] = []
        for e in a {
            guard let i = e.int, range.contains(i) else {
                throw error(place, key, "\"\(key)\" must list whole numbers from \(range.lowerBound) to \(range.upperBound)")
            }
            out.append(i)
        }
        return out
    }

    func table(_ t: TOMLTable, _ key: String, _ place: Place) throws(InputError) -> TOMLTable? {
        guard let v = t[key] else { return nil }
        guard let tt = v.table else { throw error(place, key, "\"\(key)\" must be a table, { … } or [\(key)]") }
        return tt
    }

    func tables(_ t: TOMLTable, _ key: String) throws(InputError) -> [TOMLTable] {
        guard let v = t[key] else { return [] }
        guard let a = v.array else {
            throw error(Place(header: nil, index: 0, name: ""), key, "\"\(key)\" must be written as [[\(key)]] tables")
        }
        var out: [TOMLTable] = []
        for e in a {
            guard let tt = e.table else {
                throw error(Place(header: nil, index: 0, name: ""), key, "\"\(key)\" must be written as [[\(key)]] tables")
            }
            out.append(tt)
        }
        return out
    }
}
