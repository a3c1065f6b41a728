import Foundation
import LoomIPC
import LoomValues
import MCP

/// The tools loom offers an agent host, each a thin call to loomd's socket.
///
/// The host executes agent steps (`next_step`, `report_step`); loomd runs command and
/// handler steps and owns every decision. Gates are listed and may be answered here, but
/// an answer is judged by loomd like any other: this server and its host are an agent
/// host, so an answer to a gate that needs a person is refused and journaled.
struct LoomTools: Sendable {
    let options: MCPOptions
    let connection: LoomConnection

    /// Polling interval while `next_step` waits for loomd to finish command steps.
    static let pollIntervalMs = 200

    static let definitions: [Tool] = [
        Tool(
            name: "submit",
            description: """
                Submit a task to loom in this project. Its agent steps are executed by you (the host): \
                call next_step, do the step, report_step its output, repeat until next_step says the task finished \
                or waits at a gate. Returns the task id.
                """,
            inputSchema: schema(
                [
                    "input": "What to do, in words.",
                    "flow": "Optional flow of the bundle (code: classify, question, trivial, simple, medium).",
                    "policy":
                        "Optional policy preset (full-supervised, review-plan-only, review-final-only, gates-on-blockers, full-autonomous).",
                    "bundle": "Optional bundle (default: the daemon's).",
                    "idempotency_key": "Optional key that makes a retried submit harmless.",
                    "project": "Optional absolute project path (default: the server's project).",
                ],
                required: ["input"]
            )
        ),
        Tool(
            name: "status",
            description:
                "A task's status (step, gate, checks, branch), or the project's active tasks when no task is named.",
            inputSchema: schema(
                ["task": "Task id such as t1 (optional).", "project": "Optional absolute project path."],
                required: []
            )
        ),
        Tool(
            name: "next_step",
            description: """
                The next agent step for you to execute, with its instructions and the directory (the task's git worktree) to work in. \
                Waits up to wait_seconds while loomd runs command steps. When nothing is left for you it says why: \
                the task finished (with its branch), or it waits at a gate that a person answers.
                """,
            inputSchema: schema(
                [
                    "task": "Task id (optional: any host task of the project).",
                    "wait_seconds": "How long to wait for a step (default 20).",
                    "project": "Optional absolute project path.",
                ],
                required: [],
                integers: ["wait_seconds"]
            )
        ),
        Tool(
            name: "report_step",
            description: """
                Report the result of a step from next_step: its key, your output (the JSON the instructions ask for, as text) and the session \
                that did the work. Review and adjudication must be done in a fresh context (a subagent) with a session name of its own: \
                loom refuses a reviewer whose session wrote the implementation. Use error instead of output if the step cannot be done.
                """,
            inputSchema: schema(
                [
                    "key": "The step's key from next_step.", "output": "The step's output as text (JSON).",
                    "session": "Name of the context that did the step (A-Z a-z 0-9 . _ -).",
                    "error": "Instead of output: why the step could not be done (ends the task as failed).",
                    "model": "Optional model name, for the record.",
                    "project": "Optional absolute project path.",
                ],
                required: ["key", "session"]
            )
        ),
        Tool(
            name: "gates",
            description:
                "Tasks of the project waiting at a gate: the gate event id, its role and why a person must answer.",
            inputSchema: schema(["project": "Optional absolute project path."], required: [])
        ),
        Tool(
            name: "answer_gate",
            description: """
                Answer a gate (approve, request_changes with a message, abandon). loomd judges the answer by who sends it: \
                an agent host is never an approver, so an answer from here to a gate that needs a person is refused and recorded. \
                A person answers with `loomctl approve|reject|abandon` or the Telegram bot.
                """,
            inputSchema: schema(
                [
                    "task": "Task id.", "answer": "approve, request_changes or abandon.",
                    "gate": "The gate event id (default: the one waiting now).",
                    "message": "Why; required for request_changes.", "project": "Optional absolute project path.",
                ],
                required: ["task", "answer"]
            )
        ),
        Tool(
            name: "replay",
            description:
                "Replay a task's journal into a fresh database and compare every row: identical, or where it diverged.",
            inputSchema: schema(["task": "Task id.", "project": "Optional absolute project path."], required: ["task"])
        ),
    ]

    private static func schema(_ properties: [String: String], required: [String], integers: Set<String> = []) -> Value
    {
        .object([
            "type": "object",
            "properties": .object(
                properties.mapValues { _ in .object([:]) }.merging(
                    properties.map { name, help in
                        (
                            name,
                            Value.object([
                                "type": .string(integers.contains(name) ? "integer" : "string"),
                                "description": .string(help),
                            ])
                        )
                    },
                    uniquingKeysWith: { $1 }
                )
            ),
            "required": .array(required.map { .string($0) }),
        ])
    }

    func call(_ name: String, _ arguments: [String: Value]) async -> CallTool.Result {
        let arguments = arguments.mapValues(JSONValue.init(mcp:))
        do {
            let result = try await run(name, arguments)
            return .init(content: [.text(text: result.canonicalText, annotations: nil, _meta: nil)], isError: false)
        } catch let error as IPCError {
            return .init(
                content: [.text(text: "\(error.code.rawValue): \(error.message)", annotations: nil, _meta: nil)],
                isError: true
            )
        } catch {
            return .init(content: [.text(text: "\(error)", annotations: nil, _meta: nil)], isError: true)
        }
    }

    private func run(_ name: String, _ arguments: [String: JSONValue]) async throws -> JSONValue {
        let project = try projectPath(arguments)
        switch name {
        case "submit":
            guard let input = arguments["input"]?.stringValue, !input.isEmpty else {
                throw IPCError(.invalidParams, "input: the task to do, in words")
            }
            let params = Submit.Params(
                project: project,
                input: input,
                bundle: arguments["bundle"]?.stringValue,
                flow: arguments["flow"]?.stringValue,
                policy: arguments["policy"]?.stringValue,
                executor: "host",
                idempotencyKey: arguments["idempotency_key"]?.stringValue
            )
            var result = try connection.call(Submit.self, params).json
            if case .object(var object) = result {
                object["next"] = "call next_step with this task"
                result = .object(object)
            }
            return result
        case "status":
            return try connection.call(Status.self, TaskParams(project: project, task: arguments["task"]?.stringValue))
                .json
        case "next_step":
            return try await nextStep(
                project: project,
                task: arguments["task"]?.stringValue,
                waitSeconds: min(options.waitSecondsMax, max(0, Int(arguments["wait_seconds"]?.intValue ?? 20)))
            )
        case "report_step":
            guard let key = arguments["key"]?.stringValue else {
                throw IPCError(.invalidParams, "key: the step's key from next_step")
            }
            guard let session = arguments["session"]?.stringValue else {
                throw IPCError(.invalidParams, "session: the name of the context that did the step")
            }
            var params = EffectsDeliver.Params(
                project: project,
                key: key,
                session: session,
                model: arguments["model"]?.stringValue
            )
            switch arguments["output"] {
            case .string(let text)?: params.output = text
            case let structured? where !structured.isNull: params.output = structured.canonicalText
            default:
                guard let failure = arguments["error"]?.stringValue else {
                    throw IPCError(.invalidParams, "output (the step's output) or error (why it could not be done)")
                }
                params.error = failure
            }
            var result = try connection.call(EffectsDeliver.self, params).json
            if case .object(var object) = result {
                object["next"] = "call next_step"
                result = .object(object)
            }
            return result
        case "gates":
            let summary = try connection.call(Status.self, TaskParams(project: project, task: nil))
            let waiting = (summary["active"]?.arrayValue ?? []).compactMap { task -> JSONValue? in
                guard let gate = task["gate"] else { return nil }
                // The card: what the gate asks and the facts that decide it, as a person sees it.
                return .object([
                    "task": task["task"] ?? .null, "step": task["step"] ?? .null, "gate": gate,
                    "input": task["input"] ?? .null,
                    "card": task["card"] ?? .null,
                ])
            }
            return .object(["project": .string(project), "gates": .array(waiting)])
        case "answer_gate":
            guard let task = arguments["task"]?.stringValue, let answer = arguments["answer"]?.stringValue else {
                throw IPCError(.invalidParams, "task and answer are required")
            }
            let params = Answer.Params(
                project: project,
                task: task,
                gate: arguments["gate"]?.stringValue,
                answer: answer,
                message: arguments["message"]?.stringValue
            )
            return try connection.call(Answer.self, params).json
        case "replay":
            guard let task = arguments["task"]?.stringValue else { throw IPCError(.invalidParams, "task is required") }
            return try connection.call(Replay.self, Replay.Params(project: project, task: task)).json
        default:
            throw IPCError(
                .unknownMethod,
                "no tool named '\(name)'; tools: \(Self.definitions.map(\.name).joined(separator: ", "))"
            )
        }
    }

    private func projectPath(_ arguments: [String: JSONValue]) throws(IPCError) -> String {
        guard let path = arguments["project"]?.stringValue else { return options.project }
        guard path.hasPrefix("/") else { throw IPCError(.invalidParams, "project must be an absolute path") }
        return URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// The next pending host step, or why there is none; waits (polling) while loomd works.
    private func nextStep(project: String, task: String?, waitSeconds: Int) async throws -> JSONValue {
        let deadline = Date().addingTimeInterval(Double(waitSeconds))
        while true {
            let pending = try connection.call(
                EffectsPending.self,
                EffectsPending.Params(project: project, task: task, limit: 1)
            )
            if let effect = pending["effects"]?[0] {
                return Self.step(effect)
            }
            if let task {
                let status = try connection.call(Status.self, TaskParams(project: project, task: task))
                switch status["status"]?.stringValue {
                case "done", "failed", "cancelled", "abandoned":
                    return .object([
                        "state": "finished", "task": .string(task), "status": status["status"] ?? .null,
                        "outcome": status["outcome"] ?? .null, "branch": status["branch"] ?? .null,
                    ])
                case "parked":
                    return .object([
                        "state": "waiting_for_gate", "task": .string(task), "gate": status["gate"] ?? .null,
                        "next": .string(
                            "a person answers this gate (loomctl approve \(task) -C \(project), loomctl reject, or the Telegram bot); then call next_step again"
                        ),
                    ])
                default: break
                }
            }
            if Date() >= deadline {
                return .object([
                    "state": task == nil ? "idle" : "running", "task": task.map(JSONValue.string) ?? .null,
                    "next": "loomd is running command steps or has nothing for you yet; call next_step again",
                ])
            }
            try await Task.sleep(nanoseconds: UInt64(Self.pollIntervalMs) * 1_000_000)
        }
    }

    /// A pending effect as the host sees it: the kernel's prompt, prefixed with where to work.
    static func step(_ effect: JSONValue) -> JSONValue {
        let workdir = effect["workdir"]?.stringValue ?? "?"
        let instructions = """
            Work in the directory \(workdir) (the task's own git worktree; do not touch other checkouts). \
            When done, call report_step with key \(effect["key"]?.stringValue ?? "?"), your output, and the session name of the context \
            that did this step.

            \(effect["prompt"]?.stringValue ?? "")
            """
        return .object([
            "state": "step", "key": effect["key"] ?? .null, "task": effect["task"] ?? .null,
            "step": effect["step"] ?? .null,
            "role": effect["role"] ?? .null, "workdir": .string(workdir), "instructions": .string(instructions),
        ])
    }
}
