import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiDelivery
import GuanhuaiStore
import GuanhuaiTestSupport
import Testing

@testable import GuanhuaiCore
@testable import GuanhuaiDaemon

/// Where a digest goes, from a table: the router is a pure value, so each case is one call.
@Suite struct DigestRouterTests {
    /// The example with e-mail, a generic webhook, the journal, a robot for 文学院教师党支部 (wen-t) and one for
    /// 文学院党总支 (wen).
    static func load(_ dir: borrowing Scratch) async throws -> Loaded {
        let (config, env) = try dir.exampleCopy(
            routing: """
                email = "mail"
                webhooks = ["hook"]
                units = { wen-t = "branch-robot", wen = "general-robot" }
                """,
            channels: """
                [channels.mail]
                type = "smtp"
                host = "127.0.0.1"
                security = "none"
                from = "guanhuai@example.edu.cn"

                [channels.hook]
                type = "webhook"
                url = "http://127.0.0.1:9/hook"
                secret_credential = "whsec"

                [channels.branch-robot]
                type = "wecom"
                url = "http://127.0.0.1:9/wecom"
                key_credential = "key"

                [channels.general-robot]
                type = "dingtalk"
                url = "http://127.0.0.1:9/dingtalk"
                access_token_credential = "key"
                """,
            credentials: ["whsec": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "key": "k"])
        return try await Loaded.load(configPath: config, environment: env)
    }

    static let at = Example.noon("2026-12-03") - 4 * 3600 + 30 * 60  // 08:30 Shanghai
    static let email = DigestRouter.Contact(email: "m@example.edu.cn", chat: ChatContact(mobile: "13900000001"))
    static let nobody = DigestRouter.Contact(email: nil, chat: ChatContact())

    /// One item of the example's rule `rule`, at unit `org`, reminded as `kind`.
    static func digest(_ kind: Reminder.Kind, org: UnitID = "wen-t", rule: String = "must-visit", recipient: PersonID = "M001")
        -> Digest
    {
        let o = Occurrence(
            id: "\(rule):T", rule: rule, title: "四必访", subject: "M003", org: org, responsible: "M001",
            windowStart: CivilDate(2026, 11, 20)!, due: CivilDate(2026, 12, 3)!, status: .pending, waivedReason: nil,
            reminders: [])
        return Digest(recipient: recipient, at: at, localDate: CivilDate(2026, 12, 3)!, items: [.init(occurrence: o, kind: kind)])
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var digest: Digest
        var contact: DigestRouter.Contact?
        var journal = true
        var lateDays: Int64 = 0
        var channels: [String]
        var warnings: [String] = []
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "a branch item by mail, to the webhook, the branch's robot and the journal", digest: digest(.due),
            contact: email, channels: ["mail", "hook", "branch-robot", "journal"]),
        Case(
            name: "an escalation goes to the robot of the unit above", digest: digest(.escalation),
            contact: email, channels: ["mail", "hook", "general-robot", "journal"]),
        Case(
            name: "a unit without a robot uses the nearest one above", digest: digest(.due, org: "wen-s"),
            contact: email, channels: ["mail", "hook", "general-robot", "journal"]),
        Case(
            name: "no robot anywhere above and no address: a warning", digest: digest(.due, org: "li-t"),
            contact: nobody, channels: ["hook", "journal"], warnings: ["unreachable"]),
        Case(
            name: "no address, but a robot reaches the unit: no warning", digest: digest(.due),
            contact: nil, channels: ["hook", "branch-robot", "journal"]),
        Case(
            name: "without the journal", digest: digest(.due), contact: email, journal: false,
            channels: ["mail", "hook", "branch-robot"]),
        Case(
            name: "a greeting stays out of group chats", digest: digest(.greeting, rule: "political-birthday"),
            contact: email, channels: ["mail", "hook", "journal"]),
        Case(
            name: "a greeting 8 days late is not sent", digest: digest(.greeting, rule: "political-birthday"),
            contact: email, lateDays: 8, channels: [], warnings: ["late greeting"]),
        Case(
            name: "a reminder 8 days late is still sent", digest: digest(.overdue),
            contact: email, lateDays: 8, channels: ["mail", "hook", "branch-robot", "journal"]),
    ]

    @Test(arguments: cases)
    func routes(_ c: Case) async throws {
        let dir = try Scratch()
        let loaded = try await DigestRouterTests.load(dir)
        let router = loaded.router
        let context = RenderContext(input: loaded.config.planInput())
        let routed = router.route(
            c.digest, context: context, contact: c.contact, journal: c.journal,
            now: DigestRouterTests.at + c.lateDays * 86400)
        #expect(routed.rows.map(\.channel.name) == c.channels)
        #expect(
            routed.warnings.map {
                switch $0 {
                case .unreachable: "unreachable"
                case .lateGreetingDropped: "late greeting"
                }
            } == c.warnings)
        #expect(Set(routed.rows.map(\.idempotencyKey)).count == routed.rows.count)
        #expect(routed.rows.allSatisfy { $0.recipient == c.digest.recipient })
    }
}

/// The 专项资金 in group chats: a stage names someone's application and never goes to a group; a 公示 beginning is
/// announced to the unit's robot without a name, an amount or a reason.
@Suite struct FundRoutingTests {
    static func fund(_ stage: FundStage, _ kind: Reminder.Kind, start: CivilDate) -> Digest {
        let o = Occurrence(
            id: "fund-step:2:4:\(stage.rawValue)", rule: "fund-step", title: "关怀帮扶专项资金：\(stage.task)（申请 2）", subject: "M014", org: "wen-t",
            responsible: "ZZB", windowStart: start, due: CivilDate(2026, 12, 10)!, status: .pending, waivedReason: nil, reminders: [])
        return Digest(recipient: "ZZB", at: DigestRouterTests.at, localDate: CivilDate(2026, 12, 3)!, items: [.init(occurrence: o, kind: kind)])
    }

    @Test func aStageNeverGoesToAGroupAndANoticeIsAnnouncedWithoutAName() async throws {
        let dir = try Scratch()
        let loaded = try await DigestRouterTests.load(dir)
        let context = RenderContext(input: loaded.config.planInput())
        func route(_ d: Digest) -> [NewOutboxMessage] {
            loaded.router.route(d, context: context, contact: DigestRouterTests.email, journal: true, now: DigestRouterTests.at).rows
        }
        let today = CivilDate(2026, 12, 3)!
        #expect(route(Self.fund(.branchReview, .due, start: today)).map(\.channel.name) == ["mail", "hook", "journal"])
        #expect(route(Self.fund(.branchReview, .escalation, start: today)).map(\.channel.name) == ["mail", "hook", "journal"])
        // The 公示's first day: the branch's robot hears that it exists; later reminders of it stay with 组织部.
        let announced = route(Self.fund(.notice, .advance, start: today))
        #expect(announced.map(\.channel.name) == ["mail", "hook", "branch-robot", "journal"])
        let robot = try #require(announced.first { $0.channel.name == "branch-robot" })
        guard case .webhook(let body) = OutboxPayload.decode(robot.payload) else {
            Issue.record("not a webhook payload")
            return
        }
        let text = String(decoding: body, as: UTF8.self)
        #expect(text.contains("正在公示") && text.contains("2026-12-10"), "\(text)")
        for secret in ["秦丽娟", "M014", "申请 2", "元"] { #expect(!text.contains(secret), "\(secret) in \(text)") }
        #expect(route(Self.fund(.notice, .advance, start: CivilDate(2026, 12, 1)!)).map(\.channel.name) == ["mail", "hook", "journal"])
    }
}

/// The work app beside mail, decided per person: their own 提醒方式 over the committee's `work_app_reach`.
@Suite struct WorkAppRoutingTests {
    static func load(_ dir: borrowing Scratch, reach: String? = nil) async throws -> Loaded {
        let (config, env) = try dir.exampleCopy(
            routing: """
                email = "mail"
                work_app = "wecom-app"
                """ + (reach.map { "\nwork_app_reach = \"\($0)\"" } ?? ""),
            channels: """
                [channels.mail]
                type = "smtp"
                host = "127.0.0.1"
                security = "none"
                from = "guanhuai@example.edu.cn"

                [channels.wecom-app]
                type = "wecom-app"
                url = "http://127.0.0.1:9"
                corpid = "ww-test-corp"
                agentid = 1000002
                secret_credential = "wecom-secret"

                [web]
                listen = "127.0.0.1:9"
                public_url = "http://127.0.0.1:9"
                web_key_credential = "web-key"
                """,
            credentials: ["wecom-secret": "s", "web-key": webKey])
        return try await Loaded.load(configPath: config, environment: env)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var committee: String?
        var contact: DigestRouter.Contact
        var channels: [String]
        var testDescription: String { name }
    }

    static func contact(email: Bool = true, app: Bool = true, reach: Reach? = nil) -> DigestRouter.Contact {
        DigestRouter.Contact(
            email: email ? "m@example.edu.cn" : nil, chat: ChatContact(), apps: AppUserIDs(wecom: app ? "zhouhaiyan" : nil), reach: reach)
    }

    static let cases: [Case] = [
        Case(name: "the default: the app and mail", contact: contact(), channels: ["wecom-app", "mail", "journal"]),
        Case(name: "仅应用: the app in place of mail", contact: contact(reach: .app), channels: ["wecom-app", "journal"]),
        Case(name: "仅邮件: mail only", contact: contact(reach: .mail), channels: ["mail", "journal"]),
        Case(name: "仅应用 without a userid: mail still", contact: contact(app: false, reach: .app), channels: ["mail", "journal"]),
        Case(name: "no address, a userid: the app", contact: contact(email: false), channels: ["wecom-app", "journal"]),
        Case(name: "the committee's app default", committee: "app", contact: contact(), channels: ["wecom-app", "journal"]),
        Case(name: "the committee's mail default", committee: "mail", contact: contact(), channels: ["mail", "journal"]),
        Case(
            name: "a person's own choice over the committee's", committee: "mail", contact: contact(reach: .appAndMail),
            channels: ["wecom-app", "mail", "journal"]),
    ]

    @Test(arguments: cases)
    func routes(_ c: Case) async throws {
        let dir = try Scratch()
        let loaded = try await Self.load(dir, reach: c.committee)
        let routed = loaded.router.route(
            DigestRouterTests.digest(.due), context: RenderContext(input: loaded.config.planInput()), contact: c.contact, journal: true,
            now: DigestRouterTests.at)
        #expect(routed.rows.map(\.channel.name) == c.channels)
        #expect(routed.warnings.isEmpty)
    }

    /// The roster's 企业微信 and 提醒方式 reach the router's contacts; the organisation file's entry overrides them.
    @Test func theRosterAndTheOrganisationFileSayHowEachIsReached() async throws {
        var input = Example.config.planInput()
        input.members[0].apps.wecom = "zhouhaiyan"
        input.members[0].reach = .app
        let id = input.members[0].id
        var contacts = DigestRouter.contacts(input)
        #expect(contacts[id]?.apps.wecom == "zhouhaiyan" && contacts[id]?.reach == .app)
        input.organization.people[id] = Person(id: id, name: "周海燕", wecomUserID: "zhy", reach: .mail)
        contacts = DigestRouter.contacts(input)
        #expect(contacts[id]?.apps.wecom == "zhy" && contacts[id]?.reach == .mail)
    }
}
