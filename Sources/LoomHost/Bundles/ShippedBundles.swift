import LoomProviders

#if canImport(Glibc)
import Glibc
#endif

/// Where the bundles shipped with loom are, seen from the running executable: an install's
/// `share/loom/bundles` beside `bin/`, or a checkout's `bundles/` above `.build/<triple>/debug/`.
/// loomd and loomctl both use it when no bundle directory is named.
public enum ShippedBundles {
    /// The places looked at, nearest first (up to four levels above the executable).
    public static func candidates() -> [String] {
        var ancestor = LoomExecutables.directory
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
