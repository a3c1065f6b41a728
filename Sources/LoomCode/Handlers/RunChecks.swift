import LoomEngine
import LoomProviders
import LoomSystem
import LoomValues

/// Handler `checks`: runs the project's lint, test and typecheck commands in the task's
/// worktree, put back first to the tree the last diff recorded (the one delivery commits).
/// Deterministic steps, not agents: a model never writes a check result.
///
/// The commands are the ones `.loom/config` held when the task's worktree was prepared,
/// before any agent ran (`TaskWorkspace.configSnapshot`, journaled in the prepare step's
/// result): an agent that edits the file changes nothing for its task or any other. Each
/// check runs confined (`Launcher`: the code it runs is the agent's), without a network
/// unless the check asks for one, and its entry records how it ran.
///
/// Each check has its own timeout and output cap; the step's own timeout bounds them all.
/// The result is `ok` when every check passed, `skipped` when none is configured, else
/// `failed`, with each check's status in `details.checks` for the rules.
public struct RunChecks: StepHandler {
    public let confinement: Confinement

    public init(confinement: Confinement) {
        self.confinement = confinement
    }

    public func run(_ request: HandlerRequest) -> CommandResult {
        let config: CodeConfig
        do {
            config = try TaskWorkspace(projectDirectory: request.projectDirectory, taskID: request.taskID)
                .recordedConfig()
        } catch {
            return CommandResult(status: .failed, exitCode: nil, output: "the task's checks cannot be read: \(error)")
        }
        guard !config.checks.isEmpty else {
            return CommandResult(
                status: .skipped,
                exitCode: nil,
                output: "no checks configured in .loom/config",
                details: .object(["checks": .array([])])
            )
        }
        let directory = TaskWorkspace.workingDirectory(project: request.projectDirectory, task: request.taskID)
        // Checks judge what will be delivered: the tree the last diff recorded. An edit made
        // since (a reviewer with write access) is put back, and every file not in that tree
        // removed (a conftest.py that makes the tests pass), ignored ones too: an agent can
        // write a .gitignore as easily as the file it hides. Checks rebuild their caches.
        let workspace = TaskWorkspace(projectDirectory: request.projectDirectory, taskID: request.taskID)
        if workspace.exists, let tree = workspace.reviewedTree {
            do {
                let git = try workspace.git()
                try git.check(
                    ["read-tree", "-u", "--reset", tree],
                    "putting the worktree back to the recorded tree \(tree.prefix(12))"
                )
                try git.check(["clean", "-ffdx", "--quiet"], "removing files added since the diff")
            } catch {
                return CommandResult(
                    status: .failed,
                    exitCode: nil,
                    output: "cannot put the worktree back to the recorded tree: \(error)"
                )
            }
        }
        let deadline = MonotonicClock.milliseconds() + request.timeoutMs
        // Asked of git once for all the checks: the repository every check may read.
        let gitDirectories = TaskWorkspace.gitDirectories(project: request.projectDirectory)
        let perCheckOutput = max(256, request.outputLimitBytes / config.checks.count)
        var report = ""
        var entries: [JSONValue] = []
        var allPassed = true
        var truncated = false
        // loomd's PATH, then what .loom/config sets (its PATH included), as recorded at prepare.
        let environment = Git.environment.merging(config.environment) { $1 }
        for check in config.checks {
            let remaining = deadline - MonotonicClock.milliseconds()
            guard remaining > 0 else {
                allPassed = false
                entries.append(
                    .object(["name": .string(check.name), "status": .string("timeout"), "durationMs": .int(0)])
                )
                report += "== \(check.name): not run, the step's time ran out\n"
                continue
            }
            var started: Int32 = 0
            let profile = LaunchProfile(
                kind: .check,
                workingDirectory: directory,
                projectDirectory: request.projectDirectory,
                readOnlyPaths: gitDirectories,
                network: check.network
            )
            let launch = Launcher.run(
                argv: check.argv,
                profile: profile,
                confinement: confinement,
                environment: environment,
                timeoutMs: min(check.timeoutMs, remaining),
                outputLimitBytes: min(config.checkOutputLimitBytes, perCheckOutput),
                onStart: { pid in
                    started = pid
                    request.onChild(pid, true)
                }
            )
            if started > 0 { request.onChild(started, false) }
            let outcome = launch.result
            let status: CommandResult.Status =
                outcome.spawnError != nil
                ? .failed : outcome.timedOut ? .timeout : outcome.exitCode == 0 ? .ok : .failed
            if status != .ok { allPassed = false }
            truncated = truncated || outcome.truncated
            var entry: [String: JSONValue] = [
                "name": .string(check.name), "status": .string(status.rawValue),
                "durationMs": .int(Int64(outcome.durationMs)),
                "confinement": launch.record,
            ]
            if let code = outcome.exitCode { entry["exitCode"] = .int(Int64(code)) }
            entries.append(.object(entry))
            report +=
                "== \(check.name): \(status.rawValue)\(outcome.exitCode.map { ", exit \($0)" } ?? ""), \(outcome.durationMs) ms\n"
            report += outcome.spawnError ?? String(decoding: outcome.output, as: UTF8.self)
            if !report.hasSuffix("\n") { report += "\n" }
        }
        return CommandResult(
            status: allPassed ? .ok : .failed,
            exitCode: nil,
            output: report,
            truncated: truncated,
            durationMs: 0,
            details: .object(["checks": .array(entries), "environment": ChildEnvironment.recordable(environment)])
        )
    }
}
