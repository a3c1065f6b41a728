import LoomEngine
import LoomProviders
import LoomSystem

/// Whether a folder can take a code task: a git repository, on a branch (not a detached
/// HEAD), with no uncommitted changes outside loom's own `.loom`, and a base that exists.
/// Read-only (git never refreshes the index here): run at submission as the code bundle's
/// admission check `git.ready`, and again by `git.prepare` before it makes the worktree.
public struct GitReadiness: AdmissionCheck {
    public init() {}

    /// The base the task's branch would start from, once every check passed.
    public struct Base: Sendable, Equatable {
        public let name: String
        public let commit: String
    }

    public func refusal(projectDirectory: String) -> String? {
        do {
            _ = try check(projectDirectory, base: try? CodeConfig.load(project: projectDirectory).base)
            return nil
        } catch {
            return error.message
        }
    }

    /// Checks `project`, resolving `base` (nil: the branch checked out).
    public func check(_ project: String, base configured: String?) throws(GitError) -> Base {
        let git = Git(directory: project)
        guard try git.run(["rev-parse", "--show-toplevel"]).ok else {
            throw GitError(
                "\(project) is not a git repository: run `git init` and commit, or submit the task to a repository",
                command: ["rev-parse"]
            )
        }
        let head = try git.run(["symbolic-ref", "-q", "--short", "HEAD"])
        guard head.ok else {
            throw GitError(
                "HEAD is detached in \(project): check out a branch (the task's branch starts from it)",
                command: ["symbolic-ref"]
            )
        }
        // loom's own directory is not the person's change (a hand-written .loom/config included).
        let status = try git.check(
            ["status", "--porcelain", "--untracked-files=normal", "--", ".", ":(exclude).loom"],
            "reading the working tree's status"
        )
        if !status.isEmpty {
            let lines = status.split(separator: "\n")
            let shown = lines.prefix(5).map { String($0).trimmingSpaces() }.joined(separator: ", ")
            throw GitError(
                "the working tree of \(project) has uncommitted changes (\(shown)\(lines.count > 5 ? ", …" : "")): commit or stash them first",
                command: ["status"]
            )
        }
        let name = configured ?? head.text.trimmingSpaces()
        let resolved = try git.run(["rev-parse", "--verify", "--quiet", "\(name)^{commit}"])
        guard resolved.ok else {
            throw GitError(
                "the base \(name) does not exist in \(project) (set \"base\" in .loom/config to a branch that does)",
                command: ["rev-parse"]
            )
        }
        return Base(name: name, commit: resolved.text.trimmingSpaces())
    }
}
