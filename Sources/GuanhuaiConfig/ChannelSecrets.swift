import Foundation

/// A channel's secrets, read from where its spec names them and checked, so that the delivery layer gets values and
/// never reads a credential or judges a configuration itself.
public struct ChannelSecrets: Sendable {
    /// The SMTP password.
    public var password: String?
    /// A robot's key or access token (企业微信 key, 钉钉 access_token, 飞书 hook id).
    public var token: String?
    /// A signing secret (钉钉, 飞书), as the vendor gave it.
    public var secret: String?
    /// A generic webhook's Standard Webhooks key: the bytes of its `whsec_…` secret.
    public var webhookKey: [UInt8]?
    /// The secret part of the address an SMS provider posts its receipts to (`receipts = "push"`).
    public var receiptPushToken: String?

    public init(
        password: String? = nil, token: String? = nil, secret: String? = nil, webhookKey: [UInt8]? = nil, receiptPushToken: String? = nil
    ) {
        self.password = password
        self.token = token
        self.secret = secret
        self.webhookKey = webhookKey
        self.receiptPushToken = receiptPushToken
    }

    /// The bytes of a `whsec_…` secret ("whsec_" and base64), or nil when it is not one.
    public static func standardWebhookKey(_ secret: String) -> [UInt8]? {
        let b64 = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
        guard let data = Data(base64Encoded: b64), !data.isEmpty else { return nil }
        return Array(data)
    }
}

extension ChannelSpec {
    /// Reads and checks the secrets (and the CA file) of channel `name`; says what is wrong in an operator's words.
    public func secrets(name: String, environment: [String: String]) throws(InputError) -> ChannelSecrets {
        switch self {
        case .smtp(let s):
            try ChannelSpec.checkReadable(s.caFile, channel: name)
            return ChannelSecrets(password: try s.password?.read(environment: environment))
        case .sendmail, .journal:
            return ChannelSecrets()
        case .sms(let spec):
            try ChannelSpec.checkReadable(spec.caFile, channel: name)
            let id = try spec.keyID.read(environment: environment)
            let secret = try spec.keySecret.read(environment: environment)
            if id.isEmpty || secret.isEmpty || (id + secret).contains(where: \.isWhitespace) {
                throw InputError(file: "channel \(name)", message: "the SMS key id or secret is empty or contains spaces")
            }
            var out = ChannelSecrets(token: id, secret: secret)
            if let ref = spec.receiptPushToken {
                let push = try ref.read(environment: environment)
                // In a path, and guessing it is the only way in: 22 or more URL-safe characters (`openssl rand -hex 16`).
                guard push.count >= 22, push.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                    throw InputError(
                        file: "channel \(name)",
                        message:
                            "the receipt push token must be at least 22 letters, digits, - or _ (make one with `openssl rand -hex 16`): it is the secret part of the address the provider posts to"
                    )
                }
                out.receiptPushToken = push
            }
            return out
        case .workApp(let spec):
            try ChannelSpec.checkReadable(spec.caFile, channel: name)
            let secret = try spec.secret.read(environment: environment)
            if secret.isEmpty || secret.contains(where: \.isWhitespace) {
                throw InputError(file: "channel \(name)", message: "the application's secret is empty or contains spaces")
            }
            return ChannelSecrets(secret: secret)
        case .webhook(let spec):
            try ChannelSpec.checkReadable(spec.caFile, channel: name)
            var out = ChannelSecrets(
                token: try spec.token?.read(environment: environment),
                secret: try spec.secret?.read(environment: environment))
            if spec.kind == .webhook {
                guard let s = out.secret, let key = ChannelSecrets.standardWebhookKey(s) else {
                    throw InputError(
                        file: "channel \(name)",
                        message:
                            "the webhook secret is not a whsec_… secret (\"whsec_\" followed by base64); the receiving side generates it")
                }
                out.webhookKey = key
            }
            if let token = out.token, token.isEmpty || token.contains(where: { $0.isWhitespace || $0 == "/" || $0 == "?" }) {
                throw InputError(file: "channel \(name)", message: "the robot's token is empty or contains spaces, / or ?")
            }
            return out
        }
    }

    static func checkReadable(_ caFile: String?, channel: String) throws(InputError) {
        if let ca = caFile, !FileManager.default.isReadableFile(atPath: ca) {
            throw InputError(file: ca, message: "the CA file of channel \(channel) cannot be read")
        }
    }
}
