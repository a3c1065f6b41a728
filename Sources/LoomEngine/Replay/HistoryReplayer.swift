/// Replays a journal once against an operator's added rules and reports, for every task it
/// watches, the first tick those rules would have rolled back: "would this rule have caught
/// last week's incident?" asked of the whole history at once.
///
/// Unlike `Replayer`, a firing rule does not end the replay: the engine observes the added
/// rules (they report, they do not refuse) and applies the recorded tick as it was, so the
/// state every later task sees is the recorded state, and one pass answers for every task.
/// Answering task by task with `Replayer` would replay the prefix before each task again,
/// which is quadratic in the history.
///
/// Every replayed tick's chain head is compared with the recorded entry's hash, so the
/// report also says whether the replay reproduced the journal, hash for hash.
public struct HistoryReplayer {
    public let journal: any JournalSource
    public let bundles: [LoomBundle]
    public let extraRules: [SQLRule]
    /// Entries read per batch; bounds memory whatever the history size.
    public var batchSize = 2_000
    /// Ticks between two calls of the progress callback.
    public var progressEveryTicks: Int64 = 1_000

    public init(journal: any JournalSource, bundles: [LoomBundle], extraRules: [SQLRule]) {
        self.journal = journal
        self.bundles = bundles
        self.extraRules = extraRules
    }

    /// - Parameters:
    ///   - tasks: the tasks to report on (nil: every task); the ticks of other tasks are
    ///     replayed all the same, since the watched tasks' state may depend on them.
    ///   - upToTick: the last tick to replay (the watched tasks' last tick is enough).
    ///   - targetPath: the scratch database (by default in memory).
    public func run(
        tasks: Set<String>? = nil,
        upToTick: Int64 = .max,
        into targetPath: String = ":memory:",
        progress: ((HistoryProgress) -> Void)? = nil
    ) throws(LoomError) -> HistoryReport {
        var options = StoreOptions()
        options.durability = .normal
        let target = try Store(path: targetPath, options: options)
        try target.makeScratch()
        let clock = ReplayClock()
        let engine = try Engine(
            store: target,
            bundles: bundles,
            archived: try journal.storedBundles(),
            extraRules: extraRules,
            clock: { clock.timeMs }
        )
        engine.ruleChecking = .observeAdded
        var catches: [String: RuleCatch] = [:]
        var ticks: Int64 = 0
        var lastTick: Int64 = 0
        var afterSeq: Int64 = 0
        func report(_ problem: HistoryProblem?) -> HistoryReport {
            HistoryReport(ticks: ticks, lastTick: lastTick, catches: catches, problem: problem)
        }
        while true {
            let batch = try journal.entries(after: afterSeq, upToTick: upToTick, limit: batchSize)
            if batch.isEmpty { break }
            for entry in batch {
                clock.timeMs = entry.timeMs
                engine.observedViolations = []
                do {
                    try engine.replay(entry.input)
                } catch {
                    return report(.failed(tick: entry.tick, error: error))
                }
                guard engine.committedChainHead == entry.hash else {
                    return report(.journalDiverged(seq: entry.seq, tick: entry.tick))
                }
                for (task, violations) in engine.observedViolations
                where catches[task] == nil && (tasks?.contains(task) ?? true) {
                    catches[task] = RuleCatch(tick: entry.tick, violations: violations, input: entry)
                }
                ticks += 1
                lastTick = entry.tick
                if let progress, ticks % progressEveryTicks == 0 {
                    progress(HistoryProgress(ticks: ticks, lastTick: lastTick, caught: catches.count))
                }
            }
            afterSeq = batch[batch.count - 1].seq
        }
        return report(nil)
    }
}

/// How far a history replay has got.
public struct HistoryProgress: Sendable, Equatable {
    public let ticks: Int64
    public let lastTick: Int64
    /// Watched tasks a rule has caught so far.
    public let caught: Int
}

/// Why a history replay stopped before the end.
public enum HistoryProblem: Sendable, Equatable, CustomStringConvertible {
    /// A recorded input could not be applied (a bundle missing or changed, a damaged journal).
    case failed(tick: Int64, error: LoomError)
    /// The replayed entry did not hash to the recorded one: the record is not a run of
    /// these bundles (or the journal was rewritten consistently, which only a signature or
    /// a trusted head shows).
    case journalDiverged(seq: Int64, tick: Int64)

    public var description: String {
        switch self {
        case .failed(let tick, let error): return "replay failed at tick \(tick): \(error)"
        case .journalDiverged(let seq, let tick):
            return
                "replay diverged at tick \(tick): the replayed journal entry \(seq) does not hash to the recorded one"
        }
    }

    public static func == (lhs: HistoryProblem, rhs: HistoryProblem) -> Bool { lhs.description == rhs.description }
}

/// What a history replay found.
public struct HistoryReport: Sendable {
    /// Ticks replayed (each tick applies one recorded entry).
    public let ticks: Int64
    public let lastTick: Int64
    /// The first tick the added rules would have rolled back, for each watched task they
    /// would have stopped. A task absent here ran clean under the new rules.
    public let catches: [String: RuleCatch]
    /// Set when the replay could not go to the end; catches before it still stand.
    public let problem: HistoryProblem?
}
