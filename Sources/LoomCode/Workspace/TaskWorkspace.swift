import LoomProviders
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// Where a task of a project works: a git worktree of its own on branch `loom/<task>`,
/// beside the project's database, so the person's working tree, index and branch are
/// never touched.
public struct TaskWorkspace: Sendable, Equatable {
    public let projectDirectory: String
    public let taskID: String

    public init(projectDirectory: String, taskID: String) {
        self.projectDirectory = projectDirectory
        self.taskID = taskID
    }

    /// `<project>/.loom/worktrees`: every task's worktree lives here.
    public static func root(of projectDirectory: String) -> String { "\(projectDirectory)/.loom/worktrees" }

    public var directory: String { "\(Self.root(of: projectDirectory))/\(taskID)" }
    public var branch: String { "loom/\(taskID)" }
    /// The commit the branch started from, written before the worktree is made: every diff
    /// is taken against it, whatever an agent commits on the branch itself.
    public var baseFile: String { record("base") }

    /// What loom records beside a worktree (named `<task>.<suffix>`), removed with it.
    static let recordSuffixes = ["base", "tree", "prefix", "ship", "config"]
    var recordFiles: [String] { Self.recordSuffixes.map(record) }
    private func record(_ suffix: String) -> String { "\(Self.root(of: projectDirectory))/\(taskID).\(suffix)" }

    /// The tree the last diff step recorded (staged from the worktree): what reviewers read,
    /// checks ran on and the final gate approved, and therefore what delivery commits.
    public var reviewedTreeFile: String { record("tree") }

    public var reviewedTree: String? {
        guard let text = FileSystem.readText(reviewedTreeFile, limit: 4_096)?.trimmingSpaces(),
            text.count == 40 || text.count == 64
        else { return nil }
        return text
    }

    public var exists: Bool {
        var info = stat()
        return stat(directory, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Where the project sits inside its repository ("" at the top, "app/" in a monorepo),
    /// recorded by the prepare step: the worktree holds the whole repository.
    public var prefixFile: String { record("prefix") }

    /// The project's directory inside the worktree.
    public var projectInWorktree: String {
        let prefix = FileSystem.readText(prefixFile, limit: 4_096)?.trimmingSpaces() ?? ""
        guard !prefix.isEmpty, !prefix.split(separator: "/").contains("..") else { return directory }
        return "\(directory)/\(prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix)"
    }

    /// The directory a spawn or command of this task runs in: the project's place in its
    /// worktree once that exists, else the project root (bundles without a workspace step).
    public static func workingDirectory(project: String, task: String) -> String {
        let workspace = TaskWorkspace(projectDirectory: project, taskID: task)
        return workspace.exists ? workspace.projectInWorktree : project
    }

    /// Git for this worktree, with its repository pinned: the admin directory in the
    /// project's repository whose `gitdir` names this worktree. Never found through
    /// `<worktree>/.git`: that file is the agent's to rewrite, and pointed at the person's
    /// repository it would have loom stage into the person's index, or pointed at a
    /// directory of its own, run its configured commands.
    public func git() throws(GitError) -> Git {
        let common = try Git(directory: projectDirectory).check(
            ["rev-parse", "--path-format=absolute", "--git-common-dir"],
            "finding the project's repository"
        )
        let expected = "\(directory)/.git"
        for name in FileSystem.list("\(common)/worktrees") {
            let admin = "\(common)/worktrees/\(name)"
            if FileSystem.readText("\(admin)/gitdir", limit: 8_192)?.trimmingSpaces() == expected {
                return Git(workTree: directory, gitDirectory: admin)
            }
        }
        throw GitError("no worktree of \(common) is registered at \(directory)", command: ["worktree", "list"])
    }

    /// The project's repository directory (`.git`, or the common directory of a worktree
    /// setup), which a confined task process may read but never write: git works in the
    /// worktree, while its hooks, config and other branches stay the person's. Empty when
    /// the project is not in a repository. Asked of git in the project, never of the
    /// worktree's `.git` file, which is the agent's to rewrite.
    public static func gitDirectories(project: String) -> [String] {
        guard
            let common = try? Git(directory: project).check(
                ["rev-parse", "--path-format=absolute", "--git-common-dir"],
                "finding the repository"
            ),
            common.hasPrefix("/")
        else { return [] }
        return [common]
    }

    /// `.loom/config` as it was when the worktree was prepared, before any agent ran: the
    /// checks this task runs. Kept beside the worktree, where no task process can see it.
    public var configSnapshotFile: String { record("config") }

    /// The settings this task runs with: the snapshot once the task has a worktree (a
    /// worktree without one fails closed, never falling back to the live file an agent
    /// may have edited), else the project's file as it is.
    public func recordedConfig() throws(CodeConfigError) -> CodeConfig {
        guard exists else { return try CodeConfig.load(project: projectDirectory) }
        guard let text = FileSystem.readText(configSnapshotFile, limit: 256 * 1024) else {
            throw CodeConfigError(
                path: configSnapshotFile,
                "task \(taskID) has a worktree but no recorded .loom/config; resubmit the task"
            )
        }
        return try CodeConfig.parse(text, path: configSnapshotFile)
    }

    /// For a ship task: the commit its check found on the branch, which the person then
    /// approved shipping; the ship itself ships that commit or nothing.
    public var checkedShipFile: String { record("ship") }

    /// The recorded base commit, if the workspace was prepared.
    public var baseCommit: String? {
        guard let text = FileSystem.readText(baseFile, limit: 4_096)?.trimmingSpaces(),
            text.count == 40 || text.count == 64
        else { return nil }
        return text
    }
}
