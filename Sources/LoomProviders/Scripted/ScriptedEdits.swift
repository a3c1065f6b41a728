import LoomEngine
import LoomSystem
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// File edits a scripted agent makes, for tests and the demo: paths relative to the spawn's
/// working directory, never absolute and never climbing out of it with `..`.
enum ScriptedEdits {
    /// Applies `edits` (path -> new text, or null to delete); nil on success, else why not.
    static func apply(_ edits: [String: JSONValue], under directory: String) -> String? {
        for path in edits.keys.sorted() {
            let parts = path.split(separator: "/", omittingEmptySubsequences: false)
            guard !path.isEmpty, !path.hasPrefix("/"), !parts.contains(where: { $0 == ".." || $0.isEmpty }) else {
                return "the script edits \"\(path)\", which is not a plain relative path"
            }
            let full = "\(directory)/\(path)"
            switch edits[path]! {
            case .null:
                if unlink(full) != 0 && errno != ENOENT { return "cannot delete \(path): \(Errno.current.description)" }
            case .string(let text):
                var prefix = directory
                for part in parts.dropLast() {
                    prefix += "/\(part)"
                    if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                        return "cannot create \(prefix): \(Errno.current.description)"
                    }
                }
                guard let file = fopen(full, "wb") else { return "cannot write \(path): \(Errno.current.description)" }
                let bytes = Array(text.utf8)
                let written = fwrite(bytes, 1, bytes.count, file)
                fclose(file)
                if written != bytes.count { return "cannot write \(path): short write" }
            default:
                return "the edit of \(path) must be a string or null"
            }
        }
        return nil
    }
}
