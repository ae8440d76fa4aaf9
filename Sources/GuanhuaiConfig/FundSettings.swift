import Foundation
public import GuanhuaiCore
import TOMLKit

/// `[fund]`: the 关怀帮扶专项资金 (X九) — its categories, each stage's deadline in working days, and its 公示.
public struct FundSettings: Sendable, Equatable {
    /// What an application may be for. X九 names the first two; the others are the usual hardship causes.
    public var categories = ["因公殉职家庭", "因公伤残", "生活困难", "大病"]
    public var deadlines = FundDeadlines()
    /// Who sees a grant in 公示: the members of the grantee's unit (their 党总支, or their branch where it has none)
    /// through their signed links, or the whole committee. Never the open internet.
    public var noticeScope: NoticeScope = .unit
    /// Where an objection is raised, printed on the 公示 page (e.g. "党委组织部 0373-1234567，行政楼 302").
    public var objectionContact: String?

    public enum NoticeScope: String, Sendable, Equatable {
        case unit, committee
    }

    public init() {}

    static func parse(_ t: TOMLTable, _ r: TOMLReader) throws(InputError) -> FundSettings {
        let p = TOMLReader.Place(header: "fund", index: 0, name: "[fund]")
        let days = [
            "branch_review_days", "general_review_days", "decision_days", "notice_check_days", "notice_days", "held_days", "payment_days",
            "returned_days",
        ]
        try r.checkKeys(t, allowed: Set(["categories", "notice_scope", "objection_contact"] + days), p)
        var s = FundSettings()
        if let c = try r.strings(t, "categories", p) {
            let kept = c.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !kept.isEmpty else { throw r.error(p, "categories", "name at least one category, e.g. [\"因公殉职家庭\", \"因公伤残\"]") }
            s.categories = kept
        }
        if let scope = try r.string(t, "notice_scope", p) {
            guard let v = NoticeScope(rawValue: scope) else {
                throw r.error(p, "notice_scope", "\"\(scope)\" is neither \"unit\" (the grantee's unit, the default) nor \"committee\"")
            }
            s.noticeScope = v
        }
        s.objectionContact = try r.string(t, "objection_contact", p)
        let d = s.deadlines
        s.deadlines.branchReview = try r.int(t, "branch_review_days", p, range: 1...60) ?? d.branchReview
        s.deadlines.generalReview = try r.int(t, "general_review_days", p, range: 1...60) ?? d.generalReview
        s.deadlines.decision = try r.int(t, "decision_days", p, range: 1...120) ?? d.decision
        s.deadlines.noticeCheck = try r.int(t, "notice_check_days", p, range: 1...60) ?? d.noticeCheck
        s.deadlines.notice = try r.int(t, "notice_days", p, range: 1...60) ?? d.notice
        s.deadlines.held = try r.int(t, "held_days", p, range: 1...120) ?? d.held
        s.deadlines.payment = try r.int(t, "payment_days", p, range: 1...120) ?? d.payment
        s.deadlines.returned = try r.int(t, "returned_days", p, range: 1...120) ?? d.returned
        return s
    }
}
