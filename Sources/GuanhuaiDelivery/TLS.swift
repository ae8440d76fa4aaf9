import NIOSSL

extension TLSConfiguration {
    /// What an HTTP channel (a webhook or robot, an SMS provider) connects with: nil without `ca_file`, and the
    /// client's default (the system's CA store, certificates verified); with it, the same but trusting that file's
    /// certificates, a private CA's.
    static func client(trusting caFile: String?) -> TLSConfiguration? {
        guard let caFile else { return nil }
        var t = TLSConfiguration.makeClientConfiguration()
        t.trustRoots = .file(caFile)
        return t
    }
}
