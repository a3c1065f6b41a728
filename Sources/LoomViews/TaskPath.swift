import Foundation
import LoomEngine
import LoomValues

/// The path one task took, read from its project's database: the steps it entered in order
/// (with the iteration of each entry), the flows it ran in, and what its stays mean for
/// people (rounds, time parked at a gate).
///
/// Built from the same rows the journal's ticks wrote: an effect's intent (a step asked for
/// work), a gate's opening (a step waited), and the task's end (its finalize step).
public struct TaskPath: Sendable, Equatable {
    public struct Visit: Sendable, Equatable {
        public let step: String
        public let iteration: Int
        public let tick: Int64
    }

    public let taskID: String
    public let status: String
    /// The flow it was submitted to, then the one it ended in (if a branch moved it).
    public let flows: [String]
    public let visits: [Visit]
    /// Step -> a note ("2 rounds", "parked 3m12s").
    public let notes: [String: String]

    public init(taskID: String, status: String, flows: [String], visits: [Visit], notes: [String: String]) {
        self.taskID = taskID
        self.status = status
        self.flows = flows
        self.visits = visits
        self.notes = notes
    }

    /// Reads task `id` from `store`; nil when there is no such task.
    public static func read(task id: String, from store: Store, bundle: LoomBundle) throws(LoomError) -> TaskPath? {
        guard
            let task = try store.query("SELECT status, flow FROM tasks WHERE id = :task", bindings: [":task": id]).first
        else { return nil }
        let status = task["status"]?.stringValue ?? "?"
        let finalFlow = task["flow"]?.stringValue ?? bundle.defaultFlow
        let submitted = try store.query(
            "SELECT payload FROM journal WHERE task_id = :task AND kind = 'submitted' ORDER BY seq LIMIT 1",
            bindings: [":task": id]
        )
        let entryFlow =
            submitted.first?["payload"]?.stringValue.flatMap { try? JSONValue.parse($0) }?["flow"]?.stringValue
            ?? bundle.defaultFlow
        let flows = entryFlow == finalFlow ? [finalFlow] : [entryFlow, finalFlow]

        // One visit per (step, iteration): the first tick that asked for work there or opened a gate.
        let rows = try store.query(
            """
            SELECT step, iteration, min(tick) AS tick FROM (
              SELECT step, iteration, intent_tick AS tick FROM effects WHERE task_id = :task
              UNION ALL
              SELECT g.step, coalesce((SELECT max(e.iteration) FROM effects e WHERE e.task_id = g.task_id AND e.intent_tick <= g.opened_tick), 0), g.opened_tick
              FROM gates g WHERE g.task_id = :task)
            GROUP BY step, iteration ORDER BY tick, step
            """,
            bindings: [":task": id]
        )
        var visits = rows.map {
            Visit(
                step: $0["step"]?.stringValue ?? "",
                iteration: Int($0["iteration"]?.intValue ?? 0),
                tick: $0["tick"]?.intValue ?? 0
            )
        }
        if status == "done", let last = bundle.flows[finalFlow]?.steps.last {
            visits.append(Visit(step: last.name, iteration: visits.last?.iteration ?? 0, tick: visits.last?.tick ?? 0))
        }

        var notes: [String: String] = [:]
        for (step, count) in Dictionary(grouping: visits, by: \.step).mapValues(\.count) where count > 1 {
            notes[step] = "\(count) rounds"
        }
        let gates = try store.query(
            """
            SELECT g.step, g.status, g.requires_human, o.time_ms AS opened, d.time_ms AS decided
            FROM gates g JOIN ticks o ON o.tick = g.opened_tick LEFT JOIN ticks d ON d.tick = g.decided_tick
            WHERE g.task_id = :task ORDER BY g.opened_tick
            """,
            bindings: [":task": id]
        )
        var parkedMs: [String: Int64] = [:]
        for gate in gates where gate["requires_human"]?.intValue == 1 {
            let step = gate["step"]?.stringValue ?? ""
            let opened = gate["opened"]?.intValue ?? 0
            parkedMs[step, default: 0] += (gate["decided"]?.intValue ?? opened) - opened
        }
        for (step, ms) in parkedMs {
            let waiting = gates.contains { $0["step"]?.stringValue == step && $0["status"]?.stringValue == "waiting" }
            let text = waiting ? "parked (waiting)" : "parked \(Self.duration(ms))"
            notes[step] = notes[step].map { "\($0), \(text)" } ?? text
        }
        return TaskPath(taskID: id, status: status, flows: flows, visits: visits, notes: notes)
    }

    /// "850 ms", "42 s", "3m12s", "2h05m".
    static func duration(_ ms: Int64) -> String {
        if ms < 1_000 { return "\(ms) ms" }
        let seconds = ms / 1_000
        if seconds < 60 { return "\(seconds) s" }
        if seconds < 3_600 { return "\(seconds / 60)m\(String(format: "%02d", seconds % 60))s" }
        return "\(seconds / 3_600)h\(String(format: "%02d", (seconds % 3_600) / 60))m"
    }
}
