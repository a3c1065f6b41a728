import LoomEngine
import LoomHost
import LoomIPC
import LoomIPCServer
import LoomValues
import LoomViews

/// `gates` and `tasks`: what waits for a person, and every task, across all supervised
/// projects. Each project is read on its own queue, one read snapshot at a time; a
/// project with no parked task is not opened to list gates.
extension Daemon {
    /// At most this many tasks in one `tasks` page; the default page is smaller.
    static let tasksPageMax = 500
    static let tasksPageDefault = 50

    func gates(_ reply: IPCReply) {
        var gates: [JSONValue] = []
        for root in registry.all {
            guard quarantines.entry(for: root) == nil, let project = try? openProject(root),
                project.activeCounts.parked > 0
            else { continue }
            let found: [JSONValue] = project.queue.sync {
                defer { project.hibernateSoon() }
                return (try? Self.waitingGates(project)) ?? []
            }
            gates += found
        }
        gates.sort {
            ($0["sinceMs"]?.intValue ?? 0, $0["project"]?.stringValue ?? "") < (
                $1["sinceMs"]?.intValue ?? 0, $1["project"]?.stringValue ?? ""
            )
        }
        reply.result(Gates.self, Document(document: .object(["gates": .array(gates)])))
    }

    /// Every gate of `project` that waits for a person, with its card.
    static func waitingGates(_ project: Project) throws(LoomError) -> [JSONValue] {
        let engine = try project.engine
        let store = engine.store
        return try store.read { _ throws(LoomError) in
            let rows = try store.query(
                """
                SELECT g.task_id AS task, k.time_ms AS since FROM gates g JOIN ticks k ON k.tick = g.opened_tick
                WHERE g.status = 'waiting' ORDER BY g.opened_tick
                """
            )
            var gates: [JSONValue] = []
            for row in rows {
                guard let id = row["task"]?.stringValue, let task = try engine.task(id),
                    let gate = try engine.waitingGate(task: id)
                else { continue }
                let card = try GateCard.build(engine: engine, task: task, gate: gate)
                gates.append(
                    .object([
                        "project": .string(project.root), "task": .string(id), "event": .string(gate.eventID),
                        "role": .string(gate.role),
                        "policy": .string(gate.policy.rawValue), "sinceMs": row["since"] ?? .null,
                        "summary": .string(card.summary),
                        "card": card.json,
                    ])
                )
            }
            return gates
        }
    }

    func tasks(_ params: Tasks.Params, _ reply: IPCReply) throws {
        let states = Set(params.states ?? [])
        if let unknown = states.first(where: { TaskStatus(rawValue: $0) == nil }) {
            throw IPCError(
                .invalidParams,
                "unknown state '\(unknown)'; known: \(TaskStatus.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        let limit = Int(params.limit ?? Int64(Self.tasksPageDefault))
        guard (1...Self.tasksPageMax).contains(limit) else {
            throw IPCError(.invalidParams, "limit must be 1 to \(Self.tasksPageMax)")
        }
        let roots = params.project != nil ? [try projectRoot(params.project, required: true)] : registry.all
        let filter = TaskFilter(
            states: states,
            bundle: params.bundle,
            sinceMs: params.sinceMs,
            beforeMs: params.beforeMs,
            limit: limit + 1
        )
        var found: [JSONValue] = []
        for root in roots {
            guard let project = try? openProject(root) else { continue }
            found += project.queue.sync {
                defer { project.hibernateSoon() }
                return (try? Self.tasks(in: project, filter)) ?? []
            }
        }
        // Newest first across projects; one more than the page says whether more follow.
        found.sort { ($0["createdMs"]?.intValue ?? 0) > ($1["createdMs"]?.intValue ?? 0) }
        let page = Array(found.prefix(limit))
        var result: [String: JSONValue] = ["tasks": .array(page), "more": .bool(found.count > limit)]
        if found.count > limit, let last = page.last?["createdMs"] { result["nextBeforeMs"] = last }
        reply.result(Tasks.self, Document(document: .object(result)))
    }

    struct TaskFilter {
        var states: Set<String>
        var bundle: String?
        var sinceMs: Int64?
        var beforeMs: Int64?
        var limit: Int
    }

    static func tasks(in project: Project, _ filter: TaskFilter) throws(LoomError) -> [JSONValue] {
        var conditions = ["1"]
        var bindings: [String: String] = [:]
        if !filter.states.isEmpty {
            conditions.append(
                "t.status IN (\(filter.states.sorted().enumerated().map { ":s\($0.offset)" }.joined(separator: ", ")))"
            )
            for (index, state) in filter.states.sorted().enumerated() { bindings[":s\(index)"] = state }
        }
        if let bundle = filter.bundle {
            conditions.append("t.bundle = :bundle")
            bindings[":bundle"] = bundle
        }
        if let since = filter.sinceMs {
            conditions.append("k.time_ms >= :since")
            bindings[":since"] = String(since)
        }
        if let before = filter.beforeMs {
            conditions.append("k.time_ms < :before")
            bindings[":before"] = String(before)
        }
        let rows = try project.engine.store.query(
            """
            SELECT t.id, t.status, t.bundle, t.flow, t.step, substr(t.input, 1, 200) AS input, t.outcome, k.time_ms AS created, u.time_ms AS updated
            FROM tasks t JOIN ticks k ON k.tick = t.created_tick JOIN ticks u ON u.tick = t.updated_tick
            WHERE \(conditions.joined(separator: " AND ")) ORDER BY t.seq DESC LIMIT \(filter.limit)
            """,
            bindings: bindings
        )
        return rows.map { row in
            .object([
                "project": .string(project.root), "task": row["id"] ?? .null, "status": row["status"] ?? .null,
                "bundle": row["bundle"] ?? .null,
                "flow": row["flow"] ?? .null, "step": row["step"] ?? .null, "input": row["input"] ?? .null,
                "outcome": row["outcome"] ?? .null,
                "createdMs": row["created"] ?? .null, "updatedMs": row["updated"] ?? .null,
            ])
        }
    }
}
