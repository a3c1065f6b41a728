import LoomSystem
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// The secrets file (`secrets.json` in loomd's state directory): `{"version": 1,
/// "secrets": {"NAME": "value"}}`, mode 0600, owned by the user loomd runs as.
///
/// A file that its group or others can read is refused, not used: a key that leaked
/// through a lax mode must be rotated, and silently reading it would hide that.
public struct SecretsFile: Sendable {
    public static let fileName = "secrets.json"
    /// Names are environment-variable names, so either source can provide them.
    public static let nameLengthMax = 128
    public static let valueLengthMaxBytes = 16 * 1024
    public static let entriesMax = 256

    public let path: String

    public init(path: String) {
        self.path = path
    }

    public init(stateDirectory: String) {
        self.init(path: "\(stateDirectory)/\(Self.fileName)")
    }

    /// The stored secrets; empty when the file does not exist.
    public func load() throws(ProviderConfigurationError) -> [String: String] {
        var info = stat()
        if stat(path, &info) != 0 {
            if errno == ENOENT { return [:] }
            throw ProviderConfigurationError(
                .io,
                "cannot stat \(path): \(Errno.current.description)",
                context: "loading secrets"
            )
        }
        let mode = info.st_mode & 0o777
        if mode & 0o077 != 0 {
            throw ProviderConfigurationError(
                .insecurePermissions,
                "\(path) is readable or writable by group or others (mode \(String(mode, radix: 8))); run: chmod 600 \(path), and rotate any key in it that others may have read",
                context: "loading secrets"
            )
        }
        if info.st_uid != getuid() && getuid() != 0 {
            throw ProviderConfigurationError(
                .insecurePermissions,
                "\(path) is owned by uid \(info.st_uid), not by uid \(getuid()) that reads it",
                context: "loading secrets"
            )
        }
        guard let text = try ConfigurationFile.read(path) else { return [:] }
        let object = try ConfigurationFile.parseObject(text, path: path)
        guard let entries = object["secrets"]?.objectValue else {
            throw ProviderConfigurationError(
                .invalidValue,
                "\(path) has no \"secrets\" object",
                context: "loading secrets"
            )
        }
        var secrets: [String: String] = [:]
        for (name, value) in entries {
            // Never quote the value in an error.
            guard Self.isValidName(name) else {
                throw ProviderConfigurationError(
                    .invalidValue,
                    "\(path): '\(name)' is not a valid secret name (A-Z, 0-9, _; at most \(Self.nameLengthMax))",
                    context: "loading secrets"
                )
            }
            guard let text = value.stringValue else {
                throw ProviderConfigurationError(
                    .invalidValue,
                    "\(path): the secret \(name) must be a string",
                    context: "loading secrets"
                )
            }
            secrets[name] = text
        }
        return secrets
    }

    /// Sets (or replaces) one secret and writes the file atomically with mode 0600.
    public func set(_ name: String, value: String) throws(ProviderConfigurationError) {
        guard Self.isValidName(name) else {
            throw ProviderConfigurationError(
                .invalidValue,
                "'\(name)' is not a valid secret name: use A-Z, 0-9 and _, starting with a letter or _, at most \(Self.nameLengthMax) characters",
                context: "setting a secret"
            )
        }
        guard value.utf8.count >= SecretsLookup.redactableLengthMin, value.utf8.count <= Self.valueLengthMaxBytes else {
            throw ProviderConfigurationError(
                .invalidValue,
                "the value of \(name) must be \(SecretsLookup.redactableLengthMin) to \(Self.valueLengthMaxBytes) bytes long (it is \(value.utf8.count))",
                context: "setting a secret"
            )
        }
        guard !value.contains("\n") else {
            throw ProviderConfigurationError(
                .invalidValue,
                "the value of \(name) contains a line break",
                context: "setting a secret"
            )
        }
        var secrets = try load()
        guard secrets[name] != nil || secrets.count < Self.entriesMax else {
            throw ProviderConfigurationError(
                .invalidValue,
                "\(path) already holds \(Self.entriesMax) secrets",
                context: "setting a secret"
            )
        }
        secrets[name] = value
        try save(secrets)
    }

    /// Removes one secret; false when it was not there.
    @discardableResult
    public func remove(_ name: String) throws(ProviderConfigurationError) -> Bool {
        var secrets = try load()
        guard secrets.removeValue(forKey: name) != nil else { return false }
        try save(secrets)
        return true
    }

    private func save(_ secrets: [String: String]) throws(ProviderConfigurationError) {
        let json = JSONValue.object(["version": .int(1), "secrets": .object(secrets.mapValues { .string($0) })])
        try ConfigurationFile.writeAtomically(path, json.prettyText + "\n", mode: 0o600)
    }

    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= nameLengthMax else { return false }
        func letter(_ byte: UInt8) -> Bool { (byte >= 65 && byte <= 90) || byte == 95 }
        return letter(first) && name.utf8.allSatisfy { letter($0) || ($0 >= 48 && $0 <= 57) }
    }
}

extension SecretsLookup {
    /// The environment and the state directory's secrets file together.
    public static func load(
        stateDirectory: String,
        environment: [String: String]
    ) throws(ProviderConfigurationError) -> SecretsLookup {
        SecretsLookup(environment: environment, stored: try SecretsFile(stateDirectory: stateDirectory).load())
    }
}
