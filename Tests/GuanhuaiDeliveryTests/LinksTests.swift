import Foundation
import GuanhuaiCalendar
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiTestSupport
import Testing

/// Link tokens are the only thing the web pages trust, and they arrive from anyone on the internet.
@Suite struct LinksTests {
    let signer = LinkSigner(key: Array("0123456789abcdef0123456789abcdef-test".utf8))
    let token = LinkToken(
        purpose: .item, person: "M001", occurrence: "leader-contact-visit:2026-spring-festival:M003/L01",
        due: CivilDate(2026, 2, 16), expires: 1_800_000_000, generation: 2)

    @Test func aTokenReadsBackAsMade() throws {
        let s = signer.token(token)
        #expect(try signer.verify(Substring(s)).get() == token)
        #expect(s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }, "URL-safe: \(s)")
        let agenda = LinkToken(purpose: .agenda, person: "S01", expires: 1, generation: 0)
        #expect(try signer.verify(Substring(signer.token(agenda))).get() == agenda)
    }

    @Test func everyChangedCharacterIsRefused() {
        let s = Array(signer.token(token))
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
        for i in s.indices {
            var t = s
            t[i] = alphabet.first { $0 != s[i] }!
            #expect(throws: LinkSigner.Problem.self) { try signer.verify(Substring(String(t))).get() }
        }
    }

    @Test func anotherKeysTokenIsForged() {
        let other = LinkSigner(key: Array("another key, 32 bytes or longer, yes".utf8))
        #expect(throws: LinkSigner.Problem.forged) { try signer.verify(Substring(other.token(token))).get() }
    }

    /// A seeded fuzz of the parser: random text, and tokens cut, grown or spliced, never crash and never pass.
    @Test func randomInputNeverPasses() {
        var rng = SplitMix(seed: 0x6775_616e_6875_6169)
        let good = signer.token(token)
        let pieces = ["", ".", "..", "=", "%", "\u{0}", "中文", "A", "_-", good, String(good.prefix(20))]
        for _ in 0..<50_000 {
            var s: String
            switch rng.next() % 4 {
            case 0:
                s = String((0..<Int(rng.next() % 120)).map { _ in Character(UnicodeScalar(UInt8(rng.next() % 128))) })
            case 1:
                s = String(good.prefix(Int(rng.next() % UInt64(good.count))))
            case 2:
                s = good + pieces[Int(rng.next() % UInt64(pieces.count))]
            default:
                s = pieces[Int(rng.next() % UInt64(pieces.count))] + "." + pieces[Int(rng.next() % UInt64(pieces.count))]
            }
            if s == good { continue }
            if case .success(let t) = signer.verify(Substring(s)) { Issue.record("accepted \(s) as \(t)") }
        }
        let huge = String(repeating: "A", count: 100_000) + "." + String(repeating: "B", count: 43)
        #expect(throws: LinkSigner.Problem.malformed) { try signer.verify(Substring(huge)).get() }
    }
}
