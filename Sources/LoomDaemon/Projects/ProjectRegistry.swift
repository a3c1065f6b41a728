#if canImport(Glibc)
import Glibc
#endif
import LoomEngine
import LoomProviders

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
        guard let text = readFile(file) else { return }
        do {
            paths = try JSONValue.parse(text)["projects"]?.arrayValue?.compactMap(\.stringValue) ?? []
        } catch {
            throw LoomError(.corrupt, "\(file) is not valid JSON (\(error.message)); fix or remove it", context: "reading the project registry")
        }
    }

    public var all: [String] { lock.withLock { paths } }

    /// Adds a project root; false if it was there already.
    @discardableResult
    public func add(_ path: String) throws(LoomError) -> Bool {
        try lock.withLock { () throws(LoomError) -> Bool in
            if paths.contains(path) { return false }
            guard paths.count < Self.projectsMax else {
                throw LoomError(.tooLarge, "this daemon already supervises \(Self.projectsMax) projects", context: "registering \(path)")
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

func readFile(_ path: String, limit: Int = 16 << 20) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while bytes.count <= limit {
        let count = read(fd, &buffer, buffer.count)
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { break }
        bytes += buffer[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

func writeFileAtomically(_ path: String, _ text: String) throws(LoomError) {
    let temporary = "\(path).tmp.\(getpid())"
    let fd = open(temporary, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o640)
    guard fd >= 0 else { throw LoomError(.io, "cannot write \(temporary): \(String(cString: strerror(errno)))", context: "saving \(path)") }
    let bytes = Array(text.utf8)
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    let synced = fsync(fd)
    close(fd)
    guard written == bytes.count, synced == 0, rename(temporary, path) == 0 else {
        unlink(temporary)
        throw LoomError(.io, "cannot save \(path): \(String(cString: strerror(errno)))", context: "saving \(path)")
    }
}

/// Creates a directory and its parents with `mode`.
func makeDirectories(_ path: String, mode: mode_t = 0o750) -> Bool {
    var current = ""
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
        current += "/\(part)"
        if mkdir(current, mode) != 0 && errno != EEXIST { return false }
    }
    return true
}
