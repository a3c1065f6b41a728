import LoomEngine

/// Handler `git.deliver`: commits on `loom/<task>` exactly the tree the last diff step
/// recorded, the one the reviewers read, the checks ran on and the final gate approved,
/// with a message naming the task. Nothing is merged or pushed; shipping is a person's
/// decision.
///
/// Whatever changed in the worktree after that diff (a reviewer's edit, a check's build
/// output) is not delivered: the commit is made from the recorded tree with
/// `git commit-tree` and the branch moved by compare-and-swap, so neither the worktree's
/// index nor which branch it has checked out matters. Idempotent: when the branch already
/// holds that tree (it was committed before a crash), its head is reported again.
public struct DeliverBranch: StepHandler {
    public init() {}

    public func run(_ request: HandlerRequest) -> CommandResult {
        let workspace = TaskWorkspace(projectDirectory: request.projectDirectory, taskID: request.taskID)
        guard let base = workspace.baseCommit else {
            return CommandResult(
                status: .failed,
                exitCode: nil,
                output: "task \(request.taskID) has no prepared worktree (the git.prepare step did not run)"
            )
        }
        guard let tree = workspace.reviewedTree else {
            return CommandResult(
                status: .failed,
                exitCode: nil,
                output:
                    "task \(request.taskID) has no recorded change (the git.diff step did not run); nothing was committed"
            )
        }
        do {
            let git = Git(directory: request.projectDirectory)
            let head = try git.check(["rev-parse", "refs/heads/\(workspace.branch)"], "reading \(workspace.branch)")
            let headTree = try git.check(["rev-parse", "\(head)^{tree}"], "reading \(workspace.branch)'s tree")
            var commit = head
            var note = "nothing left to commit"
            if headTree != tree {
                let subject =
                    request.title.isEmpty ? "loom \(request.taskID)" : "loom \(request.taskID): \(request.title)"
                commit = try git.check(
                    [
                        "-c", "user.name=loom", "-c", "user.email=loom@localhost", "commit-tree", tree, "-p", head,
                        "-m", subject, "-m", "Loom-Task: \(request.taskID)",
                    ],
                    "committing the change"
                )
                try git.check(
                    [
                        "update-ref", "-m", "loom deliver \(request.taskID)", "refs/heads/\(workspace.branch)", commit,
                        head,
                    ],
                    "moving \(workspace.branch)"
                )
                note = "committed"
            }
            let count =
                Int(try git.check(["rev-list", "--count", "\(base)..\(commit)"], "counting the branch's commits")) ?? 0
            if count == 0 { note = "no change to deliver" }
            return CommandResult(
                status: .ok,
                exitCode: 0,
                output: "\(note); \(workspace.branch) is at \(commit)",
                details: .object([
                    "branch": .string(workspace.branch), "commit": .string(commit), "commits": .int(Int64(count)),
                    "tree": .string(tree),
                ])
            )
        } catch {
            return CommandResult(status: .failed, exitCode: nil, output: error.message)
        }
    }
}
