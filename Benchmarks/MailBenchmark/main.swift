// Mail benchmark: renders N digests of the example committee from the Mustache templates and delivers them over
// one SMTP connection to a sink. Run by Benchmarks/mail-benchmark.sh, which starts postfix's smtp-sink and runs
// postfix's smtp-source against it for comparison.
//
//     MailBenchmark PORT [COUNT]
//
// `MailBenchmark fill STORE COUNT` instead queues COUNT such mails in a committee's outbox (STORE: sqlite:PATH or a
// postgresql:// URL), as the scheduler queues them for the channel "mail", due at 03:00 on 2027-06-01 (Beijing), and
// moves the processed mark to 04:00: Benchmarks/dispatch-benchmark.sh then times guanhuaid sending them.
import Foundation
import GuanhuaiCalendar
import GuanhuaiConfig
import GuanhuaiCore
import GuanhuaiDelivery
import GuanhuaiPostgres
import GuanhuaiStore
import Logging

// On the executor guanhuaid runs on (NIO's event loops), so the figure is the daemon's.
EventLoopExecutor.install(environment: ProcessInfo.processInfo.environment)
let args = CommandLine.arguments
let fill = args.count >= 4 && args[1] == "fill"
guard fill || (args.count >= 2 && Int(args[1]) != nil) else {
    FileHandle.standardError.write(Data("usage: MailBenchmark PORT [COUNT] | MailBenchmark fill STORE COUNT\n".utf8))
    exit(2)
}
let port = fill ? 25 : Int(args[1])!
let count = fill ? Int(args[3]) ?? 10_000 : args.count > 2 ? Int(args[2]) ?? 10_000 : 10_000
let config = try Configuration.load(path: "Config/config.toml")
let input = config.planInput()
let now = Int64(CivilDate(2027, 6, 10)!.dayNumber) * 86400
let occurrences = Planner(input).plan(PlanQuery(from: CivilDate(2027, 1, 1)!, to: CivilDate(2027, 12, 31)!, now: now))
let digests = Digest.collect(occurrences, after: now, through: now + 60 * 86400)
let template = digests.max { $0.items.count < $1.items.count }!
let renderer = try await DigestRenderer.load(directory: "Config/templates")
let context = RenderContext(input: input)
let channel = MailChannel(
    name: "bench", from: Mailbox(name: "党委组织部 关怀提醒", address: "guanhuai@example.edu.cn"),
    transport: SMTPTransport(settings: SMTPSettings(host: "127.0.0.1", port: port, security: .none)))
let zone = config.zone

let clock = ContinuousClock()
let t0 = clock.now
var batch: [MailEnvelope] = []
batch.reserveCapacity(count)
for i in 0..<count {
    var d = template
    d.recipient = "B\(i)"
    let mail = renderer.mail(d, context: context)
    batch.append(
        channel.envelope(
            to: Mailbox(name: "党员\(i)", address: "b\(i)@example.edu.cn"), mail: mail, at: d.at, zone: zone,
            idempotencyKey: d.idempotencyKey(channel: "bench")))
}
let t1 = clock.now
if fill {
    let due: Int64 = 1_811_818_800  // 2027-06-01 03:00 Beijing
    let messages = batch.enumerated().map { i, env in
        NewOutboxMessage(
            idempotencyKey: "dispatch-bench-\(i)", recipient: "B\(i)", channel: "mail",
            payload: OutboxPayload.mail(from: env.from, to: env.recipients, data: Data(env.data)).encoded(),
            items: [.init(occurrence: "dispatch-bench-\(i)", kind: "due", label: "走访慰问")])
    }
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let store: any OutboxStore =
        args[2].hasPrefix("sqlite:")
        ? try AppDatabase(path: String(args[2].dropFirst(7)))
        : try await PostgresStore(url: try DatabaseURL(parsing: args[2]), password: nil, logger: logger)
    let added = try await store.enqueue(messages, after: try await store.processedThrough(), through: due + 3600, now: due, noticed: [])
    print("queued \(added ?? 0) mails of \(batch.map(\.data.count).reduce(0, +) / max(1, batch.count)) bytes")
    exit(0)
}
let results = await channel.transport.send(batch, logger: Logger(label: "bench"))
let t2 = clock.now
let failed = results.filter { if case .failure = $0 { true } else { false } }.count
func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
let size = batch.map(\.data.count).reduce(0, +) / max(1, batch.count)
print(
    String(
        format: "rendered %d digests (%d items each, %d bytes each) in %.2f s: %.0f/s", count, template.items.count, size,
        seconds(t1 - t0), Double(count) / seconds(t1 - t0)))
print(
    String(
        format: "delivered %d over one SMTP connection in %.2f s: %.0f messages/s (%d failed)", count - failed,
        seconds(t2 - t1), Double(count - failed) / seconds(t2 - t1), failed))
print("size \(size)")
