import LoomValues

/// Turns a bundle (a directory, or the same files as a dictionary) into a
/// validated `LoomBundle`, or refuses it with every problem found.
///
/// The loader is the only place bundle text is interpreted, and it is strict
/// on purpose: unknown fields, dangling references, unused template
/// variables and unenforceable schema keywords are all errors, because a
/// mistake that loads silently surfaces much later as a task that behaves
/// oddly, which is far more expensive to diagnose.
public enum BundleLoader {
    /// The manifest's path inside the bundle.
    public static let manifestPath = "bundle.json"
    /// Largest single file (1 MiB).
    public static let maxFileBytes = 1 << 20
    /// Largest bundle (4 MiB, all files together).
    public static let maxTotalBytes = 4 << 20

    /// Loads a bundle from its files (relative path -> contents). Paths use
    /// "/" and may not be absolute or contain "." or ".." components.
    public static func load(files: [String: String]) throws(BundleLoadError) -> LoomBundle {
        var problems: [BundleProblem] = []
        var total = 0
        for path in files.keys.sorted(by: BundleNames.utf8Less) {
            if let reason = pathProblem(path) {
                problems.append(BundleProblem(file: path, location: "", message: "invalid file path: \(reason)"))
            }
            let size = files[path]!.utf8.count
            total += size
            if size > maxFileBytes {
                problems.append(
                    BundleProblem(
                        file: path,
                        location: "",
                        message: "file is \(size) bytes; the limit is \(maxFileBytes)"
                    )
                )
            }
        }
        if total > maxTotalBytes {
            problems.append(
                BundleProblem(
                    file: "(bundle)",
                    location: "",
                    message: "the bundle is \(total) bytes; the limit is \(maxTotalBytes)"
                )
            )
        }

        guard let text = files[manifestPath] else {
            problems.append(
                BundleProblem(file: manifestPath, location: "", message: "the bundle has no \(manifestPath) manifest")
            )
            throw BundleLoadError(problems: problems)
        }
        if text.utf8.count > maxFileBytes {
            throw BundleLoadError(problems: problems)
        }
        let root: JSONValue
        do {
            root = try JSONValue.parse(text, limits: JSONLimits(maxBytes: maxFileBytes, maxDepth: 64))
        } catch {
            let position = TextPosition(text: text, offset: error.offset)
            problems.append(
                BundleProblem(
                    file: manifestPath,
                    location: position.description,
                    message: "invalid JSON: \(error.message)"
                )
            )
            throw BundleLoadError(problems: problems)
        }

        let validator = ManifestValidator(files: files, problems: problems)
        guard let model = validator.run(root) else {
            throw BundleLoadError(problems: validator.problems)
        }
        return LoomBundle(
            name: model.name,
            version: model.version,
            digest: BundleDigest.compute(files: files),
            files: files,
            phases: model.phases,
            flows: model.flows,
            defaultFlow: model.defaultFlow,
            agents: model.agents,
            gates: model.gates,
            rules: model.rules,
            safetyFloor: model.safetyFloor,
            budgets: model.budgets,
            admission: validator.admission
        )
    }

    /// Loads a bundle directory: every regular file under it, by relative
    /// path. Symbolic links are followed only to regular files inside the
    /// directory; links that leave it, or point at directories, are refused.
    /// Files must be UTF-8 and within the size limits.
    public static func load(directory: String) throws(BundleLoadError) -> LoomBundle {
        var reader = BundleDirectoryReader(directory: directory)
        let files = reader.read()
        if !reader.problems.isEmpty {
            if files.isEmpty { throw BundleLoadError(problems: reader.problems) }
            // Still validate what could be read, so one attempt shows everything.
            do {
                _ = try load(files: files)
            } catch {
                throw BundleLoadError(problems: reader.problems + error.problems)
            }
            throw BundleLoadError(problems: reader.problems)
        }
        return try load(files: files)
    }

    /// Why `path` is not an acceptable bundle-relative path, or nil.
    static func pathProblem(_ path: String) -> String? {
        if path.isEmpty { return "the path is empty" }
        if path.hasPrefix("/") { return "the path must be relative" }
        if path.utf8.contains(0) { return "the path contains a NUL character" }
        for component in path.split(separator: "/", omittingEmptySubsequences: false) {
            if component.isEmpty { return "the path has an empty component" }
            if component == "." || component == ".." { return "the path may not contain \".\" or \"..\"" }
        }
        return nil
    }
}
