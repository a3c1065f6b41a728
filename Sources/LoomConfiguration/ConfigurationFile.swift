import LoomSystem
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// Reading and writing the small JSON files in loomd's state directory: bounded reads,
/// atomic writes (temporary file, fsync, rename), explicit modes.
public enum ConfigurationFile {
    /// No configuration file this module reads is allowed to be larger.
    public static let sizeMaxBytes = 1 << 20

    /// The file's text, or nil when it does not exist.
    public static func read(_ path: String) throws(ProviderConfigurationError) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw ProviderConfigurationError(
                .io,
                "cannot read \(path): \(Errno.current.description)",
                context: "reading \(path)"
            )
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = Glibc.read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count < 0 {
                throw ProviderConfigurationError(
                    .io,
                    "cannot read \(path): \(Errno.current.description)",
                    context: "reading \(path)"
                )
            }
            if count == 0 { break }
            bytes += buffer[0..<count]
            if bytes.count > sizeMaxBytes {
                throw ProviderConfigurationError(
                    .tooLarge,
                    "\(path) is larger than \(sizeMaxBytes) bytes",
                    context: "reading \(path)"
                )
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses a JSON object out of a file's text, with the file named in errors.
    public static func parseObject(
        _ text: String,
        path: String
    ) throws(ProviderConfigurationError) -> [String: JSONValue] {
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch {
            throw ProviderConfigurationError(
                .invalidJSON,
                "\(path) is not JSON: \(error.message) at byte \(error.offset)",
                context: "reading \(path)"
            )
        }
        guard let object = json.objectValue else {
            throw ProviderConfigurationError(
                .invalidValue,
                "\(path) must hold a JSON object",
                context: "reading \(path)"
            )
        }
        return object
    }

    /// Writes `text` so that a crash leaves the old file or the new one, never half of
    /// either, with `mode` set exactly.
    public static func writeAtomically(_ path: String, _ text: String, mode: mode_t) throws(ProviderConfigurationError)
    {
        do {
            try FileSystem.writeAtomically(path, text, mode: mode)
        } catch {
            throw ProviderConfigurationError(.io, error.description, context: "saving \(path)")
        }
    }

    /// Creates a directory and its parents with `mode` (existing ones are left as they are).
    public static func makeDirectories(_ path: String, mode: mode_t = 0o700) throws(ProviderConfigurationError) {
        guard FileSystem.makeDirectories(path, mode: mode) else {
            throw ProviderConfigurationError(
                .io,
                "cannot create \(path): \(Errno.current.description)",
                context: "creating \(path)"
            )
        }
    }
}
