import LoomEngine
import LoomProviders
import LoomSystem

/// Handler `git.diff`: the task's change so far, against the commit its branch started
/// from, with the facts rules need (which files, which of them are tests, whether empty).
///
/// Stages everything in the worktree first (its own index, not the person's), so new files
/// are part of the change.
public struct DiffWorktree: StepHandler {
    /// At most this many paths are listed in the details (the count is always exact).
    public static let filesListedMax = 500

    public init() {}

    public func run(_ request: HandlerRequest) -> CommandResult {
        let workspace = TaskWorkspace(projectDirectory: request.projectDirectory, taskID: request.taskID)
        guard workspace.exists, let base = workspace.baseCommit else {
            return CommandResult(
                status: .failed,
                exitCode: nil,
                output: "task \(request.taskID) has no prepared worktree (the git.prepare step did not run)"
            )
        }
        do {
            let git = try workspace.git()
            try git.check(["add", "-A"], "staging the worktree")
            // The exact content this diff shows, for delivery to commit and nothing else.
            let tree = try git.check(["write-tree"], "recording the worktree's tree")
            guard (try? FileSystem.writeAtomically(workspace.reviewedTreeFile, tree + "\n")) != nil else {
                return CommandResult(
                    status: .failed,
                    exitCode: nil,
                    output: "cannot write \(workspace.reviewedTreeFile)"
                )
            }
            let names = try git.check(["diff", "--cached", "--name-only", "-z", base], "listing changed files")
            let files = names.split(separator: "\0").map(String.init).filter { !$0.isEmpty }
            var insertions = 0, deletions = 0
            for line in try git.check(["diff", "--cached", "--numstat", base], "counting changed lines").split(
                separator: "\n"
            ) {
                let parts = line.split(separator: "\t")
                if parts.count >= 2 {
                    insertions += Int(parts[0]) ?? 0
                    deletions += Int(parts[1]) ?? 0
                }
            }
            var diffGit = git
            diffGit.outputLimitBytes = request.outputLimitBytes
            let text = try diffGit.run(["diff", "--cached", base])
            // The test globs recorded at prepare: which paths count as tests is not the agent's to change.
            let config = (try? workspace.recordedConfig()) ?? CodeConfig()
            let tests = TestFileGlobs.matches(files, globs: config.testGlobs)
            return CommandResult(
                status: .ok,
                exitCode: 0,
                output: text.text,
                truncated: text.truncated,
                details: .object([
                    "files": .array(files.prefix(Self.filesListedMax).map { .string($0) }),
                    "fileCount": .int(Int64(files.count)),
                    "testFiles": .array(tests.prefix(Self.filesListedMax).map { .string($0) }),
                    "empty": .bool(files.isEmpty),
                    "insertions": .int(Int64(insertions)),
                    "deletions": .int(Int64(deletions)),
                    "tree": .string(tree),
                ])
            )
        } catch {
            return CommandResult(status: .failed, exitCode: nil, output: error.message)
        }
    }
}
