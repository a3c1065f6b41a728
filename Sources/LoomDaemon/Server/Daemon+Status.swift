import LoomCode
import LoomEngine
import LoomHost
import LoomIPC
import LoomIPCServer
import LoomValues
import LoomViews

/// `status` (fleet, project or task) and `metrics` (Prometheus text format 0.0.4).
extension Daemon {
    func status(_ params: TaskParams, _ reply: IPCReply) throws {
        if params.task != nil || params.project != nil {
            let root = try projectRoot(params.project)
            guard registry.all.contains(root) else {
                throw IPCError(.notFound, "\(root) is not a project this daemon supervises")
            }
            let project = try openProject(root)
            project.queue.async {
                do {
                    // A write someone else made shows here at once, not only at the next tick.
                    project.noticeOtherWriters()
                    if let task = params.task {
                        guard let summary = try Self.taskSummary(project, task) else {
                            throw IPCError(.notFound, "no task \(task) in \(root)")
                        }
                        reply.result(Status.self, Document(document: self.withLiveEffects(summary, directory: root)))
                    } else {
                        var summary = try Self.projectSummary(project, tasksMax: 50)
                        if case .object(var members) = summary, let active = members["active"]?.arrayValue {
                            members["active"] = .array(active.map { self.withLiveEffects($0, directory: root) })
                            summary = .object(members)
                        }
                        reply.result(Status.self, Document(document: summary))
                    }
                } catch {
                    reply.error(Self.ipcError(any: error))
                }
            }
            return
        }
        // The fleet view comes from counts kept in memory: it opens no database, so asking
        // about a thousand parked projects wakes none of them (and the answer stays small).
        var summaries: [JSONValue] = []
        for root in registry.all {
            guard let project = try? openProject(root) else {
                summaries.append(.object(["path": .string(root), "error": "not open"]))
                continue
            }
            let counts = project.activeCounts
            var states: [String: JSONValue] = [
                "running": .int(Int64(counts.running)), "parked": .int(Int64(counts.parked)),
                "queued": .int(Int64(counts.queued)),
            ]
            for (state, count) in counts.ended { states[state] = .int(Int64(count)) }
            var summary: [String: JSONValue] = ["path": .string(root), "tasks": .object(states)]
            if let quarantine = quarantines.entry(for: root) {
                summary["quarantined"] = Self.quarantineJSON(quarantine)
            }
            summaries.append(.object(summary))
        }
        let effects: JSONValue = .object([
            "running": .int(Int64(runner.pool.runningCount)), "waiting": .int(Int64(runner.pool.waitingCount)),
            "limit": .int(Int64(runner.pool.limit)),
        ])
        reply.result(
            Status.self,
            Document(
                document: .object([
                    "server": .string("loomd \(Self.version)"), "projects": .array(summaries),
                    "confinement": confinementStatus,
                    "effects": effects,
                ])
            )
        )
    }

    static func projectSummary(_ project: Project, tasksMax: Int) throws(LoomError) -> JSONValue {
        let store = try project.engine.store
        var counts: [String: JSONValue] = [:]
        for row in try store.query("SELECT status, count(*) AS n FROM tasks GROUP BY status") {
            if let status = row["status"]?.stringValue { counts[status] = row["n"] }
        }
        let active = try store.query(
            "SELECT id FROM tasks WHERE status IN ('running', 'parked', 'queued') ORDER BY seq LIMIT \(tasksMax)"
        )
        var tasks: [JSONValue] = []
        for row in active {
            if let id = row["id"]?.stringValue, let summary = try taskSummary(project, id) { tasks.append(summary) }
        }
        var summary: [String: JSONValue] = [
            "path": .string(project.root), "tasks": .object(counts), "active": .array(tasks),
        ]
        if let quarantine = project.quarantines?.entry(for: project.root) {
            summary["quarantined"] = quarantineJSON(quarantine)
        }
        return .object(summary)
    }

    /// One read transaction for the whole summary: a consistent snapshot, and one
    /// BEGIN/COMMIT instead of one per query.
    static func taskSummary(_ project: Project, _ id: String) throws(LoomError) -> JSONValue? {
        try project.engine.store.read { _ throws(LoomError) in try taskSummaryInSnapshot(project, id) }
    }

    /// What host handlers reported for a task (where the work lives, the change in numbers,
    /// the latest checks), in one statement built once; only the small `details` are taken
    /// out of each output in SQL, so a large diff is not decoded here.
    static let taskExtrasSQL: String = {
        func latest(_ key: String, _ value: String) -> String {
            """
            (SELECT json_extract(output, '\(value)') FROM step_outputs
             WHERE task_id = :task AND kind = 'command' AND json_extract(output, '$.details.\(key)') IS NOT NULL ORDER BY tick DESC LIMIT 1)
            """
        }
        return """
            SELECT \(latest("branch", "$.details")) AS branch, \(latest("fileCount", "$.details")) AS change,
                   \(latest("checks", "$.details.checks")) AS checks
            """
    }()

    private static func taskSummaryInSnapshot(_ project: Project, _ id: String) throws(LoomError) -> JSONValue? {
        guard let task = try project.engine.task(id) else { return nil }
        let store = try project.engine.store
        let usage =
            try store.query(
                """
                SELECT coalesce(sum(json_extract(result, '$.usage.in')), 0) AS tokens_in,
                       coalesce(sum(json_extract(result, '$.usage.out')), 0) AS tokens_out,
                       coalesce(sum(json_extract(result, '$.usage.cached')), 0) AS tokens_cached,
                       coalesce(sum(json_extract(result, '$.costMicroUSD')), 0) AS cost,
                       coalesce(max(json_extract(result, '$.usage.estimated')), 0) AS estimated,
                       (SELECT json_group_object(severity, n) FROM
                          (SELECT severity, count(*) AS n FROM findings WHERE task_id = :task AND status = 'open' GROUP BY severity)) AS findings
                FROM effects WHERE task_id = :task AND kind = 'spawn'
                """,
                bindings: [":task": id]
            ).first ?? .object([:])
        var summary: [String: JSONValue] = [
            "project": .string(project.root), "task": .string(task.id), "status": .string(task.status.rawValue),
            "bundle": .string(task.bundle), "flow": .string(task.flow), "step": .string(task.step),
            "iteration": .int(Int64(task.iteration)), "input": .string(String(task.input.prefix(200))),
            // Spawns used are the kernel's count, the one the cap is checked against: every
            // model call (each spawn, each transient retry, each fallback entry tried), not the
            // effect rows, which miss retries and fallbacks.
            "outcome": .string(task.outcome), "spawns": .int(Int64(task.spawnCount)),
            "spawnCap": .int(Int64(task.spawnCap)),
            // `estimated`: some of the counts are loom's estimate (a server reported no usage), and
            // so is the cost priced from them.
            "tokens": .object([
                "in": usage["tokens_in"] ?? 0, "out": usage["tokens_out"] ?? 0, "cached": usage["tokens_cached"] ?? 0,
                "estimated": .bool((usage["estimated"]?.intValue ?? 0) != 0),
            ]),
            "costUSD": .double(Double(usage["cost"]?.intValue ?? 0) / 1_000_000),
            "policy": task.policy.json,
        ]
        if project.isHostExecuted(id) { summary["executor"] = "host" }
        if let quarantine = project.quarantines?.entry(for: project.root) {
            summary["quarantined"] = quarantineJSON(quarantine)
        }
        // Only a task whose steps include host handlers has their facts to show.
        // (A task of a bundle version no longer loaded is read as if it had them.)
        let handled =
            project.handlerBundleDigests.contains(task.bundleDigest)
            || !project.loadedDigests.contains(task.bundleDigest)
        let extras = handled ? try store.query(Self.taskExtrasSQL, bindings: [":task": id]).first : nil
        let parsed = { (column: String) in extras?[column]?.stringValue.flatMap { try? JSONValue.parse($0) } }
        if let details = parsed("branch") {
            summary["branch"] = details["branch"] ?? .null
            if let commit = details["commit"] { summary["commit"] = commit }
        }
        if let details = parsed("change") {
            summary["change"] = .object([
                "files": details["fileCount"] ?? 0, "insertions": details["insertions"] ?? 0,
                "deletions": details["deletions"] ?? 0, "testFiles": details["testFiles"] ?? .array([]),
            ])
        }
        if let checks = parsed("checks") { summary["checks"] = checks }
        if handled, task.bundle == "code" {
            summary["workspace"] = Self.workspaceJSON(project: project.root, task: task.id)
        }
        // A finished task whose change is empty delivered nothing; the kernel's outcome
        // ("finished") is journaled and replayed as it is, so this is said here, beside it.
        if task.status == .done, let files = summary["change"]?["files"]?.intValue, files == 0 {
            summary["delivered"] = false
            summary["outcomeNote"] = "nothing was delivered (empty change)"
        }
        summary["openFindings"] = usage["findings"]?.stringValue.flatMap { try? JSONValue.parse($0) } ?? .object([:])
        // The open findings themselves, blocking first, at most `openFindingsShownMax`.
        let open = try store.query(
            """
            SELECT id, severity, agent, origin, summary FROM findings WHERE task_id = :task AND status = 'open'
            ORDER BY CASE severity WHEN 'blocking' THEN 0 WHEN 'warn' THEN 1 ELSE 2 END, created_tick, id LIMIT \(Self.openFindingsShownMax)
            """,
            bindings: [":task": id]
        )
        if !open.isEmpty { summary["findings"] = .array(open) }
        if let gate = try project.engine.waitingGate(task: id) {
            let since =
                try store.query(
                    "SELECT time_ms FROM ticks WHERE tick = :tick",
                    bindings: [":tick": String(gate.openedTick)]
                ).first?["time_ms"] ?? .null
            summary["gate"] = .object([
                "event": .string(gate.eventID), "role": .string(gate.role), "policy": .string(gate.policy.rawValue),
                "sinceMs": since, "reasons": .array(gate.reasons.map { .string($0) }),
            ])
            summary["card"] = try GateCard.build(engine: project.engine, task: task, gate: gate).json
        }
        return .object(summary)
    }

    /// A task's summary with what loomd is doing for it right now (`effects`: each started
    /// effect's key and state, a spawn that queues for its model saying so): kept in memory,
    /// not journaled, so it is added here rather than read from the database.
    func withLiveEffects(_ summary: JSONValue, directory: String) -> JSONValue {
        guard case .object(var members) = summary, let task = members["task"]?.stringValue else { return summary }
        let live = runner.liveEffects(task: task, directory: directory)
        guard !live.isEmpty else { return summary }
        members["effects"] = .array(live.map { .object(["key": .string($0.key), "state": .string($0.state)]) })
        return .object(members)
    }

    /// Open findings a task's status lists with their text (the counts cover them all).
    static let openFindingsShownMax = 20

    /// How task processes are confined, and whether that works here.
    var confinementStatus: JSONValue {
        var status: [String: JSONValue] = [
            "mode": .string(runner.executor.confinement.mode.rawValue),
            "confined": .bool(runner.executor.confinement.mode != .none && confinementProblem == nil),
        ]
        if let confinementProblem { status["problem"] = .string(confinementProblem) }
        return .object(status)
    }

    func metricsText() -> String {
        var text = PrometheusText()
        text.gauge(
            "loom_build_info",
            help: "loomd build; the value is always 1.",
            [(labels: [("version", Self.version)], value: 1)]
        )
        text.gauge(
            "loom_task_processes_confined",
            help: "1 when every process started for a task is confined (bwrap works), 0 when unconfined or broken.",
            [
                (
                    labels: [("mode", runner.executor.confinement.mode.rawValue)],
                    value: confinementStatus["confined"]?.boolValue == true ? 1 : 0
                )
            ]
        )
        var states: [String: Double] = [:]
        var queueDepth: [(labels: [(String, String)], value: Double)] = []
        var byFlow: [[String]: Double] = [:]
        var gatesOpen: [(labels: [(String, String)], value: Double)] = []
        var gateOldest: [(labels: [(String, String)], value: Double)] = []
        let nowMs = now()
        for project in allProjects {
            let (rows, flows, gates) = project.queue.sync {
                defer { project.hibernateSoon() }
                let store = try? (try project.engine).store
                return (
                    (try? store?.query("SELECT status, count(*) AS n FROM tasks GROUP BY status")) ?? [],
                    (try? store?.query(
                        "SELECT bundle, flow, status, count(*) AS n FROM tasks GROUP BY bundle, flow, status"
                    )) ?? [],
                    (try? store?.query(
                        """
                        SELECT count(*) AS n, min(k.time_ms) AS oldest FROM gates g JOIN ticks k ON k.tick = g.opened_tick WHERE g.status = 'waiting'
                        """
                    ))?.first
                )
            }
            // What waits for a person, per project: alert on a gate nobody has answered.
            gatesOpen.append((labels: [("project", project.root)], value: Double(gates?["n"]?.intValue ?? 0)))
            let oldest = gates?["oldest"]?.intValue.map { Double(max(0, nowMs - $0)) / 1_000 } ?? 0
            gateOldest.append((labels: [("project", project.root)], value: oldest))
            for row in flows {
                let key = [
                    row["bundle"]?.stringValue ?? "", row["flow"]?.stringValue ?? "", row["status"]?.stringValue ?? "",
                ]
                byFlow[key, default: 0] += Double(row["n"]?.intValue ?? 0)
            }
            var queued = 0.0
            for row in rows {
                let count = Double(row["n"]?.intValue ?? 0)
                if let status = row["status"]?.stringValue {
                    states[status, default: 0] += count
                    if status == "queued" { queued = count }
                }
            }
            queueDepth.append((labels: [("project", project.root)], value: queued))
        }
        text.gauge(
            "loom_tasks",
            help: "Tasks by state, all projects.",
            TaskStatus.allCases.map { (labels: [("state", $0.rawValue)], value: states[$0.rawValue] ?? 0) }
        )
        // Per bundle and flow: how many tasks ran each way (the code bundle's ships are flow "ship").
        text.gauge(
            "loom_tasks_by_flow",
            help: "Tasks by bundle, flow and state, all projects.",
            byFlow.keys.sorted { $0.joined(separator: "\u{0}") < $1.joined(separator: "\u{0}") }.map { key in
                (labels: [("bundle", key[0]), ("flow", key[1]), ("state", key[2])], value: byFlow[key]!)
            }
        )
        text.gauge("loom_queue_depth", help: "Tasks queued behind the one in flight, per project.", queueDepth)
        text.gauge("loom_gates_open", help: "Gates waiting for a person, per project.", gatesOpen)
        text.gauge(
            "loom_gate_open_oldest_seconds",
            help: "How long the oldest waiting gate has waited, per project (0 when none waits).",
            gateOldest
        )
        let quarantined = quarantines.all
        text.gauge(
            "loom_project_quarantined",
            help:
                "1 while a project is quarantined (its database was written by someone other than loomd), per project.",
            registry.all.map { (labels: [("project", $0)], value: quarantined[$0] == nil ? 0 : 1) }
        )
        text.histogram("loom_tick_duration_seconds", help: "Time to commit one kernel tick.", metrics.tickSeconds)
        text.histogram(
            "loom_schedule_to_start_seconds",
            help: "Time from an effect's intent to its start on the pool.",
            metrics.scheduleToStart
        )
        text.histogram("loom_gate_wait_seconds", help: "Time a gate waited for its answer.", metrics.gateWait)
        text.counter(
            "loom_spawns_total",
            help:
                "Model calls this loomd process made since it started, by outcome (a task's spawns used is its spawn_count, in status).",
            metrics.spawns.snapshot.map { (labels: [("outcome", $0.0)], value: $0.1) }
        )
        text.counter(
            "loom_tokens_total",
            help: "Tokens used by agent spawns.",
            metrics.tokens.snapshot.map { (labels: [("kind", $0.0)], value: $0.1) }
        )
        text.counter(
            "loom_tokens_estimated_total",
            help:
                "Of loom_tokens_total, the tokens loom estimated from the text (4 bytes a token) because the server reported none.",
            metrics.tokensEstimated.snapshot.map { (labels: [("kind", $0.0)], value: $0.1) }
        )
        text.counter(
            "loom_cost_usd_total",
            help: "Cost of agent spawns in US dollars.",
            [(labels: [], value: metrics.costUSD)]
        )
        text.counter(
            "loom_cost_estimated_usd_total",
            help: "Of loom_cost_usd_total, the cost priced from estimated tokens.",
            [(labels: [], value: metrics.estimatedCostUSD)]
        )
        if let gateNotifier {
            text.counter(
                "loom_notifications_total",
                help: "Gate notifications by outcome (sent, failed, dropped when too many waited).",
                gateNotifier.outcomes.snapshot.map { (labels: [("outcome", $0.0)], value: $0.1) }
            )
        }
        text.counter(
            "loom_effect_retries_total",
            help: "Effect retries by reason.",
            metrics.retries.snapshot.map { (labels: [("reason", $0.0)], value: $0.1) }
        )
        text.counter(
            "loom_invariant_violations_total",
            help: "Ticks refused by a commit-time rule, by rule.",
            metrics.violations.snapshot.map { (labels: [("rule", $0.0)], value: $0.1) }
        )
        text.counter(
            "loom_refusals_suppressed_total",
            help: "Refused requests counted, not journaled one by one (their peer's budget ran out), by kind.",
            metrics.refusalsSuppressed.snapshot.map { (labels: [("kind", $0.0)], value: $0.1) }
        )
        text.gauge(
            "loom_recovery_duration_seconds",
            help: "Start-up recovery time, before READY.",
            [(labels: [], value: metrics.recoverySeconds)]
        )
        text.counter(
            "loom_recovered_effects_total",
            help: "Effects re-issued by start-up recovery.",
            [(labels: [], value: Double(metrics.recoveredEffects))]
        )
        text.gauge(
            "loom_last_completion_timestamp_seconds",
            help: "When a task last finished (Unix time).",
            [(labels: [], value: metrics.lastCompletionSeconds)]
        )
        return text.text
    }

    /// Where a code task's change is, for a front-end that shows its diff: the worktree and
    /// the commit it started from while the task works, its branch always.
    static func workspaceJSON(project: String, task: String) -> JSONValue {
        let workspace = TaskWorkspace(projectDirectory: project, taskID: task)
        var json: [String: JSONValue] = ["branch": .string(workspace.branch)]
        if workspace.exists {
            json["directory"] = .string(workspace.directory)
            if let base = workspace.baseCommit { json["base"] = .string(base) }
        }
        return .object(json)
    }
}
