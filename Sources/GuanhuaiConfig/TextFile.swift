package import Foundation
import GuanhuaiCore

#if canImport(Glibc)
    import Glibc
    import GuanhuaiSystem
#endif

/// Reading operators' text files: UTF-8 with or without BOM, or GB18030 (what Excel on Chinese Windows saves), with
/// Windows (CRLF) and old Mac (CR) line ends read as LF. Every file an operator or office writes — config, rules,
/// organisation, holidays, roster, relations, events, 台账, templates, secrets — becomes text here and nowhere else,
/// so a file saved by Notepad loads as the same text, with the same line numbers, as one saved on Linux.
package enum TextFile {
    package enum Encoding: String {
        case utf8 = "UTF-8"
        case gb18030 = "GB18030"
    }

    package static var missing: String { L("does not exist", "不存在") }

    package static func read(_ path: String) throws(InputError) -> (text: String, encoding: Encoding) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let why = FileManager.default.fileExists(atPath: path) ? L("cannot be read (check its permissions)", "无法读取（请检查文件权限）") : missing
            throw InputError(file: path, message: "\(why)")
        }
        return try decode(data, file: path)
    }

    package static func decode(_ data: Data, file: String) throws(InputError) -> (text: String, encoding: Encoding) {
        var bytes = [UInt8](data)
        // UTF-16 (Notepad's "Unicode" and "Unicode big endian"): its BOM, or the NUL bytes of its ASCII characters.
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) || bytes.contains(0) {
            throw InputError(
                file: file,
                message: L(
                    "is UTF-16 text (Notepad calls it \"Unicode\"); save it again with the encoding UTF-8",
                    "是 UTF-16 文本（记事本中称为「Unicode」）；请另存为编码「UTF-8」"))
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        normalizeLineEnds(&bytes)
        if let s = String(validating: bytes, as: UTF8.self) { return (s, .utf8) }
        if let s = gb18030(bytes) { return (s, .gb18030) }
        // Where it goes wrong: the first byte that is not UTF-8, by line and byte offset.
        var offset = 0
        var line = 1
        var lineStart = 0
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        decode: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let v):
                let width = v.value < 0x80 ? 1 : v.value < 0x800 ? 2 : v.value < 0x10000 ? 3 : 4
                if v == "\n" {
                    line += 1
                    lineStart = offset + 1
                }
                offset += width
            case .emptyInput, .error: break decode
            }
        }
        let advice =
            file.hasSuffix(".csv")
            ? L("save it from Excel as \"CSV UTF-8\", or as CSV in GB18030 (简体中文)", "请在 Excel 中另存为「CSV UTF-8」，或简体中文（GB18030）的 CSV")
            : L(
                "save it as UTF-8 in your editor (not ANSI or GBK), and check what was pasted into that line",
                "请在编辑器中存为 UTF-8（不要用 ANSI 或 GBK），并检查这一行粘贴进来的内容")
        throw InputError(
            file: file, location: "line \(line)",
            message: L(
                "is neither UTF-8 nor GB18030 text: byte \(offset) (column \(offset - lineStart + 1) in bytes) cannot be read; \(advice)",
                "既不是 UTF-8 也不是 GB18030 文本：第 \(offset) 字节（该行第 \(offset - lineStart + 1) 字节）无法读取；\(advice)"))
    }

    /// CRLF and a lone CR become LF, in place. On bytes, before decoding: in UTF-8 and in GB18030 alike, 0x0D and
    /// 0x0A only ever stand for themselves (no multi-byte sequence contains them).
    static func normalizeLineEnds(_ bytes: inout [UInt8]) {
        guard let first = bytes.firstIndex(of: 0x0D) else { return }
        var out = first
        var i = first
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x0D {
                bytes[out] = 0x0A
                if i + 1 < bytes.count, bytes[i + 1] == 0x0A { i += 1 }
            } else {
                bytes[out] = b
            }
            out += 1
            i += 1
        }
        bytes.removeLast(bytes.count - out)
    }

    /// Text that did not come through `decode` (a test's string, the fuzzer's input) with its line ends made LF the
    /// same way.
    package static func normalized(_ text: String) -> String {
        guard text.utf8.contains(0x0D) else { return text }
        var bytes = Array(text.utf8)
        normalizeLineEnds(&bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// GB18030 → String through glibc's iconv(3): no maintained Swift package decodes GB18030 on Linux, and
    /// Foundation here exposes no CoreFoundation string encodings.
    static func gb18030(_ bytes: [UInt8]) -> String? {
        let cd = iconv_open("UTF-8", "GB18030")
        guard cd != iconv_t(bitPattern: -1) else { return nil }
        defer { iconv_close(cd) }
        var input = bytes
        var output = [UInt8](repeating: 0, count: bytes.count * 2 + 16)
        let ok = input.withUnsafeMutableBufferPointer { inBuf -> Int? in
            output.withUnsafeMutableBufferPointer { outBuf -> Int? in
                var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(inBuf.baseAddress)?
                    .assumingMemoryBound(to: CChar.self)
                var inLeft = inBuf.count
                var outPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(outBuf.baseAddress)?
                    .assumingMemoryBound(to: CChar.self)
                var outLeft = outBuf.count
                if iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft) == -1 || inLeft != 0 { return nil }
                return outBuf.count - outLeft
            }
        }
        guard let n = ok else { return nil }
        return String(validating: output[..<n], as: UTF8.self)
    }
}
