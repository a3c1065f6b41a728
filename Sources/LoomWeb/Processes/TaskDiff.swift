import Foundation
import LoomCode

/// The change a task has made so far: the worktree against the commit it started from while
/// the task works (`<project>/.loom/worktrees/<task>`), or its branch `loom/<task>` against
/// where it forked once the worktree is gone. Read-only: no `git add`, so the worktree's
/// index is the task's alone; new files the task has not staged are listed by name.
public enum TaskDiff {
    public struct Diff: Sendable {
        public var source: String
        public var text: String
        public var truncated: Bool
        public var untracked: [String]
        public var problem: String?
    }

    public static func read(project: String, task: String, limits: DashboardLimits) async -> Diff {
        let workspace = TaskWorkspace(projectDirectory: project, taskID: task)
        if workspace.exists {
            let base = (try? String(contentsOfFile: workspace.baseFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            let against = (base?.isEmpty == false ? base! : "HEAD")
            let diff = await BoundedProcess.run(["git", "diff", "--no-color", "--no-ext-diff", against, "--"], directory: workspace.directory,
                                                timeoutMs: limits.childProcessTimeoutMs, outputBytesMax: limits.diffBytesMax)
            let others = await BoundedProcess.run(["git", "ls-files", "--others", "--exclude-standard"], directory: workspace.directory,
                                                  timeoutMs: limits.childProcessTimeoutMs, outputBytesMax: 64 << 10)
            let untracked = others.ok ? others.text.split(separator: "\n").map(String.init).prefix(200).map { $0 } : []
            return Diff(source: "worktree \(workspace.directory) against \(against.prefix(12))", text: diff.text, truncated: diff.truncated,
                        untracked: untracked, problem: diff.failure)
        }
        let branch = workspace.branch
        let exists = await BoundedProcess.run(["git", "rev-parse", "--verify", "--quiet", "refs/heads/\(branch)"], directory: project,
                                              timeoutMs: limits.childProcessTimeoutMs, outputBytesMax: 4 << 10)
        guard exists.ok else {
            return Diff(source: "", text: "", truncated: false, untracked: [], problem: "no worktree and no branch \(branch) yet")
        }
        let diff = await BoundedProcess.run(["git", "diff", "--no-color", "--no-ext-diff", "HEAD...\(branch)", "--"], directory: project,
                                            timeoutMs: limits.childProcessTimeoutMs, outputBytesMax: limits.diffBytesMax)
        return Diff(source: "branch \(branch) against where it forked from HEAD", text: diff.text, truncated: diff.truncated, untracked: [], problem: diff.failure)
    }
}
