import Foundation
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiStore

/// Where one digest goes, as outbox rows: a pure decision from the digest, the recipient's contact, the routing
/// and the channels. It renders and signs nothing that depends on the time of sending; it logs nothing (its
/// warnings are returned, and the scheduler logs them).
struct DigestRouter: Sendable {
    var config: Configuration
    var renderer: DigestRenderer
    var mailChannels: [String: MailChannel]
    var webhookChannels: [String: WebhookChannel]
    var smsChannels: [String: SMSChannel] = [:]
    var workAppChannels: [String: WorkAppChannel] = [:]

    /// How a person is reached.
    struct Contact: Sendable, Equatable {
        var email: String?
        var chat: ChatContact
        /// The number SMS may go to: a mainland mobile of someone who has not opted out (短信 = 否).
        var sms: String? = nil
        /// Their ids in the work apps.
        var apps = AppUserIDs()
        /// How they want reminders (their own 提醒方式; nil: the committee's default).
        var reach: Reach? = nil
    }

    enum Warning: Sendable, Equatable {
        /// A political-birthday greeting more than `limit` days late: not sent (late_greeting_days).
        case lateGreetingDropped(recipient: PersonID, daysLate: Int64, limit: Int)
        /// No e-mail address or channel for the recipient, and no unit robot.
        case unreachable(recipient: PersonID)
    }

    struct Routed: Sendable {
        var rows: [NewOutboxMessage] = []
        var warnings: [Warning] = []
    }

    /// Everyone's contact, in one pass: a person's entry in the organisation file fills in what the roster lacks.
    static func contacts(_ input: PlanInput) -> [PersonID: Contact] {
        var contacts: [PersonID: Contact] = [:]
        for m in input.members {
            contacts[m.id] = Contact(
                email: m.email, chat: ChatContact(mobile: m.mobile, wecomUserID: m.apps.wecom),
                sms: m.smsOptOut ? nil : m.mobile.flatMap(MobileNumber.mainland), apps: m.apps, reach: m.reach)
        }
        for p in input.organization.people.values {
            let roster = contacts[p.id]
            contacts[p.id] = Contact(
                email: p.email ?? roster?.email,
                chat: ChatContact(
                    mobile: p.mobile ?? roster?.chat.mobile, wecomUserID: p.wecomUserID ?? roster?.apps.wecom),
                // A member's own choice (短信 = 否) holds; someone only in the organisation file has their mobile.
                sms: roster != nil ? roster?.sms : p.mobile.flatMap(MobileNumber.mainland),
                apps: p.apps.over(roster?.apps), reach: p.reach ?? roster?.reach)
        }
        return contacts
    }

    /// The rows one digest becomes: e-mail to the person when they have an address, the webhooks and unit robots,
    /// and the journal (`journal`: configured and present). A digest that reaches no person is a warning.
    func route(_ d: Digest, context base: RenderContext, contact: Contact?, journal: Bool, now: Int64) -> Routed {
        var routed = Routed()
        let late = now - d.at > 86400
        if d.isGreeting, let rule = config.rules.first(where: { $0.id == d.items.first?.occurrence.rule }),
            now - d.at > Int64(rule.lateGreetingDays) * 86400
        {
            // A birthday greeting weeks after the day does more harm than good.
            routed.warnings.append(.lateGreetingDropped(recipient: d.recipient, daysLate: (now - d.at) / 86400, limit: rule.lateGreetingDays))
            return routed
        }
        var context = base
        context.lateSince = late ? d.localDate : nil
        // The work app, to whoever has an id in it: the digest as a card with their links.
        let app = config.routing.workApp.flatMap { name in workAppChannels[name].map { (name, $0.spec.app) } }
        let user = app.flatMap { contact?.apps.id(in: $0.1) }
        let route = config.routing.workAppRoute(user: user, reach: contact?.reach)
        // 仅应用 through 钉钉: the mail is rendered and held, and goes if 钉钉's send result, read later, says the
        // person was not reached (the other apps say so when they take the message).
        var appHeld: String?
        if route.app, let (name, kind) = app, let user {
            if kind == .dingtalk, !route.mail { appHeld = d.idempotencyKey(channel: name) }
            routed.rows.append(
                NewOutboxMessage(
                    idempotencyKey: d.idempotencyKey(channel: name), recipient: d.recipient, channel: .named(name),
                    payload: OutboxPayload.workApp(user: user, message: WorkAppMessages.card(d, app: kind, renderer: renderer, context: context))
                        .encoded(),
                    items: DigestRouter.items(d.items, context)))
        }
        // SMS: the member's greeting when greeting_sms is set (instead of mail), and the due-day and overdue
        // reminders of someone without an e-mail address (nor the work app) when sms_fallback is set.
        var texted = false
        var heldFor: String?
        let smsName =
            d.isGreeting ? config.routing.greetingSMS : (contact?.email == nil && !route.app ? config.routing.smsFallback : nil)
        if let name = smsName, let channel = smsChannels[name], let phone = contact?.sms, let kind = SMSMessage.kind(of: d),
            let template = channel.spec.templates[kind]
        {
            // Its mail is rendered now and held: it goes only if the receipt says the SMS was undelivered.
            texted = d.isGreeting
            if texted, channel.spec.receiptsAwaited { heldFor = d.idempotencyKey(channel: name) }
            let params = SMSMessage.params(template, d, context: context, limit: channel.spec.paramMaxLength)
            routed.rows.append(
                NewOutboxMessage(
                    idempotencyKey: d.idempotencyKey(channel: name), recipient: d.recipient, channel: .named(name),
                    payload: OutboxPayload.sms(phone: phone, template: template.id, params: params).encoded(),
                    items: DigestRouter.items(d.items, context)))
        }
        // A greeting texted goes by SMS instead of mail (held as its fallback where receipts are polled); 仅应用 drops
        // the mail where the app reaches them.
        if !texted || heldFor != nil, route.mail || appHeld != nil, let name = config.routing.email, let channel = mailChannels[name],
            let address = contact?.email
        {
            let mail = renderer.mail(d, context: context)
            let key = d.idempotencyKey(channel: name)
            // A 补发 mail is dated when it goes (its body says when it should have gone), not days in the past,
            // where a mail program would sort it out of sight.
            let env = channel.envelope(
                to: Mailbox(name: context.personName(d.recipient), address: address), mail: mail, at: late ? now : d.at,
                zone: config.zone, idempotencyKey: key)
            routed.rows.append(
                NewOutboxMessage(
                    idempotencyKey: key, recipient: d.recipient, channel: .named(name),
                    payload: OutboxPayload.mail(from: env.from, to: env.recipients, data: Data(env.data)).encoded(),
                    items: DigestRouter.items(d.items, context), heldFor: heldFor ?? appHeld))
        }
        let (hooks, robots) = webhookRows(d, context: context, mention: contact?.chat, late: late)
        if routed.rows.isEmpty && robots == 0 { routed.warnings.append(.unreachable(recipient: d.recipient)) }
        routed.rows += hooks
        if journal {
            routed.rows.append(
                NewOutboxMessage(
                    idempotencyKey: d.idempotencyKey(channel: journalChannelName), recipient: d.recipient,
                    channel: .journal,
                    payload: OutboxPayload.journal(entries: JournalChannel.entries(d, context: context, late: late)).encoded(),
                    items: DigestRouter.items(d.items, context)))
        }
        return routed
    }

    /// What a row is about, so it can be withdrawn or rewritten when they are done before it goes.
    static func items(_ items: [Digest.Item], _ c: RenderContext) -> [NewOutboxMessage.Item] {
        items.map { i in
            NewOutboxMessage.Item(
                occurrence: i.occurrence.id, kind: i.kind.rawValue,
                label: "\(i.occurrence.title)（\(c.subjectName(i.occurrence))）")
        }
    }

    /// Every digest to each `[routing] webhooks` channel, and each item to the robot of its unit (or the nearest
    /// unit above with one; an escalation belongs to the unit above). Greetings stay out of group chats: they are
    /// the member's own. Also says how many robot messages there are.
    /// What a unit's group robot says when a 公示 of the 专项资金 begins: that it exists, until when, and where to see
    /// it — never who, how much or why (the page behind each member's own link says who and how much).
    static func announcement(_ notices: [Occurrence]) -> String {
        let until = notices.map(\.due).max().map { "，公示期至 \($0)" } ?? ""
        return "【关怀帮扶专项资金】本单位有\(notices.count)项资助正在公示\(until)。请通过本人「我的待办」链接中的「专项资金公示」查看；如有异议，请按公示页所列方式反映。"
    }

    func webhookRows(_ d: Digest, context: RenderContext, mention: ChatContact?, late: Bool)
        -> (rows: [NewOutboxMessage], robots: Int)
    {
        func row(_ name: String, _ body: [UInt8], part: Int = 0, items: [Digest.Item]? = nil) -> NewOutboxMessage {
            NewOutboxMessage(
                idempotencyKey: d.idempotencyKey(channel: name, part: part + 1), recipient: d.recipient,
                channel: .named(name), payload: OutboxPayload.webhook(body: Data(body)).encoded(),
                items: DigestRouter.items(items ?? d.items, context))
        }
        var out: [NewOutboxMessage] = []
        for name in config.routing.webhooks where webhookChannels[name] != nil {
            out.append(row(name, WebhookMessages.digest(d, context: context, zone: config.zone, late: late)))
        }
        let units = config.routing.units
        guard !units.isEmpty else { return (out, 0) }
        let org = config.organization
        var byChannel: [String: [Digest.Item]] = [:]
        var order: [String] = []
        // A group is not a person: a 专项资金 stage names someone's application, so it goes only to the person. The
        // one thing a group hears of the fund is that a 公示 has begun in its unit: no name, no amount (`announce`).
        let fundRules = Set(config.rules.filter { $0.trigger == .fund }.map(\.id))
        var notices: [String: [Digest.Item]] = [:]
        for item in d.items where item.kind != .greeting {
            let o = item.occurrence
            let lineage = org.lineage(of: o.org)
            let above = item.kind == .escalation && lineage.count > 1 ? lineage.dropFirst() : lineage[...]
            guard let channel = above.lazy.compactMap({ units[$0.id] }).first, webhookChannels[channel] != nil else { continue }
            if fundRules.contains(o.rule) {
                if FundObligation.isNotice(o.id) && item.kind == .advance && d.localDate == o.windowStart {
                    notices[channel, default: []].append(item)
                }
                continue
            }
            if byChannel[channel] == nil { order.append(channel) }
            byChannel[channel, default: []].append(item)
        }
        var robots = 0
        for (name, items) in notices.sorted(by: { $0.key < $1.key }) {
            guard let channel = webhookChannels[name], channel.spec.kind != .webhook else { continue }
            let bodies = WebhookMessages.robot(channel.spec, text: DigestRouter.announcement(items.map(\.occurrence)), mention: nil)
            robots += bodies.count
            // Parts after the digest's own (at most a few), so each has its own key.
            out += bodies.enumerated().map { row(name, $1, part: 50 + $0, items: items) }
        }
        for name in order {
            guard let channel = webhookChannels[name], let items = byChannel[name] else { continue }
            var part = d
            part.items = items
            let bodies =
                channel.spec.kind == .webhook
                ? [WebhookMessages.digest(part, context: context, zone: config.zone, late: late)]
                : WebhookMessages.robot(
                    channel.spec,
                    text: renderer.chat(
                        part, context: context, markdown: channel.spec.format == .markdown), mention: mention)
            robots += bodies.count
            out += bodies.enumerated().map { row(name, $1, part: $0, items: items) }
        }
        return (out, robots)
    }
}
