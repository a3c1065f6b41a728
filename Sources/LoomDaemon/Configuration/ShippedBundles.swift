#if canImport(Glibc)
import Glibc
#endif

/// Where the bundles shipped with loom are, seen from the running executable: an install's
/// `share/loom/bundles` beside `bin/`, or a checkout's `bundles/` above `.build/<triple>/debug/`.
/// loomd and loomctl both use it when no bundle directory is named.
public enum ShippedBundles {
    /// The places looked at, nearest first (up to four levels above the executable).
    public static func candidates() -> [String] {
        var buffer = [CChar](repeating: 0, count: 4_096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let executable = length > 0 ? String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
        var ancestor = executable.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        var found: [String] = []
        for _ in 0..<4 {
            ancestor += "/.."
            found += ["\(ancestor)/share/loom/bundles", "\(ancestor)/bundles"]
        }
        return found
    }

    /// The first of `candidates` (after `before`) that holds the code bundle.
    public static func directory(before: [String] = []) -> String? {
        (before + candidates()).first { access("\($0)/code/bundle.json", F_OK) == 0 }
    }
}
