import ArgumentParser
import Foundation
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiStore
import GuanhuaiWorkspace

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Next send times, the outbox queue, and delivery failures of the last 7 days.")

    @OptionGroup var options: ConfigOption
    @Option(help: "The present (YYYY-MM-DD or YYYY-MM-DDTHH:MM). Default: now.") var now: String?

    func run() async throws {
        let ws = try options.workspace(create: false)
        guard let db = ws.database else {
            say("No database yet at \(ws.config.databasePath): guanhuaid has not run, and nothing was imported.")
            return
        }
        let nowInstant = try now.map { try ArgumentDates.instant($0, zone: ws.config.zone, option: "--now") }
            ?? wallClockSeconds()
        let input = try ws.planInput()
        let planner = Planner(input)
        let today = planner.today(at: nowInstant)
        let occ = planner.plan(PlanQuery(from: today.adding(days: -20), to: today.adding(days: 45), now: nowInstant))
        let upcoming = Digest.collect(occ, after: nowInstant, through: nowInstant + 45 * 86400)
        let byTime = Dictionary(grouping: upcoming, by: \.at).sorted { $0.key < $1.key }.prefix(5)
        say("Next send times:")
        if byTime.isEmpty { say("  none in the next 45 days") }
        for (at, digests) in byTime {
            say("  \(format(at, ws.config.zone))  \(digests.count) messages, \(digests.reduce(0) { $0 + $1.items.count }) items")
        }
        let counts = try db.outboxCounts()
        say("Outbox: \(counts.pending) queued, \(counts.sent) sent, \(counts.failed) failed.")
        if let through = try db.processedThrough() { say("Send times processed through \(format(through, ws.config.zone)).") }
        for d in try db.disabledEndpoints() {
            say("Channel \(d.channel) is DISABLED since \(format(d.since, ws.config.zone)): \(d.reason)")
            say("  Fix the receiver or its url, then: guanhuai enable-channel \(d.channel)")
        }
        let problems = try db.outboxProblems(since: nowInstant - 7 * 86400)
        say("Delivery problems in the last 7 days: \(problems.isEmpty ? "none" : String(problems.count))")
        let names = Names(input)
        for p in problems {
            let state = p.state == .failed ? "failed" : "retrying (attempt \(p.attempts))"
            say("  \(format(p.createdAt, ws.config.zone))  \(p.channel)  \(names.person(p.recipient))（\(p.recipient)）  \(state): \(p.lastError ?? "")")
        }
    }

    func format(_ t: Int64, _ zone: ZoneRules) -> String { zone.minute(atUTC: t) }
}

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the configuration, rules, templates, channels, credentials and routing; say what would fail.",
        discussion: "Exit status 0 when guanhuaid would run and reach everyone, 2 otherwise. Run it before `systemctl reload guanhuaid`.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        var problems = 0
        func ok(_ s: String) { say("ok     \(s)") }
        func warn(_ s: String) { say("warn   \(s)") }
        func bad(_ s: String) {
            problems += 1
            say("error  \(s)")
        }
        let env = ProcessInfo.processInfo.environment
        let ws: Workspace
        do {
            ws = try options.workspace(create: false)
        } catch {
            say("error  \(error)")
            throw ExitCode(2)
        }
        let config = ws.config
        ok("\(config.path): \(config.rules.count) rules (\(config.rules.filter(\.enabled).count) enabled), zone \(config.zone.identifier), send time \(String(format: "%02d:%02d", config.sendMinutes / 60, config.sendMinutes % 60))")
        ok("database \(config.databasePath)\(ws.database == nil ? " (not created yet; guanhuaid creates it)" : "")")
        do {
            _ = try await DigestRenderer.load(directory: config.templatesDirectory)
            ok("templates in \(config.templatesDirectory)")
        } catch {
            bad("templates: \(error)")
        }
        for (name, spec) in config.channels.sorted(by: { $0.key < $1.key }) {
            do {
                switch spec {
                case .smtp, .sendmail, .webhook: _ = try spec.secrets(name: name, environment: env)
                case .journal: break
                }
                ok("channel \(name) (\(spec.kind)): credentials readable")
            } catch {
                bad("channel \(name): \(error)")
            }
        }
        if let web = config.web {
            do {
                _ = try web.keyBytes(environment: env)
                ok("web pages on \(web.host):\(web.port), links to \(web.publicURL); link key readable")
            } catch {
                bad("web: \(error)")
            }
        }
        let input = try ws.planInput()
        if let since = input.settings.since {
            let source = config.since != nil ? "[guanhuai] since" : "the day the roster was first imported"
            ok("reminders start \(since) (\(source)): obligations due before it are history, never overdue or reminded")
        } else {
            warn("no start date yet: the first roster import sets it (or set [guanhuai] since = \"YYYY-MM-DD\"); until then every obligation since each member joined counts")
        }
        let thisYear = Planner.today(at: wallClockSeconds(), zone: config.zone)
        if let cal = config.workCalendar {
            let years = cal.years.keys.sorted().map(String.init).joined(separator: ", ")
            ok("holiday table \(config.files.holidays ?? ""): \(years); no reminder goes out on a day off")
            if !cal.covers(year: thisYear.year) {
                warn("the holiday table has no \(thisYear.year): weekends count as days off, holidays do not; add the year from the 国务院办公厅 notice")
            } else if thisYear.month == 12, !cal.covers(year: thisYear.year + 1) {
                warn("the holiday table has no \(thisYear.year + 1) yet: add it from the 国务院办公厅 notice (关于\(thisYear.year + 1)年部分节假日安排的通知) before 1 January")
            }
        } else {
            warn("no holiday table ([files] holidays): reminders may go out on weekends and holidays, and `shift` knows weekends only")
        }
        for rule in config.rules where rule.enabled {
            guard case .quota(let leaderMin, let cadreMin) = rule.trigger else { continue }
            let members = Dictionary(input.members.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            let short = QuotaShortfall.all(input, members: members, leaderMin: leaderMin, cadreMin: cadreMin)
            if short.isEmpty {
                ok("\(rule.id): every leader and cadre has their contacts (relations file)")
            } else {
                warn("\(rule.id): \(short.count) short of their contacts — " + short.map(\.chinese).joined(separator: "；"))
            }
        }
        if let report = config.report {
            ok("monthly report \(report.onText) to 组织部\(report.generalBranches ? " and each 党总支 secretary" : "")")
        }
        if let m = config.metrics { ok("metrics at http://\(m.host):\(m.port)/metrics") }
        let planner = Planner(input)
        let now = wallClockSeconds()
        let today = planner.today(at: now)
        let occ = planner.plan(PlanQuery(from: today, to: today.adding(days: 366), now: now))
        var recipients = Set<PersonID>()
        for o in occ { for r in o.reminders { recipients.formUnion(r.to) } }
        let names = Names(input)
        var unreachable: [String] = []
        for p in recipients.sorted() {
            let address = input.organization.people[p]?.email ?? input.members.first { $0.id == p }?.email
            if config.routing.email == nil || address == nil { unreachable.append("\(names.person(p))（\(p)）") }
        }
        if config.routing.email == nil && config.routing.journal {
            warn("no e-mail channel: reminders reach people only through the journal; add [channels.NAME] with type = \"smtp\" or \"sendmail\"")
        } else if config.routing.email == nil {
            bad("no e-mail channel and the journal is off: reminders reach no one; add [channels.NAME] with type = \"smtp\" or \"sendmail\"")
        } else if !unreachable.isEmpty {
            bad("\(unreachable.count) people receive reminders but have no e-mail address: \(unreachable.prefix(20).joined(separator: "、"))")
        } else {
            ok("routing: all \(recipients.count) people who receive reminders in the coming year are reachable by \(config.routing.email!)")
        }
        if !config.routing.webhooks.isEmpty {
            ok("routing: every digest is also posted to \(config.routing.webhooks.joined(separator: ", "))")
        }
        for (unit, channel) in config.routing.units.sorted(by: { $0.key < $1.key }) {
            ok("routing: \(input.organization.units[unit]?.name ?? unit) and the units below it without a robot of their own → \(channel)")
        }
        if problems > 0 {
            say("\n\(problems) problem\(problems == 1 ? "" : "s") found.")
            throw ExitCode(2)
        }
    }
}

struct EnableChannelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable-channel",
        abstract: "Re-enable a webhook channel that was disabled because its endpoint answered 410 Gone.",
        discussion: "Messages that failed while it was disabled stay failed; new reminders go to it again.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The channel's name ([channels.NAME]).") var name: String

    func run() async throws {
        let ws = try options.workspace(create: false)
        guard let db = ws.database else { throw UsageError(message: "no database yet at \(ws.config.databasePath)") }
        if try db.enableEndpoint(channel: name) {
            say("Channel \(name) is enabled again.")
        } else {
            let disabled = try db.disabledEndpoints().map(\.channel)
            throw UsageError(message: "channel \"\(name)\" is not disabled; disabled: \(disabled.isEmpty ? "none" : disabled.joined(separator: ", "))")
        }
    }
}
