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
        unlink(workspace.baseFile)
        unlink(workspace.reviewedTreeFile)
        unlink(workspace.prefixFile)
    }

    /// Releases every worktree under the project whose task `isOver` says has ended (or is
    /// unknown). Returns the task ids released.
    @discardableResult
    public static func sweep(project: String, isOver: (String) -> Bool) -> [String] {
        let root = TaskWorkspace.root(of: project)
        guard let directory = opendir(root) else { return [] }
        var tasks: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name != ".", name != "..", !name.hasSuffix(".base"), !name.hasSuffix(".tree"), !name.hasSuffix(".prefix"), !name.contains(".tmp.") else { continue }
            tasks.append(name)
        }
        closedir(directory)
        let released = tasks.sorted().filter(isOver)
        released.forEach { release(project: project, task: $0) }
        return released
    }

    /// `rm -rf` without a shell, for a worktree git no longer knows.
    static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR, let directory = opendir(path) {
            var children: [String] = []
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { children.append(name) }
            }
            closedir(directory)
            children.forEach { removeTree("\(path)/\($0)") }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
