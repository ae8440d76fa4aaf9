import Testing

@testable import GuanhuaiDelivery

/// The SMTP body's CRLF line ends and doubled leading dots (RFC 5321 §4.5.2): the fast path for a message that needs
/// nothing must give exactly what the byte-by-byte transformation gives, on every input.
@Suite struct DotStuffingTests {
    @Test(arguments: [
        ("", "\r\n"), ("a", "a\r\n"), ("a\r\n", "a\r\n"), (".", "..\r\n"), ("a\n.b", "a\r\n..b\r\n"), ("a\r\n.b\r\n", "a\r\n..b\r\n"),
        ("\n", "\r\n"), ("a\r\nb", "a\r\nb\r\n"), ("a\r\n\r\n", "a\r\n\r\n"), ("a\r", "a\r\r\n"), ("x\r\n..", "x\r\n...\r\n"),
    ])
    func knownCases(input: String, expected: String) {
        #expect(SMTPSession.dotStuffed(Array(input.utf8)) == Array(expected.utf8))
        #expect(SMTPSession.stuffedByteByByte(Array(input.utf8)) == Array(expected.utf8))
    }

    @Test func theFastPathAgreesWithTheByteLoopOnRandomMessages() {
        var random = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [13, 10, UInt8(ascii: "."), UInt8(ascii: "a"), 0xE4]
        var clean = 0
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...12, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
            if SMTPSession.needsNoStuffing(bytes) { clean += 1 }
            #expect(SMTPSession.dotStuffed(bytes) == SMTPSession.stuffedByteByByte(bytes), "\(bytes)")
        }
        #expect(clean > 500, "the random inputs exercise the fast path too")
    }
}
