public import Foundation

/// The project's Python virtual environment (Tools/install-deps makes it): aiosmtpd and friends.
public var venvPython: String { Example.root.appendingPathComponent(".venv/bin/python").path }

/// A server process started for one test and killed when the test ends. It prints "READY <port>" when listening.
public final class ServerProcess: @unchecked Sendable {
    public let port: Int
    let process: Process

    public init(_ arguments: [String], executable: String = venvPython, timeout: TimeInterval = 20) throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw TestSetupError("\(executable) is missing: run Tools/install-deps (make test does)")
        }
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        try process.run()
        let handle = out.fileHandleForReading
        var line = ""
        let deadline = Date().addingTimeInterval(timeout)
        while !line.hasSuffix("\n") {
            guard Date() < deadline, process.isRunning else { throw TestSetupError("the server did not start: \(arguments)") }
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty { throw TestSetupError("the server exited before it was ready: \(arguments)") }
            line += String(decoding: byte, as: UTF8.self)
        }
        guard line.hasPrefix("READY "), let p = Int(line.dropFirst(6).trimmingCharacters(in: .whitespacesAndNewlines))
        else { throw TestSetupError("unexpected first line from the server: \(line)") }
        port = p
    }

    deinit {
        // SIGKILL: a child started from a Dispatch thread can inherit a mask that blocks SIGTERM.
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

public struct TestSetupError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// A self-signed certificate for `name` (also valid for 127.0.0.1 when the name is localhost), made with openssl.
public func makeCertificate(name: String, in dir: URL) throws -> (cert: String, key: String) {
    let cert = dir.appendingPathComponent("\(name).crt").path
    let key = dir.appendingPathComponent("\(name).key").path
    var san = "DNS:\(name)"
    if name == "localhost" { san += ",IP:127.0.0.1" }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    p.arguments = [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
        "-subj", "/CN=\(name)", "-addext", "subjectAltName=\(san)", "-addext", "basicConstraints=critical,CA:TRUE",
    ]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw TestSetupError("openssl could not make a certificate") }
    return (cert, key)
}

/// The webhook receiver (Tests/GuanhuaiDeliveryTests/Servers/webhook_server.py): checks each vendor's signature and
/// logs every request as a JSON line.
public let webhookServerScript = Example.root.appendingPathComponent("Tests/GuanhuaiDeliveryTests/Servers/webhook_server.py").path

/// The requests a webhook_server.py log holds, oldest first.
public func loggedRequests(_ log: URL) -> [[String: Any]] {
    ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
        try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
}
