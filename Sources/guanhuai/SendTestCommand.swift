import ArgumentParser
import Foundation
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import Logging

struct SendTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send-test",
        abstract: "Send one test message through a configured channel, or a channel written as a URL, and show the answer.",
        discussion: """
            --via takes the same channels the configuration does, written as URLs:
              smtp://HOST:PORT?security=none|starttls|tls&user=U&password_file=F&ca_file=F&from=ADDRESS
              sendmail:/usr/sbin/sendmail?from=ADDRESS
            """
    )

    @OptionGroup var options: ConfigOption
    @Option(help: "A channel named in the configuration ([channels.NAME]).") var channel: String?
    @Option(help: "A channel written as a URL (see below).") var via: String?
    @Option(help: "The address to send to.") var to: String

    func run() async throws {
        guard (channel == nil) != (via == nil) else { throw UsageError(message: "give either --channel NAME or --via URL") }
        guard to.contains("@"), !to.contains(" ") else { throw UsageError(message: "--to \"\(to)\" is not an e-mail address") }
        let env = ProcessInfo.processInfo.environment
        let spec: ChannelSpec
        let zone: ZoneRules
        if let via {
            spec = try ChannelSpec(url: via)
            zone = ZoneRules.named(TimeZone.current.identifier) ?? .utc
        } else {
            let config = try Configuration.loadSettings(path: options.path, environment: env)
            guard let s = config.channels[channel!] else {
                throw UsageError(message: "no channel \"\(channel!)\" in \(options.path); it has: \(config.channels.keys.sorted().joined(separator: ", "))")
            }
            spec = s
            zone = config.zone
        }
        let mail = try MailChannel(name: channel ?? "via", spec: spec, environment: env)
        let now = Int64(Date().timeIntervalSince1970)
        let rendered = RenderedMail(
            subject: "「关怀提醒」测试邮件 — guanhuai send-test",
            text: "这是一封测试邮件：关怀（guanhuai）能经由此通道发送提醒。\nThis is a test message from guanhuai.\n",
            html: nil)
        let envelope = mail.envelope(to: Mailbox(address: to), mail: rendered, at: now, zone: zone,
            idempotencyKey: "send-test:\(now)")
        var logger = Logger(label: "guanhuai.send-test")
        logger.logLevel = .warning
        let result = await mail.transport.send([envelope], logger: logger).first!
        switch result {
        case .success(let answer):
            say("Delivered to \(to). The server answered: \(answer)")
        case .failure(let e):
            FileHandle.standardError.write(Data("guanhuai: not delivered — \(e)\n".utf8))
            throw ExitCode(1)
        }
    }
}
