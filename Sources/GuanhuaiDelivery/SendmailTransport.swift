import Foundation
public import Logging

/// Hands each message to the local MTA: `sendmail -t -i` reads the recipients from the headers (RFC 5322) and
/// does not treat a lone "." as the end. For hosts that already run postfix, exim or msmtp.
public struct SendmailTransport: MailTransport {
    public let path: String

    public init(path: String = "/usr/sbin/sendmail") { self.path = path }

    public func send(
        _ batch: [MailEnvelope], logger: Logger, shouldStop: @Sendable () -> Bool,
        each: @Sendable (Int, Result<String, DeliveryError>) async -> Void
    ) async {
        for (i, envelope) in batch.enumerated() {
            if shouldStop() {
                await each(i, .failure(.notOffered("not offered: the daemon is stopping")))
                continue
            }
            await each(i, await sendOne(envelope))
        }
    }

    func sendOne(_ envelope: MailEnvelope) async -> Result<String, DeliveryError> {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            return .failure(.permanent("\(path) is not an executable sendmail; install an MTA or configure the path"))
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-t", "-i", "-f", envelope.from]
        let input = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let status: Int32 = await withCheckedContinuation { continuation in
            process.terminationHandler = { p in continuation.resume(returning: p.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(returning: -1)
                return
            }
            // LF line ends on the pipe: sendmail speaks the local convention.
            let lf = envelope.data.split(separator: 13, omittingEmptySubsequences: false).joined()
            try? input.fileHandleForWriting.write(contentsOf: Data(lf))
            try? input.fileHandleForWriting.close()
        }
        let stderr = String(decoding: (try? errors.fileHandleForReading.readToEnd()) ?? Data(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines).prefix(300)
        return SendmailTransport.classify(status: status, stderr: String(stderr), path: path)
    }

    /// sysexits(3): EX_TEMPFAIL and the OS/IO/unavailable family are worth retrying; data, address and usage
    /// errors are not.
    static func classify(status: Int32, stderr: String, path: String) -> Result<String, DeliveryError> {
        let detail = stderr.isEmpty ? "" : ": \(stderr)"
        switch status {
        case 0: return .success("accepted by \(path)")
        case -1: return .failure(.temporary("\(path) could not be started"))
        case 69, 70, 71, 72, 73, 74, 75:  // UNAVAILABLE SOFTWARE OSERR OSFILE CANTCREAT IOERR TEMPFAIL
            return .failure(.temporary("\(path) exited \(status)\(detail)"))
        default:  // 64 USAGE, 65 DATAERR, 66 NOINPUT, 67 NOUSER, 68 NOHOST, 76 PROTOCOL, 77 NOPERM, 78 CONFIG, …
            return .failure(.permanent("\(path) exited \(status)\(detail)"))
        }
    }
}
