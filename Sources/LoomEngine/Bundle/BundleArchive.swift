import LoomValues

/// The bundle versions a project's tasks ran, kept in its database (`bundle_versions`), so
/// a task is driven, replayed and proved with the exact bundle it started with even after
/// the bundle on disk has changed.
public enum BundleArchive {
    /// Stores `bundle` once, in the tick that first submits a task with it.
    static func record(_ bundle: LoomBundle, task: String, tick: Int64, tx: Transaction) throws(LoomError) {
        // Most submissions run a stored version: a key lookup, not a 30 KB encoding.
        guard
            try tx.rows(
                "SELECT 1 AS stored FROM bundle_versions WHERE digest = :digest",
                bindings: [":digest": bundle.digest]
            ).isEmpty
        else { return }
        let files = JSONValue.object(bundle.files.mapValues { .string($0) })
        try tx.statement(
            "INSERT OR IGNORE INTO bundle_versions(digest, name, version, files, task_id, created_tick) VALUES (?, ?, ?, ?, ?, ?)"
        )
        .bind(1, bundle.digest).bind(2, bundle.name).bind(3, bundle.version).bind(4, files.canonicalText)
        .bind(5, task).bind(6, tick).run()
    }

    /// The stored version with `digest`, loaded and checked; nil when none is stored.
    static func load(digest: String, tx: Transaction) throws(LoomError) -> LoomBundle? {
        guard
            let row = try tx.rows(
                "SELECT files FROM bundle_versions WHERE digest = :digest",
                bindings: [":digest": digest]
            ).first
        else { return nil }
        return try decode(row["files"]?.stringValue, digest: digest)
    }

    /// Every stored version (replay and proof tools hand them to a fresh engine).
    public static func all(in store: Store) throws(LoomError) -> [LoomBundle] {
        // A database written before migration 0002, opened read-only, stores none.
        guard try store.hasTable("bundle_versions") else { return [] }
        var bundles: [LoomBundle] = []
        for row in try store.query("SELECT digest, files FROM bundle_versions ORDER BY created_tick, digest") {
            if let bundle = try decode(row["files"]?.stringValue, digest: row["digest"]?.stringValue ?? "") {
                bundles.append(bundle)
            }
        }
        return bundles
    }

    private static func decode(_ text: String?, digest: String) throws(LoomError) -> LoomBundle? {
        guard let files = (try? JSONValue.parse(text ?? ""))?.objectValue else {
            throw LoomError(
                .corrupt,
                "stored bundle \(digest.prefix(12)) is not a JSON object of files",
                context: "reading bundle_versions"
            )
        }
        let bundle: LoomBundle
        do {
            bundle = try BundleLoader.load(files: files.compactMapValues(\.stringValue))
        } catch {
            throw LoomError(
                .corrupt,
                "stored bundle \(digest.prefix(12)) does not load: \(error.problems.first.map { "\($0)" } ?? "")",
                context: "reading bundle_versions"
            )
        }
        guard bundle.digest == digest else {
            throw LoomError(
                .corrupt,
                "stored bundle \(digest.prefix(12)) has digest \(bundle.digest.prefix(12)): its files were edited",
                context: "reading bundle_versions"
            )
        }
        return bundle
    }
}
