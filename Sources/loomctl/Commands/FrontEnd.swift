import Foundation
import LoomProviders
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// Front-ends with dependencies of their own live in executables of their own (git-style),
/// so loomctl stays light and quick to start: `loomctl mcp` runs `loom-mcp`, `loomctl bot
/// telegram` runs `loom-telegram`, `loomctl web` runs `loom-web`. The executable is looked
/// for beside loomctl, then on PATH.
///
/// not-a-task-process: this replaces loomctl with one of loom's own executables, found
/// beside it or on PATH, at the person's request; nothing a task or an agent names runs
/// here, so it does not go through the task launcher (`Launcher`).
enum FrontEnd {
    /// Replaces this process with `name`, passing `arguments`; returns only on failure, after
    /// saying why (and `hint`, how to get the executable).
    static func exec(_ name: String, _ arguments: [String], hint: String? = nil) -> Never {
        var cArgs = ([name] + arguments).map { strdup($0) }
        cArgs.append(nil)
        if let path = LoomExecutables.find(name) { execv(path, &cArgs) }
        StandardError.write(
            "loomctl: cannot run \(name) (looked beside loomctl in \(LoomExecutables.directory), then on PATH): \(Errno.current.description)\n"
        )
        if let hint { StandardError.write("\(hint)\n") }
        exit(1)
    }
}
