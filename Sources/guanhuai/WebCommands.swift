import ArgumentParser
import Foundation
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiStore
import GuanhuaiSystem
import GuanhuaiWorkspace

struct WebCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "web", abstract: L("The signed links of the web pages ([web] in config.toml).", "网页的签名链接（config.toml 中的 [web]）。"),
        subcommands: [WebRevokeCommand.self, WebLinkCommand.self])
}

/// A person id, or a unique name (a member's or an organisation person's).
func resolvePerson(_ given: String, in ws: Workspace, option: String) async throws -> PersonID {
    let org = ws.organization
    if org.people[given] != nil { return given }
    let members: [(id: PersonID, name: String)]
    if let db = ws.database, try await db.holdings().roster {
        members = try await db.members(idOrName: given)
    } else {
        members = ws.config.members.filter { $0.id == given || $0.name == given }.map { ($0.id, $0.name) }
    }
    if members.contains(where: { $0.id == given }) { return given }
    let named = org.people.values.filter { $0.name == given }.map(\.id) + members.filter { $0.name == given }.map(\.id)
    let unique = Array(Set(named)).sorted()
    if unique.count == 1 { return unique[0] }
    if unique.count > 1 {
        throw UsageError(message: "\(option) \"\(given)\" names \(unique.count) people (\(unique.joined(separator: ", "))); give the id")
    }
    throw UsageError(message: "\(option) \"\(given)\" is neither a member nor a person in the organisation")
}

struct WebRevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: L("Make every link a person was sent stop working (a lost phone, a forwarded mail).", "让发给某人的所有链接失效（手机丢失、邮件被转发时）。"),
        discussion: "Their next reminder carries new links. To revoke everyone's links, change the web key credential.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The person: an id, or a unique name.") var person: String

    func run() async throws {
        let ws = try await options.workspace(create: true)
        let id = try await resolvePerson(person, in: ws, option: "PERSON")
        let generation = try await ws.store().revokeLinks(of: id, actor: currentActor())
        say("Revoked: every link sent to \(id) so far no longer works (generation \(generation)). Their next reminder carries new ones.")
    }
}

struct WebLinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link",
        abstract: L("Print a person's 我的待办 link, signed like the ones mail carries (to hand over in person).", "打印某人的「我的待办」链接，签名与邮件中的相同（当面转交用）。"))

    @OptionGroup var options: ConfigOption
    @Argument(help: "The person: an id, or a unique name.") var person: String
    @Flag(help: "The link to their report instead (组织部: every unit; a secretary: their own units).") var report = false

    func run() async throws {
        let ws = try await options.workspace(create: true)
        guard let web = ws.config.web else {
            throw UsageError(message: "config.toml has no [web] table: links need public_url and web_key_credential")
        }
        let id = try await resolvePerson(person, in: ws, option: "PERSON")
        let key: [UInt8]
        do { key = try web.keyBytes(environment: ProcessInfo.processInfo.environment) } catch {
            throw InputErrors([error])
        }
        let maker = LinkMaker(
            publicURL: web.publicURL, signer: LinkSigner(key: key), actionDays: web.actionLinkDays,
            agendaDays: web.agendaLinkDays, generations: [id: try await ws.store().linkGeneration(of: id)])
        say(report ? maker.report(id, now: wallClockSeconds()) : maker.agenda(id, sentAt: wallClockSeconds()))
    }
}
