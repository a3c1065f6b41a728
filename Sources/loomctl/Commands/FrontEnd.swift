#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LoomProviders

/// Front-ends with dependencies of their own live in executables of their own (git-style),
/// so loomctl stays light and quick to start: `loomctl mcp` runs `loom-mcp`, `loomctl bot
/// telegram` runs `loom-telegram`. The executable is looked for beside loomctl, then on PATH.
enum FrontEnd {
    /// Replaces this process with `name`, passing `arguments`; returns only on failure.
    static func exec(_ name: String, _ arguments: [String]) -> Never {
        var cArgs = ([name] + arguments).map { strdup($0) }
        cArgs.append(nil)
        if let path = LoomExecutables.find(name) { execv(path, &cArgs) }
        FileHandle.standardError.write(Data("loomctl: cannot run \(name) (looked beside loomctl in \(LoomExecutables.directory), then on PATH): \(String(cString: strerror(errno)))\n".utf8))
        exit(1)
    }
}
