import LoomEngine
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// The bundles a host runs: loaded from directories (loomd's `--bundles`, `loomctl run`'s),
/// and the one a submission that names none gets.
public enum BundleCatalog {
    /// Loads every bundle in `directories`: a directory that is itself a bundle, or one whose
    /// subdirectories are. One bundle that does not load fails the whole load, naming its
    /// problems, so a host never runs with half its bundles.
    public static func load(_ directories: [String]) throws(LoomError) -> [LoomBundle] {
        var bundles: [LoomBundle] = []
        for directory in directories {
            let candidates =
                access("\(directory)/bundle.json", F_OK) == 0
                ? [directory] : FileSystem.list(directory).map { "\(directory)/\($0)" }
            for candidate in candidates where access("\(candidate)/bundle.json", F_OK) == 0 {
                do {
                    bundles.append(try BundleLoader.load(directory: candidate))
                } catch {
                    let problems = error.problems.map { "  \($0)" }.joined(separator: "\n")
                    throw LoomError(
                        .bundle,
                        "bundle \(candidate) does not load:\n\(problems)",
                        context: "loading bundles"
                    )
                }
            }
        }
        return bundles
    }

    /// The bundle a submission that names none runs: `preferred` when it is loaded, else
    /// the first loaded.
    public static func defaultBundle(_ preferred: String = "code", among bundles: [LoomBundle]) -> String? {
        bundles.contains { $0.name == preferred } ? preferred : bundles.first?.name
    }
}
