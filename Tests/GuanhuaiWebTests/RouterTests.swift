import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiStore
import GuanhuaiTestSupport
import GuanhuaiWorkspace
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

@testable import GuanhuaiWeb

/// The daemon as the pages see it, for a test: the example committee on a scratch database, a fixed moment, and a
/// count of what was recorded.
final class TestBackend: WebBackend {
    let state: WebState
    let moment: Int64
    let recorded = Mutex(0)

    init(_ state: WebState, now: Int64) {
        self.state = state
        moment = now
    }

    func webState() async -> WebState? { state }
    func didRecord() async { recorded.withLock { $0 += 1 } }
    func now() -> Int64 { moment }
}

/// The example with `[web]`, opened as the daemon opens it.
final class WebFixture: @unchecked Sendable {
    static let key = "k3y-for-in-process-tests-0123456789abcdefghijklmnop"
    let dir: Scratch
    let backend: TestBackend
    let signer = LinkSigner(key: Array(WebFixture.key.utf8))
    var database: AppDatabase { get throws { try #require(backend.state.workspace.sqlite) } }

    init(now: Int64) async throws {
        dir = try Scratch()
        let config = try dir.exampleCopy()
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try Data((text + "\n[web]\npublic_url = \"https://guanhuai.example.edu.cn\"\nweb_key_credential = \"web-key\"\n").utf8)
            .write(to: URL(fileURLWithPath: config))
        let ws: Workspace
        do { ws = try await Workspace.open(configPath: config, environment: [:], create: true) } catch {
            throw Issue.Failure("the example does not open: \(error)")
        }
        let web = try #require(ws.config.web)
        backend = TestBackend(
            WebState(
                workspace: ws, signer: LinkSigner(key: Array(WebFixture.key.utf8)), settings: web,
                loadGeneration: 0), now: now)
    }

    func router() -> Router<WebContext> { WebServer.router(backend: backend, logger: Logger(label: "test")) }

    func token(_ purpose: LinkToken.Purpose, _ person: PersonID, _ o: Occurrence? = nil, expires: Int64? = nil) -> String {
        signer.token(
            LinkToken(
                purpose: purpose, person: person, occurrence: o?.id ?? "", due: o?.due,
                expires: expires ?? backend.moment + 30 * 86400, generation: 0))
    }
}

extension Issue {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }
}

func form(_ fields: [String: String]) -> ByteBuffer {
    var c = URLComponents()
    c.queryItems = fields.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
    return ByteBuffer(string: (c.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B"))
}

let formHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

/// The router as guanhuaid serves it, in-process: no port, no browser; the same handlers, middleware and pages.
@Suite struct RouterTests {
    static let now = Example.noon("2027-06-01")

    static func birthday() throws -> Occurrence {
        try #require(
            Example.plan(from: "2027-06-01", to: "2027-06-30", now: "2027-06-01", rules: ["political-birthday"])
                .first { $0.subject == "M021" })
    }

    @Test func aLinkIsCheckedBeforeAnyPage() async throws {
        let f = try await WebFixture(now: Self.now)
        let o = try Self.birthday()
        try await Application(router: f.router()).test(.router) { client in
            // Cut short, another purpose, expired, someone else's item.
            try await client.execute(uri: "/i/abc/done", method: .get) { r in
                #expect(r.status == .notFound)
                #expect(String(buffer: r.body).contains("链接不完整"))
            }
            try await client.execute(uri: "/me/" + f.token(.item, "M011", o), method: .get) { r in
                #expect(r.status == .notFound)
            }
            try await client.execute(uri: "/i/" + f.token(.item, "M011", o, expires: Self.now - 1) + "/done", method: .get) { r in
                #expect(r.status == .gone)
                #expect(String(buffer: r.body).contains("本单位党组织或党委组织部"), "the configured contact")
            }
            try await client.execute(uri: "/i/" + f.token(.item, "M021", o) + "/done", method: .get) { r in
                #expect(r.status == .forbidden)
                #expect(String(buffer: r.body).contains("不是您的事项"))
            }
            try await client.execute(uri: "/i/" + f.token(.item, "M011", o) + "/done", method: .get) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body).contains("孔令辉"))
            }
            // HEAD as GET, without the body.
            try await client.execute(uri: "/i/" + f.token(.item, "M021", o) + "/done", method: .head) { r in
                #expect(r.status == .forbidden && r.body.readableBytes == 0)
            }
        }
    }

    @Test func theResponsiblePersonRecordsOnceAndTheAgendaAsksFirst() async throws {
        let f = try await WebFixture(now: Self.now)
        let o = try Self.birthday()
        try await Application(router: f.router()).test(.router) { client in
            let agenda = "/me/" + f.token(.agenda, "M011")
            // The list's button asks: nothing is recorded.
            try await client.execute(
                uri: agenda + "/done", method: .post, headers: formHeaders,
                body: form(["occurrence": o.id, "date": "2027-06-01"])
            ) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body).contains("确认这项工作已经办理完毕"))
            }
            #expect(try f.database.completion(for: o.id) == nil)
            // Confirmed: recorded, by the link's holder, and the daemon told.
            try await client.execute(
                uri: agenda + "/done", method: .post, headers: formHeaders,
                body: form(["occurrence": o.id, "date": "2027-06-01", "confirm": "yes"])
            ) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body).contains("已登记"))
            }
            #expect(try f.database.completion(for: o.id)?.by == "M011")
            #expect(f.backend.recorded.withLock { $0 } == 1)
            // The item's own link now says who recorded it, by name.
            try await client.execute(
                uri: "/i/" + f.token(.item, "M011", o) + "/done", method: .post, headers: formHeaders,
                body: form(["date": "2027-06-01"])
            ) { r in
                #expect(r.status == .conflict)
                #expect(String(buffer: r.body).contains("已由 韩晓东 于"))
            }
        }
    }

    /// Every id outside the list gets the same answer, whatever it is.
    @Test func anAgendaAnswersEveryForeignItemAlike() async throws {
        let f = try await WebFixture(now: Self.now)
        let o = try Self.birthday()
        _ = try f.database.record(
            Completion(occurrence: "branch-annual-talk:2027:M003", date: CivilDate(2027, 5, 1)!, by: "M001"),
            actor: Actor(name: "root", now: Self.now))
        let answers = try await Application(router: f.router()).test(.router) { client in
            var answers: Set<String> = []
            for id in [o.id, "branch-annual-talk:2027:M003", "monthly-subsidy:2026-11:M015", "x", ""] {
                let answer = try await client.execute(
                    uri: "/me/" + f.token(.agenda, "M021") + "/done", method: .post,
                    headers: formHeaders, body: form(["occurrence": id, "date": "2027-06-01"])
                ) { r in
                    "\(r.status.code) \(String(buffer: r.body))"
                }
                answers.insert(answer)
            }
            return answers
        }
        #expect(answers.count == 1)
        #expect(answers.first?.hasPrefix("403 ") == true)
    }

    /// 组织部's feed: what is ahead (90 days) and the latest overdue, bounded, whatever the committee's size; and
    /// fifty calendars asking at once get the same feed, made once.
    @Test func aFeedIsBoundedAndMadeOnceForManyAtOnce() async throws {
        let f = try await WebFixture(now: Self.now)
        let today = CivilDate(2027, 6, 1)!
        let uri = "/ics/" + f.token(.feed, "ZZB") + ".ics"
        let bodies = try await Application(router: f.router()).test(.router) { client in
            try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await client.execute(uri: uri, method: .get) { String(buffer: $0.body) } }
                }
                var out: Set<String> = []
                for try await b in group { out.insert(b) }
                return out
            }
        }
        #expect(bodies.count == 1, "\(bodies.count) different feeds")
        let body = try #require(bodies.first)
        let dates = body.split(separator: "\r\n").filter { $0.hasPrefix("DTSTART;VALUE=DATE:") }
            .compactMap {
                CivilDate(
                    parsing: String($0.dropFirst("DTSTART;VALUE=DATE:".count)).replacingOccurrences(
                        of: "^(\\d{4})(\\d{2})(\\d{2})$", with: "$1-$2-$3", options: .regularExpression))
            }
        #expect(!dates.isEmpty)
        #expect(dates.allSatisfy { $0 <= today.adding(days: Handlers.feedAhead) }, "nothing past 90 days ahead")
        #expect(dates.filter { $0 < today }.count <= Handlers.feedOverdue)
        #expect(dates.count <= Handlers.feedUpcoming + Handlers.feedOverdue)
    }

    @Test func everyResponseCarriesTheSecurityHeaders() async throws {
        let f = try await WebFixture(now: Self.now)
        try await Application(router: f.router()).test(.router) { client in
            for uri in ["/", "/me/" + f.token(.agenda, "M001"), "/nowhere", "/i/abc/done"] {
                try await client.execute(uri: uri, method: .get) { r in
                    #expect(r.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true, "\(uri)")
                    #expect(r.headers[.cacheControl] == "no-store", "\(uri)")
                    #expect(r.headers[.xContentTypeOptions] == "nosniff", "\(uri)")
                    for leak in ["Swift", "NIO", "Hummingbird", "Optional("] {
                        #expect(!String(buffer: r.body).contains(leak), "\(uri): \(leak)")
                    }
                }
            }
            try await client.execute(uri: "/static/app.css", method: .get) { r in
                #expect(r.headers[.cacheControl] == "public, max-age=86400")
            }
        }
    }
}
