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
    public var baseFile: String { "\(Self.root(of: projectDirectory))/\(taskID).base" }

    /// The tree the last diff step recorded (staged from the worktree): what reviewers read,
    /// checks ran on and the final gate approved, and therefore what delivery commits.
    public var reviewedTreeFile: String { "\(Self.root(of: projectDirectory))/\(taskID).tree" }

    public var reviewedTree: String? {
        guard let text = readText(reviewedTreeFile)?.trimmingSpaces(), text.count == 40 || text.count == 64 else { return nil }
        return text
    }

    public var exists: Bool {
        var info = stat()
        return stat(directory, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Where the project sits inside its repository ("" at the top, "app/" in a monorepo),
    /// recorded by the prepare step: the worktree holds the whole repository.
    public var prefixFile: String { "\(Self.root(of: projectDirectory))/\(taskID).prefix" }

    /// The project's directory inside the worktree.
    public var projectInWorktree: String {
        let prefix = readText(prefixFile)?.trimmingSpaces() ?? ""
        guard !prefix.isEmpty, !prefix.split(separator: "/").contains("..") else { return directory }
        return "\(directory)/\(prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix)"
    }

    /// The directory a spawn or command of this task runs in: the project's place in its
    /// worktree once that exists, else the project root (bundles without a workspace step).
    public static func workingDirectory(project: String, task: String) -> String {
        let workspace = TaskWorkspace(projectDirectory: project, taskID: task)
        return workspace.exists ? workspace.projectInWorktree : project
    }

    /// The recorded base commit, if the workspace was prepared.
    public var baseCommit: String? {
        guard let text = readText(baseFile)?.trimmingSpaces(), text.count == 40 || text.count == 64 else { return nil }
        return text
    }
}

/// Reads a small text file whole; nil if it cannot be read.
func readText(_ path: String, limit: Int = 1 << 20) -> String? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16_384)
    while bytes.count < limit {
        let count = fread(&buffer, 1, buffer.count, file)
        if count <= 0 { break }
        bytes += buffer[0..<count]
    }
    return String(decoding: bytes.prefix(limit), as: UTF8.self)
}

/// Writes a small text file through a temporary name and a rename, so a crash leaves
/// either the old content or the new.
func writeTextAtomically(_ text: String, to path: String) -> Bool {
    let temporary = "\(path).tmp.\(getpid())"
    guard let file = fopen(temporary, "wb") else { return false }
    let bytes = Array(text.utf8)
    let written = fwrite(bytes, 1, bytes.count, file)
    let flushed = fflush(file) == 0 && fsync(fileno(file)) == 0
    fclose(file)
    guard written == bytes.count, flushed, rename(temporary, path) == 0 else {
        unlink(temporary)
        return false
    }
    return true
}

/// `mkdir -p`.
func makeDirectories(_ path: String) -> Bool {
    var current = path.hasPrefix("/") ? "" : "."
    for part in path.split(separator: "/") {
        current += "/\(part)"
        if mkdir(current, 0o755) != 0 && errno != EEXIST { return false }
    }
    return true
}
