// Webhook deliveries per second: signed Standard Webhooks POSTs of one rendered digest body, sent one after another
// over keep-alive (as the dispatcher sends to one endpoint), through the same WebhookChannel the daemon uses.
//
//     WebhookBenchmark PORT COUNT BODYFILE SECRETFILE
import Foundation
import GuanhuaiConfig
import GuanhuaiDelivery

let args = CommandLine.arguments
guard args.count == 5, let port = Int(args[1]), let count = Int(args[2]) else {
    FileHandle.standardError.write(Data("usage: WebhookBenchmark PORT COUNT BODYFILE SECRETFILE\n".utf8))
    exit(2)
}
let body = Array(try Data(contentsOf: URL(fileURLWithPath: args[3])))
let whole = try ChannelSpec(url: "webhook+http://127.0.0.1:\(port)/hook?secret_file=\(args[4])&rate_per_minute=0")
guard case .webhook(let spec) = whole else { exit(1) }
let channel = WebhookChannel(name: "bench", spec: spec, secrets: try whole.secrets(name: "bench", environment: [:]))
let now = Int64(Date().timeIntervalSince1970)
// Warm up the connection.
_ = await channel.send(body: body, id: "warm", now: now)
// From a task on Swift's pool, as the daemon's dispatcher sends (not from the main actor of this file's top level);
// with ON_LOOP=1 the whole run of sends is on the client's loop (the channel alone; the dispatcher cannot, see
// onWebhookClientLoop).
let onLoop = ProcessInfo.processInfo.environment["ON_LOOP"] == "1"
let start = ContinuousClock.now
let failures = await Task.detached {
    @Sendable func run() async -> Int {
        var failures = 0
        for i in 0..<count {
            if case .failure = await channel.send(body: body, id: "digest:M\(i):\(now):bench", now: now) { failures += 1 }
        }
        return failures
    }
    return onLoop ? await onWebhookClientLoop { await run() } : await run()
}.value
let seconds = Double((ContinuousClock.now - start).components.attoseconds) / 1e18 + Double((ContinuousClock.now - start).components.seconds)
print(
    String(
        format: "guanhuai\(onLoop ? " (on the client's loop)" : ""): %d signed webhooks of %d bytes in %.2f s: %.0f/s (%d failed)", count, body.count, seconds,
        Double(count) / seconds, failures))
