public import GuanhuaiCalendar

/// A Party member on the roster (domain.md §2).
public struct Member: Hashable, Sendable {
    public var id: PersonID
    public var name: String
    public var gender: String?
    public var birthDate: CivilDate?
    /// 入党日期: joined as a probationary member. The political birthday.
    public var joined: CivilDate
    /// 转正日期 as the roster gives it. Nil when the roster lacks it; see `partyAgeStart`.
    public var fullMemberSince: CivilDate?
    public var branch: UnitID
    public var email: String?
    public var mobile: String?
    /// 短信 = 否 on the roster: no SMS to this member (the greeting goes by e-mail, or not at all).
    public var smsOptOut: Bool
    public var tags: Set<Tag>
    public var status: MemberStatus
    /// Their ids in the work apps (企业微信 userid, 钉钉 userid, 飞书 user_id): the roster's 企业微信, 钉钉 and 飞书.
    public var apps = AppUserIDs()
    /// 提醒方式: how they want reminders (nil: the committee's default).
    public var reach: Reach?

    public init(
        id: PersonID, name: String, gender: String? = nil, birthDate: CivilDate? = nil, joined: CivilDate,
        fullMemberSince: CivilDate? = nil, branch: UnitID, email: String? = nil, mobile: String? = nil,
        tags: Set<Tag> = [], status: MemberStatus = .active, smsOptOut: Bool = false, apps: AppUserIDs = AppUserIDs(),
        reach: Reach? = nil
    ) {
        self.apps = apps
        self.reach = reach
        self.id = id
        self.name = name
        self.gender = gender
        self.birthDate = birthDate
        self.joined = joined
        self.fullMemberSince = fullMemberSince
        self.branch = branch
        self.email = email
        self.mobile = mobile
        self.smsOptOut = smsOptOut
        self.tags = tags
        self.status = status
    }

    /// 党龄起算日: the day the member became a full member. Party age never counts from joining.
    public var partyAgeStart: PartyAgeStart {
        if let fullMemberSince { return PartyAgeStart(date: fullMemberSince, derived: false) }
        return PartyAgeStart(date: Member.derivedFullMembership(joined: joined), derived: true)
    }

    /// The documented rule where the roster lacks 转正日期: those who joined 1969-04-01 … 1977-08-11 had no
    /// probation; everyone else became a full member one year after joining. A probation the branch extended moves
    /// the date, which only the roster can say.
    public static func derivedFullMembership(joined: CivilDate) -> CivilDate {
        if joined >= noProbationFrom && joined <= noProbationUntil { return joined }
        return CivilDate.anniversary(month: joined.month, day: joined.day, in: joined.year + 1)
    }

    static let noProbationFrom = CivilDate(1969, 4, 1)!
    static let noProbationUntil = CivilDate(1977, 8, 11)!

    /// Whole years of party age on a date.
    public func partyAge(on date: CivilDate) -> Int { Member.wholeYears(from: partyAgeStart.date, to: date) }

    public func age(on date: CivilDate) -> Int? { birthDate.map { Member.wholeYears(from: $0, to: date) } }

    /// The date the member stopped being active (died or transferred out), if they did.
    public var endDate: CivilDate? {
        switch status {
        case .active: nil
        case .deceased(let d), .transferredOut(let d): d
        }
    }

    static func wholeYears(from start: CivilDate, to date: CivilDate) -> Int {
        guard date >= start else { return 0 }
        var years = date.year - start.year
        if CivilDate.anniversary(month: start.month, day: start.day, in: date.year) > date { years -= 1 }
        return years
    }
}

public struct PartyAgeStart: Hashable, Sendable {
    public var date: CivilDate
    /// True when computed by the documented rule rather than read from the roster.
    public var derived: Bool

    public init(date: CivilDate, derived: Bool) {
        self.date = date
        self.derived = derived
    }
}

public enum MemberStatus: Hashable, Sendable {
    case active
    case deceased(CivilDate)
    case transferredOut(CivilDate)

    public var chinese: String {
        switch self {
        case .active: "正常"
        case .deceased: "已故"
        case .transferredOut: "转出"
        }
    }
}

/// Roster tags (domain.md §2). A member may carry several.
public enum Tag: String, CaseIterable, Hashable, Sendable, Comparable {
    case hardship = "生活困难"
    /// Long-term hardship: receives the monthly subsidy (Q一.2). Implies 生活困难.
    case longTermHardship = "长期困难"
    case oldMember = "老党员"
    case seriouslyIllElderly = "重病高龄失能"
    case honoree = "功勋荣誉"
    case expert = "专家人才"
    case injuredOnDuty = "因公伤残"
    case frontLine = "基层一线"

    /// Hashing by the case, not by the Chinese raw value: the planner tests every member's tags against every
    /// rule's, and hashing the strings (the default for a String-backed enum) was a tenth of planning.
    public func hash(into h: inout Hasher) {
        let ordinal: UInt8 =
            switch self {
            case .hardship: 0
            case .longTermHardship: 1
            case .oldMember: 2
            case .seriouslyIllElderly: 3
            case .honoree: 4
            case .expert: 5
            case .injuredOnDuty: 6
            case .frontLine: 7
            }
        h.combine(ordinal)
    }

    public var slug: String {
        switch self {
        case .hardship: "hardship"
        case .longTermHardship: "long-term-hardship"
        case .oldMember: "old-member"
        case .seriouslyIllElderly: "seriously-ill-elderly"
        case .honoree: "honoree"
        case .expert: "expert"
        case .injuredOnDuty: "injured-on-duty"
        case .frontLine: "front-line"
        }
    }

    static let aliases: [String: Tag] = [
        "对口支援": .frontLine, "基层一线/对口支援": .frontLine, "长期生活困难": .longTermHardship,
        "突发困难": .hardship, "重病": .seriouslyIllElderly, "高龄": .seriouslyIllElderly, "失能": .seriouslyIllElderly,
    ]

    /// Accepts the Chinese name, the English slug, or a listed alias.
    public init?(name: String) {
        if let t = Tag(rawValue: name) ?? Tag.allCases.first(where: { $0.slug == name }) ?? Tag.aliases[name] {
            self = t
        } else {
            return nil
        }
    }

    public static func < (a: Tag, b: Tag) -> Bool { a.slug < b.slug }
}

/// The 老党员 rule (configurable; default: age ≥ 70 or party age ≥ 50). The tag on the roster counts as well.
public struct OldMemberRule: Hashable, Sendable {
    public var minimumAge: Int
    public var minimumPartyAge: Int

    public init(minimumAge: Int = 70, minimumPartyAge: Int = 50) {
        self.minimumAge = minimumAge
        self.minimumPartyAge = minimumPartyAge
    }

    public func applies(to member: Member, on date: CivilDate) -> Bool {
        if member.tags.contains(.oldMember) { return true }
        if let age = member.age(on: date), age >= minimumAge { return true }
        return member.partyAge(on: date) >= minimumPartyAge
    }
}
