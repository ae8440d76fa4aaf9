import Foundation
public import GuanhuaiCalendar
public import GuanhuaiCore
import TOMLKit

/// `config.toml` and everything it names, loaded and cross-checked as one unit: either all of it is valid, or an
/// error says what to fix and nothing is used.
public struct Configuration: Sendable {
    public var path: String
    public var zone: ZoneRules
    public var sendMinutes: Int
    /// `[guanhuai] since`: obligations due before it are history. nil: the day the roster was first imported.
    public var since: CivilDate? = nil
    /// The holiday table, when `[files] holidays` names one.
    public var workCalendar: WorkCalendar? = nil
    public var oldMember: OldMemberRule
    public var files: Files
    /// The SQLite database: `$STATE_DIRECTORY/guanhuai.sqlite` under systemd, else `[database] path`, else
    /// /var/lib/guanhuai/guanhuai.sqlite.
    public var databasePath: String
    /// `[database] url`: the committee's store is this PostgreSQL database instead of the SQLite file.
    public var postgres: PostgresSettings? = nil
    /// How long a writer waits for another process's write before giving up, in seconds.
    public var busyTimeout: Double
    /// The Mustache templates for messages (default: `templates/` beside the config file).
    public var templatesDirectory: String
    /// Named channels, `[channels.NAME]`.
    public var channels: [String: ChannelSpec]
    public var routing: Routing
    public var delivery: DeliveryPolicy
    /// `[web]`; nil: nothing listens and mail carries no links.
    public var web: WebSettings?
    /// `[report]`; nil: no report is mailed.
    public var report: ReportSettings?
    /// `[metrics]`; nil: no /metrics listener.
    public var metrics: MetricsSettings?
    /// `[fund]`: the 专项资金's categories, deadlines and 公示 (defaults without the table).
    public var fund = FundSettings()

    /// Which channels reach people (docs/configuration.md, "Channels").
    public struct Routing: Sendable, Equatable {
        /// The channel for people's e-mail addresses; nil when none is configured.
        public var email: String?
        /// Every reminder also becomes journal entries (default on).
        public var journal: Bool
        /// Webhook channels that receive every digest, machine-readable (`[routing] webhooks = ["NAME"]`).
        public var webhooks: [String] = []
        /// A unit's group-chat robot (`[routing.units] UNIT = "NAME"`): reminders about the unit's obligations, and
        /// those of the units below it that have none of their own, go there too, mentioning the person reminded.
        public var units: [String: String] = [:]
        /// The SMS channel for political-birthday greetings to members with a mobile number (`greeting_sms`).
        public var greetingSMS: String?
        /// The SMS channel for due-day and overdue reminders to responsible people without an e-mail address.
        public var smsFallback: String?
        /// The work-app channel (`work_app`, a `wecom-app`) that reaches each person with a userid in it, with
        /// their links.
        public var workApp: String?
        /// `work_app_reach`: the committee's default for how people are reached when the work app is configured —
        /// "app+mail" (the default), "app" (the app message in place of the mail, to whoever the app reaches), or
        /// "mail". A person's own 提醒方式 (roster) or `reach` (organisation file) overrides it.
        public var workAppReach: Reach = .appAndMail

        /// Whether someone gets the work-app message, and whether mail goes too (where they have an address), from
        /// their id in the configured app and their own 提醒方式 (nil: `workAppReach`): the one decision the daemon's
        /// router and `guanhuai check` both make. 仅应用 drops the mail only for someone the app reaches.
        public func workAppRoute(user: String?, reach own: Reach?) -> (app: Bool, mail: Bool) {
            let reach = own ?? workAppReach
            let app = workApp != nil && user != nil && reach != .mail
            return (app, !(app && reach == .app))
        }
    }

    /// How the dispatcher retries (docs/operations.md).
    public struct DeliveryPolicy: Sendable, Equatable {
        public var retryInitialSeconds: Int = 60
        public var retryMaxSeconds: Int = 3600
        /// A message still failing temporarily after this long is given up and reported.
        public var maxAgeHours: Int = 72
        /// How many guanhuaid share the endpoints (`[database] instances`): each keeps its share of a robot's rate
        /// window, so together they stay within it.
        public var instances: Int = 1
    }
    public var organization: Organization
    public var members: [Member]
    public var relations: [Relation]
    public var dependants: [Dependant]
    public var events: [Event]
    public var rules: [Rule]

    public struct Files: Sendable {
        public var rules: String
        public var organization: String
        public var roster: String
        public var relations: String?
        public var events: String?
        /// The holiday table (China's days off and 调休 working days); nil: none.
        public var holidays: String?
        /// The most members a roster may hold (`max_members`): a file far larger than the organisation is a mistake
        /// (a whole province's export), refused before it makes every plan crawl.
        public var maxMembers = RosterFile.defaultMaxMembers
        /// Where config.toml names each file ("rules" → line), for saying where a missing one is named.
        var lines: [String: Int] = [:]
    }

    /// A file that config.toml names and that cannot be found is reported where it is named: config.toml, its line
    /// and key; any other problem with it as it is.
    func named(_ key: String, _ error: InputError) -> InputError { Configuration.named(key, error, config: path, files: files) }

    static func named(_ key: String, _ error: InputError, config path: String, files: Files) -> InputError {
        guard error.message == TextFile.missing else { return error }
        return InputError(
            file: path, location: files.lines[key].map { "line \($0)" }, field: "[files], \(key)",
            message: "names \(error.file), which does not exist; correct the path (relative paths are from \(path)'s folder)")
    }

    public var settings: PlanSettings { PlanSettings(zone: zone, sendMinutes: sendMinutes, oldMember: oldMember, since: since, workCalendar: workCalendar) }

    public func planInput(completions: [Completion] = [], extraEvents: [Event] = []) -> PlanInput {
        PlanInput(
            organization: organization, members: members, relations: relations, dependants: dependants,
            events: events + extraEvents, completions: completions, rules: rules, settings: settings)
    }

    public var membersByID: [PersonID: Member] {
        Dictionary(members.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Loads the config file, the rules and the organisation: everything but the roster, relations and events.
    public static func loadSettings(path: String, environment: [String: String] = [:]) throws(InputErrors)
        -> Configuration
    {
        func one<T>(_ body: () throws(InputError) -> T) throws(InputErrors) -> T {
            do { return try body() } catch { throw InputErrors([error]) }
        }
        let (text, _) = try one { () throws(InputError) in try TextFile.read(path) }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ p: String) -> String {
            p.hasPrefix("/") ? p : base.appendingPathComponent(p).standardizedFileURL.path
        }
        let r = try one { () throws(InputError) in try TOMLReader(file: path, text: text) }
        let top = TOMLReader.Place(header: nil, index: 0, name: "")
        let header = try one {
            () throws(InputError) -> (
                ZoneRules, Int, OldMemberRule, Files, String, Double, String, [String: ChannelSpec], Routing, DeliveryPolicy, WebSettings?
            ) in
            try r.checkKeys(
                r.root, allowed: ["guanhuai", "files", "old_member", "database", "channels", "routing", "delivery", "web", "report", "metrics", "fund"], top)
            let gp = TOMLReader.Place(header: "guanhuai", index: 0, name: "[guanhuai]")
            let g = try r.table(r.root, "guanhuai", top)
            var zone = ZoneRules.named("Asia/Shanghai")!
            var send = 8 * 60 + 30
            var templates = resolve("templates")
            if let g {
                try r.checkKeys(g, allowed: ["time_zone", "send_time", "templates", "since"], gp)
                if let t = try r.string(g, "templates", gp) { templates = resolve(t) }
                if let z = try r.string(g, "time_zone", gp) {
                    guard let rules = ZoneRules.named(z) else {
                        throw r.error(gp, "time_zone", "unknown time zone \"\(z)\"; use an IANA name such as Asia/Shanghai")
                    }
                    zone = rules
                }
                if let s = try r.string(g, "send_time", gp) {
                    let parts = s.split(separator: ":")
                    guard parts.count == 2, parts.allSatisfy({ $0.count == 2 }), let h = Int(parts[0]),
                        let m = Int(parts[1]), (0...23).contains(h), (0...59).contains(m)
                    else { throw r.error(gp, "send_time", "\"\(s)\" is not a time of day; write HH:MM, e.g. \"08:30\"") }
                    send = h * 60 + m
                }
            }
            var old = OldMemberRule()
            if let o = try r.table(r.root, "old_member", top) {
                let op = TOMLReader.Place(header: "old_member", index: 0, name: "[old_member]")
                try r.checkKeys(o, allowed: ["min_age", "min_party_age"], op)
                old.minimumAge = try r.int(o, "min_age", op, range: 0...150) ?? old.minimumAge
                old.minimumPartyAge = try r.int(o, "min_party_age", op, range: 0...150) ?? old.minimumPartyAge
            }
            let fp = TOMLReader.Place(header: "files", index: 0, name: "[files]")
            guard let f = try r.table(r.root, "files", top) else { throw r.error(top, nil, "missing the [files] table") }
            try r.checkKeys(f, allowed: ["rules", "organization", "roster", "relations", "events", "holidays", "max_members"], fp)
            var files = Files(
                rules: resolve(try r.string(f, "rules", fp, required: true)!),
                organization: resolve(try r.string(f, "organization", fp, required: true)!),
                roster: resolve(try r.string(f, "roster", fp, required: true)!),
                relations: try r.string(f, "relations", fp).map(resolve),
                events: try r.string(f, "events", fp).map(resolve))
            files.holidays = try r.string(f, "holidays", fp).map(resolve)
            for key in ["rules", "organization", "roster", "relations", "events", "holidays"] { files.lines[key] = r.line(of: key, in: fp) }
            files.maxMembers = try r.int(f, "max_members", fp, range: 1...10_000_000) ?? files.maxMembers
            var dbPath = "/var/lib/guanhuai/guanhuai.sqlite"
            var busy = 5.0
            if let d = try r.table(r.root, "database", top) {
                let dp = TOMLReader.Place(header: "database", index: 0, name: "[database]")
                try r.checkKeys(d, allowed: ["path", "busy_timeout_ms", "url", "password_credential", "claim_seconds", "instances"], dp)
                if let p = try r.string(d, "path", dp) { dbPath = resolve(p) }
                if let ms = try r.int(d, "busy_timeout_ms", dp, range: 1...600_000) { busy = Double(ms) / 1000 }
            }
            if let state = environment["STATE_DIRECTORY"]?.split(separator: ":").first, !state.isEmpty {
                dbPath = String(state) + "/guanhuai.sqlite"
            }
            var channels: [String: ChannelSpec] = [:]
            if let ch = try r.table(r.root, "channels", top) {
                for name in ch.keys.sorted() {
                    guard let t = ch[name]?.table else {
                        throw r.error(top, "channels", "[channels.\(name)] must be a table")
                    }
                    if name == journalChannelName {
                        throw r.error(
                            top, "channels", "a channel cannot be called \"journal\": that name is the journal's own ([routing] journal); choose another")
                    }
                    channels[name] = try ChannelSpec.parse(t, name: name, r)
                }
            }
            let mailChannels = channels.filter { $0.value.isMail }
            let hookChannels = channels.filter { if case .webhook = $0.value { true } else { false } }
            var routing = Routing(email: mailChannels.count == 1 ? mailChannels.keys.first : nil, journal: true)
            if let rt = try r.table(r.root, "routing", top) {
                let rp = TOMLReader.Place(header: "routing", index: 0, name: "[routing]")
                try r.checkKeys(
                    rt, allowed: ["email", "journal", "webhooks", "units", "greeting_sms", "sms_fallback", "work_app", "work_app_reach"], rp)
                if let name = try r.string(rt, "work_app", rp) {
                    let apps = channels.filter { if case .workApp = $0.value { true } else { false } }
                    guard apps[name] != nil else {
                        throw r.error(
                            rp, "work_app",
                            "\"\(name)\" is not a wecom-app, dingtalk-app or feishu-app channel; configured: \(apps.keys.sorted().joined(separator: ", "))")
                    }
                    guard r.root.contains(key: "web") else {
                        throw r.error(
                            rp, "work_app",
                            "a work-app message carries the person's links to 「我的待办」 and each item: configure [web] (public_url and web_key_credential) first")
                    }
                    routing.workApp = name
                }
                if let text = try r.string(rt, "work_app_reach", rp) {
                    guard let reach = Reach(name: text) else {
                        throw r.error(
                            rp, "work_app_reach",
                            "work_app_reach is \"app+mail\" (app and mail), \"app\" (the app in place of mail) or \"mail\", not \"\(text)\"")
                    }
                    routing.workAppReach = reach
                }
                let smsChannels = channels.filter { if case .sms = $0.value { true } else { false } }
                for key in ["greeting_sms", "sms_fallback"] {
                    guard let name = try r.string(rt, key, rp) else { continue }
                    guard smsChannels[name] != nil else {
                        throw r.error(rp, key, "\"\(name)\" is not an sms channel; configured: \(smsChannels.keys.sorted().joined(separator: ", "))")
                    }
                    // A template for what the routing sends, or the operator would learn of it only from silence.
                    if case .sms(let spec) = smsChannels[name] {
                        let needed: [SMSSpec.MessageKind] = key == "greeting_sms" ? [.greeting] : [.due, .overdue]
                        if let missing = needed.first(where: { spec.templates[$0] == nil }) {
                            throw r.error(
                                rp, key,
                                "channel \"\(name)\" has no templates.\(missing.rawValue): \(key) sends \(needed.map(\.rawValue).joined(separator: " and ")) messages; add the provider's approved template for each"
                            )
                        }
                    }
                    if key == "greeting_sms" { routing.greetingSMS = name } else { routing.smsFallback = name }
                }
                if let e = try r.string(rt, "email", rp) {
                    guard mailChannels[e] != nil else {
                        throw r.error(
                            rp, "email", "\"\(e)\" is not an smtp or sendmail channel; configured: \(mailChannels.keys.sorted().joined(separator: ", "))")
                    }
                    routing.email = e
                }
                routing.journal = try r.bool(rt, "journal", rp) ?? true
                func webhook(_ name: String, _ key: String) throws(InputError) -> String {
                    guard hookChannels[name] != nil else {
                        throw r.error(
                            rp, key,
                            "\"\(name)\" is not a webhook, wecom, dingtalk or feishu channel; configured: \(hookChannels.keys.sorted().joined(separator: ", "))"
                        )
                    }
                    return name
                }
                for name in try r.strings(rt, "webhooks", rp) ?? [] { routing.webhooks.append(try webhook(name, "webhooks")) }
                if let units = try r.table(rt, "units", rp) {
                    let up = TOMLReader.Place(header: "routing.units", index: 0, name: "[routing.units]")
                    for unit in units.keys.sorted() {
                        guard let name = units[unit]?.string else {
                            throw r.error(up, unit, "a unit maps to the name of a channel, e.g. \(unit) = \"wecom-\(unit)\"")
                        }
                        routing.units[unit] = try webhook(name, unit)
                    }
                }
            } else if mailChannels.count > 1 {
                throw r.error(top, nil, "several mail channels are configured: say which reaches people with [routing] email = \"NAME\"")
            }
            var delivery = DeliveryPolicy()
            if let dt = try r.table(r.root, "delivery", top) {
                let dp = TOMLReader.Place(header: "delivery", index: 0, name: "[delivery]")
                try r.checkKeys(dt, allowed: ["retry_initial_seconds", "retry_max_seconds", "max_age_hours"], dp)
                delivery.retryInitialSeconds = try r.int(dt, "retry_initial_seconds", dp, range: 1...86400) ?? delivery.retryInitialSeconds
                delivery.retryMaxSeconds = try r.int(dt, "retry_max_seconds", dp, range: 1...604_800) ?? delivery.retryMaxSeconds
                delivery.maxAgeHours = try r.int(dt, "max_age_hours", dp, range: 1...8760) ?? delivery.maxAgeHours
            }
            let web = try r.table(r.root, "web", top).map { t throws(InputError) in try WebSettings.parse(t, r) }
            if web == nil,
                let pushed = channels.sorted(by: { $0.key < $1.key }).first(where: {
                    if case .sms(let spec) = $0.value { spec.receiptPushToken != nil } else { false }
                })
            {
                throw r.error(
                    top, "channels.\(pushed.key).receipts",
                    "receipts = \"push\" is posted to guanhuaid's pages, and there is no [web]: add [web], or poll (receipts = \"poll\")")
            }
            return (zone, send, old, files, dbPath, busy, templates, channels, routing, delivery, web)
        }
        let (zone, send, old, files, databasePath, busyTimeout, templatesDirectory, channels, routing, delivery, web) = header
        let postgres = try one { () throws(InputError) in try PostgresSettings.parse(r) }
        let fund = try one { () throws(InputError) in try r.table(r.root, "fund", top).map { t throws(InputError) in try FundSettings.parse(t, r) } }
        let (report, metrics, since) = try one { () throws(InputError) -> (ReportSettings?, MetricsSettings?, CivilDate?) in
            let report = try r.table(r.root, "report", top).map { t throws(InputError) in try ReportSettings.parse(t, r) }
            let metrics = try r.table(r.root, "metrics", top).map { t throws(InputError) in try MetricsSettings.parse(t, r) }
            var since: CivilDate?
            if let g = try r.table(r.root, "guanhuai", top),
                let text = try r.string(g, "since", TOMLReader.Place(header: "guanhuai", index: 0, name: "[guanhuai]"))
            {
                guard let d = CivilDate(parsing: text), d.isSupported else {
                    throw r.error(
                        TOMLReader.Place(header: "guanhuai", index: 0, name: "[guanhuai]"), "since",
                        "\"\(text)\" is not a date; write the day the committee starts with guanhuai, e.g. \"2026-12-01\"")
                }
                since = d
            }
            return (report, metrics, since)
        }
        let rules: [Rule]
        do {
            rules = try RulesFile.load(path: files.rules)
        } catch {
            throw InputErrors([Configuration.named("rules", error, config: path, files: files)])
        }
        var c = Configuration(
            path: path, zone: zone, sendMinutes: send, oldMember: old, files: files, databasePath: databasePath,
            busyTimeout: busyTimeout, templatesDirectory: templatesDirectory, channels: channels, routing: routing,
            delivery: delivery, web: web, report: report, metrics: metrics,
            organization: Organization.empty, members: [], relations: [], dependants: [],
            events: [], rules: rules)
        c.since = since
        c.postgres = postgres
        if let fund { c.fund = fund }
        c.delivery.instances = postgres?.instances ?? 1
        if let h = files.holidays {
            do {
                c.workCalendar = try HolidaysFile.load(path: h)
            } catch {
                throw InputErrors([Configuration.named("holidays", error, config: path, files: files)])
            }
        }
        return c
    }

    /// Where the configuration is when `--config` does not say: `$GUANHUAI_CONFIG`, else this.
    public static let defaultPath = "/etc/guanhuai/config.toml"

    /// The configuration file for a process: `--config`, else `$GUANHUAI_CONFIG`, else `defaultPath`.
    public static func path(option: String?, environment: [String: String]) -> String {
        option ?? environment["GUANHUAI_CONFIG"] ?? defaultPath
    }

    /// Loads the config file and every file it names. Errors list every problem found in the failing file.
    /// With `now`, dates after that day (in the configured zone) are refused in the roster, relations and events.
    public static func load(path: String, environment: [String: String] = [:], now: Int64? = nil) throws(InputErrors)
        -> Configuration
    {
        try loadSettings(path: path, environment: environment).loadingFiles(storeOrganization: nil, rosterInStore: false, now: now)
    }

    /// Reads the organisation, roster, relations and events files. What the database already holds (it is then
    /// authoritative) is not read: the organisation, or the roster and relations; events are then checked against
    /// the database by the planner rather than here.
    /// With `organizationOnly`, only the organisation is read (commands that import the other files themselves).
    /// With `now`, a date after that day is refused (a birth, a joining or an event cannot be in the future); the
    /// daemon leaves it out, so that a test clock set in the past can still load today's files.
    public func loadingFiles(
        storeOrganization: Organization?, rosterInStore: Bool, organizationOnly: Bool = false, now: Int64? = nil
    ) throws(InputErrors) -> Configuration {
        var c = self
        let today = now.map { Planner.today(at: $0, zone: zone) }
        if let storeOrganization {
            c.organization = storeOrganization
        } else {
            do {
                c.organization = try OrganizationFile.load(path: files.organization)
            } catch {
                throw InputErrors([named("organization", error)])
            }
        }
        let organization = c.organization
        if let unknown = routing.units.keys.sorted().first(where: { organization.units[$0] == nil }) {
            throw InputErrors([
                InputError(
                    file: path, field: "[routing.units], \(unknown)",
                    message: "\"\(unknown)\" is not a unit of the organisation; units: \(organization.units.keys.sorted().joined(separator: ", "))")
            ])
        }
        if organizationOnly { return c }
        if !rosterInStore {
            c.members = try renamingMissing("roster") { () throws(InputErrors) in
                try RosterFile.load(path: files.roster, organization: organization, today: today, maxMembers: files.maxMembers)
            }
            try Configuration.checkPeople(organization, members: c.members, file: files.organization)
            if let rel = files.relations {
                let members = c.members
                (c.relations, c.dependants) = try renamingMissing("relations") { () throws(InputErrors) in
                    try RelationsFile.load(path: rel, organization: organization, members: members, today: today)
                }
            }
        }
        if let ev = files.events {
            let members = c.members
            c.events = try renamingMissing("events") { () throws(InputErrors) in
                try EventsFile.load(
                    path: ev, members: rosterInStore ? nil : members,
                    people: Set(organization.people.keys).union(members.map(\.id)), today: today)
            }
        }
        return c
    }

    func renamingMissing<T>(_ key: String, _ body: () throws(InputErrors) -> T) throws(InputErrors) -> T {
        do { return try body() } catch { throw InputErrors(error.errors.map { named(key, $0) }) }
    }

    /// Every secretary, 委员 and the 组织部 contact must be a known person (organization.toml or the roster).
    static func checkPeople(_ org: Organization, members: [Member], file: String) throws(InputErrors) {
        let unknown = unknownPeople(org, known: Set(org.people.keys).union(members.map(\.id)))
        if !unknown.isEmpty {
            throw InputErrors(
                unknown.map { u, p in
                    InputError(
                        file: file, field: u.map { "unit \($0)" } ?? "[committee], organization_department",
                        message: "\"\(p)\" is not a [[person]] here nor a member on the roster")
                })
        }
    }

    /// The people the organisation names (organisation department, secretaries, 委员) who are not in `known`, with
    /// the unit naming them (nil: the committee's organization_department), in unit order.
    public static func unknownPeople(_ org: Organization, known: Set<PersonID>) -> [(unit: UnitID?, person: PersonID)] {
        var out: [(UnitID?, PersonID)] = []
        if !known.contains(org.organizationDepartment) { out.append((nil, org.organizationDepartment)) }
        for u in org.units.values.sorted(by: { $0.id < $1.id }) {
            for p in [u.secretary].compactMap({ $0 }) + u.committeeMembers where !known.contains(p) { out.append((u.id, p)) }
        }
        return out
    }
}
