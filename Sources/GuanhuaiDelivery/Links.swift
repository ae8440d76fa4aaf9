import Crypto
import Foundation
public import GuanhuaiCalendar
public import GuanhuaiCore

/// What a signed link grants: one person, and one occurrence (an item link) or that person's agenda or calendar.
public struct LinkToken: Sendable, Equatable {
    public enum Purpose: String, Sendable {
        /// 已办结 / 不适用 / 登记情况 for one occurrence.
        case item = "i"
        /// 我的待办.
        case agenda = "a"
        /// The calendar feed (ICS).
        case feed = "c"
        /// 组织部's report, of the person's own subtree.
        case report = "r"
    }

    public var purpose: Purpose
    public var person: PersonID
    /// The occurrence id for an item link; empty otherwise.
    public var occurrence: String
    /// The item's due date, so that the page finds it without planning years.
    public var due: CivilDate?
    /// UTC seconds after which the link no longer works.
    public var expires: Int64
    /// The person's link generation when it was made; `guanhuai web revoke` raises it.
    public var generation: Int

    public init(
        purpose: Purpose, person: PersonID, occurrence: String = "", due: CivilDate? = nil, expires: Int64,
        generation: Int
    ) {
        self.purpose = purpose
        self.person = person
        self.occurrence = occurrence
        self.due = due
        self.expires = expires
        self.generation = generation
    }
}

/// Makes and checks link tokens: the fields, base64url, a dot, and their HMAC-SHA256 (swift-crypto) under the key
/// from `web_key_credential`. Changing the key revokes every link. The token format is ours; the MAC is not.
public struct LinkSigner: Sendable {
    let key: SymmetricKey
    static let context = Array("guanhuai-link-v1\n".utf8)

    public init(key: [UInt8]) { self.key = SymmetricKey(data: key) }

    public func token(_ t: LinkToken) -> String {
        let fields = [
            "1", t.purpose.rawValue, t.person, t.occurrence, t.due?.description ?? "", String(t.expires),
            String(t.generation),
        ]
        let payload = Array(fields.joined(separator: "\n").utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: LinkSigner.context + payload, using: key)
        return Base64URL.encode(payload) + "." + Base64URL.encode(Array(mac))
    }

    public enum Problem: Error, Sendable, Equatable {
        /// Not a token at all (cut short, altered in transit, typed by hand).
        case malformed
        /// Well-formed but not signed with this key: forged, or signed with a key since changed.
        case forged
    }

    /// The token's fields if this key signed it. Expiry and generation are the caller's to check.
    public func verify(_ s: Substring) -> Result<LinkToken, Problem> {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard s.utf8.count < 2048, parts.count == 2, let payload = Base64URL.decode(parts[0]),
            let mac = Base64URL.decode(parts[1])
        else { return .failure(.malformed) }
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: LinkSigner.context + payload, using: key) else {
            return .failure(.forged)
        }
        let f = String(decoding: payload, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard f.count == 7, f[0] == "1", let purpose = LinkToken.Purpose(rawValue: String(f[1])),
            let expires = Int64(f[5]), let generation = Int(f[6])
        else { return .failure(.malformed) }
        let due = f[4].isEmpty ? nil : CivilDate(parsing: f[4])
        return .success(
            LinkToken(
                purpose: purpose, person: String(f[2]), occurrence: String(f[3]), due: due,
                expires: expires, generation: generation))
    }
}

/// The links one person's mail carries, built from `public_url`.
public struct LinkMaker: Sendable {
    public var publicURL: String
    public var signer: LinkSigner
    public var actionDays: Int
    public var agendaDays: Int
    /// Each person's current link generation (people never revoked are absent: 0).
    public var generations: [PersonID: Int]

    public init(publicURL: String, signer: LinkSigner, actionDays: Int, agendaDays: Int, generations: [PersonID: Int] = [:]) {
        self.publicURL = publicURL
        self.signer = signer
        self.actionDays = actionDays
        self.agendaDays = agendaDays
        self.generations = generations
    }

    /// The item page, `…/i/TOKEN`; append `/done`, `/waive` or `/note` for the action.
    public func item(_ person: PersonID, _ o: Occurrence, zone: ZoneRules) -> String { publicURL + itemPath(person, o, zone: zone) }
    public func agenda(_ person: PersonID, sentAt: Int64) -> String { publicURL + agendaPath(person, now: sentAt) }
    /// The report of the person's own subtree (组织部: everything), as long as an agenda link.
    public func report(_ person: PersonID, now: Int64) -> String { publicURL + reportPath(person, now: now) }
    public func feed(_ person: PersonID, now: Int64) -> String { publicURL + feedPath(person, now: now) }

    // The paths, for the pages' own links (root-relative), and every link's expiry: decided here and nowhere else.

    /// An item link works until local midnight at the end of the `actionDays`-th day after the item is due; one
    /// made at `now` for an item overdue longer than that (on 「我的待办」) works for a day from then.
    public func itemPath(_ person: PersonID, _ o: Occurrence, zone: ZoneRules, now: Int64? = nil) -> String {
        let local = Int64(o.due.adding(days: actionDays + 1).dayNumber) * 86400
        let expires = max(local - Int64(zone.offset(atUTC: local)), now.map { $0 + 86400 } ?? 0)
        return "/i/"
            + signer.token(
                LinkToken(
                    purpose: .item, person: person, occurrence: o.id, due: o.due, expires: expires,
                    generation: generations[person] ?? 0))
    }

    /// 「我的待办」 works for `agendaDays` from when it was sent or shown.
    public func agendaPath(_ person: PersonID, now: Int64) -> String {
        "/me/"
            + signer.token(
                LinkToken(
                    purpose: .agenda, person: person, expires: now + Int64(agendaDays) * 86400,
                    generation: generations[person] ?? 0))
    }

    public func reportPath(_ person: PersonID, now: Int64) -> String {
        "/report/"
            + signer.token(
                LinkToken(
                    purpose: .report, person: person, expires: now + Int64(agendaDays) * 86400,
                    generation: generations[person] ?? 0))
    }

    /// A calendar subscription lives longer than a mail: a year from when it was shown, revocable like the rest.
    public func feedPath(_ person: PersonID, now: Int64) -> String {
        "/ics/"
            + signer.token(
                LinkToken(
                    purpose: .feed, person: person, expires: now + 366 * 86400,
                    generation: generations[person] ?? 0)) + ".ics"
    }
}

/// RFC 4648 §5 base64url without padding: Foundation's base64, with its alphabet mapped byte by byte (string
/// replacement through Foundation was a sixth of a 160-item agenda page's time).
enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        let b64 = Data(bytes).base64EncodedData()
        var out = [UInt8]()
        out.reserveCapacity(b64.count)
        for c in b64 {
            switch c {
            case UInt8(ascii: "+"): out.append(UInt8(ascii: "-"))
            case UInt8(ascii: "/"): out.append(UInt8(ascii: "_"))
            case UInt8(ascii: "="): continue
            default: out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ s: Substring) -> [UInt8]? {
        var b = [UInt8]()
        b.reserveCapacity(s.utf8.count + 3)
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                b.append(c)
            case UInt8(ascii: "-"): b.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): b.append(UInt8(ascii: "/"))
            default: return nil
            }
        }
        while b.count % 4 != 0 { b.append(UInt8(ascii: "=")) }
        return Data(base64Encoded: Data(b)).map(Array.init)
    }
}
