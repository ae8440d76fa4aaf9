import Foundation
public import GuanhuaiCalendar
public import GuanhuaiConfig
public import GuanhuaiCore
public import Mustache

/// What a renderer needs to know beyond the digest: names, and (for e-mail only) notes.
public struct RenderContext: Sendable {
    public var organizationName: String
    public var personName: @Sendable (PersonID) -> String
    public var subjectName: @Sendable (Occurrence) -> String
    /// The note that explains an occurrence (an event's note). E-mail to the responsible may carry it; chat never.
    public var note: @Sendable (Occurrence) -> String?
    /// When the member joined, for the years in a political-birthday greeting.
    public var joined: @Sendable (PersonID) -> CivilDate?
    /// Set when the digest goes out more than a day after its time: it is marked 补发.
    public var lateSince: CivilDate?
    /// What a group chat may call an occurrence: its rule's `chat_title` (never why; domain.md §2).
    public var chatTitle: @Sendable (Occurrence) -> String = { _ in "关怀事项" }
    /// Signed links for e-mail to a person (`[web]`); nil: the mail tells them the command instead.
    public var links: LinkMaker?
    public var zone: ZoneRules = ZoneRules.named("Asia/Shanghai")!
    /// Escalations the recipient was sent about items since done: 「已办结」 lines.
    public var closed: [ClosedLine] = []

    public struct ClosedLine: Sendable, Equatable {
        public var label: String
        public var date: String
        public var by: String?

        public init(label: String, date: String, by: String?) {
            self.label = label
            self.date = date
            self.by = by
        }
    }

    public init(
        organizationName: String, personName: @escaping @Sendable (PersonID) -> String,
        subjectName: @escaping @Sendable (Occurrence) -> String, note: @escaping @Sendable (Occurrence) -> String?,
        joined: @escaping @Sendable (PersonID) -> CivilDate?, lateSince: CivilDate? = nil
    ) {
        self.organizationName = organizationName
        self.personName = personName
        self.subjectName = subjectName
        self.note = note
        self.joined = joined
        self.lateSince = lateSince
    }
}

public struct RenderedMail: Sendable, Equatable {
    public var subject: String
    public var text: String
    public var html: String?
    public var attachments: [MailAttachment]

    public init(subject: String, text: String, html: String? = nil, attachments: [MailAttachment] = []) {
        self.subject = subject
        self.text = text
        self.html = html
        self.attachments = attachments
    }
}

/// Renders digests from the Mustache templates in `Config/templates/` (hummingbird-project/swift-mustache).
public struct DigestRenderer: Sendable {
    let library: MustacheLibrary
    public static let required = ["mail-subject", "mail-text", "greeting-subject", "greeting-text", "chat-text", "chat-markdown"]

    public init(library: MustacheLibrary) throws(InputError) {
        for name in DigestRenderer.required where library.getTemplate(named: name) == nil {
            throw InputError(file: "templates", field: name, message: "the template \(name).mustache is missing")
        }
        self.library = library
    }

    /// Loads every `*.mustache` in the directory. A template that does not parse, or names a value no digest has,
    /// is reported by file, line and what is wrong.
    public static func load(directory: String) async throws(InputErrors) -> DigestRenderer {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw InputErrors([InputError(file: directory, message: "the templates directory does not exist")])
        }
        // Each file is read once: parsed into the library and checked for names no digest has.
        var library = MustacheLibrary()
        var errors: [InputError] = []
        let enumerator = FileManager.default.enumerator(atPath: directory)
        let names = ((enumerator?.allObjects as? [String]) ?? []).filter { $0.hasSuffix(".mustache") }.sorted()
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            let text: String
            do { text = try TextFile.read(path).text } catch {
                errors.append(error)
                continue
            }
            do {
                try library.register(text, named: String(name.dropLast(".mustache".count)))
            } catch let e as MustacheTemplate.ParserError {
                errors.append(
                    InputError(
                        file: path, location: "line \(e.context.lineNumber), column \(e.context.columnNumber)",
                        message: "\(describe(e.error)): \(e.context.line.trimmingCharacters(in: .whitespaces))"))
                continue
            } catch {
                errors.append(InputError(file: path, message: "the template does not parse"))
                continue
            }
            errors += TemplateCheck.unknownNames(in: text, file: path)
        }
        if !errors.isEmpty { throw InputErrors(errors) }
        do {
            return try DigestRenderer(library: library)
        } catch {
            throw InputErrors([error])
        }
    }

    /// What swift-mustache's parser error means, in an operator's words.
    static func describe(_ error: any Error) -> String {
        switch error as? MustacheTemplate.Error {
        case .sectionCloseNameIncorrect: "a {{/…}} closes a section other than the one open; close the innermost section first"
        case .unfinishedName: "a tag is not closed; every {{ needs its }}"
        case .expectedSectionEnd: "a section is never closed; add its {{/…}}"
        case .invalidSetDelimiter: "a {{=…=}} delimiter change is malformed"
        case .invalidConfigVariableSyntax, .unrecognisedConfigVariable:
            "a {{% … }} pragma is not understood; only {{% CONTENT_TYPE: TEXT}} or HTML is"
        case .transformAppliedToInheritanceSection, .illegalTokenInsideInheritSection, .textInsideInheritSection:
            "a template inheritance block is malformed"
        case nil: "the template does not parse"
        }
    }

    /// The values a template sees. For chat (`forChat`), there is no note and each title is the rule's chat title:
    /// whatever an operator writes in a chat template, it cannot reveal why.
    func values(_ d: Digest, _ c: RenderContext, withNotes: Bool, forChat: Bool = false) -> DigestValues {
        let items = d.items.enumerated().map { i, item in
            let o = item.occurrence
            return DigestValues.Item(
                index: i + 1, title: forChat ? c.chatTitle(o) : o.title, subject: c.subjectName(o),
                due: o.due.description, dueWeekday: o.due.chineseWeekday,
                kindLabel: item.kind == .due && d.localDate < o.due ? "即将到期（到期日休息）" : item.kind.chinese,
                responsible: c.personName(o.responsible), isResponsible: o.responsible == d.recipient, occurrence: o.id,
                overdue: item.kind == .overdue, escalation: item.kind == .escalation,
                daysOverdue: max(0, o.due.days(until: d.localDate)),
                note: withNotes ? c.note(o).flatMap { $0.isEmpty ? nil : $0 } : nil,
                link: forChat || item.kind == .greeting ? nil : c.links?.item(d.recipient, o, zone: c.zone))
        }
        return DigestValues(
            recipientName: c.personName(d.recipient), count: d.items.count,
            firstTitle: d.items.first.map { forChat ? c.chatTitle($0.occurrence) : $0.occurrence.title } ?? "",
            more: d.items.count > 1, overdue: d.hasOverdue, date: d.localDate.description, items: items,
            organization: c.organizationName, late: c.lateSince != nil, scheduled: c.lateSince?.description,
            years: d.isGreeting ? c.joined(d.recipient).map { d.localDate.year - $0.year } : nil,
            agendaURL: forChat || d.isGreeting ? nil : c.links?.agenda(d.recipient, sentAt: d.at),
            closed: forChat ? [] : c.closed.map { DigestValues.Closed(label: $0.label, date: $0.date, by: $0.by) })
    }

    public func mail(_ d: Digest, context: RenderContext) -> RenderedMail {
        let prefix = d.isGreeting ? "greeting" : "mail"
        let v = values(d, context, withNotes: !d.isGreeting)
        let subject = (library.render(v, withTemplate: "\(prefix)-subject") ?? "关怀提醒")
            .split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
        let text = library.render(v, withTemplate: "\(prefix)-text") ?? ""
        let html = library.getTemplate(named: "\(prefix)-html") != nil ? library.render(v, withTemplate: "\(prefix)-html") : nil
        return RenderedMail(subject: subject, text: text, html: html)
    }

    /// A group-chat message: who and what kind of obligation, never the note, diagnosis or hardship.
    public func chat(_ d: Digest, context: RenderContext, markdown: Bool) -> String {
        let v = values(d, context, withNotes: false, forChat: true)
        let text = library.render(v, withTemplate: markdown ? "chat-markdown" : "chat-text") ?? ""
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension RenderContext {
    /// Names and notes from what the plan was made of.
    public init(input: PlanInput, lateSince: CivilDate? = nil) {
        let members = Dictionary(input.members.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let people = input.organization.people
        let units = input.organization.units
        let dependants = Dictionary(input.dependants.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let chatTitles = Dictionary(input.rules.map { ($0.id, $0.chatLabel) }, uniquingKeysWith: { a, _ in a })
        let notes = Dictionary(input.events.compactMap { e in e.note.map { (e.id, $0) } }, uniquingKeysWith: { a, _ in a })
        @Sendable func name(_ id: PersonID) -> String { people[id]?.name ?? members[id]?.name ?? id }
        self.init(
            organizationName: input.organization.committee.name,
            personName: name,
            subjectName: { o in
                guard let s = o.subject else { return units[o.org]?.name ?? o.org }
                return dependants[s] ?? name(s)
            },
            note: { o in o.event.flatMap { notes[$0] } },
            joined: { members[$0]?.joined },
            lateSince: lateSince)
        self.chatTitle = { chatTitles[$0.rule] ?? "关怀事项" }
    }
}

/// What a digest template sees, by the names it writes (`{{recipient_name}}`, and inside `{{#items}}…{{/items}}`
/// each item's). `TemplateCheck` allows exactly `names`; `child(named:)` answers them without reflection.
struct DigestValues: MustacheParent, Sendable {
    var recipientName: String
    var count: Int
    var firstTitle: String
    var more: Bool
    var overdue: Bool
    var date: String
    var items: [Item]
    var organization: String
    /// Sent more than a day after its time (补发), and when it should have gone.
    var late: Bool
    var scheduled: String?
    /// A political-birthday greeting: years in the Party.
    var years: Int?
    /// 我的待办, signed for the recipient (e-mail with `[web]` only).
    var agendaURL: String?
    /// 「已办结」 lines: escalations this person was sent about items since done.
    var closed: [Closed] = []

    struct Closed: MustacheParent, Sendable {
        var label: String
        var date: String
        var by: String?
        static let names: Set<String> = ["label", "date", "by"]
        func child(named name: String) -> Any? {
            switch name {
            case "label": label
            case "date": date
            case "by": by
            default: nil
            }
        }
    }

    static let names: Set<String> = [
        "recipient_name", "count", "first_title", "more", "overdue", "date", "items", "organization", "late",
        "scheduled", "years", "agenda_url", "closed",
    ]

    func child(named name: String) -> Any? {
        switch name {
        case "recipient_name": recipientName
        case "count": count
        case "first_title": firstTitle
        case "more": more
        case "overdue": overdue
        case "date": date
        case "items": items
        case "organization": organization
        case "late": late
        case "scheduled": scheduled
        case "years": years
        case "agenda_url": agendaURL
        case "closed": closed.isEmpty ? nil : closed
        default: nil
        }
    }

    struct Item: MustacheParent, Sendable {
        var index: Int
        var title: String
        var subject: String
        var due: String
        var dueWeekday: String
        var kindLabel: String
        var responsible: String
        var isResponsible: Bool
        var occurrence: String
        var overdue: Bool
        var escalation: Bool
        var daysOverdue: Int
        /// Only in e-mail to the responsible person, never in chat.
        var note: String?
        /// The signed item page (e-mail with `[web]` only; never chat).
        var link: String?

        static let names: Set<String> = [
            "index", "title", "subject", "due", "due_weekday", "kind_label", "responsible", "is_responsible",
            "occurrence", "overdue", "escalation", "days_overdue", "note", "done_url", "waive_url", "note_url",
        ]

        func child(named name: String) -> Any? {
            switch name {
            case "index": index
            case "title": title
            case "subject": subject
            case "due": due
            case "due_weekday": dueWeekday
            case "kind_label": kindLabel
            case "responsible": responsible
            case "is_responsible": isResponsible
            case "occurrence": occurrence
            case "overdue": overdue
            case "escalation": escalation
            case "days_overdue": daysOverdue
            case "note": note
            case "done_url": link.map { $0 + "/done" }
            case "waive_url": link.map { $0 + "/waive" }
            case "note_url": link.map { $0 + "/note" }
            default: nil
            }
        }
    }
}
