import Foundation
import LoomCode
import LoomDaemon
import LoomEngine
import LoomPolicy
import LoomProviders
import LoomTestKit
import LoomValues

@testable import LoomHost

/// A real git repository in a temporary folder with a tiny project whose test really runs
/// (`sh check.sh` passes when value.txt holds 42), the code bundle, an engine on the
/// project's own database, and the executor the daemon uses, driven in-process.
final class CodeWorld {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let person = Caller(
        principal: .human(uid: 1000),
        uid: 1000,
        gid: 1000,
        pid: 4242,
        executable: "/usr/bin/loomctl"
    )

    let project: String
    let bundle: LoomBundle
    var executor: EffectExecutor
    private(set) var engine: Engine
    private let clock = SimulatedClock()

    /// Checks run as loomd runs them: confined by bubblewrap, the default.
    static let confinement = Confinement.bubblewrap(hiding: [])

    /// The repository's top; `project` is it, or a folder below it (`subdirectory`, a monorepo).
    let repository: String

    init(
        script: JSONValue,
        config: String? = CodeWorld.defaultConfig,
        makeRepository: Bool = true,
        subdirectory: String? = nil,
        bundleName: String = "code"
    ) throws {
        let top = "/tmp/loom-code-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        repository = top
        project = subdirectory.map { "\(top)/\($0)" } ?? top
        try FileManager.default.createDirectory(atPath: project, withIntermediateDirectories: true)
        LoomDirectory.ensure(project: project)
        bundle = try BundleLoader.load(directory: "\(Self.repositoryRoot)/bundles/\(bundleName)")
        executor = EffectExecutor(provider: ScriptedProvider(script: script), confinement: Self.confinement)
        engine = try Engine(store: Store(path: "\(project)/.loom/state.db"), bundles: [bundle], clock: clock.next)
        if makeRepository {
            _ = try Git(directory: repository).check(["init", "-q", "-b", "main"], "init")
            if subdirectory != nil {
                try "the rest of the monorepo\n".write(
                    toFile: "\(repository)/README",
                    atomically: true,
                    encoding: .utf8
                )
            }
            try git("config", "user.name", "Person")
            try git("config", "user.email", "person@example.org")
            try write("value.txt", "41\n")
            try write(
                "check.sh",
                "test \"$(cat value.txt)\" = 42 || { echo \"value is $(cat value.txt), expected 42\"; exit 1; }\n"
            )
            try write("tests/value_test.sh", "sh check.sh\n")
            try git("add", "-A")
            try git("commit", "-q", "-m", "initial")
        }
        if let config { try write(".loom/config", config) }
    }

    static let defaultConfig = #"{"checks": [{"name": "test", "run": "sh check.sh", "timeoutMs": 60000}]}"#

    deinit { try? FileManager.default.removeItem(atPath: repository) }

    // MARK: Driving

    func submit(
        _ input: String = "Make value.txt hold 42",
        preset: PolicyPreset = .gatesOnBlockers,
        flow: String? = nil
    ) throws -> String {
        try engine.submit(bundle: bundle.name, flow: flow, input: input, policy: preset.policy, by: Self.person).taskID
    }

    /// Executes and delivers pending effects until none is left (a parked or ended task).
    @discardableResult
    func run(limit: Int = 200) throws -> Int {
        var executed = 0
        while executed < limit {
            let pending = try engine.pendingEffects()
            guard let effect = pending.first else { return executed }
            _ = try engine.deliver(key: effect.key, result: executor.execute(effect, project: project))
            executed += 1
        }
        throw LoomError(.internal, "the task did not settle within \(limit) effects")
    }

    /// Executes the next pending effect but does not deliver its result: the daemon died
    /// between the two. Then the database is reopened as a restarted daemon would.
    func crashAfterExecutingNext() throws -> Effect {
        guard let effect = try engine.pendingEffects().first else { throw LoomError(.internal, "nothing pending") }
        _ = executor.execute(effect, project: project)
        engine = try Engine(store: Store(path: "\(project)/.loom/state.db"), bundles: [bundle], clock: clock.next)
        return effect
    }

    func approve(_ task: String, message: String = "") throws {
        guard let gate = try engine.waitingGate(task: task) else {
            throw LoomError(.internal, "no gate waits for \(task)")
        }
        _ = try engine.answerGate(task: task, gate: gate.eventID, answer: .approve, message: message, by: Self.person)
    }

    func task(_ id: String) throws -> TaskRecord {
        guard let record = try engine.task(id) else { throw LoomError(.notFound, "no task \(id)") }
        return record
    }

    func rows(_ sql: String) throws -> [JSONValue] { try engine.store.query(sql) }

    /// Units spawned for `step`, as `unit@iteration`, in order.
    func spawned(_ step: String) throws -> [String] {
        try rows(
            "SELECT unit, iteration FROM effects WHERE step = '\(step)' AND attempt = 1 ORDER BY intent_tick, unit"
        )
        .map { "\($0["unit"]?.stringValue ?? "")@\($0["iteration"]?.intValue ?? -1)" }
    }

    // MARK: The repository

    /// Task `task`'s worktree, prepared by the handler, with value.txt set to `value` and
    /// recorded by the diff step; the request the handlers were given, and the worktree.
    func diffedWorktree(task: String, value: String) throws -> (HandlerRequest, String) {
        let request = HandlerRequest(
            taskID: task,
            step: "final_checks",
            input: "x",
            projectDirectory: project,
            timeoutMs: 60_000,
            outputLimitBytes: 4_096
        )
        guard PrepareWorktree().run(request).status == .ok else {
            throw LoomError(.internal, "git.prepare failed for \(task)")
        }
        let worktree = TaskWorkspace(projectDirectory: project, taskID: task).directory
        try "\(value)\n".write(toFile: "\(worktree)/value.txt", atomically: true, encoding: .utf8)
        guard DiffWorktree().run(request).status == .ok else {
            throw LoomError(.internal, "git.diff failed for \(task)")
        }
        return (request, worktree)
    }

    func write(_ path: String, _ text: String) throws {
        let url = URL(fileURLWithPath: "\(project)/\(path)")
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    @discardableResult
    func git(_ arguments: String...) throws -> String {
        let output = try Git(directory: project).run(arguments)
        guard output.ok else {
            throw LoomError(.internal, "git \(arguments.joined(separator: " ")) failed: \(output.text)")
        }
        return output.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Everything a person could see of their checkout: status, branch, HEAD, index, and
    /// the bytes of every file outside .git and .loom.
    func userView() throws -> String {
        var view = try [
            git("status", "--porcelain", "--untracked-files=all"), git("symbolic-ref", "HEAD"),
            git("rev-parse", "HEAD"), git("ls-files", "-s"),
        ]
        let files = FileManager.default.enumerator(atPath: project)!
        while let path = files.nextObject() as? String {
            if path == ".git" || path == ".loom" {
                files.skipDescendants()
                continue
            }
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: "\(project)/\(path)", isDirectory: &isDirectory)
            if isDirectory.boolValue { continue }
            let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(project)/\(path)"))
            view.append("\(path): \(SHA256.hash(Array(bytes)).hexString)")
        }
        return view.sorted().joined(separator: "\n")
    }
}

/// Scripted answers for the code bundle's agents.
enum CodeScript {
    static func output(_ value: JSONValue, edits: [String: JSONValue]? = nil) -> JSONValue {
        var answer: [String: JSONValue] = ["output": value, "tokensIn": 100, "tokensOut": 20]
        if let edits { answer["edits"] = .object(edits) }
        return .object(answer)
    }

    static func classify(_ flow: String) -> JSONValue {
        output(.object(["flow": .string(flow), "reason": "scripted"]))
    }
    static let plan = output([
        "summary": "Set value.txt to 42.", "steps": ["Write 42 into value.txt"], "files": ["value.txt"],
    ])
    static func implement(value: String, extra: [String: JSONValue] = [:]) -> JSONValue {
        var edits: [String: JSONValue] = ["value.txt": .string("\(value)\n")]
        edits.merge(extra) { $1 }
        return output(
            .object([
                "summary": .string("Wrote \(value) into value.txt."),
                "files": .array(edits.keys.sorted().map { .string($0) }),
            ]),
            edits: edits
        )
    }
    static let approve = output(["verdict": "APPROVE", "summary": "Looks right.", "findings": []])
    static func block(_ summary: String) -> JSONValue {
        output([
            "verdict": "REQUEST_CHANGES", "summary": "Needs a fix.",
            "findings": [
                [
                    "file": "value.txt", "lines": ["start": 1, "end": 1], "severity": "blocking", "category": "logic",
                    "summary": .string(summary),
                    "evidence": "value.txt", "suggestedFix": "write 42",
                ]
            ],
        ])
    }
    static let accept = output([
        "verdict": "accept", "summary": "Nothing left to fix.", "dismissed": [], "findings": [],
    ])
    static let fix = output(["verdict": "fix", "summary": "The logic finding stands.", "dismissed": [], "findings": []])
    static let summary = output(["summary": "value.txt now holds 42."])

    /// Every role answering well, with overrides by role.
    static func script(_ overrides: [String: [JSONValue]] = [:], flow: String = "medium") -> JSONValue {
        var agents: [String: JSONValue] = [
            "classifier": [classify(flow)], "planner": [plan], "implementer": [implement(value: "42")],
            "reviewer-logic": [approve], "reviewer-security": [approve], "reviewer-tests": [approve],
            "adjudicator": [accept], "summarizer": [summary], "answerer": [output(["answer": "It holds 41."])],
        ]
        for (role, answers) in overrides { agents[role] = .array(answers) }
        return .object(["agents": .object(agents)])
    }
}
