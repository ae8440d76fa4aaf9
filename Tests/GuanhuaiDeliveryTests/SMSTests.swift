import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiTestSupport
import Testing

@testable import GuanhuaiDelivery

/// sms_server.py: a stand-in for both providers that verifies each signature with its own implementation of the
/// published algorithm (checked, before it serves, against each provider's worked example).
func smsServer(log: URL) throws -> ServerProcess {
    try ServerProcess([
        Example.root.appendingPathComponent("Tests/GuanhuaiDeliveryTests/Servers/sms_server.py").path,
        "--log", log.path,
    ])
}

@Suite(.serialized) struct SMSTests {
    /// Our signers reproduce the providers' own worked examples.
    @Test func theSignaturesMatchTheProvidersPublishedExamples() {
        let aliyun = SMSSigning.aliyunV3(
            secret: "YourAccessKeySecret", method: "POST", path: "/",
            query: [("ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"), ("RegionId", "cn-shanghai")],
            headers: [
                ("host", "ecs.cn-shanghai.aliyuncs.com"), ("x-acs-action", "RunInstances"), ("x-acs-version", "2014-05-26"),
                ("x-acs-date", "2023-10-26T09:01:01Z"), ("x-acs-signature-nonce", "d410180a5abf7fe235dd9b74aca91fc0"),
                ("x-acs-content-sha256", SMSSigning.sha256Hex([UInt8]())),
            ], body: [])
        #expect(aliyun.signature == "e521358f7776c97df52e6b2891a8bc73026794a071b50c3323388c4e0df64804")
        #expect(aliyun.signedHeaders == "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version")
        let tencent = SMSSigning.tencentTC3(
            secretKey: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", service: "cvm", host: "cvm.tencentcloudapi.com",
            contentType: "application/json; charset=utf-8", timestamp: 1_551_113_065,
            body: Array(#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#.utf8))
        #expect(tencent == "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")
        #expect(SMSSigning.iso8601(1_698_310_861) == "2023-10-26T09:01:01Z")
    }

    static func via(_ provider: String, port: Int, dir: borrowing Scratch, template: String = "SMS_1") throws -> String {
        let id = try dir.write("sms-id", provider == "aliyun" ? "LTAItest-id" : "AKIDtest-id")
        let secret = try dir.write("sms-secret", provider == "aliyun" ? "aliyun-test-secret" : "tencent-test-secret")
        return provider == "aliyun"
            ? "aliyun-sms+http://127.0.0.1:\(port)/?access_key_id_file=\(id)&access_key_secret_file=\(secret)&sign_name=示范大学党委&template=\(template)&params=name:recipient,title:title"
            : "tencent-sms+http://127.0.0.1:\(port)/?secret_id_file=\(id)&secret_key_file=\(secret)&sdk_app_id=1400000001&sign_name=示范大学党委&template=\(template)&params=recipient,title"
    }

    /// `send-test --via` goes through the channel code: signed as the provider checks it, the answer shown, and
    /// neither key in the output.
    @Test(arguments: ["aliyun", "tencent"]) func sendTestReachesTheProviderSigned(_ provider: String) throws {
        let dir = try Scratch()
        let log = dir.url.appendingPathComponent("sms.jsonl")
        let server = try smsServer(log: log)
        let ok = try runCLI(["send-test", "--via", try Self.via(provider, port: server.port, dir: dir), "--to", "+86 138-0013-8000"])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.contains("Delivered to 13800138000"), "\(ok.stdout)")
        let r = try #require(loggedRequests(log).last)
        #expect(r["verified"] as? Bool == true, "\(r)")
        #expect(r["provider"] as? String == provider && r["sign_name"] as? String == "示范大学党委")
        #expect((r["phone"] as? String)?.hasSuffix("13800138000") == true)
        for secret in ["aliyun-test-secret", "tencent-test-secret"] {
            #expect(!(ok.stdout + ok.stderr).contains(secret))
        }
        // A template the provider has not approved: permanent, in the provider's words.
        let bad = try runCLI(["send-test", "--via", try Self.via(provider, port: server.port, dir: dir), "--to", "13800130002"])
        #expect(
            bad.status == 1 && (bad.stderr.contains("SMS_TEMPLATE_ILLEGAL") || bad.stderr.contains("TemplateIncorrectOrUnapproved")),
            "\(bad.stderr)")
        // With the provider's RequestId, which its support asks for first.
        #expect(bad.stderr.contains(provider == "aliyun" ? "(RequestId r-2)" : "(RequestId r-ok)"), "\(bad.stderr)")
        // send-test cuts each parameter to param_max_length as a real message is cut: by characters, a Chinese
        // character whole.
        let cut = try runCLI([
            "send-test", "--via", try Self.via(provider, port: server.port, dir: dir) + "&param_max_length=6",
            "--to", "13800138000",
        ])
        #expect(cut.status == 0, "\(cut.stderr)")
        let sent = try #require(loggedRequests(log).last)
        let values: [String] =
            provider == "aliyun"
            ? ((sent["params"] as? [String: String]).map { [$0["name"] ?? "", $0["title"] ?? ""] } ?? [])
            : (sent["params"] as? [String] ?? [])
        #expect(values == ["测试收件人欧", "关怀系统测试"], "\(sent)")
        // An unknown parameter lists this provider's keys, not the other's.
        let unknown = try runCLI(["send-test", "--via", try Self.via(provider, port: server.port, dir: dir) + "&appid=1", "--to", "13800138000"])
        #expect(unknown.status == 2 && unknown.stderr.contains("unknown parameter \"appid\""), "\(unknown.stderr)")
        #expect(unknown.stderr.contains("sdk_app_id") == (provider == "tencent"), "\(unknown.stderr)")
        // A wrong secret: the provider's signature error, permanent, and the secret still nowhere.
        let forged = try dir.write("forged", "forged-secret")
        let url = try Self.via(provider, port: server.port, dir: dir)
            .replacingOccurrences(of: dir.url.appendingPathComponent("sms-secret").path, with: forged)
        let signed = try runCLI(["send-test", "--via", url, "--to", "13800138000"])
        #expect(
            signed.status == 1 && (signed.stderr.contains("SignatureDoesNotMatch") || signed.stderr.contains("AuthFailure.SignatureFailure")),
            "\(signed.stderr)")
        #expect(!(signed.stdout + signed.stderr).contains("forged-secret"))
    }

    /// A pushed receipt body is anyone's text until its ids match ours: each provider's documented example reads as
    /// its reports; anything else (not an array, elements that are not objects, ids missing, deep nesting, random
    /// bytes) is nil or leaves the element out, and never traps.
    @Test func pushedReceiptsReadTheDocumentedFormatsAndNothingElse() throws {
        func channel(_ p: SMSSpec.Provider) -> SMSChannel {
            SMSChannel(
                name: "sms",
                spec: SMSSpec(provider: p, keyID: .value("i"), keySecret: .value("s"), signName: "签", sdkAppID: "1", templates: [:]),
                secrets: ChannelSecrets(token: "i", secret: "s"))
        }
        let (a, t) = (channel(.aliyun), channel(.tencent))
        // The providers' documented examples (阿里云 HTTP批量推送 SmsReport; 腾讯云 短信下发状态通知).
        let aliyun = #"""
            [{"phone_number":"1381111****","send_time":"2017-01-01 11:12:13","report_time":"2017-02-02 22:23:24","success":true,
              "err_code":"DELIVERED","err_msg":"用户接收成功","sms_size":"1","biz_id":"12345","out_id":"67890"},
             {"phone_number":"1381111****","send_time":"2017-01-01 11:12:13","report_time":"2017-02-02 22:23:24","success":false,
              "err_code":"MK:0001","err_msg":"空号","sms_size":"1","biz_id":"12346","out_id":""}]
            """#
        let tencent = #"""
            [{"user_receive_time":"2015-10-17 08:03:04","nationcode":"86","mobile":"13900000001","report_status":"SUCCESS",
              "errmsg":"DELIVRD","description":"用户短信送达成功","sid":"xxxxxxx","ext":{}}]
            """#
        let ra = try #require(a.pushedReports(Array(aliyun.utf8)))
        #expect(ra.map(\.messageID) == ["12345", "12346"] && ra.map(\.delivered) == [true, false] && ra.map(\.code) == ["DELIVERED", "MK:0001"])
        #expect(ra[0].at == SMSChannel.beijing("2017-02-02 22:23:24"))
        let rt = try #require(t.pushedReports(Array(tencent.utf8)))
        #expect(rt == [SMSReport(messageID: "xxxxxxx", delivered: true, code: "DELIVRD", at: SMSChannel.beijing("2015-10-17 08:03:04"))])
        // What is not such an array.
        for bad in ["", "{}", "null", "[1]", #"{"biz_id":"1"}"#, "[[]]", String(repeating: "[", count: 100_000), "\u{0}"] {
            #expect(a.pushedReports(Array(bad.utf8)) == nil, "\(bad.prefix(20))")
            #expect(t.pushedReports(Array(bad.utf8)) == nil, "\(bad.prefix(20))")
        }
        // Elements without an id are left out; an empty array is no reports.
        #expect(a.pushedReports(Array(#"[{"success":true},{"biz_id":""}]"#.utf8)) == [])
        #expect(t.pushedReports(Array(#"[{"sid":"1"}]"#.utf8)) == [])
        // Random bytes, and the examples with bytes changed: no trap, whatever the answer.
        var random = SystemRandomNumberGenerator()
        for i in 0..<3000 {
            var bytes = Array((i % 2 == 0 ? aliyun : tencent).utf8)
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            if i % 3 == 0 { bytes = (0..<Int.random(in: 0...200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) } }
            _ = a.pushedReports(bytes)
            _ = t.pushedReports(bytes)
        }
    }

    /// Throttling is temporary, a bad template or number permanent; an answer that is not the provider's is permanent.
    @Test func theProvidersAnswersAreClassified() throws {
        func channel(_ p: SMSSpec.Provider) -> SMSChannel {
            SMSChannel(
                name: "sms",
                spec: SMSSpec(
                    provider: p, keyID: .value("i"), keySecret: .value("s"), signName: "签",
                    sdkAppID: "1", templates: [:]), secrets: ChannelSecrets(token: "i", secret: "s"))
        }
        func json(_ s: String) -> [UInt8] { Array(s.utf8) }
        let a = channel(.aliyun)
        let t = channel(.tencent)
        #expect(try a.classify(status: 200, body: json(#"{"Code":"OK","BizId":"1"}"#)).get().receipt.contains("OK"))
        for (code, temporary) in [
            ("isv.BUSINESS_LIMIT_CONTROL", true), ("isv.DAY_LIMIT_CONTROL", true), ("Throttling.User", true),
            ("isv.SMS_TEMPLATE_ILLEGAL", false), ("isv.SMS_SIGNATURE_ILLEGAL", false), ("isv.MOBILE_NUMBER_ILLEGAL", false),
            ("SignatureDoesNotMatch", false),
        ] {
            guard
                case .failure(let e) = a.classify(
                    status: code == "SignatureDoesNotMatch" ? 400 : 200,
                    body: json(#"{"Code":"\#(code)","Message":"m"}"#))
            else {
                Issue.record("\(code) accepted")
                continue
            }
            #expect((e.kind == .temporary) == temporary, "\(code)")
            // The number's own limit (this message waits, others go on) is typed; the API's is not the number's.
            #expect(e.recipientThrottled == code.hasSuffix("_LIMIT_CONTROL"), "\(code)")
        }
        for (code, temporary) in [
            ("LimitExceeded.PhoneNumberThirtySecondLimit", true), ("LimitExceeded.PhoneNumberDailyLimit", true),
            ("LimitExceeded.PhoneNumberOneHourLimit", true), ("FailedOperation.TemplateIncorrectOrUnapproved", false),
            ("FailedOperation.SignatureIncorrectOrUnapproved", false), ("InvalidParameterValue.IncorrectPhoneNumber", false),
        ] {
            let body = #"{"Response":{"SendStatusSet":[{"Code":"\#(code)","Message":"m"}],"RequestId":"r"}}"#
            guard case .failure(let e) = t.classify(status: 200, body: json(body)) else {
                Issue.record("\(code) accepted")
                continue
            }
            #expect((e.kind == .temporary) == temporary, "\(code)")
            #expect(e.recipientThrottled == temporary, "\(code)")
        }
        guard
            case .failure(let auth) = t.classify(
                status: 200,
                body: json(#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"m"},"RequestId":"r"}}"#))
        else {
            Issue.record("accepted")
            return
        }
        #expect(auth.kind == .permanent)
        guard case .failure(let html) = a.classify(status: 502, body: json("<html>bad gateway</html>")) else { return }
        #expect(html.kind == .temporary)
    }

    /// 1 a minute, 5 an hour, 10 a day per number; over any, the next send time.
    @Test func theNumberLimitHolds() {
        var limit = SMSNumberLimit(perMinute: 1, perHour: 5, perDay: 10)
        let t0: Int64 = 1_800_000_000
        var sent: [Int64] = []
        var t = t0
        while t < t0 + 2 * 86400 {
            if let next = limit.reserve(now: t) {
                t = max(next, t + 1)
            } else {
                sent.append(t)
                t += 1
            }
        }
        #expect(sent.count == 20)
        for (i, s) in sent.enumerated() where i > 0 { #expect(s - sent[i - 1] >= 60) }
        for s in sent { #expect(sent.filter { $0 > s - 3600 && $0 <= s }.count <= 5) }
        for s in sent { #expect(sent.filter { $0 > s - 86400 && $0 <= s }.count <= 10) }
    }

    /// The parameters are chat-level and cut to the provider's length; a note never reaches an SMS.
    @Test func theParametersCarryWhoAndWhatNeverWhy() throws {
        let input = Example.config.planInput()
        let occ = Planner(input).plan(
            PlanQuery(
                from: CivilDate(2027, 1, 1)!, to: CivilDate(2027, 12, 31)!,
                now: Example.noon("2027-01-01"), rules: ["political-birthday"]))
        let o = try #require(occ.first { $0.reminders.contains { $0.kind == .greeting } })
        let r = try #require(o.reminders.first { $0.kind == .greeting })
        let d = try #require(Digest.collect([o], after: r.at - 1, through: r.at).first)
        var context = RenderContext(input: input)
        context.note = { _ in "住院治疗，家庭困难" }
        let t = SMSSpec.Template(id: "SMS_1", params: [("name", .recipient), ("joined", .joined), ("years", .years), ("what", .title)])
        let params = SMSMessage.params(t, d, context: context, limit: 35)
        let values = params.map(\.value)
        #expect(values.allSatisfy { $0.count <= 35 && !$0.contains("住院") && !$0.contains("困难") }, "\(values)")
        #expect(values[0] == context.personName(d.recipient) && values[1].contains("年") && Int(values[2]) != nil, "\(values)")
        #expect(SMSMessage.params(t, d, context: context, limit: 2).allSatisfy { $0.value.count <= 2 })
    }
}
