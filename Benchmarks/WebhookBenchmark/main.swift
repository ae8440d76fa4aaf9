// Webhook deliveries per second: signed Standard Webhooks POSTs of one rendered digest body, sent one after another
// over keep-alive (as the dispatcher sends to one endpoint), through the same WebhookChannel the daemon uses.
//
//     WebhookBenchmark PORT COUNT BODYFILE SECRETFILE
//
// `WebhookBenchmark workapp PORT COUNT BODYFILE SECRETFILE` instead sends COUNT 企业微信 应用消息 (the message object in
// BODYFILE) to one person each through WorkAppChannel, as the dispatcher does (in_flight at once; IN_FLIGHT=N to
// change it), and says how many tokens it fetched.
import Foundation
import GuanhuaiConfig
import GuanhuaiDelivery

// On the executor guanhuaid runs on (NIO's event loops), so the figure is the daemon's.
EventLoopExecutor.install(environment: ProcessInfo.processInfo.environment)
var args = CommandLine.arguments
if args.count == 6, args[1] == "workapp", let port = Int(args[2]), let count = Int(args[3]) {
    let message = try Data(contentsOf: URL(fileURLWithPath: args[4]))
    // The stand-in has no rate limit (per_minute=0); IN_FLIGHT=N sends N at once (the channel's default otherwise).
    let inFlight = ProcessInfo.processInfo.environment["IN_FLIGHT"].map { "&in_flight=\($0)" } ?? ""
    let whole = try ChannelSpec(
        url: "wecom-app+http://127.0.0.1:\(port)/?corpid=ww-bench&agentid=1000002&secret_file=\(args[5])&per_minute=0\(inFlight)")
    guard case .workApp(let spec) = whole else { exit(1) }
    let app = WorkAppChannel(name: "bench", spec: spec, secrets: try whole.secrets(name: "bench", environment: [:]), tokens: AccessTokenCache())
    let now = Int64(Date().timeIntervalSince1970)
    _ = await app.send(user: "warm", message: message, id: "warm", now: now)
    let start = ContinuousClock.now
    // As the daemon's WorkAppSender sends: spec.inFlight messages on their way at once.
    let failures = await Task.detached {
        var failures = 0
        await InFlightWindow.run(
            count: count, width: spec.inFlight, shouldStop: { false },
            send: { i in await app.send(user: "u\(i)", message: message, id: "digest:u\(i):bench", now: now) },
            answered: { _, result in if case .failure = result { failures += 1 } })
        return failures
    }.value
    let d = ContinuousClock.now - start
    let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    print(
        String(
            format: "guanhuai (%d in flight): %d 企业微信 应用消息 of %d bytes in %.2f s: %.0f/s (%d failed); %d token fetches", spec.inFlight,
            count, message.count, seconds,
            Double(count) / seconds, failures, app.tokens.fetches))
    exit(0)
}
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
