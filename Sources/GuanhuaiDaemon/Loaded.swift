import Foundation
import GuanhuaiConfig
import GuanhuaiDelivery
import GuanhuaiStore
import GuanhuaiWorkspace
import Logging

/// Everything loaded from the configuration, swapped as a whole on reload: either all of the new one or none.
struct Loaded: Sendable {
    var workspace: Workspace
    var renderer: DigestRenderer
    /// Every configured channel as the dispatcher sends through it, by name.
    var channels: [String: any DeliveryChannel]
    /// The link key from `[web] web_key_credential`; nil without `[web]`.
    var signer: LinkSigner?
    /// The work apps' access tokens, kept across reloads.
    var tokens: AccessTokenCaches

    var config: Configuration { workspace.config }
    /// The daemon opens its workspace with `create: true`: the database is always there.
    let database: any CommitteeStore
    /// The links mail carries, with each person's current link generation.
    func linkMaker() async throws -> LinkMaker? {
        guard let web = config.web, let signer else { return nil }
        return LinkMaker(
            publicURL: web.publicURL, signer: signer, actionDays: web.actionLinkDays,
            agendaDays: web.agendaLinkDays, generations: try await database.linkGenerations())
    }

    // What routing needs of each kind: the sender's address, a robot's format, an SMS template.
    var mailChannels: [String: MailChannel] { channels.compactMapValues { ($0 as? MailSender)?.mail } }
    var webhookChannels: [String: WebhookChannel] { channels.compactMapValues { ($0 as? WebhookSender)?.hook } }
    var smsChannels: [String: SMSChannel] { channels.compactMapValues { ($0 as? SMSSender)?.sms } }
    var workAppChannels: [String: WorkAppChannel] { channels.compactMapValues { ($0 as? WorkAppSender)?.app } }

    var router: DigestRouter {
        DigestRouter(
            config: config, renderer: renderer, mailChannels: mailChannels, webhookChannels: webhookChannels,
            smsChannels: smsChannels, workAppChannels: workAppChannels)
    }

    /// `previous`: the configuration running now, whose PostgreSQL connections a reload keeps when `[database]` is
    /// the same.
    static func load(configPath: String, environment: [String: String], previous: Loaded? = nil, logger: Logger? = nil)
        async throws -> Loaded
    {
        let workspace: Workspace
        do {
            workspace = try await Workspace.open(
                configPath: configPath, environment: environment, create: true, reusing: previous?.workspace, logger: logger)
        } catch {
            switch error {
            case .input(let e): throw e
            case .store(let e): throw e
            }
        }
        // One guanhuaid per SQLite file; `guanhuai restore` reads this hold to know the service runs.
        if let path = workspace.sqlite?.path { try AppDatabase.holdServiceLock(path: path) }
        let renderer = try await DigestRenderer.load(directory: workspace.config.templatesDirectory)
        var channels: [String: any DeliveryChannel] = [:]
        let tokens = previous?.tokens ?? AccessTokenCaches()
        for (name, spec) in workspace.config.channels {
            channels[name] = DeliveryChannels.make(
                name: name, spec: spec,
                secrets: try spec.secrets(name: name, environment: environment), tokens: tokens)
        }
        let signer = try workspace.config.web.map { w throws(InputError) in LinkSigner(key: try w.keyBytes(environment: environment)) }
        return Loaded(
            workspace: workspace, renderer: renderer, channels: channels, signer: signer, tokens: tokens,
            database: try workspace.store())
    }
}
