#if canImport(Glibc)
import Glibc
#endif

/// The few file operations loom's host side needs, written once: bounded reads, writes
/// that a crash leaves old or new (never half), `mkdir -p`, directory listings. The daemon,
/// the code bundle's handlers and the provider configuration files all use these.
public enum FileSystem {
    /// A file that could not be written, with the reason from the system.
    public struct WriteError: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot save \(path): \(reason)" }
    }

    /// A small file's text, at most `limit` bytes of it; nil when it cannot be read.
    public static func readText(_ path: String, limit: Int = 16 << 20) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while bytes.count < limit {
            let count = read(fd, &buffer, min(buffer.count, limit - bytes.count))
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes `text` through a temporary name, fsync and a rename (then syncs the directory),
    /// with `mode` set exactly, whatever the umask.
    public static func writeAtomically(_ path: String, _ text: String, mode: mode_t = 0o640) throws(WriteError) {
        let temporary = "\(path).tmp.\(getpid())"
        let fd = open(temporary, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw WriteError(path: path, reason: "cannot create \(temporary): \(Errno.current.description)")
        }
        let modeSet = fchmod(fd, mode)
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { break }
            offset += written
        }
        let synced = fsync(fd)
        close(fd)
        guard modeSet == 0, offset == bytes.count, synced == 0, rename(temporary, path) == 0 else {
            let reason = Errno.current.description
            unlink(temporary)
            throw WriteError(path: path, reason: reason)
        }
        // The rename is durable once the directory is.
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let directoryFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// `mkdir -p` with `mode` for the directories it creates; false (errno set) on failure.
    @discardableResult
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) -> Bool {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            current += "/\(part)"
            if mkdir(current, mode) != 0 && errno != EEXIST { return false }
        }
        return true
    }

    /// The names in a directory (without . and ..), sorted; empty when it cannot be read.
    public static func list(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
