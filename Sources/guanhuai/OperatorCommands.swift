import ArgumentParser
import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiPostgres
import GuanhuaiStore
import GuanhuaiSystem
import GuanhuaiWorkspace

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: L("Next send times, the outbox queue, and delivery failures of the last 7 days.", "下次发送时间、待发队列和最近 7 天的发送失败。"))

    @OptionGroup var options: ConfigOption
    @Option(help: "The present (YYYY-MM-DD or YYYY-MM-DDTHH:MM). Default: now.") var now: String?

    func run() async throws {
        let (ws, nowInstant) = try await options.workspace(create: false, now: now)
        guard let db = ws.database else {
            say(
                L(
                    "No database yet at \(ws.config.databasePath): guanhuaid has not run, and nothing was imported.",
                    "尚无数据库（\(ws.config.databasePath)）：guanhuaid 还没有运行过，也没有导入过数据。"))
            return
        }
        let input = try await ws.planInput()
        let planner = Planner(input)
        let today = planner.today(at: nowInstant)
        let occ = planner.plan(PlanQuery(from: today.adding(days: -20), to: today.adding(days: 45), now: nowInstant))
        let upcoming = Digest.collect(occ, after: nowInstant, through: nowInstant + 45 * 86400)
        let byTime = Dictionary(grouping: upcoming, by: \.at).sorted { $0.key < $1.key }.prefix(5)
        say(L("Next send times:", "接下来的发送时间："))
        if byTime.isEmpty { say(L("  none in the next 45 days", "  45 天内没有")) }
        for (at, digests) in byTime {
            let items = digests.reduce(0) { $0 + $1.items.count }
            say("  \(format(at, ws.config.zone))  " + L("\(digests.count) messages, \(items) items", "\(digests.count) 封提醒，\(items) 项"))
        }
        let counts = try await db.outboxCounts()
        say(
            L(
                "Outbox: \(counts.pending) queued, \(counts.sent) sent, \(counts.failed) failed.",
                "发件箱：待发 \(counts.pending)，已发 \(counts.sent)，失败 \(counts.failed)。"))
        let byChannel = try await db.receiptCounts()
        let dingtalk = ws.config.dingtalkChannels
        func receiptCounts(_ keep: (String) -> Bool) -> [SMSReceiptState: Int] {
            byChannel.filter { keep($0.key) }.values.reduce(into: [:]) { all, c in all.merge(c, uniquingKeysWith: +) }
        }
        let receipts = receiptCounts { !dingtalk.contains($0) }
        if !receipts.isEmpty {
            let n = { (s: SMSReceiptState) in receipts[s] ?? 0 }
            say(
                L(
                    "SMS receipts: \(n(.delivered)) delivered, \(n(.undelivered)) undelivered, \(n(.accepted)) awaiting a report, \(n(.unknown)) never reported.",
                    "短信回执：已送达 \(n(.delivered))，未送达 \(n(.undelivered))，等待回执 \(n(.accepted))，无回执 \(n(.unknown))。"))
        }
        let results = receiptCounts { dingtalk.contains($0) }
        if !results.isEmpty {
            let n = { (s: SMSReceiptState) in results[s] ?? 0 }
            say(
                L(
                    "钉钉 工作通知 read later: \(n(.delivered)) reached, \(n(.undelivered)) not reached (a mail held for them sent instead), \(n(.accepted)) awaiting 钉钉's result, \(n(.unknown)) never reported.",
                    "钉钉工作通知（事后查询）：已送达 \(n(.delivered))，未送达 \(n(.undelivered))（为其留存的邮件已改发），等待钉钉结果 \(n(.accepted))，无结果 \(n(.unknown))。"))
        }
        if let pg = db as? PostgresStore {
            let d = try await pg.state()
            say(
                L(
                    "Database: \(pg.client.url) — primary \(d.host ?? "?"), timeline \(d.timeline.map(String.init) ?? "?").",
                    "数据库：\(pg.client.url)——主库 \(d.host ?? "?")，时间线 \(d.timeline.map(String.init) ?? "?")。"))
            say(
                d.claims.isEmpty
                    ? L("No message is claimed for sending now.", "目前没有正在发送（已认领）的消息。")
                    : L("Claimed for sending:", "正在发送（已认领）：") + " "
                        + d.claims.map { "\($0.instance) \($0.rows)" }.joined(separator: ", "))
        }
        if let through = try await db.processedThrough() {
            say(L("Send times processed through \(format(through, ws.config.zone)).", "已处理到 \(format(through, ws.config.zone)) 的发送时间。"))
        }
        for d in try await db.disabledEndpoints() {
            say(
                L(
                    "Channel \(d.channel) is DISABLED since \(format(d.since, ws.config.zone)): \(d.reason)",
                    "通道 \(d.channel) 自 \(format(d.since, ws.config.zone)) 起已停用：\(d.reason)"))
            say(
                L(
                    "  Fix the receiver or its url, then: guanhuai enable-channel \(d.channel)",
                    "  修好接收方或其地址后运行：guanhuai enable-channel \(d.channel)"))
        }
        let problems = try await db.outboxProblems(since: nowInstant - 7 * 86400)
        say(
            L(
                "Delivery problems in the last 7 days: \(problems.isEmpty ? "none" : String(problems.count))",
                "最近 7 天的投递问题：\(problems.isEmpty ? "无" : "\(problems.count) 个")"))
        let names = Names(input)
        for p in problems {
            let state = p.state == .failed ? L("failed", "失败") : L("retrying (attempt \(p.attempts))", "重试中（第 \(p.attempts) 次）")
            say("  \(format(p.createdAt, ws.config.zone))  \(p.channel)  \(names.person(p.recipient))（\(p.recipient)）  \(state): \(p.lastError ?? "")")
        }
    }

    func format(_ t: Int64, _ zone: ZoneRules) -> String { zone.minute(atUTC: t) }
}

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: L("Validate the configuration, rules, templates, channels, credentials and routing; say what would fail.", "检查配置、规则、模板、渠道、凭据和路由，指出会出问题的地方。"),
        discussion: "Exit status 0 when guanhuaid would run and reach everyone, 2 otherwise. Run it before `systemctl reload guanhuaid`.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        var problems = 0
        func ok(_ s: String) { say(L("ok     ", "正常   ") + s) }
        func warn(_ s: String) { say(L("warn   ", "注意   ") + s) }
        func bad(_ s: String) {
            problems += 1
            say(L("error  ", "错误   ") + s)
        }
        let env = ProcessInfo.processInfo.environment
        let ws: Workspace
        do {
            ws = try await options.workspace(create: false)
        } catch {
            say("error  \(error)")
            throw ExitCode(2)
        }
        let config = ws.config
        let sendTime = String(format: "%02d:%02d", config.sendMinutes / 60, config.sendMinutes % 60)
        let enabled = config.rules.filter(\.enabled).count
        ok(
            L(
                "\(config.path): \(config.rules.count) rules (\(enabled) enabled), zone \(config.zone.identifier), send time \(sendTime)",
                "\(config.path)：规则 \(config.rules.count) 条（启用 \(enabled) 条），时区 \(config.zone.identifier)，发送时间 \(sendTime)"))
        ok(
            L(
                "database \(config.databasePath)\(ws.database == nil ? " (not created yet; guanhuaid creates it)" : "")",
                "数据库 \(config.databasePath)\(ws.database == nil ? "（尚未创建，guanhuaid 会创建）" : "")"))
        do {
            _ = try await DigestRenderer.load(directory: config.templatesDirectory)
            ok(L("templates in \(config.templatesDirectory)", "模板目录 \(config.templatesDirectory)"))
        } catch {
            bad(L("templates: ", "模板：") + "\(error)")
        }
        for (name, spec) in config.channels.sorted(by: { $0.key < $1.key }) {
            do {
                switch spec {
                case .smtp, .sendmail, .webhook, .sms, .workApp: _ = try spec.secrets(name: name, environment: env)
                case .journal: break
                }
                ok(L("channel \(name) (\(spec.kind)): credentials readable", "通道 \(name)（\(spec.kind)）：凭据可读"))
            } catch {
                bad(L("channel \(name): ", "通道 \(name)：") + "\(error)")
            }
        }
        if let web = config.web {
            do {
                _ = try web.keyBytes(environment: env)
                ok(
                    L(
                        "web pages on \(web.host):\(web.port), links to \(web.publicURL); link key readable",
                        "网页监听 \(web.host):\(web.port)，链接指向 \(web.publicURL)；链接密钥可读"))
            } catch {
                bad(L("web: ", "网页：") + "\(error)")
            }
        }
        let input = try await ws.planInput()
        if let app = config.routing.workApp {
            // Who receives reminders (the organisation's people and every unit's secretary), and how each is reached
            // (the router's own decision, `workAppRoute`): the app, mail, or neither.
            let org = input.organization
            let members = Dictionary(input.members.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            let kind: WorkAppSpec.App = if case .workApp(let spec) = config.channels[app] { spec.app } else { .wecom }
            let people = Set(org.people.keys).union(org.units.values.compactMap(\.secretary)).sorted()
            var byApp = 0
            var byMail = 0
            var unreachable: [String] = []
            for id in people {
                let person = org.people[id]
                let apps = person.map { $0.apps.over(members[id]?.apps) } ?? members[id]?.apps
                let route = config.routing.workAppRoute(user: apps?.id(in: kind), reach: person?.reach ?? members[id]?.reach)
                let mail = route.mail && (person?.email ?? members[id]?.email) != nil
                if route.app { byApp += 1 }
                if mail { byMail += 1 }
                if !route.app && !mail { unreachable.append("\(person?.name ?? members[id]?.name ?? id)（\(id)）") }
            }
            let line = L(
                "work app \(app) (default \(config.routing.workAppReach.rawValue)): of \(people.count) people reminded, \(byApp) by the app, \(byMail) by mail",
                "工作应用 \(app)（默认\(config.routing.workAppReach.chinese)）：被提醒的 \(people.count) 人中，\(byApp) 人经应用，\(byMail) 人经邮件")
            if unreachable.isEmpty {
                ok(line)
            } else {
                let names = unreachable.prefix(12).joined(separator: "、") + (unreachable.count > 12 ? "…" : "")
                warn(line + L("; reached by neither: ", "；两者都无法送达：") + names)
            }
        }
        if let since = input.settings.since {
            let source = config.since != nil ? "[guanhuai] since" : "the day the roster was first imported"
            ok(
                L(
                    "reminders start \(since) (\(source)): obligations due before it are history, never overdue or reminded",
                    "提醒自 \(since) 起（\(config.since != nil ? "[guanhuai] since" : "首次导入名册之日")）：此前到期的事项为「历史」，不算逾期，也不提醒"))
        } else {
            warn(
                L(
                    "no start date yet: the first roster import sets it (or set [guanhuai] since = \"YYYY-MM-DD\"); until then every obligation since each member joined counts",
                    "尚无起始日期：首次导入名册时确定（或在 [guanhuai] 写 since = \"YYYY-MM-DD\"）；在此之前，党员入党以来的所有事项都计入"))
        }
        let thisYear = Planner.today(at: wallClockSeconds(), zone: config.zone)
        if let cal = config.workCalendar {
            let years = cal.years.keys.sorted().map(String.init).joined(separator: ", ")
            ok(
                L(
                    "holiday table \(config.files.holidays ?? ""): \(years); no reminder goes out on a day off",
                    "节假日表 \(config.files.holidays ?? "")：\(years) 年；休息日不发提醒"))
            if !cal.covers(year: thisYear.year) {
                warn(
                    L(
                        "the holiday table has no \(thisYear.year): weekends count as days off, holidays do not; add the year from the 国务院办公厅 notice",
                        "节假日表没有 \(thisYear.year) 年：只按周末休息，不含节假日；请按国务院办公厅通知补上"))
            } else if !cal.isFinal(year: thisYear.year) {
                warn(
                    L(
                        "the holiday table's \(thisYear.year) is provisional (statutory days only, no 调休): replace it with the 国务院办公厅 notice",
                        "节假日表的 \(thisYear.year) 年是暂定的（只有法定假日，没有调休）：请按国务院办公厅通知替换"))
            }
            let next = thisYear.year + 1
            if thisYear.month == 12, !cal.covers(year: next) {
                warn(
                    L(
                        "the holiday table has no \(next) yet: add it from the 国务院办公厅 notice (关于\(next)年部分节假日安排的通知) before 1 January",
                        "节假日表还没有 \(next) 年：请在 1 月 1 日前按国务院办公厅《关于\(next)年部分节假日安排的通知》补上"))
            } else if thisYear.month == 12, !cal.isFinal(year: next) {
                warn(
                    L(
                        "the holiday table's \(next) is provisional (statutory days only, no 调休): replace it with the 国务院办公厅 notice (关于\(next)年部分节假日安排的通知) when it is published",
                        "节假日表的 \(next) 年是暂定的（只有法定假日，没有调休）：国务院办公厅《关于\(next)年部分节假日安排的通知》发布后请替换"))
            }
        } else {
            warn(
                L(
                    "no holiday table ([files] holidays): reminders may go out on weekends and holidays, and `shift` knows weekends only",
                    "未配置节假日表（[files] holidays）：提醒可能在周末和节假日发出，shift 只认周末"))
        }
        for rule in config.rules where rule.enabled {
            guard case .quota(let leaderMin, let cadreMin) = rule.trigger else { continue }
            let members = Dictionary(input.members.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            let short = QuotaShortfall.all(input, members: members, leaderMin: leaderMin, cadreMin: cadreMin)
            if short.isEmpty {
                ok(L("\(rule.id): every leader and cadre has their contacts (relations file)", "\(rule.id)：领导和干部的联系党员均已落实"))
            } else {
                warn(
                    L("\(rule.id): \(short.count) short of their contacts — ", "\(rule.id)：\(short.count) 人联系党员不足——")
                        + short.map(\.chinese).joined(separator: "；"))
            }
        }
        if let report = config.report {
            ok(
                L(
                    "monthly report \(report.onText) to 组织部\(report.generalBranches ? " and each 党总支 secretary" : "")",
                    "月报 \(report.onText) 发给组织部\(report.generalBranches ? "和各党总支书记" : "")"))
        }
        if let m = config.metrics { ok(L("metrics at ", "运行指标 ") + "http://\(m.host):\(m.port)/metrics") }
        let planner = Planner(input)
        let now = wallClockSeconds()
        let today = planner.today(at: now)
        let occ = planner.plan(PlanQuery(from: today, to: today.adding(days: 366), now: now))
        var recipients = Set<PersonID>()
        for o in occ { for r in o.reminders { recipients.formUnion(r.to) } }
        let names = Names(input)
        var unreachable: [String] = []
        let members = Dictionary(input.members.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        /// The number an SMS may go to: a member's own (unless 短信 = 否), else the organisation file's.
        func textable(_ p: PersonID) -> Bool {
            if let m = members[p] { return !m.smsOptOut && m.mobile.flatMap(MobileNumber.mainland) != nil }
            return input.organization.people[p]?.mobile.flatMap(MobileNumber.mainland) != nil
        }
        var texted = 0
        for p in recipients.sorted() {
            let address = input.organization.people[p]?.email ?? members[p]?.email
            if config.routing.smsFallback != nil && address == nil && textable(p) {
                texted += 1
            } else if config.routing.email == nil || address == nil {
                unreachable.append("\(names.person(p))（\(p)）")
            }
        }
        if let sms = config.routing.smsFallback, texted > 0 {
            ok(
                L(
                    "routing: \(texted) people without an e-mail address get their due-day and overdue reminders by SMS (\(sms))",
                    "投递：\(texted) 位没有邮箱的人通过短信（\(sms)）收到到期和逾期提醒"))
        }
        if let sms = config.routing.greetingSMS {
            let active = input.members.filter { $0.status == .active }
            let n = active.count { textable($0.id) }
            ok(
                L(
                    "routing: political-birthday greetings by SMS (\(sms)) to \(n) of \(active.count) members; the others by e-mail, if they have an address",
                    "投递：政治生日祝福以短信（\(sms)）发给 \(active.count) 名党员中的 \(n) 名；其余有邮箱的发邮件"))
        }
        if config.routing.email == nil && config.routing.journal {
            warn(
                L(
                    "no e-mail channel: reminders reach people only through the journal; add [channels.NAME] with type = \"smtp\" or \"sendmail\"",
                    "未配置邮件通道：提醒只写入系统日志；请添加 [channels.名称]，type = \"smtp\" 或 \"sendmail\""))
        } else if config.routing.email == nil {
            bad(
                L(
                    "no e-mail channel and the journal is off: reminders reach no one; add [channels.NAME] with type = \"smtp\" or \"sendmail\"",
                    "未配置邮件通道且关闭了系统日志：提醒送不到任何人；请添加 [channels.名称]，type = \"smtp\" 或 \"sendmail\""))
        } else if !unreachable.isEmpty {
            bad(
                L("\(unreachable.count) people receive reminders but have no e-mail address: ", "\(unreachable.count) 人会收到提醒但没有邮箱：")
                    + unreachable.prefix(20).joined(separator: "、"))
        } else {
            ok(
                L(
                    "routing: all \(recipients.count) people who receive reminders in the coming year are reachable by \(config.routing.email!)",
                    "投递：未来一年会收到提醒的 \(recipients.count) 人都能通过 \(config.routing.email!) 收到"))
        }
        if !config.routing.webhooks.isEmpty {
            ok(L("routing: every digest is also posted to ", "投递：每封提醒同时推送到 ") + config.routing.webhooks.joined(separator: ", "))
        }
        for (unit, channel) in config.routing.units.sorted(by: { $0.key < $1.key }) {
            ok(
                L(
                    "routing: \(input.organization.units[unit]?.name ?? unit) and the units below it without a robot of their own → \(channel)",
                    "投递：\(input.organization.units[unit]?.name ?? unit)及其下没有自己机器人的单位 → \(channel)"))
        }
        if problems > 0 {
            say(L("\n\(problems) problem\(problems == 1 ? "" : "s") found.", "\n发现 \(problems) 个问题。"))
            throw ExitCode(2)
        }
    }
}

struct EnableChannelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable-channel",
        abstract: L("Re-enable a webhook channel that was disabled because its endpoint answered 410 Gone.", "重新启用因对方返回 410 Gone 而停用的 webhook 渠道。"),
        discussion: "Messages that failed while it was disabled stay failed; new reminders go to it again.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The channel's name ([channels.NAME]).") var name: String

    func run() async throws {
        let ws = try await options.workspace(create: false)
        guard let db = ws.database else { throw UsageError(message: "no database yet at \(ws.config.databasePath)") }
        if try await db.enableEndpoint(channel: name) {
            say("Channel \(name) is enabled again.")
        } else {
            let disabled = try await db.disabledEndpoints().map(\.channel)
            throw UsageError(message: "channel \"\(name)\" is not disabled; disabled: \(disabled.isEmpty ? "none" : disabled.joined(separator: ", "))")
        }
    }
}
