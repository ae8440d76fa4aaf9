import ArgumentParser
import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiSystem
import Logging
import Systemd

struct SendTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send-test",
        abstract: L(
            "Send one test message through a configured channel, or a channel written as a URL, and show the answer.", "通过已配置的渠道或以 URL 写出的渠道发送一条测试消息，并显示对方的应答。"),
        discussion: """
            --via takes the same channels the configuration does, written as URLs:
              smtp://HOST:PORT?security=none|starttls|tls&user=U&password_file=F&ca_file=F&from=ADDRESS
              sendmail:/usr/sbin/sendmail?from=ADDRESS
              webhook+https://HOST/PATH?secret_file=F          (Standard Webhooks, secret whsec_…)
              wecom+https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K[&format=markdown]
              dingtalk+https://oapi.dingtalk.com/robot/send?access_token=T&secret_file=F
              feishu+https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN?secret_file=F
              aliyun-sms+https://dysmsapi.aliyuncs.com/?access_key_id_file=F&access_key_secret_file=F&sign_name=S&template=SMS_1[&params=name:recipient]
              tencent-sms+https://sms.tencentcloudapi.com/?secret_id_file=F&secret_key_file=F&sdk_app_id=1400…&sign_name=S&template=1[&params=recipient]
              wecom-app+https://qyapi.weixin.qq.com/?corpid=ww…&agentid=1000002&secret_file=F   (企业微信 应用消息)
              dingtalk-app+https://oapi.dingtalk.com/?app_key=K&agent_id=N&app_secret_file=F  (钉钉 工作通知)
              feishu-app+https://open.feishu.cn/?app_id=cli_…&app_secret_file=F                 (飞书 application bot)
              journal:
            Every URL also takes timeout=SECONDS and ca_file=FILE (a private CA).
            --to is an e-mail address for mail, a mobile number to mention for a robot or to text by SMS, the person's
            userid for a work app (企业微信 userid), and unused otherwise.
            An SMS test sends the channel's greeting template (else its due or overdue one), its parameters filled with
            the words 测试.
            """
    )

    @OptionGroup var options: ConfigOption
    @Option(help: "A channel named in the configuration ([channels.NAME]).") var channel: String?
    @Option(help: "A channel written as a URL (see below).") var via: String?
    @Option(help: "The e-mail address to send to, or the mobile number a robot mentions.") var to: String?

    func run() async throws {
        guard (channel == nil) != (via == nil) else { throw UsageError(message: "give either --channel NAME or --via URL") }
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
        let now = wallClockSeconds()
        switch spec {
        case .journal:
            do {
                try Journal.send([
                    ("MESSAGE", "关怀（guanhuai）测试：日志通道可用 — send-test"), ("PRIORITY", "5"),
                    ("MESSAGE_ID", MessageID.reminder), ("SYSLOG_IDENTIFIER", "guanhuai"),
                    ("GUANHUAI_CHANNEL", journalChannelName), ("GUANHUAI_RULE", "send-test"),
                ])
            } catch {
                FileHandle.standardError.write(Data("guanhuai: not delivered — the journal cannot be reached (\(error); is systemd-journald running?)\n".utf8))
                throw ExitCode(1)
            }
            say("Written to the journal: journalctl GUANHUAI_RULE=send-test shows it.")
            return
        case .webhook(let w):
            if let to, w.kind != .webhook, !to.allSatisfy({ $0.isNumber || $0 == "+" || $0 == "-" }) {
                throw UsageError(message: "--to \"\(to)\" is not a mobile number (a robot mentions people by mobile)")
            }
            let hook = WebhookChannel(name: channel ?? "via", spec: w, secrets: try spec.secrets(name: channel ?? "via", environment: env))
            let text = "【关怀提醒】测试消息：关怀（guanhuai）能经由此通道发送提醒。"
            // A generic webhook gets {"type":"message","text":…}; a robot its own text message.
            let body = WebhookMessages.robot(w, text: text, mention: to.map { ChatContact(mobile: $0) })[0]
            switch await hook.send(body: body, id: "send-test:\(now)", now: now) {
            case .success(let answer):
                say("Delivered through \(w.kind.rawValue). The endpoint answered: \(answer)")
            case .failure(let e):
                FileHandle.standardError.write(Data("guanhuai: not delivered — \(e)\n".utf8))
                throw ExitCode(1)
            }
            return
        case .sms(let spec):
            guard let to, let phone = MobileNumber.mainland(to) else {
                throw UsageError(message: "--to \"\(to ?? "")\" is not a mainland mobile number; SMS needs --to 1XXXXXXXXXX")
            }
            guard let template = spec.templates[.greeting] ?? spec.templates[.due] ?? spec.templates[.overdue] else {
                throw UsageError(message: "channel \(channel ?? "via") names no template")
            }
            let sms = SMSChannel(name: channel ?? "via", spec: spec, secrets: try ChannelSpec.sms(spec).secrets(name: channel ?? "via", environment: env))
            let params = SMSMessage.testParams(template, limit: spec.paramMaxLength)
            switch await sms.send(phone: phone, template: template.id, params: params, now: now) {
            case .success(let answer):
                say(
                    L(
                        "Delivered to \(phone) through \(spec.provider.rawValue). The provider answered: \(answer.receipt)",
                        "已发送到 \(phone)（\(spec.provider == .aliyun ? "阿里云" : "腾讯云")）。服务商应答：\(answer.receipt)"))
            case .failure(let e):
                FileHandle.standardError.write(Data("guanhuai: not delivered — \(e)\n".utf8))
                throw ExitCode(1)
            }
            return
        case .workApp(let spec):
            guard let to, !to.isEmpty, !to.contains(where: { $0.isWhitespace || $0 == "|" }) else {
                throw UsageError(message: "--to \"\(to ?? "")\" is not a userid; a work app needs --to USERID (the person's \(spec.app.chinese) userid)")
            }
            let app = WorkAppChannel(
                name: channel ?? "via", spec: spec, secrets: try ChannelSpec.workApp(spec).secrets(name: channel ?? "via", environment: env),
                tokens: AccessTokenCache())
            let text = "【关怀提醒】测试消息：关怀（guanhuai）能经由此应用给您本人发送提醒。"
            let message = try JSONSerialization.data(
                withJSONObject: spec.app == .feishu
                    ? ["msg_type": "text", "content": "{\"text\":\"\(text)\"}"] : ["msgtype": "text", "text": ["content": text]],
                options: [.sortedKeys])
            switch await app.send(user: to, message: message, id: "send-test:\(now)", now: now) {
            case .success(let answer):
                say(
                    L(
                        "Delivered to \(to) through \(spec.app.chinese) (application \(spec.appID)). The API answered: \(answer)",
                        "已发送给 \(to)（\(spec.app.chinese)，应用 \(spec.appID)）。接口应答：\(answer)"))
            case .failure(let e):
                FileHandle.standardError.write(Data("guanhuai: not delivered — \(e)\n".utf8))
                throw ExitCode(1)
            }
            return
        case .smtp, .sendmail:
            break
        }
        guard let to, to.contains("@"), !to.contains(" ") else {
            throw UsageError(message: "--to \"\(to ?? "")\" is not an e-mail address; mail needs --to ADDRESS")
        }
        guard let mail = MailChannel(name: channel ?? "via", spec: spec, secrets: try spec.secrets(name: channel ?? "via", environment: env))
        else { throw UsageError(message: "channel \(channel ?? "via") does not carry e-mail") }
        let rendered = RenderedMail(
            subject: "「关怀提醒」测试邮件 — guanhuai send-test",
            text: "这是一封测试邮件：关怀（guanhuai）能经由此通道发送提醒。\nThis is a test message from guanhuai.\n",
            html: nil)
        let envelope = mail.envelope(
            to: Mailbox(address: to), mail: rendered, at: now, zone: zone,
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
