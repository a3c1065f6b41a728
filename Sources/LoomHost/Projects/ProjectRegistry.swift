import LoomEngine
import LoomProviders
import LoomSystem
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's small list of project roots (`projects.json` in its state directory).
/// A project's truth lives in its own `.loom/state.db`; this only says where to look.
public final class ProjectRegistry: @unchecked Sendable {
    public let file: String
    private let lock = Lock()
    private var paths: [String] = []
    /// A bound on how many projects one daemon supervises.
    public static let projectsMax = 1_000

    public init(stateDirectory: String) throws(LoomError) {
        file = "\(stateDirectory)/projects.json"
        guard let text = FileSystem.readText(file) else { return }
        do {
            paths = try JSONValue.parse(text)["projects"]?.arrayValue?.compactMap(\.stringValue) ?? []
        } catch {
            throw LoomError(
                .corrupt,
                "\(file) is not valid JSON (\(error.message)); fix or remove it",
                context: "reading the project registry"
            )
        }
    }

    public var all: [String] { lock.withLock { paths } }

    /// Adds a project root; false if it was there already.
    @discardableResult
    public func add(_ path: String) throws(LoomError) -> Bool {
        try lock.withLock { () throws(LoomError) -> Bool in
            if paths.contains(path) { return false }
            guard paths.count < Self.projectsMax else {
                throw LoomError(
                    .tooLarge,
                    "this daemon already supervises \(Self.projectsMax) projects",
                    context: "registering \(path)"
                )
            }
            paths.append(path)
            try save()
            return true
        }
    }

    @discardableResult
    public func remove(_ path: String) throws(LoomError) -> Bool {
        try lock.withLock { () throws(LoomError) -> Bool in
            guard let index = paths.firstIndex(of: path) else { return false }
            paths.remove(at: index)
            try save()
            return true
        }
    }

    /// Written to a temporary file, fsynced and renamed: a crash leaves the old or the new list.
    private func save() throws(LoomError) {
        let text = JSONValue.object(["projects": .array(paths.map { .string($0) })]).canonicalText + "\n"
        try writeFileAtomically(file, text)
    }
}

/// Saves through `FileSystem.writeAtomically`, as the daemon's typed error.
package func writeFileAtomically(_ path: String, _ text: String) throws(LoomError) {
    do {
        try FileSystem.writeAtomically(path, text)
    } catch {
        throw LoomError(.io, error.description, context: "saving \(path)")
    }
}
