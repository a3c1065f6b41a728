import LoomEngine

/// Handler `git.deliver`: commits the task's change on `loom/<task>` with a message naming
/// the task. Nothing is merged or pushed; shipping is a person's decision.
///
/// Idempotent: when nothing is left to commit (it was committed before a crash), the
/// branch's head is reported again instead of committing twice.
public struct DeliverBranch: StepHandler {
    public init() {}

    public func run(_ request: HandlerRequest) -> CommandResult {
        let workspace = TaskWorkspace(projectDirectory: request.projectDirectory, taskID: request.taskID)
        guard workspace.exists, let base = workspace.baseCommit else {
            return CommandResult(status: .failed, exitCode: nil, output: "task \(request.taskID) has no prepared worktree (the git.prepare step did not run)")
        }
        do {
            let git = Git(directory: workspace.directory)
            // An agent may have switched the worktree to another branch: commit nowhere else.
            let branch = try git.run(["symbolic-ref", "-q", "--short", "HEAD"])
            guard branch.ok, branch.text.trimmingSpaces() == workspace.branch else {
                return CommandResult(status: .failed, exitCode: nil, output: "the worktree of \(request.taskID) is not on \(workspace.branch) (HEAD: \(branch.ok ? branch.text.trimmingSpaces() : "detached")); nothing was committed")
            }
            try git.check(["add", "-A"], "staging the worktree")
            let staged = try git.run(["diff", "--cached", "--quiet"])
            var note: String
            if staged.exitCode == 1 {
                let subject = request.title.isEmpty ? "loom \(request.taskID)" : "loom \(request.taskID): \(request.title)"
                try git.check(["-c", "user.name=loom", "-c", "user.email=loom@localhost", "-c", "commit.gpgsign=false",
                               "commit", "--quiet", "--no-verify", "-m", subject, "-m", "Loom-Task: \(request.taskID)"], "committing the change")
                note = "committed"
            } else {
                note = "nothing left to commit"
            }
            let head = try git.check(["rev-parse", "HEAD"], "reading the branch head")
            let count = Int(try git.check(["rev-list", "--count", "\(base)..HEAD"], "counting the branch's commits")) ?? 0
            if count == 0 { note = "no change to deliver" }
            return CommandResult(status: .ok, exitCode: 0, output: "\(note); \(workspace.branch) is at \(head)", details: .object([
                "branch": .string(workspace.branch), "commit": .string(head), "commits": .int(Int64(count)),
            ]))
        } catch {
            return CommandResult(status: .failed, exitCode: nil, output: error.message)
        }
    }
}
