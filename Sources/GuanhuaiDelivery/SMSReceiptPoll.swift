import Foundation
import GuanhuaiCalendar
public import GuanhuaiCore

/// What a provider said when it accepted a message: its words, and its id for the message (the key its receipts
/// carry), when it gave one.
public struct SMSAccepted: Sendable, Equatable {
    public var receipt: String
    public var messageID: String?

    public init(receipt: String, messageID: String?) {
        self.receipt = receipt
        self.messageID = messageID
    }
}

/// Asking a provider what became of the messages it accepted. 阿里云 answers per message (`QuerySendDetails` by
/// number, day and BizId); 腾讯云 hands out each status once from a queue (`PullSmsSendStatus`, up to 100 a call,
/// which support must enable for the account). Both are signed as the sends are.
extension SMSChannel {
    /// One accepted message to ask about.
    public struct Pending: Sendable {
        public var messageID: String
        public var phone: String
        public var submittedAt: Int64

        public init(messageID: String, phone: String, submittedAt: Int64) {
            self.messageID = messageID
            self.phone = phone
            self.submittedAt = submittedAt
        }
    }

    /// The reports the provider gave, and why the polling stopped early when a call failed (the reports before it
    /// stand). A message still waiting for its carrier's report is simply not among them.
    public func poll(_ pending: [Pending], now: Int64) async -> (reports: [SMSReport], failure: String?) {
        var reports: [SMSReport] = []
        switch spec.provider {
        case .aliyun:
            for p in pending {
                // The provider's day is Beijing's.
                let day = Timestamp.split(p.submittedAt + 8 * 3600).0
                let r = aliyun(
                    "QuerySendDetails",
                    query: [
                        ("PhoneNumber", p.phone), ("BizId", p.messageID), ("SendDate", "\(day.year)\(Timestamp.two(day.month))\(Timestamp.two(day.day))"),
                        ("PageSize", "10"), ("CurrentPage", "1"),
                    ], now: now, nonce: SMSChannel.nonce())
                switch await WebhookHTTP.post(r, tls: tls, timeoutSeconds: spec.timeoutSeconds) {
                case .failure(let e): return (reports, e.message)
                case .success(let answer):
                    switch SMSChannel.aliyunDetails(answer.body, status: answer.status, messageID: p.messageID) {
                    case .failure(let f): return (reports, f.why)
                    case .success(let report): if let report { reports.append(report) }
                    }
                }
            }
        case .tencent:
            guard !pending.isEmpty else { return ([], nil) }
            struct Body: Encodable {
                var Limit: Int
                var SmsSdkAppId: String
            }
            // Each status is handed out once: keep pulling while the queue gives full pages (a bound, not a loop forever).
            for _ in 0..<20 {
                let r = tencent("PullSmsSendStatus", body: Body(Limit: 100, SmsSdkAppId: spec.sdkAppID ?? ""), now: now)
                switch await WebhookHTTP.post(r, tls: tls, timeoutSeconds: spec.timeoutSeconds) {
                case .failure(let e): return (reports, e.message)
                case .success(let answer):
                    switch SMSChannel.tencentPull(answer.body, status: answer.status) {
                    case .failure(let f): return (reports, f.why)
                    case .success(let page):
                        reports += page
                        if page.count < 100 { return (reports, nil) }
                    }
                }
            }
        }
        return (reports, nil)
    }

    /// 阿里云 QuerySendDetails: `SmsSendDetailDTOs.SmsSendDetailDTO[]`, `SendStatus` 1 等待回执, 2 发送失败, 3 发送成功,
    /// with `ErrCode` (DELIVERED, or the carrier's code) and `ReceiveDate` (Beijing time). nil: no report yet.
    static func aliyunDetails(_ body: [UInt8], status: Int, messageID: String) -> Result<SMSReport?, PollFailure> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            return .failure(PollFailure(why: "阿里云 QuerySendDetails: HTTP \(status), the answer is not the provider's JSON"))
        }
        guard object["Code"] as? String == "OK" else {
            return .failure(
                PollFailure(
                    why: "阿里云 QuerySendDetails \(object["Code"] as? String ?? "HTTP \(status)"): \(object["Message"] as? String ?? "")"
                        + requestID(object["RequestId"])))
        }
        let list = (object["SmsSendDetailDTOs"] as? [String: Any])?["SmsSendDetailDTO"] as? [[String: Any]] ?? []
        guard let d = list.first else { return .success(nil) }
        let sendStatus = (d["SendStatus"] as? Int) ?? Int(d["SendStatus"] as? String ?? "") ?? 1
        guard sendStatus == 2 || sendStatus == 3 else { return .success(nil) }
        let code = (d["ErrCode"] as? String).map { String($0.prefix(64)) } ?? (sendStatus == 3 ? "DELIVERED" : "FAILED")
        return .success(SMSReport(messageID: messageID, delivered: sendStatus == 3, code: code, at: (d["ReceiveDate"] as? String).flatMap(beijing)))
    }

    /// 腾讯云 PullSmsSendStatus: `Response.PullSmsSendStatusSet[]` with `SerialNo`, `ReportStatus` SUCCESS or FAIL,
    /// `Description` and `UserReceiveTime` (Unix seconds).
    static func tencentPull(_ body: [UInt8], status: Int) -> Result<[SMSReport], PollFailure> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let response = object["Response"] as? [String: Any]
        else { return .failure(PollFailure(why: "腾讯云 PullSmsSendStatus: HTTP \(status), the answer is not the provider's JSON")) }
        if let error = response["Error"] as? [String: Any] {
            return .failure(
                PollFailure(
                    why: "腾讯云 PullSmsSendStatus \(error["Code"] as? String ?? "?"): \(error["Message"] as? String ?? "")" + requestID(response["RequestId"])))
        }
        let set = response["PullSmsSendStatusSet"] as? [[String: Any]] ?? []
        return .success(
            set.compactMap { s -> SMSReport? in
                guard let id = s["SerialNo"] as? String, let st = s["ReportStatus"] as? String else { return nil }
                let delivered = st == "SUCCESS"
                let code = String(((s["Description"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? st).prefix(64))
                return SMSReport(messageID: id, delivered: delivered, code: code, at: (s["UserReceiveTime"] as? Int).map(Int64.init))
            })
    }

    // MARK: Receipts the provider posts (`receipts = "push"`)

    /// The reports in a provider's push: 阿里云's "HTTP批量推送" (a JSON array of `biz_id`, `success`, `err_code`,
    /// `report_time` …) or 腾讯云's callback (a JSON array of `sid`, `report_status` SUCCESS or FAIL, `errmsg`,
    /// `user_receive_time` …), both in Beijing time. nil: the body is not such an array. An element without an id is
    /// left out; nothing in the body is trusted beyond being matched against ids guanhuai was given.
    public func pushedReports(_ body: [UInt8]) -> [SMSReport]? {
        guard let list = try? JSONSerialization.jsonObject(with: Data(body)) as? [Any] else { return nil }
        let items = list.compactMap { $0 as? [String: Any] }
        guard items.count == list.count else { return nil }
        func text(_ v: Any?) -> String? {
            if let s = v as? String { return s }
            if let n = v as? NSNumber { return n.stringValue }
            return nil
        }
        switch spec.provider {
        case .aliyun:
            return items.compactMap { d -> SMSReport? in
                guard let id = text(d["biz_id"]), !id.isEmpty else { return nil }
                let ok = (d["success"] as? Bool) ?? (text(d["success"]) == "true")
                let code = String((text(d["err_code"]).flatMap { $0.isEmpty ? nil : $0 } ?? (ok ? "DELIVERED" : "FAILED")).prefix(64))
                return SMSReport(messageID: String(id.prefix(128)), delivered: ok, code: code, at: text(d["report_time"]).flatMap(SMSChannel.beijing))
            }
        case .tencent:
            return items.compactMap { d -> SMSReport? in
                guard let id = text(d["sid"]), !id.isEmpty, let status = text(d["report_status"]) else { return nil }
                let ok = status == "SUCCESS"
                let code = String((text(d["errmsg"]).flatMap { $0.isEmpty ? nil : $0 } ?? status).prefix(64))
                return SMSReport(
                    messageID: String(id.prefix(128)), delivered: ok, code: code, at: text(d["user_receive_time"]).flatMap(SMSChannel.beijing))
            }
        }
    }

    /// The answer the provider takes as "received" (阿里云 `{"code":0,"msg":"接收成功"}`, 腾讯云
    /// `{"result":0,"errmsg":"OK"}`), or as "send it again" (non-zero, with HTTP 5xx).
    public func pushAnswer(received: Bool) -> String {
        switch spec.provider {
        case .aliyun: received ? #"{"code":0,"msg":"接收成功"}"# : #"{"code":1,"msg":"暂时无法接收"}"#
        case .tencent: received ? #"{"result":0,"errmsg":"OK"}"# : #"{"result":1,"errmsg":"try again"}"#
        }
    }

    struct PollFailure: Error {
        var why: String
    }

    /// "2026-12-06 09:30:00", Beijing time, as Unix seconds.
    static func beijing(_ s: String) -> Int64? {
        let parts = s.split(whereSeparator: { $0 == " " || $0 == "-" || $0 == ":" }).compactMap { Int($0) }
        guard parts.count == 6, let date = CivilDate(parts[0], parts[1], parts[2]) else { return nil }
        return Int64(date.dayNumber) * 86400 + Int64(parts[3] * 3600 + parts[4] * 60 + parts[5]) - 8 * 3600
    }
}
