import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiReport
import GuanhuaiStore

/// The monthly report as outbox rows: for each time `[report] on` fired in (after, now], the month before it, to
/// 组织部 (every unit) and to each 党总支 secretary (their own), as an HTML mail with the workbook attached. Pure
/// apart from the rendering: the scheduler enqueues the rows with its processed mark, so a report is queued once
/// (the key names the month, the person and the unit) and sent, retried and recorded like any reminder.
struct ReportMailer {
    var settings: ReportSettings
    var zone: ZoneRules
    var mailName: String
    var channel: MailChannel

    struct Queued {
        var rows: [NewOutboxMessage] = []
        /// People a report is for who have no e-mail address.
        var unreachable: [PersonID] = []
    }

    static func key(month from: CivilDate, person: PersonID, scope: UnitID, channel: String) -> String {
        "report:\(from.year)-\(Timestamp.two(from.month)):\(person):\(scope):\(channel)"
    }

    /// - fires: the times `[report] on` fired (`ReportSchedule.fires`), each covering the month before it.
    func rows(
        fires: [Int64], now: Int64, input: PlanInput, contacts: [PersonID: DigestRouter.Contact],
        personName: (PersonID) -> String
    ) throws -> Queued {
        var out = Queued()
        let org = input.organization
        let recipients = ReportSchedule.recipients(org, generalBranches: settings.generalBranches)
        guard !recipients.isEmpty else { return out }
        for at in fires {
            let (from, to) = ReportSchedule.period(firedAt: at, zone: zone)
            let occ = Planner(input).plan(.outcomes(from: from, to: to, now: now))
            for (person, scope) in recipients {
                guard let address = contacts[person]?.email else {
                    out.unreachable.append(person)
                    continue
                }
                let key = ReportMailer.key(month: from, person: person, scope: scope, channel: mailName)
                let mail = try render(
                    occ, org: org, rules: input.rules, from: from, to: to, scope: scope, at: at,
                    personName: personName)
                let env = channel.envelope(
                    to: Mailbox(name: personName(person), address: address), mail: mail, at: at,
                    zone: zone, idempotencyKey: key)
                out.rows.append(
                    NewOutboxMessage(
                        idempotencyKey: key, recipient: person, channel: .named(mailName),
                        payload: OutboxPayload.mail(from: env.from, to: env.recipients, data: Data(env.data)).encoded()))
            }
        }
        return out
    }

    /// The mail: the report by unit as the HTML body, a short text part, and the workbook (by unit, rule and
    /// responsible person) attached.
    func render(
        _ occ: [Occurrence], org: Organization, rules: [Rule], from: CivilDate, to: CivilDate, scope: UnitID,
        at: Int64, personName: (PersonID) -> String
    ) throws -> RenderedMail {
        let reports = Report.Grouping.allCases.map { g in
            Report(
                occurrences: occ, organization: org, rules: rules, from: from, to: to, scope: scope, grouping: g,
                personName: personName)
        }
        let scopeName = scope == org.committee.id ? "全部单位" : (org.units[scope]?.name ?? scope)
        let month = "\(from.year)年\(from.month)月"
        let html = ReportOutput.html(
            reports[0], organization: org.committee.name, scope: scopeName,
            generated: zone.minute(atUTC: at))
        let xlsx = try ReportOutput.xlsx(reports, title: "党内关怀帮扶工作情况统计")
        let t = reports[0].total
        var text = """
            \(org.committee.name) 党内关怀帮扶工作情况统计（\(month)，\(scopeName)）

            \(from) 至 \(to) 应办 \(t.due) 项：按期办结 \(t.onTime)，逾期办结 \(t.late)，逾期未办 \(t.overdue)，未到期 \(t.notYetDue)，不适用 \(t.waived)；覆盖率 \(ReportOutput.percent(t.coverage))；慰问金 \(Report.Figures.yuan(t.amountFen)) 元。

            """
        for row in reports[0].rows where row.depth == 1 {
            let f = row.figures
            text += "\(row.name)：应办 \(f.due)，逾期未办 \(f.overdue)，覆盖率 \(ReportOutput.percent(f.coverage))\n"
        }
        text += "\n按单位、按事项、按责任人的明细见附件（Excel 工作簿）。本邮件由关怀提醒系统自动发送。\n"
        return RenderedMail(
            subject: "【关怀工作月报】\(month) · \(scopeName)", text: text, html: html,
            attachments: [
                MailAttachment(
                    filename: "关怀工作统计-\(from.year)-\(Timestamp.two(from.month))-\(scope).xlsx",
                    contentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", data: xlsx)
            ])
    }
}
