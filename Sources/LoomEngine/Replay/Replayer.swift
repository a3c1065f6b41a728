import LoomValues

/// Re-runs a project's journal into a fresh database with the recorded time tokens and the
/// recorded effect results, executing no effect, and compares what it built with the record.
///
/// With the same rules the rows must come out identical; otherwise the report names the
/// first tick that diverges. With added rules (an operator's new SQL rule), it reports the
/// first tick at which a new rule would have rolled the recorded run back: "would this rule
/// have caught last week's incident?" Only rules added since the recording run (an added or
/// changed one); those in force then passed on the rows the replay reproduces (`RuleChecking`).
public struct Replayer {
    public let source: Store
    public let bundles: [LoomBundle]
    public let extraRules: [SQLRule]
    /// Entries read from the source per batch; bounds memory whatever the history size.
    public var batchSize = 2_000

    public init(source: Store, bundles: [LoomBundle], extraRules: [SQLRule] = []) {
        self.source = source
        self.bundles = bundles
        self.extraRules = extraRules
    }

    /// Replays every tick (or those up to `task`'s last tick, then compares only its rows)
    /// into `targetPath` (an empty database; by default in memory).
    public func run(task: String? = nil, into targetPath: String = ":memory:") throws(LoomError) -> ReplayReport {
        var lastTick = Int64.max
        let report = try replay(task: task, into: targetPath, lastTick: &lastTick)
        switch report {
        case .identical, .ruleWouldFire, .otherSemantics: return report
        case .diverged, .failed:
            // A journal written by other semantics of the kernel is expected to replay
            // differently: say so, rather than leave a divergence that reads as tampering.
            let recorded = try KernelSemantics.recorded(in: source, upToTick: lastTick)
            guard recorded.contains(where: { $0 != KernelSemantics.version }) else { return report }
            return .otherSemantics(recorded: recorded, current: KernelSemantics.version, report: report)
        }
    }

    private func replay(
        task: String?,
        into targetPath: String,
        lastTick: inout Int64
    ) throws(LoomError)
        -> ReplayReport
    {
        var options = StoreOptions()
        options.durability = .normal
        let target = try Store(path: targetPath, options: options)
        try target.makeScratch()
        let clock = ReplayClock()
        let engine = try Engine(
            store: target,
            bundles: bundles,
            archived: try BundleArchive.all(in: source),
            extraRules: extraRules,
            clock: { clock.timeMs }
        )
        engine.ruleChecking = .enforceAdded
        if let task {
            // Not just to the task's last entry: a queued task starts in the tick that ends the
            // one before it, a tick it has no entry in; and a row dated after every entry
            // (written by hand) must be compared, not cut off.
            let cutOff = try source.read { tx throws(LoomError) -> Int64? in
                guard let journaled = try tx.maxTick(task: task) else { return nil }
                return max(journaled, try TableDump.lastWriteTick(task: task, in: tx))
            }
            guard let value = cutOff else {
                throw LoomError(.notFound, "the journal has no task '\(task)'", context: "replaying")
            }
            lastTick = value
        }
        var ticks: Int64 = 0
        var afterSeq: Int64 = 0
        while true {
            let batch = try source.read { tx throws(LoomError) in
                try tx.journalEntries(after: afterSeq, upToTick: lastTick, limit: batchSize)
            }
            if batch.isEmpty { break }
            for entry in batch {
                clock.timeMs = entry.timeMs
                do {
                    try engine.replay(entry.input)
                } catch {
                    if error.code == .invariantViolation {
                        return .ruleWouldFire(RuleCatch(tick: entry.tick, violations: error.violations, input: entry))
                    }
                    return .failed(tick: entry.tick, error: error)
                }
                ticks += 1
            }
            afterSeq = batch[batch.count - 1].seq
        }
        if let difference = try TableDump.firstDifference(source, target, task: task, upToTick: lastTick) {
            return .diverged(difference)
        }
        return .identical(ticks: ticks)
    }
}

/// The replay's time source: set to each recorded tick's token before that tick runs.
final class ReplayClock {
    var timeMs: Int64 = 0
}

/// What a replay found.
public enum ReplayReport: Sendable, Equatable, CustomStringConvertible {
    /// Every row reproduced exactly.
    case identical(ticks: Int64)
    /// The rows differ; the earliest tick that wrote a differing row.
    case diverged(RowDifference)
    /// An added rule would have rolled back this tick of the recorded run.
    case ruleWouldFire(RuleCatch)
    /// A recorded input could not be applied at all (a bundle changed, a damaged journal).
    case failed(tick: Int64, error: LoomError)
    /// `report` (a divergence or a failure) from a journal some of whose tasks were submitted
    /// under other kernel semantics than this build's (`KernelSemantics`; 0: unrecorded).
    indirect case otherSemantics(recorded: [Int], current: Int, report: ReplayReport)

    public var description: String {
        switch self {
        case .identical(let ticks): return "identical: \(ticks) tick(s) replayed, every row reproduced"
        case .diverged(let difference): return "diverged at \(difference)"
        case .ruleWouldFire(let caught): return caught.description
        case .failed(let tick, let error): return "replay failed at tick \(tick): \(error)"
        case .otherSemantics(let recorded, let current, let report):
            let versions = recorded.map(KernelSemantics.describe).joined(separator: ", ")
            return
                "recorded by kernel semantics \(versions), this build is \(current): a replay by other semantics is expected to differ, and this is no sign of tampering by itself (the chain and signatures say whether the journal was rewritten); \(report.description)"
        }
    }

    public static func == (lhs: ReplayReport, rhs: ReplayReport) -> Bool { lhs.description == rhs.description }
}

/// The first tick a new rule would have refused, with its inputs.
public struct RuleCatch: Sendable, Equatable, CustomStringConvertible {
    public let tick: Int64
    public let violations: [RuleViolation]
    public let input: JournalEntry

    public var description: String {
        let rules = violations.map { "\($0.rule) (\($0.message)): \(JSONValue.array($0.rows).canonicalText)" }.joined(
            separator: "; "
        )
        return
            "rule would have rolled back tick \(tick) (\(input.kind.rawValue) for \(input.taskID) by \(input.actor["principal"]?["id"]?.stringValue ?? "?")): \(rules)"
    }
}

extension Transaction {
    func maxTick(task: String) throws(LoomError) -> Int64? {
        let statement = try statement("SELECT max(tick) AS tick FROM journal WHERE task_id = ?")
        defer { statement.reset() }
        statement.bind(1, task)
        guard try statement.step() else { return nil }
        return try statement.row.optionalInt64("tick")
    }

    func journalEntries(after seq: Int64, upToTick lastTick: Int64, limit: Int) throws(LoomError) -> [JournalEntry] {
        let statement = try statement(
            """
            SELECT j.seq, j.tick, k.time_ms, j.task_id, j.kind, j.actor, j.payload, j.prev_hash, j.hash
            FROM journal j JOIN ticks k ON k.tick = j.tick WHERE j.seq > ? AND j.tick <= ? ORDER BY j.seq LIMIT ?
            """
        )
        defer { statement.reset() }
        statement.bind(1, seq).bind(2, lastTick).bind(3, limit)
        var entries: [JournalEntry] = []
        while try statement.step() {
            let row = statement.row
            entries.append(
                JournalEntry(
                    seq: try row.int64("seq"),
                    tick: try row.int64("tick"),
                    timeMs: try row.int64("time_ms"),
                    taskID: try row.text("task_id"),
                    kind: try row.value("kind", as: JournalKind.self),
                    actor: try row.json("actor"),
                    payload: try row.json("payload"),
                    previousHash: try row.blob("prev_hash"),
                    hash: try row.blob("hash")
                )
            )
        }
        return entries
    }
}

extension Engine {
    /// Applies one recorded input as one tick, through the same path as a live input.
    func replay(_ input: JournalInput) throws(LoomError) {
        let outcome = try perform(input, auditRejections: false)
        guard outcome.duplicate == nil else {
            throw LoomError(
                .conflict,
                "recorded input was a duplicate on replay",
                context: "replaying \(input.kind.rawValue) for \(input.taskID)"
            )
        }
    }
}
