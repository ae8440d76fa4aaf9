import Foundation
public import GuanhuaiCalendar
public import GuanhuaiConfig
public import GuanhuaiCore

/// How a chat message can mention the person it reminds.
public struct ChatContact: Sendable, Equatable {
    public var mobile: String?
    public var wecomUserID: String?

    public init(mobile: String? = nil, wecomUserID: String? = nil) {
        self.mobile = mobile
        self.wecomUserID = wecomUserID
    }
}

/// The bodies stored in the outbox for webhook channels. Built when the digest is queued, so a retry sends the same
/// bytes; signatures are added when sent.
public enum WebhookMessages {
    /// The machine-readable digest for a generic webhook (Standard Webhooks' `type`/`timestamp`/`data` envelope).
    /// Who and what: ids, names, rule, dates. Never a note.
    public static func digest(_ d: Digest, context: RenderContext, zone: ZoneRules, late: Bool) -> [UInt8] {
        struct Party: Encodable {
            var id: String
            var name: String
        }
        struct Item: Encodable {
            var occurrence: String
            var rule: String
            var title: String
            var kind: String
            var subject: Party?
            var unit: String
            var responsible: Party
            var window_start: String
            var due: String
            var status: String
        }
        struct Data_: Encodable {
            var recipient: Party
            var send_at: String
            var late: Bool
            var items: [Item]
        }
        struct Envelope: Encodable {
            var type: String
            var timestamp: String
            var data: Data_
        }
        let at = zone.rfc3339(atUTC: d.at)
        let items = d.items.map { item in
            let o = item.occurrence
            return Item(
                occurrence: o.id, rule: o.rule, title: o.title, kind: item.kind.rawValue,
                subject: o.subject.map { Party(id: $0, name: context.subjectName(o)) }, unit: o.org,
                responsible: Party(id: o.responsible, name: context.personName(o.responsible)),
                window_start: o.windowStart.description, due: o.due.description, status: o.status.rawValue)
        }
        let envelope = Envelope(
            type: "reminder.digest", timestamp: at,
            data: Data_(
                recipient: Party(id: d.recipient, name: context.personName(d.recipient)), send_at: at, late: late,
                items: items))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(envelope)) ?? Data("{}".utf8))
    }

    /// The largest message each robot takes, in UTF-8 bytes: 企业微信 text 2048, markdown 4096.
    public static func limit(_ spec: WebhookSpec) -> Int {
        switch (spec.kind, spec.format) {
        case (.wecom, .text): 2048
        case (.wecom, .markdown): 4096
        default: 18000
        }
    }

    /// A chat text as the endpoint takes it (a generic webhook: `{"type":"message","text":…}`): split at line ends
    /// when longer than a robot takes, each part marked (1/2), (2/2); the mention goes with every part.
    public static func robot(_ spec: WebhookSpec, text: String, mention: ChatContact?) -> [[UInt8]] {
        let mentionSuffix: String
        switch spec.kind {
        case .dingtalk: mentionSuffix = mention?.mobile.map { "\n@\($0)" } ?? ""
        case .wecom where spec.format == .markdown: mentionSuffix = mention?.wecomUserID.map { "\n<@\($0)>" } ?? ""
        default: mentionSuffix = ""
        }
        let parts = split(text, limit: limit(spec) - mentionSuffix.utf8.count - 16)
        return parts.enumerated().map { i, part in
            let content = (parts.count > 1 ? "(\(i + 1)/\(parts.count)) " : "") + part + mentionSuffix
            return body(spec, content: content, mention: mention)
        }
    }

    static func body(_ spec: WebhookSpec, content: String, mention: ChatContact?) -> [UInt8] {
        let mobiles = mention?.mobile.map { [$0] } ?? []
        let object: [String: Any]
        switch (spec.kind, spec.format) {
        case (.wecom, .markdown):
            object = ["msgtype": "markdown", "markdown": ["content": content]]
        case (.wecom, _):
            var text: [String: Any] = ["content": content, "mentioned_mobile_list": mobiles]
            if let u = mention?.wecomUserID { text["mentioned_list"] = [u] }
            object = ["msgtype": "text", "text": text]
        case (.dingtalk, .markdown):
            object = [
                "msgtype": "markdown", "markdown": ["title": "关怀提醒", "text": content],
                "at": ["atMobiles": mobiles, "isAtAll": false],
            ]
        case (.dingtalk, _):
            object = ["msgtype": "text", "text": ["content": content], "at": ["atMobiles": mobiles, "isAtAll": false]]
        case (.feishu, _):
            object = ["msg_type": "text", "content": ["text": content]]
        case (.webhook, _):
            object = ["type": "message", "text": content]
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Array(data)
    }

    /// Splits at line ends into parts of at most `limit` UTF-8 bytes; a longer line is cut between characters.
    static func split(_ text: String, limit: Int) -> [String] {
        guard text.utf8.count > limit else { return [text] }
        var parts: [String] = []
        var current = ""
        func flush() {
            if !current.isEmpty { parts.append(current) }
            current = ""
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = String(line)
            while line.utf8.count > limit {
                flush()
                var head = ""
                for ch in line {
                    if head.utf8.count + String(ch).utf8.count > limit { break }
                    head.append(ch)
                }
                parts.append(head)
                line.removeFirst(head.count)
            }
            let extra = (current.isEmpty ? 0 : 1) + line.utf8.count
            if current.utf8.count + extra > limit { flush() }
            current += (current.isEmpty ? "" : "\n") + line
        }
        flush()
        return parts
    }
}
