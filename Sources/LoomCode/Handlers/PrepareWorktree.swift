import LoomEngine
import LoomProviders
import LoomSystem
import LoomValues

/// Handler `git.prepare`: checks the repository and makes the task's worktree on a new
/// branch `loom/<task>` from the base, before any agent runs.
///
/// Refused with a clear message: no git, not a repository, a detached HEAD, uncommitted
/// changes, a base that does not exist, a bad `.loom/config`. Idempotent: a worktree the
/// task already has (a crash after it was made) is reused as it is.
public struct PrepareWorktree: StepHandler {
    public init() {}

    public func run(_ request: HandlerRequest) -> CommandResult {
        do {
            return try prepare(request)
        } catch {
            return CommandResult(status: .failed, exitCode: nil, output: error.message)
        }
    }

    private func prepare(_ request: HandlerRequest) throws(GitError) -> CommandResult {
        let project = request.projectDirectory
        let workspace = TaskWorkspace(projectDirectory: project, taskID: request.taskID)
        let git = Git(directory: project)
        LoomDirectory.ensure(project: project)
        let config: CodeConfig
        // The checks are fixed here, before any agent runs: an agent's edit of the file
        // later changes nothing for this task (see RunChecks).
        let configText = FileSystem.readText(CodeConfig.path(project: project), limit: 256 * 1024) ?? "{}"
        do {
            config = try CodeConfig.parse(configText, path: CodeConfig.path(project: project))
        } catch {
            throw GitError("the project's .loom/config cannot be used: \(error)", command: [])
        }
        if workspace.exists, let base = workspace.baseCommit {
            let branch = try workspace.git().check(
                ["rev-parse", "--abbrev-ref", "HEAD"],
                "reading the worktree's branch"
            )
            guard branch == workspace.branch else {
                throw GitError(
                    "\(workspace.directory) exists but is on \(branch), not \(workspace.branch); remove it and resubmit",
                    command: []
                )
            }
            if FileSystem.readText(workspace.configSnapshotFile, limit: 256 * 1024) == nil {
                try record(configText, at: workspace.configSnapshotFile)
            }
            return ready(workspace, base: base, note: "reusing the worktree")
        }
        let readiness = try GitReadiness().check(project, base: config.base)
        let baseName = readiness.name
        let base = readiness.commit
        // A project below its repository's top (a monorepo): agents and checks work in its place
        // inside the worktree, which holds the whole repository.
        let prefix = try git.check(["rev-parse", "--show-prefix"], "locating the project in its repository")
        guard FileSystem.makeDirectories(TaskWorkspace.root(of: project)) else {
            throw GitError("cannot create \(TaskWorkspace.root(of: project))", command: [])
        }
        try record(configText, at: workspace.configSnapshotFile)
        try record(prefix + "\n", at: workspace.prefixFile)
        try record(base + "\n", at: workspace.baseFile)
        // A directory removed by hand leaves a registration behind that would refuse the add.
        _ = try git.run(["worktree", "prune"])
        if try git.run(["rev-parse", "--verify", "--quiet", "refs/heads/\(workspace.branch)"]).ok {
            try git.check(["worktree", "add", "--quiet", workspace.directory, workspace.branch], "adding the worktree")
        } else {
            try git.check(
                ["worktree", "add", "--quiet", "-b", workspace.branch, workspace.directory, base],
                "adding the worktree"
            )
        }
        return ready(workspace, base: base, note: "created the worktree from \(baseName)")
    }

    private func record(_ text: String, at path: String) throws(GitError) {
        do {
            try FileSystem.writeAtomically(path, text)
        } catch {
            throw GitError(error.description, command: [])
        }
    }

    /// The result, with the recorded config in it: the journal shows which checks the task runs.
    private func ready(_ workspace: TaskWorkspace, base: String, note: String) -> CommandResult {
        var details: [String: JSONValue] = [
            "branch": .string(workspace.branch), "baseCommit": .string(base), "worktree": .string(workspace.directory),
        ]
        if let text = FileSystem.readText(workspace.configSnapshotFile, limit: 256 * 1024),
            let config = try? JSONValue.parse(text)
        {
            details["config"] = config
        }
        return CommandResult(
            status: .ok,
            exitCode: 0,
            output: "\(note): \(workspace.directory) on \(workspace.branch) at \(base)",
            details: .object(details)
        )
    }
}
