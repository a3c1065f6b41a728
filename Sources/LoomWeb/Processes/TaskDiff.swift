import Foundation
import LoomValues

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

    /// `workspace` is the task's status entry of that name: loomd says where the change is.
    public static func read(project: String, workspace: JSONValue, limits: DashboardLimits) async -> Diff {
        if let directory = workspace["directory"]?.stringValue {
            let against = workspace["base"]?.stringValue ?? "HEAD"
            let diff = await BoundedProcess.run(
                ["git", "diff", "--no-color", "--no-ext-diff", against, "--"],
                directory: directory,
                timeoutMs: limits.childProcessTimeoutMs,
                outputBytesMax: limits.diffBytesMax
            )
            let others = await BoundedProcess.run(
                ["git", "ls-files", "--others", "--exclude-standard"],
                directory: directory,
                timeoutMs: limits.childProcessTimeoutMs,
                outputBytesMax: 64 << 10
            )
            let untracked = others.ok ? others.text.split(separator: "\n").map(String.init).prefix(200).map { $0 } : []
            return Diff(
                source: "worktree \(directory) against \(against.prefix(12))",
                text: diff.text,
                truncated: diff.truncated,
                untracked: untracked,
                problem: diff.failure
            )
        }
        guard let branch = workspace["branch"]?.stringValue else {
            return Diff(
                source: "",
                text: "",
                truncated: false,
                untracked: [],
                problem: "loomd named no workspace for this task"
            )
        }
        let exists = await BoundedProcess.run(
            ["git", "rev-parse", "--verify", "--quiet", "refs/heads/\(branch)"],
            directory: project,
            timeoutMs: limits.childProcessTimeoutMs,
            outputBytesMax: 4 << 10
        )
        guard exists.ok else {
            return Diff(
                source: "",
                text: "",
                truncated: false,
                untracked: [],
                problem: "no worktree and no branch \(branch) yet"
            )
        }
        let diff = await BoundedProcess.run(
            ["git", "diff", "--no-color", "--no-ext-diff", "HEAD...\(branch)", "--"],
            directory: project,
            timeoutMs: limits.childProcessTimeoutMs,
            outputBytesMax: limits.diffBytesMax
        )
        return Diff(
            source: "branch \(branch) against where it forked from HEAD",
            text: diff.text,
            truncated: diff.truncated,
            untracked: [],
            problem: diff.failure
        )
    }
}
