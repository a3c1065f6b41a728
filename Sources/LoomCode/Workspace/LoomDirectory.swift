import LoomProviders
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// `<project>/.loom`: loom's database and task worktrees inside a person's repository, kept
/// out of their way.
public enum LoomDirectory {
    /// Creates `.loom` with a `.gitignore` of `*`: the database and the worktrees then never
    /// show in `git status`, and the person's own ignore files are left alone.
    @discardableResult
    public static func ensure(project: String) -> Bool {
        guard FileSystem.makeDirectories("\(project)/.loom") else { return false }
        let path = "\(project)/.loom/.gitignore"
        guard access(path, F_OK) != 0 else { return true }
        return
            (try? FileSystem.writeAtomically(
                path,
                "# loom's state and task worktrees; nothing here belongs in the repository\n*\n",
                mode: 0o644
            )) != nil
    }
}
