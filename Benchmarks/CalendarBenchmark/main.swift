// Calendar expression benchmark: next(after:) evaluations per second for typical expressions.
//
//     swift build -c release --product CalendarBenchmark
//     taskset -c 0 .build/release/CalendarBenchmark
//
// Each evaluation starts where the previous elapse was, as a scheduler walking forward does; the walk restarts
// from 2026 when an expression runs out before 2199.
import Foundation
import GuanhuaiCalendar
import GuanhuaiCore

let expressions = [
    "*-*-* 08:30", "Mon..Fri *-*-* 09:00", "*-05,11-01", "*-*~01", "*-*-* 08:30 Asia/Shanghai", "quarterly",
    "*-07-01 08:30", "Mon..Fri *-*-01..07", "*:0/15", "*-*-* 02:30 Europe/Berlin",
]
let shanghai = ZoneRules.named("Asia/Shanghai")!
let base: Int64 = 1_795_000_000_000_000  // 2026-11-18
let clock = ContinuousClock()
var total = 0
var totalTime = Duration.zero
for text in expressions {
    let spec = try CalendarExpression(text)
    let n = 1_000_000
    var t = base
    var checksum: Int64 = 0
    let start = clock.now
    for _ in 0..<n {
        if let next = spec.next(afterMicroseconds: t, defaultZone: shanghai) {
            t = next
            checksum &+= next
        } else {
            t = base
        }
    }
    let elapsed = clock.now - start
    total += n
    totalTime += elapsed
    let s = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let label = text.padding(toLength: 28, withPad: " ", startingAt: 0)
    print(label + String(format: " %10.0f evaluations/s  (checksum %lld)", Double(n) / s, checksum % 1000))
}
let s = Double(totalTime.components.seconds) + Double(totalTime.components.attoseconds) / 1e18
print(String(format: "all %d expressions: %.0f evaluations/s", expressions.count, Double(total) / s))
