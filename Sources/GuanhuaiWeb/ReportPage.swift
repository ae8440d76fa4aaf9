import Foundation
import GuanhuaiCalendar
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiReport
import GuanhuaiWorkspace
import HTTPTypes
import Hummingbird

/// 组织部's report on the web: a signed link for 组织部 staff and unit secretaries, each seeing their own subtree.
extension Handlers {
    /// The unit a person's report covers: the whole committee for 组织部 and the committee's secretary, else the
    /// highest unit they are secretary of; nil for anyone else.
    static func reportScope(_ person: PersonID, _ org: Organization) -> UnitID? {
        if person == org.organizationDepartment || person == org.committeeSecretary { return org.committee.id }
        let mine = org.units.values.filter { $0.secretary == person }
        return mine.min { a, b in (org.lineage(of: a.id).count, a.id) < (org.lineage(of: b.id).count, b.id) }?.id
    }

    func reportRoutes() -> RouteCollection<WebContext> {
        let routes = RouteCollection(context: WebContext.self).add(middleware: LinkGrant(purpose: .report, handlers: self))
        routes.get(":token", use: reportPage)
        routes.head(":token", use: reportPage)
        return routes
    }

    @Sendable func reportPage(_ req: Request, _ ctx: WebContext) async throws -> Response {
        let g = try ctx.granted()
        let (st, t, now, token) = (g.state, g.token, g.now, g.raw)
        let org = st.workspace.organization
        guard let scope = Handlers.reportScope(t.person, org) else {
            throw Refusal(status: .forbidden, title: "没有可查看的统计", message: "统计只向组织部和各级党组织书记提供。")
        }
        let zone = st.workspace.config.zone
        let today = Planner.today(at: now, zone: zone)
        let q = req.uri.queryParameters
        let year = q.get("year").flatMap { Int($0) }.flatMap { (today.year - 10...today.year + 1).contains($0) ? $0 : nil } ?? today.year
        let by = q.get("by").flatMap { Report.Grouping(rawValue: String($0)) } ?? .unit
        let cacheToken = "report:\(token):\(year):\(by.rawValue)"
        let key = try await viewKey(st, person: t.person, now: now)
        if let html = cache.page(key, token: cacheToken) { return Response.html(html) }
        let input: PlanInput
        do { input = try await st.workspace.planInput() } catch {
            throw Refusal.unreadable
        }
        guard let from = CivilDate(year, 1, 1), let to = CivilDate(year, 12, 31) else { throw Refusal.unreadable }
        let occ = Planner(input).plan(.outcomes(from: from, to: to, now: now))
        var names: [PersonID: String] = [:]
        for m in input.members { names[m.id] = m.name }
        for p in org.people.values { names[p.id] = p.name }
        let report = Report(
            occurrences: occ, organization: org, rules: input.rules, from: from, to: to, scope: scope,
            grouping: by, personName: { names[$0] ?? $0 })
        // The 专项资金 in the whole committee's report (组织部's), as `guanhuai report` has it.
        var fund: [FundReport.Table] = []
        if scope == org.committee.id {
            do {
                fund = try await st.workspace.fundReport(from: from, to: to, today: today, condolenceFen: report.total.amountFen)?.tables ?? []
            } catch { throw Refusal.unreadable }
        }
        let html = ReportOutput.html(
            report, organization: org.committee.name,
            scope: scope == org.committee.id ? "全部单位" : (org.units[scope]?.name ?? scope), generated: zone.minute(atUTC: now),
            stylesheet: "/static/report.css", back: agendaLink(g), fund: fund)
        cache.putPage(key, token: cacheToken, html)
        return Response.html(html)
    }
}
