import Dispatch
import LoomEngine
import LoomProviders
import LoomSystem
import LoomValues

/// Tells a person a gate waits for them: when a gate opens, runs the operator's notifier
/// command (loomd's `notifier` setting: `notify-send`, `mail`, a webhook through curl or
/// loom-http) with the gate's card as JSON on stdin.
///
/// Off the scheduling path: commands run one at a time on a queue of their own, each with
/// a deadline; a tick never waits for one. Failures are logged and counted
/// (`loom_notifications_total{outcome}`), never retried into a storm. The command is the
/// operator's, so it runs as loomd's own child, not confined like a task process.
///
/// not-a-task-process: the notifier is the operator's command from loomd's own config,
/// run with a card loomd built; no task names it or feeds it a program.
final class GateNotifier: @unchecked Sendable {
    /// Notifications waiting to run; past this many, new ones are dropped (and counted).
    static let pendingMax = 64
    static let outputLimitBytes = 16 * 1024

    let argv: [String]
    let timeoutMs: Int
    let outcomes = LabeledCounter()
    private let queue = DispatchQueue(label: "loom.gate-notifier")
    private let lock = Lock()
    private var pending = 0
    private let log: @Sendable (String) -> Void

    init(argv: [String], timeoutMs: Int, log: @escaping @Sendable (String) -> Void) {
        self.argv = argv
        self.timeoutMs = timeoutMs
        self.log = log
    }

    /// Queues the command for `payload` (the gate and its card); returns at once.
    func announce(_ payload: JSONValue, event: String) {
        let admitted = lock.withLock { () -> Bool in
            guard pending < Self.pendingMax else { return false }
            pending += 1
            return true
        }
        guard admitted else {
            outcomes.increment("dropped")
            log("notifier: \(Self.pendingMax) notifications already wait; gate \(event) is not announced")
            return
        }
        queue.async { [self] in
            defer { lock.withLock { pending -= 1 } }
            let result = ChildProcess.run(
                .init(
                    argv: argv,
                    environment: ChildEnvironment.base(),
                    input: Array(payload.canonicalText.utf8),
                    timeoutMs: timeoutMs,
                    outputLimitBytes: Self.outputLimitBytes
                )
            )
            if result.exitCode == 0 {
                outcomes.increment("sent")
                return
            }
            outcomes.increment("failed")
            let why =
                result.spawnError
                ?? (result.timedOut
                    ? "ran past \(timeoutMs) ms" : "exited \(result.exitCode.map(String.init) ?? "by a signal")")
            let said = String(decoding: result.output.suffix(300), as: UTF8.self).filter { $0 != "\n" }
            log("notifier for gate \(event) failed: \(why)" + (said.isEmpty ? "" : ": \(said)"))
        }
    }
}
