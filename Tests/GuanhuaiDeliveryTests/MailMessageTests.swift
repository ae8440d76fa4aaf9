import Foundation
import GuanhuaiCalendar
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiTestSupport
import Logging
import Testing

@Suite struct MailMessageTests {
    @Test func longChineseSubjectsBecomeShortEncodedWordsAndNoLineIsTooLong() throws {
        let subject = String(repeating: "光荣在党50年纪念章与纪念证书的名单汇总", count: 12)
        let m = MailMessage(
            from: Mailbox(name: "党委组织部", address: "zzb@example.edu.cn"), to: [Mailbox(name: "周海燕", address: "z@example.edu.cn")],
            subject: subject, date: 1_795_000_000, zone: shanghai, idempotencyKey: "digest:M001:1795000000:mail",
            text: String(repeating: "很长的一行没有换行", count: 400), html: "<p>" + String(repeating: "长", count: 3000) + "</p>")
        let bytes = m.render()
        let lines = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.utf8.count <= 998 })
        #expect(lines.allSatisfy { $0.utf8.count <= 78 }, "headers folded, bodies in 76-column base64")
        for word in String(decoding: bytes, as: UTF8.self).split(separator: " ") where word.hasPrefix("=?UTF-8?B?") {
            #expect(word.trimmingCharacters(in: .whitespacesAndNewlines).count <= 75)
        }
        #expect(bytes.allSatisfy { $0 < 0x80 }, "7-bit clean: every non-ASCII byte encoded")
        #expect(m.messageID == "<guanhuai.digest.M001.1795000000.mail@example.edu.cn>")
        // Python's email package reads the same subject back.
        let dir = try Scratch()
        let file = dir.url.appendingPathComponent("m.eml")
        try Data(bytes).write(to: file)
        let p = try parse(file)
        #expect(p.headers["Subject"] == subject)
        #expect(p.parts["text/plain"] == String(repeating: "很长的一行没有换行", count: 400))
        #expect(p.defects.isEmpty, "\(p.defects)")
    }

    @Test func dateIsInTheConfiguredZone() {
        let m = MailMessage(
            from: Mailbox(address: "a@b"), to: [], subject: "x", date: 1_795_000_000, zone: shanghai,
            idempotencyKey: "k", text: "")
        let text = String(decoding: m.render(), as: UTF8.self)
        #expect(text.contains("\r\nDate: Wed, 18 Nov 2026 19:06:40 +0800\r\n"))
        let berlin = MailMessage(
            from: Mailbox(address: "a@b"), to: [], subject: "x", date: 1_795_000_000,
            zone: ZoneRules.named("Europe/Berlin")!, idempotencyKey: "k", text: "")
        #expect(String(decoding: berlin.render(), as: UTF8.self).contains("\r\nDate: Wed, 18 Nov 2026 12:06:40 +0100\r\n"))
    }
}

/// The sendmail channel against stand-in programs that behave as sendmail does: read the message, exit with a
/// sysexits code.
@Suite struct SendmailTests {
    func fakeSendmail(_ dir: borrowing Scratch, exit code: Int) throws -> (path: String, out: String) {
        let out = dir.url.appendingPathComponent("received-\(code).eml").path
        let path = try dir.write("sendmail-\(code)", "#!/bin/sh\necho \"$@\" > \(out).args\ncat > \(out)\necho 'sendmail: said something' >&2\nexit \(code)\n")
        chmod(path, 0o755)
        return (path, out)
    }

    @Test func theMessageIsPipedWithDashTAndDashI() async throws {
        let dir = try Scratch()
        let (path, out) = try fakeSendmail(dir, exit: 0)
        let r = await SendmailTransport(path: path).send([envelope(to: "a@example.edu.cn")], logger: logger)
        #expect((try? r[0].get()) != nil)
        let args = try String(contentsOfFile: out + ".args", encoding: .utf8)
        #expect(args.hasPrefix("-t -i -f guanhuai@example.edu.cn"))
        let received = try Data(contentsOf: URL(fileURLWithPath: out))
        #expect(!received.contains(13), "LF line ends on the pipe")
        #expect(String(decoding: received, as: UTF8.self).contains("Subject: =?UTF-8?B?"))
    }

    @Test(arguments: [
        (75, DeliveryError.Kind.temporary), (69, .temporary), (74, .temporary), (67, .permanent),
        (65, .permanent), (78, .permanent), (1, .permanent),
    ])
    func exitStatusesAreClassified(_ code: Int, _ kind: DeliveryError.Kind) async throws {
        let dir = try Scratch()
        let (path, _) = try fakeSendmail(dir, exit: code)
        let r = await SendmailTransport(path: path).send([envelope(to: "a@example.edu.cn")], logger: logger)
        guard case .failure(let e) = r[0] else {
            Issue.record("exit \(code) counted as delivered")
            return
        }
        #expect(e.kind == kind && e.message.contains("exited \(code)") && e.message.contains("said something"))
    }

    @Test func aMissingSendmailIsPermanent() async {
        let r = await SendmailTransport(path: "/nonexistent/sendmail").send([envelope(to: "a@b")], logger: logger)
        guard case .failure(let e) = r[0] else {
            Issue.record("\(r)")
            return
        }
        #expect(e.kind == .permanent)
    }
}
