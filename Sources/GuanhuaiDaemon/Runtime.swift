import Foundation
public import GuanhuaiConfig
public import GuanhuaiCore
import GuanhuaiDelivery
public import GuanhuaiStore
public import Logging
import Systemd

/// The present, as UTC seconds. Injected so that tests can move time; the daemon uses the system clock.
public protocol WallClock: Sendable {
    func now() -> Int64
}

public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Int64 { Int64(Date().timeIntervalSince1970.rounded(.down)) }
}

/// Everything loaded from the configuration, swapped as a whole on reload: either all of the new one or none.
struct Loaded: Sendable {
    var workspace: Workspace
    var renderer: DigestRenderer
    var mailChannels: [String: MailChannel]
    var webhookChannels: [String: WebhookChannel]

    var config: Configuration { workspace.config }
    var database: AppDatabase { workspace.database! }

    static func load(configPath: String, environment: [String: String]) async throws -> Loaded {
        let workspace: Workspace
        do {
            workspace = try Workspace.open(configPath: configPath, environment: environment, create: true)
        } catch {
            switch error {
            case .input(let e): throw e
            case .store(let e): throw e
            }
        }
        let renderer = try await DigestRenderer.load(directory: workspace.config.templatesDirectory)
        var channels: [String: MailChannel] = [:]
        var hooks: [String: WebhookChannel] = [:]
        for (name, spec) in workspace.config.channels {
            switch spec {
            case .smtp, .sendmail: channels[name] = try MailChannel(name: name, spec: spec, environment: environment)
            case .webhook(let w): hooks[name] = try WebhookChannel(name: name, spec: w, environment: environment)
            case .journal: break
            }
        }
        return Loaded(workspace: workspace, renderer: renderer, mailChannels: channels, webhookChannels: hooks)
    }
}

/// The daemon's shared state: the loaded configuration, the cached plan, and what STATUS= shows.
public actor Runtime {
    var loaded: Loaded
    let configPath: String
    let environment: [String: String]
    let notifier: Notifier
    let logger: Logger

    /// What the last plan said, kept instead of the plan itself: an idle daemon holds no roster in memory.
    var lastPlan: (generation: Int64, day: CivilDate, next: Int64?)?
    var loadGeneration = 0
    var nextSend: Int64?
    var queued = 0
    var lastFailure: String?
    var disabledChannels: [String] = []
    var warnedNoJournal = false

    init(loaded: Loaded, configPath: String, environment: [String: String], notifier: Notifier, logger: Logger) {
        self.loaded = loaded
        self.configPath = configPath
        self.environment = environment
        self.notifier = notifier
        self.logger = logger
    }

    public var database: AppDatabase { loaded.database }
    var config: Configuration { loaded.config }

    /// Validates the configuration on disk and swaps it in; on any error the running one stays.
    func reload() async throws {
        let new = try await Loaded.load(configPath: configPath, environment: environment)
        loaded = new
        loadGeneration += 1
        lastPlan = nil
    }

    // MARK: Scheduling

    /// How far back a reminder can lie behind its occurrence's due date (overdue, escalation), and ahead.
    var lookback: Int {
        let days = config.rules.flatMap { $0.reminders.overdueDays + $0.reminders.escalateDays }.max() ?? 14
        return days + 2
    }

    static let horizonDays = 45

    /// One scheduling step: every send time in (processed, now] becomes outbox rows, committed together with the
    /// new processed mark. Returns how many rows were added and when the next send time is. Plans only when
    /// something changed (the database, the day, the configuration) or a send time has come: an idle wake is cheap.
    func schedule(now: Int64) throws -> (added: Int, next: Int64?) {
        let db = database
        let generation = try db.changeGeneration() * 1000 + Int64(loadGeneration)
        let processed = try db.processedThrough()
        let today = Planner.today(at: now, zone: config.zone)
        if let last = lastPlan, last.generation == generation, last.day == today, let processed, now >= processed,
            last.next.map({ now < $0 }) ?? true
        {
            return (0, last.next)
        }
        let input = try loaded.workspace.planInput()
        // The plan reaches back from the processed mark, not from today: after an outage of any length every send
        // time since the mark is in it, escalations of items due long before the mark included.
        let since = processed.map { min(today, Planner.today(at: $0, zone: config.zone)) } ?? today
        let occ = Planner(input).plan(
            PlanQuery(from: since.adding(days: -lookback), to: today.adding(days: Runtime.horizonDays), now: now))
        defer { releaseMemory() }
        guard let processed else {
            // First run on this database: reminders from before it existed are history, not missed sends.
            try db.enqueue([], processedThrough: now, now: now)
            logger.notice("first run: reminders from now on", metadata: ["MESSAGE_ID": "\(MessageID.started)"])
            let next = nextSendTime(occ, after: now)
            lastPlan = (generation, today, next)
            nextSend = next
            return (0, next)
        }
        var added = 0
        if now < processed {
            // The clock went back: a retry scheduled on the later clock would wait that much longer than the policy
            // allows. Nothing is sent twice: send times up to the mark stay processed.
            let moved = try db.clampPendingAttempts(notAfter: now + Int64(config.delivery.retryMaxSeconds))
            if moved > 0 {
                logger.notice("the clock went back \(processed - now) s: \(moved) waiting messages are tried within \(config.delivery.retryMaxSeconds) s")
            }
        }
        if now > processed {
            // A clock that jumped back leaves now ≤ processed: nothing is sent twice; a jump forward catches up.
            var messages: [NewOutboxMessage] = []
            // Names, notes and contacts are looked up once per step, not once per digest; a person's entry in the
            // organisation file fills in what the roster lacks.
            let context = RenderContext(input: input)
            var contacts: [PersonID: Contact] = [:]
            for m in input.members { contacts[m.id] = Contact(email: m.email, chat: ChatContact(mobile: m.mobile)) }
            for p in input.organization.people.values {
                let roster = contacts[p.id]
                contacts[p.id] = Contact(email: p.email ?? roster?.email, chat: ChatContact(
                    mobile: p.mobile ?? roster?.chat.mobile, wecomUserID: p.wecomUserID))
            }
            let journal = journalAvailable()
            for d in Digest.collect(occ, after: processed, through: now) {
                messages += route(d, context: context, contact: contacts[d.recipient], journal: journal, now: now)
            }
            added = try db.enqueue(messages, processedThrough: now, now: now)
        }
        let next = nextSendTime(occ, after: max(now, processed))
        lastPlan = (generation, today, next)
        nextSend = next
        return (added, next)
    }

    func nextSendTime(_ occ: [Occurrence], after t: Int64) -> Int64? {
        var best: Int64?
        for o in occ where o.status.isOpen {
            for r in o.reminders where r.at > t && (best == nil || r.at < best!) { best = r.at }
        }
        return best
    }

    /// How a person is reached.
    struct Contact {
        var email: String?
        var chat: ChatContact
    }

    /// Whether the journal channel is on: configured, and a journald to take it (sd_journal_sendv would report
    /// success into the void without one). Said once when it is missing.
    func journalAvailable() -> Bool {
        guard config.routing.journal else { return false }
        if !Journal.isAvailable && !warnedNoJournal {
            warnedNoJournal = true
            logger.warning("there is no systemd journal on this system (/run/systemd/journal/socket): reminders are not written to it")
        }
        return Journal.isAvailable
    }

    /// The outbox rows one digest becomes: e-mail to the person when they have an address, the webhooks and unit
    /// robots (routeWebhooks), and the journal. A digest that reaches no person is a warning, never silence.
    func route(_ d: Digest, context base: RenderContext, contact: Contact?, journal: Bool, now: Int64) -> [NewOutboxMessage] {
        let late = now - d.at > 86400
        if d.isGreeting, let rule = config.rules.first(where: { $0.id == d.items.first?.occurrence.rule }),
            now - d.at > Int64(rule.lateGreetingDays) * 86400
        {
            // A birthday greeting weeks after the day does more harm than good (late_greeting_days).
            logger.notice("a political-birthday greeting \((now - d.at) / 86400) days late is not sent (late_greeting_days = \(rule.lateGreetingDays))",
                metadata: ["GUANHUAI_RECIPIENT": "\(d.recipient)"])
            return []
        }
        var context = base
        context.lateSince = late ? d.localDate : nil
        var out: [NewOutboxMessage] = []
        if let name = config.routing.email, let channel = loaded.mailChannels[name], let address = contact?.email {
            let mail = loaded.renderer.mail(d, context: context)
            let key = d.idempotencyKey(channel: name)
            let env = channel.envelope(
                to: Mailbox(name: context.personName(d.recipient), address: address), mail: mail, at: d.at,
                zone: config.zone, idempotencyKey: key)
            out.append(NewOutboxMessage(
                idempotencyKey: key, recipient: d.recipient, channel: name,
                payload: OutboxPayload.mail(from: env.from, to: env.recipients, data: Data(env.data)).encoded()))
        }
        let (hooks, robots) = routeWebhooks(d, context: context, mention: contact?.chat, late: late)
        if out.isEmpty && robots == 0 {
            logger.warning(
                "a reminder reaches no person: no e-mail address or channel for the recipient, and no unit robot",
                metadata: ["MESSAGE_ID": "\(MessageID.unreachable)", "GUANHUAI_RECIPIENT": "\(d.recipient)"])
        }
        out += hooks
        if journal {
            out.append(NewOutboxMessage(
                idempotencyKey: d.idempotencyKey(channel: "journal"), recipient: d.recipient, channel: "journal",
                payload: OutboxPayload.journal(entries: JournalChannel.entries(d, context: context, late: late)).encoded()))
        }
        return out
    }

    /// The outbox rows for webhooks: every digest to each `[routing] webhooks` channel, and each item to the robot
    /// of its unit (or the nearest unit above with one; an escalation belongs to the unit above). Greetings stay out
    /// of group chats: they are the member's own. Also says how many robot messages there are.
    func routeWebhooks(_ d: Digest, context: RenderContext, mention: ChatContact?, late: Bool)
        -> (rows: [NewOutboxMessage], robots: Int)
    {
        func row(_ name: String, _ body: [UInt8], part: Int = 0) -> NewOutboxMessage {
            NewOutboxMessage(
                idempotencyKey: d.idempotencyKey(channel: name) + (part == 0 ? "" : "#\(part + 1)"), recipient: d.recipient,
                channel: name, payload: OutboxPayload.webhook(body: Data(body)).encoded())
        }
        var out: [NewOutboxMessage] = []
        for name in config.routing.webhooks where loaded.webhookChannels[name] != nil {
            out.append(row(name, WebhookMessages.digest(d, context: context, zone: config.zone, late: late)))
        }
        let units = config.routing.units
        guard !units.isEmpty else { return (out, 0) }
        let org = config.organization
        var byChannel: [String: [Digest.Item]] = [:]
        var order: [String] = []
        for item in d.items where item.kind != .greeting {
            let o = item.occurrence
            var unit: UnitID? = item.kind == .escalation ? (org.units[o.org]?.parent ?? o.org) : o.org
            var steps = 0
            while let u = unit, units[u] == nil, steps < 32 {  // 32: a bound against a parent cycle
                unit = org.units[u]?.parent
                steps += 1
            }
            guard let u = unit, let channel = units[u], loaded.webhookChannels[channel] != nil else { continue }
            if byChannel[channel] == nil { order.append(channel) }
            byChannel[channel, default: []].append(item)
        }
        var robots = 0
        for name in order {
            guard let channel = loaded.webhookChannels[name], let items = byChannel[name] else { continue }
            var part = d
            part.items = items
            let bodies = channel.spec.kind == .webhook
                ? [WebhookMessages.digest(part, context: context, zone: config.zone, late: late)]
                : WebhookMessages.robot(channel.spec, text: loaded.renderer.chat(
                    part, context: context, markdown: channel.spec.format == .markdown), mention: mention)
            robots += bodies.count
            out += bodies.enumerated().map { row(name, $1, part: $0) }
        }
        return (out, robots)
    }

    // MARK: Status

    func noteDispatch(queued: Int, failure: String?, disabled: [String] = []) {
        self.queued = queued
        disabledChannels = disabled
        if let failure { lastFailure = failure }
    }

    /// The one line `systemctl status` shows.
    var statusText: String {
        var parts: [String] = []
        if let nextSend {
            parts.append("next reminder \(config.zone.minute(atUTC: nextSend))")
        } else {
            parts.append("no reminder due in the next \(Runtime.horizonDays) days")
        }
        parts.append("\(queued) queued")
        if !disabledChannels.isEmpty { parts.append("DISABLED (410 Gone): \(disabledChannels.joined(separator: ", "))") }
        parts.append(lastFailure.map { "last failure: \($0)" } ?? "last send ok")
        return parts.joined(separator: " · ")
    }

    func publishStatus() { notifier.status(statusText) }

    public func currentStatus() -> String { statusText }

    var deliveryPolicy: Configuration.DeliveryPolicy { config.delivery }
    func mailChannel(_ name: String) -> MailChannel? { loaded.mailChannels[name] }
    func webhookChannel(_ name: String) -> WebhookChannel? { loaded.webhookChannels[name] }

    /// Per-endpoint rate windows, kept across reloads (an endpoint's limit does not reset with the configuration).
    var rateWindows: [String: RateWindow] = [:]

    /// nil: send now. Otherwise the time the endpoint takes the next message.
    func reserve(_ channel: WebhookChannel, now: Int64) -> Int64? {
        guard let limit = channel.spec.ratePerMinute else { return nil }
        var w = rateWindows[channel.endpoint] ?? RateWindow(limit: limit)
        if w.limit != limit { w = RateWindow(limit: limit) }
        let r = w.reserve(now: now)
        rateWindows[channel.endpoint] = w
        return r
    }
}

/// Give freed planning memory back to the system: a daemon's idle RSS should be its steady state.
func releaseMemory() { releaseFreedMemory() }

/// A clock for tests of the whole binary (README, "Test switches"): `$GUANHUAI_TEST_CLOCK_FILE` holds an epoch in
/// seconds that was "now" when the file was last written; time then runs on from there. Writing the file again
/// jumps the clock, forward or back. (libfaketime is no help: preloaded, it empties a Swift program's arguments.)
public struct FileWallClock: WallClock {
    let path: String

    public init(path: String) { self.path = path }

    public func now() -> Int64 {
        let real = Int64(Date().timeIntervalSince1970.rounded(.down))
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let base = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines)),
            let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate]) as? Date
        else { return real }
        return base + (real - Int64(modified.timeIntervalSince1970.rounded(.down)))
    }
}
