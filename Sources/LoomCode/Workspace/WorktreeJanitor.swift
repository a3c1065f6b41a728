import LoomProviders
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// Removes task worktrees that are no longer needed: when a task ends, and at start-up for
/// any a killed daemon left behind. The branch `loom/<task>` always stays: it is the result.
public enum WorktreeJanitor {
    /// Removes one task's worktree and its base record, if there.
    public static func release(project: String, task: String) {
        let workspace = TaskWorkspace(projectDirectory: project, taskID: task)
        if workspace.exists {
            let git = Git(directory: project)
            if (try? git.run(["worktree", "remove", "--force", workspace.directory]))?.ok != true {
                removeTree(workspace.directory)
            }
            _ = try? git.run(["worktree", "prune"])
        }
        workspace.recordFiles.forEach { unlink($0) }
    }

    /// Releases every worktree under the project whose task `isOver` says has ended (or is
    /// unknown). Returns the task ids released.
    @discardableResult
    public static func sweep(project: String, isOver: (String) -> Bool) -> [String] {
        let tasks = FileSystem.list(TaskWorkspace.root(of: project)).filter { name in
            !TaskWorkspace.recordSuffixes.contains { name.hasSuffix(".\($0)") } && !name.contains(".tmp.")
        }
        let released = tasks.filter(isOver)
        released.forEach { release(project: project, task: $0) }
        return released
    }

    /// `rm -rf` without a shell, for a worktree git no longer knows.
    static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            let children = FileSystem.list(path)
            children.forEach { removeTree("\(path)/\($0)") }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
