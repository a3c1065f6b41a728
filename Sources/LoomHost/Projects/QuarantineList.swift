import LoomEngine
import LoomProviders
import LoomSystem
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// Projects loomd stopped driving because their database was written by someone else
/// (`quarantine.json` in the state directory), with why and since when.
///
/// In the state directory, not in the project: whoever wrote the project's file could
/// write a marker there too. Kept across restarts: a quarantine ends only when the
/// operator has checked the project (`loomctl verify`) and clears it
/// (`loomctl projects clear-quarantine`).
public final class QuarantineList: @unchecked Sendable {
    public struct Entry: Sendable, Equatable {
        public let reason: String
        public let sinceMs: Int64
    }

    public let file: String
    private let lock = Lock()
    private var entries: [String: Entry] = [:]
    /// A reason longer than this is cut: it is shown in status lines and metrics help.
    package static let reasonMaxBytes = 1_024

    public init(stateDirectory: String) throws(LoomError) {
        file = "\(stateDirectory)/quarantine.json"
        guard let text = FileSystem.readText(file) else { return }
        do {
            for (root, value) in try JSONValue.parse(text)["projects"]?.objectValue ?? [:] {
                entries[root] = Entry(
                    reason: value["reason"]?.stringValue ?? "unknown",
                    sinceMs: value["sinceMs"]?.intValue ?? 0
                )
            }
        } catch {
            throw LoomError(
                .corrupt,
                "\(file) is not valid JSON (\(error.message)); fix it (or remove it once every project in it verifies)",
                context: "reading the quarantine list"
            )
        }
    }

    public func entry(for root: String) -> Entry? { lock.withLock { entries[root] } }

    public var all: [String: Entry] { lock.withLock { entries } }

    /// Quarantines `root`; false if it already was (the first reason stays).
    @discardableResult
    public func add(_ root: String, reason: String, atMs: Int64) throws(LoomError) -> Bool {
        try lock.withLock { () throws(LoomError) -> Bool in
            guard entries[root] == nil else { return false }
            entries[root] = Entry(
                reason: String(decoding: reason.utf8.prefix(Self.reasonMaxBytes), as: UTF8.self),
                sinceMs: atMs
            )
            try save()
            return true
        }
    }

    /// Ends `root`'s quarantine; false if it was not quarantined.
    @discardableResult
    public func remove(_ root: String) throws(LoomError) -> Bool {
        try lock.withLock { () throws(LoomError) -> Bool in
            guard entries.removeValue(forKey: root) != nil else { return false }
            try save()
            return true
        }
    }

    private func save() throws(LoomError) {
        let projects = entries.mapValues {
            JSONValue.object(["reason": .string($0.reason), "sinceMs": .int($0.sinceMs)])
        }
        try writeFileAtomically(file, JSONValue.object(["projects": .object(projects)]).canonicalText + "\n")
    }
}
