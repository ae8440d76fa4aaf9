import Foundation
import GuanhuaiTestSupport
import Testing

/// Units/guanhuaid.service, checked by systemd's own tools (../shared/systemd.md, "Hardening").
@Suite struct UnitFileTests {
    func installedUnit(_ dir: borrowing Scratch) throws -> String {
        // SBINDIR points at a tree whose sbin/guanhuaid is the binary under test, as `make install` would place it.
        let sbin = dir.url.appendingPathComponent("prefix/sbin")
        try FileManager.default.createDirectory(at: sbin, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: sbin.appendingPathComponent("guanhuaid").path, withDestinationPath: daemonPath)
        let text = try String(contentsOf: Example.root.appendingPathComponent("Units/guanhuaid.service"), encoding: .utf8)
            .replacingOccurrences(of: "@SBINDIR@", with: sbin.path)
            .replacingOccurrences(of: "@LIBEXECDIR@", with: dir.url.appendingPathComponent("prefix/libexec/guanhuai").path)
            .replacingOccurrences(of: "@SYSCONFDIR@", with: "/etc")
        #expect(!text.contains(/@[A-Z]+@/), "every placeholder the Makefile fills is filled here too")
        return try dir.write("guanhuaid.service", text)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "systemd-analyze is not installed"))
    func verifyIsClean() throws {
        let dir = try Scratch()
        let unit = try installedUnit(dir)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
        p.arguments = ["verify", "--man=no", unit]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = err
        try p.run()
        let out = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        // Unknown keys are only warnings, so any output at all is a failure.
        #expect(p.terminationStatus == 0 && out.isEmpty, "\(out)")
    }

    /// README promises 1.1; this holds the unit to it.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "systemd-analyze is not installed"))
    func exposureIsAtMostOnePointOne() throws {
        let dir = try Scratch()
        let unit = try installedUnit(dir)
        let out = String(decoding: try runTool("/usr/bin/systemd-analyze", ["security", "--offline=yes", "--threshold=15", unit]), as: UTF8.self)
        let line = try #require(out.split(separator: "\n").first { $0.contains("Overall exposure level") })
        let score = Double(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces).split(separator: " ")[0]) ?? 99
        #expect(score <= 1.1, "\(line)")
    }
}
