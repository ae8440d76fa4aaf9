import Foundation

/// The language of what people read: Chinese under a zh locale (LC_ALL, else LC_MESSAGES, else LANG, as POSIX
/// orders them), English otherwise. The daemon sets it to English at start: its journal is for operators.
public enum Lang {
    /// Set once, at start, before any other thread runs; read everywhere after.
    nonisolated(unsafe) public static var chinese: Bool = fromEnvironment(ProcessInfo.processInfo.environment)

    public static func fromEnvironment(_ env: [String: String]) -> Bool {
        let value = [env["LC_ALL"], env["LC_MESSAGES"], env["LANG"]].compactMap { $0 }.first { !$0.isEmpty } ?? ""
        return value.hasPrefix("zh")
    }
}

/// English or Chinese, as the locale says.
public func L(_ english: String, _ chinese: String) -> String { Lang.chinese ? chinese : english }
