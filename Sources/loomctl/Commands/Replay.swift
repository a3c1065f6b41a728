import ArgumentParser
import Foundation
import LoomEngine
import LoomIPC
import LoomProof
import LoomSystem
import LoomValues

/// `loomctl replay TASK | FILE | --since DURATION [--rules FILE.sql]…`
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a task's journal, a proof file, or every task finished in a window, against added rules.",
        discussion: """
            Each --rules file holds one SQL query that returns violating rows (it may use :task and :tick); its name is the file's name.
              loomctl replay TASK [--rules F]        through loomd: identical, the first tick that diverges, or the first tick a new rule would have caught
              loomctl replay FILE --rules F          a proof file (from `loomctl export`), with the bundles it carries; no project, no daemon
              loomctl replay --since 7d --rules F    every task of the project (-C) finished in the window, read from its state.db without the daemon (needs --bundles or $LOOM_BUNDLES); progress on stderr
            DURATION is a number and a unit: s, m, h, d or w (90m, 7d, 2w).
            Exit status: 0 identical / nothing caught; 6 a rule would have stopped a task (or a difference was found); 7 a proof or history that could not be replayed to the end.
            """
    )

    @Argument(help: "A task id, or a proof file.") var target: String?
    @Option(name: .long, help: "Replay every task finished within this long before now (e.g. 7d).") var since: String?
    @OptionGroup var project: ProjectOption
    @Option(name: .customLong("rules"), help: "A .sql file with one more rule to check (repeatable).") var rules:
        [String] = []
    @OptionGroup var bundles: BundleOption
    @OptionGroup var global: GlobalOptions

    /// How often progress is written to stderr during a long replay.
    static let progressIntervalSeconds = 1.0

    func validate() throws {
        if (target == nil) == (since == nil) {
            throw ValidationError("name a task or a proof file, or pass --since DURATION (not both)")
        }
        if let since, Self.seconds(since) == nil {
            throw ValidationError("--since takes a number and a unit (s, m, h, d, w), e.g. 7d; got '\(since)'")
        }
        if since != nil || target.map(isProofFile) == true, rules.isEmpty {
            throw ValidationError(
                "replaying a proof file or a window of history asks about added rules: pass --rules FILE.sql"
            )
        }
    }

    func run() throws {
        try runReporting {
            let extraRules = try RuleFiles.load(rules)
            if let since {
                try replayHistory(since: since, rules: extraRules)
            } else if let target, isProofFile(target) {
                try replayProof(target, rules: extraRules)
            } else if let target {
                try replayThroughDaemon(task: target, rules: extraRules)
            }
        }
    }

    // MARK: One task, through loomd

    private func replayThroughDaemon(task: String, rules: [SQLRule]) throws {
        let ruleList = rules.map { LoomIPC.Replay.Rule(name: $0.name, sql: $0.sql, message: $0.message, file: $0.file) }
        let client = try global.connect()
        defer { client.close() }
        let result: JSONValue
        do {
            result = try client.call(
                LoomIPC.Replay.self,
                LoomIPC.Replay.Params(project: project.root, task: task, rules: ruleList)
            ).json
        } catch { throw CLIError(error) }
        print(global.json ? result.canonicalText : (result["report"]?.stringValue ?? ""))
        if result["outcome"]?.stringValue != "identical" { throw ExitCode(6) }
    }

    // MARK: A proof file

    private func replayProof(_ path: String, rules: [SQLRule]) throws {
        let bytes = try readBounded(path, maxBytes: ProofLimits().fileMaxBytes)
        let (proof, _) = try ProofVerifier.verify(bytes: bytes)
        let progress = ProgressLine(total: proof.entries.last?.tick ?? 0)
        let report = try ProofReplay.run(proof, extraRules: rules, progress: progress.update)
        progress.finish()
        let caught = report.catches[proof.task]
        var result: [String: JSONValue] = [
            "file": .string(path), "task": .string(proof.task), "ticks": .int(report.ticks),
            "rules": .array(rules.map { .string($0.name) }), "caught": .bool(caught != nil),
        ]
        if let caught { result.merge(Self.json(caught)) { $1 } }
        if let problem = report.problem { result["problem"] = .string(problem.description) }
        if global.json {
            print(JSONValue.object(result).canonicalText)
        } else if let caught {
            print("task \(proof.task): \(Self.describe(caught))")
        } else {
            print("task \(proof.task): the added rules would not have stopped it (\(report.ticks) ticks replayed)")
        }
        if let problem = report.problem, !global.json { StandardError.write("loomctl: \(problem)\n") }
        if caught != nil { throw ExitCode(6) }
        if report.problem != nil { throw ExitCode(7) }
    }

    // MARK: A window of history

    /// Replays of up to this many ticks keep their scratch database in memory (about 200 MB).
    static let inMemoryTicksMax: Int64 = 100_000

    private func replayHistory(since: String, rules: [SQLRule]) throws {
        let store = try project.readOnlyStore()
        // The database stores the versions its tasks ran; --bundles serves older databases.
        let loaded = try bundles.load()
        guard try !loaded.isEmpty || !BundleArchive.all(in: store).isEmpty else {
            throw CLIError(
                "replay --since needs the bundles the tasks ran: this database stores none, so pass --bundles DIR or set LOOM_BUNDLES",
                status: 2
            )
        }
        let nowMs = Int64(Date().timeIntervalSince1970 * 1_000)
        let cutoffMs = nowMs - Int64(Self.seconds(since)! * 1_000)
        // The window is read from the state tables; `loomctl verify` is what vouches for them.
        let finished = try store.query(
            """
            SELECT t.id, t.status, t.updated_tick AS tick, k.time_ms FROM tasks t JOIN ticks k ON k.tick = t.updated_tick
            WHERE t.status IN ('done', 'abandoned', 'cancelled', 'failed') AND k.time_ms >= \(cutoffMs) ORDER BY t.seq
            """,
            limit: Int.max
        )
        let lastTick = finished.compactMap { $0["tick"]?.intValue }.max() ?? 0
        let started = Date()
        var report: HistoryReport?
        if !finished.isEmpty {
            let progress = ProgressLine(total: lastTick)
            // The scratch database holds every task's state up to the window's end (about 2 KB
            // a tick): a long history goes to a temporary file, so memory stays bounded, at
            // about a quarter of the speed lost to writing it.
            let scratch =
                lastTick > Self.inMemoryTicksMax
                ? FileManager.default.temporaryDirectory.appendingPathComponent("loom-replay-\(getpid()).db").path
                : ":memory:"
            defer {
                if scratch != ":memory:" {
                    for suffix in ["", "-journal"] { try? FileManager.default.removeItem(atPath: scratch + suffix) }
                }
            }
            if scratch != ":memory:" { try? FileManager.default.removeItem(atPath: scratch) }
            report = try HistoryReplayer(journal: store, bundles: loaded, extraRules: rules)
                .run(
                    tasks: Set(finished.compactMap { $0["id"]?.stringValue }),
                    upToTick: lastTick,
                    into: scratch,
                    progress: progress.update
                )
            progress.finish()
        }
        let seconds = max(Date().timeIntervalSince(started), 1e-9)
        let ticks = report?.ticks ?? 0
        var rows: [JSONValue] = []
        var lines: [String] = []
        for task in finished {
            let id = task["id"]?.stringValue ?? ""
            let status = task["status"]?.stringValue ?? ""
            var row: [String: JSONValue] = [
                "task": .string(id), "status": .string(status), "finished_ms": task["time_ms"] ?? .null,
            ]
            if let caught = report?.catches[id] {
                row["caught"] = true
                row.merge(Self.json(caught)) { $1 }
                lines.append("\(id)  \(status)  \(formatTime(task["time_ms"]?.intValue))  \(Self.describe(caught))")
            } else {
                row["caught"] = false
                lines.append("\(id)  \(status)  \(formatTime(task["time_ms"]?.intValue))  not stopped")
            }
            rows.append(.object(row))
        }
        let caughtCount = report?.catches.count ?? 0
        var result: [String: JSONValue] = [
            "since": .string(since), "cutoff_ms": .int(cutoffMs), "tasks": .array(rows),
            "caught": .int(Int64(caughtCount)),
            "ticks": .int(ticks), "seconds": .double(seconds),
            "tasks_per_s": .double(Double(finished.count) / seconds), "ticks_per_s": .double(Double(ticks) / seconds),
        ]
        if let problem = report?.problem { result["problem"] = .string(problem.description) }
        if global.json {
            print(JSONValue.object(result).canonicalText)
        } else {
            for line in lines { print(line) }
            print(
                "\(finished.count) task(s) finished since \(formatTime(cutoffMs)); \(caughtCount) would have been stopped. "
                    + "\(ticks) ticks replayed in \(String(format: "%.2f", seconds)) s (\(Int(Double(finished.count) / seconds)) tasks/s, \(Int(Double(ticks) / seconds)) ticks/s)"
            )
            if let problem = report?.problem {
                StandardError.write("loomctl: \(problem); tasks after it were not checked\n")
            }
        }
        if caughtCount > 0 { throw ExitCode(6) }
        if report?.problem != nil { throw ExitCode(7) }
    }

    // MARK: Durations and reports

    static func seconds(_ duration: String) -> Double? {
        guard let unit = duration.last, let number = Double(duration.dropLast()), number >= 0, number.isFinite else {
            return nil
        }
        switch unit {
        case "s": return number
        case "m": return number * 60
        case "h": return number * 3_600
        case "d": return number * 86_400
        case "w": return number * 604_800
        default: return nil
        }
    }

    static func json(_ caught: RuleCatch) -> [String: JSONValue] {
        [
            "tick": .int(caught.tick), "kind": .string(caught.input.kind.rawValue), "seq": .int(caught.input.seq),
            "violations": .array(caught.violations.map(\.json)),
        ]
    }

    static func describe(_ caught: RuleCatch) -> String {
        let rules = caught.violations.map { "\($0.rule) on \(JSONValue.array($0.rows).canonicalText)" }.joined(
            separator: "; "
        )
        return
            "would have been stopped at tick \(caught.tick) (\(caught.input.kind.rawValue), entry \(caught.input.seq)) by \(rules)"
    }
}

/// Progress of a long replay on stderr, at most once per interval; silent for short runs.
final class ProgressLine {
    let total: Int64
    private let started = Date()
    private var lastShown = Date()
    private var shown = false

    init(total: Int64) { self.total = total }

    func update(_ progress: HistoryProgress) {
        let now = Date()
        guard now.timeIntervalSince(lastShown) >= Replay.progressIntervalSeconds else { return }
        lastShown = now
        shown = true
        let rate = Double(progress.ticks) / max(now.timeIntervalSince(started), 1e-9)
        let percent = total > 0 ? Int(Double(progress.lastTick) * 100 / Double(total)) : 0
        StandardError.write(
            "replay: tick \(progress.lastTick) of \(total) (\(percent)%), \(Int(rate)) ticks/s, \(progress.caught) task(s) caught so far\n"
        )
    }

    func finish() {
        if shown {
            StandardError.write("replay: done in \(String(format: "%.1f", Date().timeIntervalSince(started))) s\n")
        }
    }
}
