import CSystemd
public import GuanhuaiSystem
public import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Writing structured entries to the systemd journal with sd_journal_sendv(3).
public enum Journal {
    /// Sends one entry. Field names must be `[A-Z0-9_]+` not starting with `_`; others are made so. Throws when
    /// the journal cannot be reached, saying why.
    public static func send(_ fields: [(String, String)]) throws(SystemError) {
        // sd_journal_sendv succeeds silently when there is no journald at all (ENOENT): a delivery must not.
        guard isAvailable else { throw SystemError(call: "sd_journal_sendv (no /run/systemd/journal/socket)", errno: ENOENT) }
        let encoded: [[UInt8]] = fields.map { name, value in Array((fieldName(name) + "=").utf8) + Array(value.utf8) }
        var storage: [UInt8] = []
        storage.reserveCapacity(encoded.reduce(0) { $0 + $1.count })
        var offsets: [(Int, Int)] = []
        for e in encoded {
            offsets.append((storage.count, e.count))
            storage += e
        }
        let result = storage.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var iov = offsets.map { offset, count in
                iovec(iov_base: UnsafeMutableRawPointer(buffer.baseAddress! + offset), iov_len: count)
            }
            return sd_journal_sendv(&iov, Int32(iov.count))
        }
        try SystemError.check("sd_journal_sendv", negativeErrno: result)
    }

    /// Whether journald's socket is there to take entries.
    public static var isAvailable: Bool { access("/run/systemd/journal/socket", W_OK) == 0 }

    /// `rule` → `RULE`, `guanhuai.rule` → `GUANHUAI_RULE`; a leading `_` (trusted fields) is not ours to set.
    public static func fieldName(_ name: String) -> String {
        var out = String(name.uppercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) ? $0 : "_" })
        while out.hasPrefix("_") { out.removeFirst() }
        if out.isEmpty || out.first!.isNumber { out = "F" + out }
        return String(out.prefix(64))
    }

    /// Whether stderr is connected to the journal: `$JOURNAL_STREAM` names the device and inode of the stream
    /// systemd connected, and fd 2 must still be that stream (systemd.exec(5)).
    public static func stderrIsJournal(environment: [String: String]) -> Bool {
        guard let v = environment["JOURNAL_STREAM"] else { return false }
        let parts = v.split(separator: ":")
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(2, &st) == 0 else { return false }
        return UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}

/// A swift-log handler that writes each record as a journal entry: MESSAGE, PRIORITY, CODE_FILE, CODE_LINE,
/// CODE_FUNC, SYSLOG_IDENTIFIER, and the metadata as fields (MESSAGE_ID, GUANHUAI_RULE, …).
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let identifier: String

    public init(identifier: String) { self.identifier = identifier }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, String)] = [
            ("MESSAGE", event.message.description), ("PRIORITY", String(Journal.priority(event.level))),
            ("SYSLOG_IDENTIFIER", identifier), ("CODE_FILE", event.file), ("CODE_LINE", String(event.line)),
            ("CODE_FUNC", event.function),
        ]
        for (k, v) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new }) {
            fields.append((k, v.description))
        }
        do {
            try Journal.send(fields)
        } catch {
            StderrLogHandler.write(level: event.level, message: event.message.description, metadata: event.metadata)
        }
    }
}

/// Plain lines on stderr with `<N>` syslog priority prefixes (sd-daemon(3)), for when stderr is not the journal.
public struct StderrLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info

    public init() {}

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        StderrLogHandler.write(
            level: event.level, message: event.message.description,
            metadata: metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new }))
    }

    static func write(level: Logger.Level, message: String, metadata: Logger.Metadata?) {
        var line = "<\(Journal.priority(level))>" + message.replacingNewlines()
        let extra = (metadata ?? [:]).filter { $0.key != "MESSAGE_ID" }.sorted { $0.key < $1.key }
        if !extra.isEmpty { line += " " + extra.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }
        line += "\n"
        // One write(2) per line, so lines from several tasks never interleave.
        let bytes = Array(line.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

extension String {
    fileprivate func replacingNewlines() -> String { String(map { $0.isNewline ? " " : $0 }) }
}

/// Bootstraps swift-log once, in `main`: the journal when stderr is the journal, `<N>` lines otherwise.
public enum SystemdLogging {
    public static func makeHandler(identifier: String, environment: [String: String]) -> any LogHandler {
        if Journal.stderrIsJournal(environment: environment) { return JournalLogHandler(identifier: identifier) }
        return StderrLogHandler()
    }
}
