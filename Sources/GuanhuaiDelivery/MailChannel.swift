public import GuanhuaiCalendar
public import GuanhuaiConfig
import GuanhuaiCore

/// An e-mail channel ready to send: the transport its spec names and the sender.
public struct MailChannel: Sendable {
    public let name: String
    public let from: Mailbox
    public let transport: any MailTransport

    /// Builds the channel from its spec and the secrets the configuration layer read (`ChannelSpec.secrets`); nil
    /// for a spec that carries no e-mail.
    public init?(name: String, spec: ChannelSpec, secrets: ChannelSecrets) {
        self.name = name
        switch spec {
        case .smtp(let s):
            let password = secrets.password
            transport = SMTPTransport(
                settings: SMTPSettings(
                    host: s.host, port: s.port, security: s.security, user: s.user, password: password, caFile: s.caFile,
                    verifyCertificates: s.verifyCertificates, allowInsecureAuth: s.allowInsecureAuth,
                    timeout: .seconds(s.timeoutSeconds)))
            from = Mailbox(name: s.fromName, address: s.from)
        case .sendmail(let path, let address, let fromName):
            transport = SendmailTransport(path: path)
            from = Mailbox(name: fromName, address: address)
        case .webhook, .journal, .sms, .workApp:
            return nil
        }
    }

    public init(name: String, from: Mailbox, transport: any MailTransport) {
        self.name = name
        self.from = from
        self.transport = transport
    }

    /// The envelope of one rendered message.
    public func envelope(
        to: Mailbox, mail: RenderedMail, at: Int64, zone: ZoneRules, idempotencyKey: String
    ) -> MailEnvelope {
        let message = MailMessage(
            from: from, to: [to], subject: mail.subject, date: at, zone: zone, idempotencyKey: idempotencyKey,
            text: mail.text, html: mail.html, attachments: mail.attachments)
        return MailEnvelope(from: from.address, recipients: [to.address], data: message.render())
    }
}
