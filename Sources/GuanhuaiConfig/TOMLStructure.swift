/// The table headers of a TOML document, found and checked before the text reaches toml++.
///
/// Written by hand because no maintained library does this: toml++ 3.4.0 (inside TOMLKit) calls `parse_key()` on
/// whatever follows `[` or `[[` in a table header, and `parse_key()` asserts that it is a key's first character. So
/// `[[[ x`, `[=]` or `[[ ,` abort the process in a debug build and are undefined behaviour (an assumption the
/// optimiser relies on) in a release build. We therefore check every table header against TOML 1.0's grammar
/// ourselves and refuse a bad one with its line, before toml++ is called at all.
///
/// Only enough of TOML is scanned to know where a header can stand: strings (basic, literal, multi-line),
/// comments, and the brackets and braces of values, which may span lines. toml++ stops at the first error, so it
/// reaches a header only through a valid prefix, on which this scanner and toml++ agree; the libFuzzer harness
/// (`Fuzz/`, docs/robustness.md "Fuzzing") runs the whole read path on mutated files to hold us to that.
///
/// The headers it finds also give keys their line numbers (TOMLKit reports no positions for keys).
struct TOMLStructure {
    struct Header: Equatable {
        /// 1-based.
        var line: Int
        /// The dotted key, segments unquoted and joined by ".": `[ channels . "mail" ]  # x` → "channels.mail".
        var path: String
        var isArray: Bool
    }

    struct Problem: Error, Equatable {
        var line: Int
        var message: String
    }

    var headers: [Header] = []

    init(_ text: String) throws(Problem) {
        var s = Scanner(Array(text.utf8))
        while !s.atEnd {
            s.skipSpaces()
            guard let c = s.peek() else { break }
            switch c {
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                s.advance()
            case UInt8(ascii: "#"):
                s.skipComment()
            case UInt8(ascii: "["):
                headers.append(try s.header())
            default:
                try s.skipKeyValue()
            }
        }
    }

    private struct Scanner {
        let b: [UInt8]
        var i = 0
        var line = 1

        init(_ bytes: [UInt8]) { b = bytes }

        var atEnd: Bool { i >= b.count }
        func peek(_ k: Int = 0) -> UInt8? { i + k < b.count ? b[i + k] : nil }

        mutating func advance() {
            if b[i] == UInt8(ascii: "\n") { line += 1 }
            i += 1
        }

        /// Spaces and tabs, and (as toml++ does) a byte-order mark and any other Unicode horizontal space: the fuzzer
        /// found that a header behind one of those escaped the check.
        mutating func skipSpaces() {
            while let c = peek() {
                if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") {
                    i += 1
                    continue
                }
                guard c >= 0x80, let (scalar, width) = scalar(at: i),
                    scalar == "\u{FEFF}" || (scalar.properties.isWhitespace && scalar != "\u{85}" && scalar != "\u{2028}" && scalar != "\u{2029}")
                else { return }
                i += width
            }
        }

        func scalar(at k: Int) -> (Unicode.Scalar, Int)? {
            var iterator = b[k..<min(b.count, k + 4)].makeIterator()
            var decoder = UTF8()
            guard case .scalarValue(let v) = decoder.decode(&iterator) else { return nil }
            return (v, UTF8.width(v))
        }

        mutating func skipComment() {
            while let c = peek(), c != UInt8(ascii: "\n") { i += 1 }
        }

        func problem(_ message: String) -> Problem { Problem(line: line, message: message) }

        static func isBare(_ c: UInt8) -> Bool {
            (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
        }

        /// `[key]` or `[[key]]`, then only spaces and a comment up to the end of the line.
        mutating func header() throws(Problem) -> Header {
            let start = line
            i += 1
            let isArray = peek() == UInt8(ascii: "[")
            if isArray { i += 1 }
            let shape = isArray ? "[[name]]" : "[name]"
            var segments: [String] = []
            while true {
                skipSpaces()
                guard let c = peek() else { throw problem("the table header is not closed; write it as \(shape)") }
                if Scanner.isBare(c) {
                    let from = i
                    while let d = peek(), Scanner.isBare(d) { i += 1 }
                    segments.append(String(decoding: b[from..<i], as: UTF8.self))
                } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                    segments.append(try quotedKey(c))
                } else if c == UInt8(ascii: "]") && segments.isEmpty {
                    throw problem("the table header has no name; write it as \(shape)")
                } else {
                    let what = c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") ? "the end of the line" : "\"\(Scanner.show(c))\""
                    throw problem(
                        "the table header has \(what) where a name should be; write it as \(shape), "
                            + "with letters, digits, _ and - (or the name in quotes)")
                }
                skipSpaces()
                if peek() == UInt8(ascii: ".") {
                    i += 1
                    continue
                }
                break
            }
            let close: [UInt8] = isArray ? [UInt8(ascii: "]"), UInt8(ascii: "]")] : [UInt8(ascii: "]")]
            guard b.count - i >= close.count, Array(b[i..<(i + close.count)]) == close else {
                throw problem("the table header does not end with \(isArray ? "]]" : "]"); write it as \(shape)")
            }
            i += close.count
            skipSpaces()
            if let c = peek(), c != UInt8(ascii: "\n"), c != UInt8(ascii: "\r"), c != UInt8(ascii: "#") {
                throw problem("a table header stands alone on its line; move what follows it (\"\(Scanner.show(c))\") to the next line")
            }
            return Header(line: start, path: segments.joined(separator: "."), isArray: isArray)
        }

        static func show(_ c: UInt8) -> String {
            c >= 0x20 && c < 0x7f ? String(UnicodeScalar(c)) : "byte 0x" + String(c, radix: 16)
        }

        /// A one-line quoted key segment; its value without quotes (escapes are left to toml++).
        mutating func quotedKey(_ q: UInt8) throws(Problem) -> String {
            i += 1
            let from = i
            while let c = peek(), c != q {
                if c == UInt8(ascii: "\n") { throw problem("a quoted name in a table header is not closed on its line") }
                if q == UInt8(ascii: "\"") && c == UInt8(ascii: "\\") && peek(1) != nil && peek(1) != UInt8(ascii: "\n") { i += 1 }
                i += 1
            }
            guard peek() == q else { throw problem("a quoted name in a table header is not closed on its line") }
            let value = String(decoding: b[from..<i], as: UTF8.self)
            i += 1
            return value
        }

        /// A key, `=`, and a value that may span lines inside brackets, braces and multi-line strings; up to the
        /// end of its (last) line. Most that is malformed is left for toml++ to report: this has to find where the
        /// next line that could hold a header begins. But a value missing where one must stand (`a = ,`,
        /// `[1, }`, `{ a = 1, }`) trips another toml++ assertion (`parse_value`: `!is_value_terminator`, found by
        /// libFuzzer), so those are refused here with their line.
        mutating func skipKeyValue() throws(Problem) {
            enum Expect {
                case none
                case value(allowClose: Bool, sameLine: Bool)
                case key(allowClose: Bool)
            }
            var stack: [UInt8] = []
            var expect = Expect.none
            while true {
                if case .none = expect {} else { skipSpaces() }
                guard let c = peek() else { break }
                switch expect {
                case .none:
                    break
                case .value(let allowClose, let sameLine):
                    if c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") || c == UInt8(ascii: "#") {
                        if sameLine { throw problem("a value is missing after =; write one on the same line") }
                        if c == UInt8(ascii: "#") { skipComment() } else { advance() }
                        continue
                    }
                    if c == UInt8(ascii: "]") && allowClose { break }
                    if c == UInt8(ascii: ",") || c == UInt8(ascii: "]") || c == UInt8(ascii: "}") {
                        throw problem("a value is missing before \"\(Scanner.show(c))\"; write one, or remove the comma")
                    }
                case .key(let allowClose):
                    if c == UInt8(ascii: "}") && allowClose { break }
                    if c == UInt8(ascii: ",") || c == UInt8(ascii: "}") {
                        throw problem(
                            "a name is missing before \"\(Scanner.show(c))\" in an inline table { name = value, … }; "
                                + "there is no comma after the last one")
                    }
                }
                expect = .none
                switch c {
                case UInt8(ascii: "\n"):
                    if stack.isEmpty { return }
                    advance()
                case UInt8(ascii: "#"):
                    skipComment()
                case UInt8(ascii: "\""), UInt8(ascii: "'"):
                    skipString(c)
                case UInt8(ascii: "="):
                    expect = .value(allowClose: false, sameLine: true)
                    i += 1
                case UInt8(ascii: "["):
                    stack.append(c)
                    expect = .value(allowClose: true, sameLine: false)
                    i += 1
                case UInt8(ascii: "{"):
                    stack.append(c)
                    expect = .key(allowClose: true)
                    i += 1
                case UInt8(ascii: ","):
                    if stack.last == UInt8(ascii: "[") { expect = .value(allowClose: true, sameLine: false) }
                    if stack.last == UInt8(ascii: "{") { expect = .key(allowClose: false) }
                    i += 1
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    _ = stack.popLast()
                    i += 1
                default:
                    i += 1
                }
            }
            if case .value(_, true) = expect { throw problem("a value is missing after =; write one on the same line") }
        }

        mutating func skipString(_ q: UInt8) {
            let escapes = q == UInt8(ascii: "\"")
            if peek(1) == q && peek(2) == q {
                i += 3
                while let c = peek() {
                    if escapes && c == UInt8(ascii: "\\") {
                        i += 1
                        if peek() != nil { advance() }
                    } else if c == q && peek(1) == q && peek(2) == q {
                        i += 3
                        // Up to two more quotes belong to the content: """a""""" is the string a"".
                        if peek() == q { i += 1 }
                        if peek() == q { i += 1 }
                        return
                    } else {
                        advance()
                    }
                }
                return
            }
            i += 1
            while let c = peek(), c != UInt8(ascii: "\n") {
                i += 1
                if c == q { return }
                if escapes && c == UInt8(ascii: "\\"), let d = peek(), d != UInt8(ascii: "\n") { i += 1 }
            }
        }
    }
}
