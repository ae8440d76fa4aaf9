import ArgumentParser
import Foundation
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiStore
import GuanhuaiSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The SQLite database a backup or restore works on, or the reason it cannot (PostgreSQL has its own tools).
private func sqliteSettings(_ options: ConfigOption, command: String) throws -> Configuration {
    let settings = try Configuration.loadSettings(path: options.path, environment: ProcessInfo.processInfo.environment)
    if settings.postgres != nil {
        throw UsageError(
            message: command == "backup"
                ? L(
                    "this committee is on PostgreSQL ([database] url): back it up with PostgreSQL's own tools, e.g. pg_dump --format=custom --serializable-deferrable --file=guanhuai.dump 'postgresql://…' (docs/operations.md)",
                    "该党委的数据在 PostgreSQL 上（[database] url）：请用 PostgreSQL 自己的工具备份，例如 pg_dump --format=custom --serializable-deferrable --file=guanhuai.dump 'postgresql://…'（见 docs/operations.md）"
                )
                : L(
                    "this committee is on PostgreSQL ([database] url): restore with pg_restore --clean --if-exists --single-transaction into the stopped service's database (docs/operations.md)",
                    "该党委的数据在 PostgreSQL 上（[database] url）：请在停止服务后用 pg_restore --clean --if-exists --single-transaction 恢复（见 docs/operations.md）"))
    }
    return settings
}

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: L(
            "Write a consistent, checked copy of the database while guanhuaid runs.", "在 guanhuaid 运行时写出一份一致且经过校验的数据库副本。"),
        discussion: L(
            "The copy is SQLite's online backup of one moment, 0600, checked with PRAGMA integrity_check and stamped with the schema and the guanhuai version; `guanhuai restore` takes it back. TARGET is a new file, or a directory: then the copy is guanhuai-YYYYMMDD-HHMMSS.sqlite there, and --keep N removes all but the newest N copies of that name (the guanhuai-backup.timer does this daily).",
            "副本是 SQLite 在线备份 API 取得的同一时刻的完整数据，权限 0600，经 PRAGMA integrity_check 校验，并记录结构版本和 guanhuai 版本；用 `guanhuai restore` 恢复。TARGET 为新文件或目录：为目录时副本名为 guanhuai-年月日-时分秒.sqlite，--keep N 只保留最新的 N 份（guanhuai-backup.timer 每天如此执行）。"
        ))

    @OptionGroup var options: ConfigOption

    @Argument(help: ArgumentHelp(L("A new file, or a directory.", "新文件或目录。"), valueName: "target"))
    var target: String

    @Option(help: ArgumentHelp(L("In a directory: keep only the newest N copies.", "目标为目录时：只保留最新的 N 份。")))
    var keep: Int?

    func run() async throws {
        let path = try sqliteSettings(options, command: "backup").databasePath
        guard FileManager.default.fileExists(atPath: path) else {
            throw UsageError(message: L("there is no database at \(path) yet: nothing to back up", "\(path) 处还没有数据库，无可备份"))
        }
        var isDirectory: ObjCBool = false
        let inDirectory = FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory) && isDirectory.boolValue
        if let keep, !inDirectory || keep < 1 {
            throw UsageError(
                message: L("--keep \(keep) needs a directory as the target and a count of 1 or more", "--keep \(keep) 要求目标为目录、份数至少为 1"))
        }
        let now = wallClockSeconds()
        var file = target
        if inDirectory {
            // Two copies in one second (a timer and a hand) get -2, -3: names still sort by time.
            let base = (target as NSString).appendingPathComponent("guanhuai-\(Self.stamp(now))")
            file = base + ".sqlite"
            var n = 2
            while FileManager.default.fileExists(atPath: file) {
                file = "\(base)-\(n).sqlite"
                n += 1
            }
        }
        let db = try AppDatabase(path: path)
        let started = DispatchTime.now()
        let info = try db.backup(to: file, now: now)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        say(
            L(
                "Backed up \(path) to \(file): \(String(format: "%.1f", Double(size) / 1_048_576)) MB, schema \(info.schema), guanhuai \(info.version), \(String(format: "%.2f", seconds)) s; the copy passed PRAGMA integrity_check.",
                "已将 \(path) 备份到 \(file)：\(String(format: "%.1f", Double(size) / 1_048_576)) MB，结构版本 \(info.schema)，guanhuai \(info.version)，用时 \(String(format: "%.2f", seconds)) 秒；副本已通过 PRAGMA integrity_check 校验。"
            ))
        if let keep, inDirectory {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: target)) ?? []
            func modified(_ name: String) -> Date {
                (try? FileManager.default.attributesOfItem(atPath: (target as NSString).appendingPathComponent(name))[.modificationDate] as? Date)
                    ?? .distantPast
            }
            let copies = names.filter { $0.hasPrefix("guanhuai-") && $0.hasSuffix(".sqlite") }.sorted { (modified($0), $0) < (modified($1), $1) }
            for old in copies.dropLast(keep) {
                try? FileManager.default.removeItem(atPath: (target as NSString).appendingPathComponent(old))
                say(L("Removed the older copy \(old) (keeping \(keep)).", "已删除较早的副本 \(old)（保留 \(keep) 份）。"))
            }
        }
    }

    /// YYYYMMDD-HHMMSS in UTC: names that sort by time whatever the zone.
    static func stamp(_ now: Int64) -> String {
        var t = time_t(now)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(
            format: "%04d%02d%02d-%02d%02d%02d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec)
    }
}

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: L("Put a backup back in place of the database.", "用备份替换当前数据库。"),
        discussion: L(
            "guanhuaid must be stopped (--restart stops and starts it through systemd). The database replaced is kept beside it as guanhuai.sqlite.replaced-STAMP. Messages queued after the backup was taken are carried over from it by their key, so that no one who got a reminder gets it again; completions and events recorded after the backup are not, and the command says how many there were. A backup from a newer guanhuai is refused.",
            "须先停止 guanhuaid（--restart 会通过 systemd 停止并重新启动它）。被替换的数据库保留在旁，名为 guanhuai.sqlite.replaced-时间。备份之后加入发送队列的消息按其键值从被替换的库中带入，已收到提醒的人不会再收到一次；备份之后登记的办结和事件不会带入，命令会说明有多少条。更新版本 guanhuai 的备份会被拒绝。"
        ))

    @OptionGroup var options: ConfigOption

    @Argument(help: ArgumentHelp(L("The backup file.", "备份文件。"), valueName: "file"))
    var file: String

    @Flag(help: ArgumentHelp(L("Stop guanhuaid through systemd first, and start it again after.", "先通过 systemd 停止 guanhuaid，完成后再启动。")))
    var restart = false

    func run() async throws {
        let settings = try sqliteSettings(options, command: "restore")
        let path = settings.databasePath
        let info = try AppDatabase.inspectBackup(file)
        var stopped = false
        if let pid = AppDatabase.serviceHolder(path) {
            guard restart else {
                throw UsageError(
                    message: L(
                        "guanhuaid is running on \(path) (pid \(pid)); nothing was changed — stop it first (systemctl stop guanhuaid), or pass --restart",
                        "guanhuaid 正在使用 \(path)（进程 \(pid)）；未做任何更改——请先停止它（systemctl stop guanhuaid），或加 --restart"))
            }
            try Self.systemctl("stop")
            stopped = true
            var waited = 0
            while AppDatabase.serviceHolder(path) != nil {
                guard waited < 300 else {
                    throw UsageError(
                        message: L(
                            "guanhuaid still holds \(path) 30 s after systemctl stop; nothing was changed",
                            "systemctl stop 之后 30 秒 guanhuaid 仍占用 \(path)；未做任何更改"))
                }
                usleep(100_000)
                waited += 1
            }
        }
        let now = wallClockSeconds()
        let report: RestoreReport
        do {
            report = try AppDatabase.restore(from: file, into: path, now: now, stamp: BackupCommand.stamp(now))
        } catch {
            if stopped { try? Self.systemctl("start") }  // nothing was replaced: the service goes on as it was
            throw error
        }
        say(
            L(
                "Restored \(path) from \(file) (taken \(settings.zone.minute(atUTC: info.takenAt)) by guanhuai \(info.version), schema \(info.schema)).",
                "已用 \(file) 恢复 \(path)（备份于 \(settings.zone.minute(atUTC: info.takenAt))，guanhuai \(info.version)，结构版本 \(info.schema)）。"))
        if let kept = report.keptAt {
            say(L("The database it replaced is kept as \(kept).", "被替换的数据库保留为 \(kept)。"))
            say(
                L(
                    "Messages queued after the backup, carried over so that none is sent twice: \(report.messagesCarriedOver); of the backup's waiting messages, already sent: \(report.messagesSettled).",
                    "备份之后加入队列、已带入以免重复发送的消息：\(report.messagesCarriedOver) 条；备份中待发、实际已发出的消息：\(report.messagesSettled) 条。"))
            if report.completionsOnlyInReplaced + report.eventsOnlyInReplaced > 0 {
                say(
                    L(
                        "Not in the backup, and so not restored: \(report.completionsOnlyInReplaced) completions and \(report.eventsOnlyInReplaced) events recorded after it (they are in \(kept)); record them again.",
                        "备份中没有、因此未恢复的：备份之后登记的 \(report.completionsOnlyInReplaced) 条办结和 \(report.eventsOnlyInReplaced) 条事件（保存在 \(kept) 中），请重新登记。"))
            }
        }
        if stopped {
            try Self.systemctl("start")
            say(L("guanhuaid started again.", "guanhuaid 已重新启动。"))
        }
    }

    static func systemctl(_ verb: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/systemctl")
        p.arguments = [verb, "guanhuaid.service"]
        do { try p.run() } catch {
            throw UsageError(message: L("cannot run systemctl \(verb) guanhuaid", "无法执行 systemctl \(verb) guanhuaid"))
        }
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw UsageError(
                message: L(
                    "systemctl \(verb) guanhuaid failed (exit \(p.terminationStatus)); see systemctl status guanhuaid",
                    "systemctl \(verb) guanhuaid 失败（退出码 \(p.terminationStatus)）；请查看 systemctl status guanhuaid"))
        }
    }
}
