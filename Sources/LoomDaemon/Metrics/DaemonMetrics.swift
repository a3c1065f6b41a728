import LoomEngine
import LoomProviders
import LoomSystem

/// What loomd counts for `loomctl metrics`. Labels never carry a task id: their values
/// come from small closed sets (states, outcomes, reasons, rule names, project roots).
final class DaemonMetrics: @unchecked Sendable {
    let tickSeconds = Histogram.secondsDefault()
    let scheduleToStart = Histogram.secondsDefault()
    let gateWait = Histogram(bounds: [1, 10, 60, 300, 900, 3_600, 14_400, 86_400, 604_800])
    let retries = LabeledCounter()
    let spawns = LabeledCounter()
    let tokens = LabeledCounter()
    /// The part of `tokens` (and of the cost) loom estimated from the text: the server reported none.
    let tokensEstimated = LabeledCounter()
    let violations = LabeledCounter()
    /// Refused requests counted instead of journaled (their peer's budget ran out), by the
    /// refused input's kind.
    let refusalsSuppressed = LabeledCounter()
    private let lock = Lock()
    private var costMicroUSD = 0
    private var estimatedCostMicroUSD = 0
    /// Set once, before the socket opens.
    var recoverySeconds = 0.0
    /// Written from every project's queue, hence the lock.
    private var recovered = 0
    private var lastCompletion = 0.0

    func recovered(_ count: Int) { lock.withLock { recovered += count } }
    var recoveredEffects: Int { lock.withLock { recovered } }
    func completed(atSeconds seconds: Double) { lock.withLock { lastCompletion = max(lastCompletion, seconds) } }
    var lastCompletionSeconds: Double { lock.withLock { lastCompletion } }

    func recordSpawn(_ result: AgentResult) {
        spawns.increment(result.errorClass?.rawValue ?? "ok")
        tokens.increment("in", by: Double(result.tokensIn))
        tokens.increment("out", by: Double(result.tokensOut))
        tokens.increment("cached", by: Double(result.tokensCached))
        lock.withLock { costMicroUSD += result.costMicroUSD }
        if result.tokensEstimated {
            tokensEstimated.increment("in", by: Double(result.tokensIn))
            tokensEstimated.increment("out", by: Double(result.tokensOut))
            lock.withLock { estimatedCostMicroUSD += result.costMicroUSD }
        }
    }

    var costUSD: Double { lock.withLock { Double(costMicroUSD) / 1_000_000 } }
    var estimatedCostUSD: Double { lock.withLock { Double(estimatedCostMicroUSD) / 1_000_000 } }
}

/// A counter family keyed by one label value.
final class LabeledCounter: @unchecked Sendable {
    private let lock = Lock()
    private var values: [String: Double] = [:]

    func increment(_ label: String, by amount: Double = 1) {
        lock.withLock { values[label, default: 0] += amount }
    }

    var snapshot: [(String, Double)] { lock.withLock { values.sorted { $0.key < $1.key } } }
}
