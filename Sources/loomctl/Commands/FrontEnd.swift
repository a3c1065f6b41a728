#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Front-ends with dependencies of their own live in executables of their own (git-style),
/// so loomctl stays light and quick to start: `loomctl mcp` runs `loom-mcp`, `loomctl bot
/// telegram` runs `loom-telegram`. The executable is looked for beside loomctl, then on PATH.
enum FrontEnd {
    /// Replaces this process with `name`, passing `arguments`; returns only on failure.
    static func exec(_ name: String, _ arguments: [String]) -> Never {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent(name).path
        let argv = [name] + arguments
        var cArgs = argv.map { strdup($0) }
        cArgs.append(nil)
        if access(beside, X_OK) == 0 {
            execv(beside, &cArgs)
        } else {
            execvp(name, &cArgs)
        }
        FileHandle.standardError.write(Data("loomctl: cannot run \(name) (looked beside loomctl at \(beside), then on PATH): \(String(cString: strerror(errno)))\n".utf8))
        exit(1)
    }
}
