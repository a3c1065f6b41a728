import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where loom's own programs are, seen from the running one: loomd finds `loom-http` and the
/// shipped bundles, loomctl its front-ends (`loom-web`, `loom-mcp`, `loom-telegram`).
/// An install's `bin/`, a checkout's `.build/<config>/` and a test runner's folder all keep
/// them side by side.
public enum LoomExecutables {
    /// The running executable, symlinks resolved (`/proc/self/exe`; argv[0] if that fails).
    public static var running: String {
        var buffer = [CChar](repeating: 0, count: 4_096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        return length > 0
            ? String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : CommandLine.arguments[0]
    }

    /// The folder the running executable is in.
    public static var directory: String {
        running.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    }

    /// `name` beside the running executable, else the first on PATH; nil if neither.
    public static func find(_ name: String) -> String? {
        let candidates =
            ["\(directory)/\(name)"]
            + (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/\(name)" }
        return candidates.first { access($0, X_OK) == 0 }
    }
}
