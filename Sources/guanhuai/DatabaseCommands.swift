import ArgumentParser
import Foundation
import GuanhuaiConfig
import GuanhuaiPostgres
import GuanhuaiStore
import GuanhuaiSystem
import Logging

struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: L("Move a committee between SQLite and PostgreSQL.", "在 SQLite 与 PostgreSQL 之间迁移一个党委的数据。"),
        subcommands: [DatabaseCopyCommand.self])
}

/// `guanhuai db copy --from sqlite:PATH --to postgresql://…` (and back): everything, in one transaction on the target.
struct DatabaseCopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: L(
            "Copy everything (organisation, roster, relations, events, completions, outbox, audit log, links, settings) into an empty database, in one transaction.",
            "把全部数据（组织、名册、关系、事件、办结记录、发送队列、审计日志、链接、设置）在一个事务内复制到一个空数据库。"),
        discussion: L(
            "Each side is sqlite:PATH or a PostgreSQL URL (postgresql://USER@HOST:PORT,HOST2:PORT/DATABASE). Stop guanhuaid first, or copy from a backup: what is written after the copy starts is not in it. The target must be empty. The source is read, after being brought to this version's schema if it is older.",
            "两端各为 sqlite:路径 或 PostgreSQL 地址（postgresql://用户@主机:端口,主机2:端口/数据库）。请先停止 guanhuaid，或从备份复制：复制开始后写入的内容不会包含在内。目标库必须为空。源库只被读取（若其结构版本较旧，会先升级到本版本的结构）。"))

    @Option(name: .long, help: ArgumentHelp(L("Where to copy from: sqlite:PATH or postgresql://…", "复制来源：sqlite:路径 或 postgresql://…")))
    var from: String

    @Option(name: .long, help: ArgumentHelp(L("Where to copy to (empty): sqlite:PATH or postgresql://…", "复制目标（须为空）：sqlite:路径 或 postgresql://…")))
    var to: String

    @Option(
        name: .long,
        help: ArgumentHelp(L("A file holding the PostgreSQL password (never on the command line).", "存放 PostgreSQL 密码的文件（不要写在命令行上）。")))
    var passwordFile: String?

    enum Side {
        case sqlite(AppDatabase)
        case postgres(PostgresStore)

        func copyOut() async throws(StoreError) -> [TableCopy] {
            switch self {
            case .sqlite(let db): try db.copyOut()
            case .postgres(let pg): try await pg.copyOut()
            }
        }

        func copyIn(_ tables: [TableCopy]) async throws(StoreError) {
            switch self {
            case .sqlite(let db): try db.copyIn(tables)
            case .postgres(let pg): try await pg.copyIn(tables)
            }
        }

        func close() async {
            if case .postgres(let pg) = self { await pg.close() }
        }
    }

    func open(_ spec: String, option: String, create: Bool) async throws -> Side {
        if spec.hasPrefix("sqlite:") {
            let path = String(spec.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw UsageError(message: L("--\(option) sqlite: needs a path", "--\(option) sqlite: 后须给出路径")) }
            if !create, !FileManager.default.fileExists(atPath: path) {
                throw UsageError(message: L("--\(option): there is no database at \(path)", "--\(option)：\(path) 处没有数据库"))
            }
            return .sqlite(try AppDatabase(path: path))
        }
        guard DatabaseURL.isPostgres(spec) else {
            // What was given, unless it may hold a password (USER:PASSWORD@HOST): then only its scheme.
            let shown =
                spec.contains("@") ? (spec.firstRange(of: "://").map { String(spec[..<$0.lowerBound]) + "://…" } ?? "(the value)") : "\"\(spec)\""
            throw UsageError(
                message: L(
                    "--\(option) \(shown) is neither sqlite:PATH nor postgresql://…", "--\(option) \(shown) 既不是 sqlite:路径，也不是 postgresql://…"))
        }
        let url = try DatabaseURL(parsing: spec, source: "--\(option)")
        let password = try passwordFile.map { try SecretRef.file($0).read(environment: [:]) }
        var logger = Logger(label: "guanhuai")
        logger.logLevel = .error
        return .postgres(try await PostgresStore(url: url, password: password, logger: logger, retryFor: .seconds(10)))
    }

    func run() async throws {
        let source = try await open(from, option: "from", create: false)
        let target = try await open(to, option: "to", create: true)
        let tables = try await source.copyOut()
        do { try await target.copyIn(tables) } catch {
            await source.close()
            await target.close()
            throw error
        }
        await source.close()
        await target.close()
        let counts = tables.filter { !$0.rows.isEmpty }.map { "\($0.table) \($0.rows.count)" }.joined(separator: ", ")
        print(L("copied \(tables.reduce(0) { $0 + $1.rows.count }) rows: \(counts)", "已复制 \(tables.reduce(0) { $0 + $1.rows.count }) 行：\(counts)"))
    }
}
