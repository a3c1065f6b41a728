import Crypto
import Foundation
import LoomEngine
import LoomSystem
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// An operator's Ed25519 signing key: signs a proof's header (and with it the chain head),
/// so whoever holds the public key can tell the proof came from this operator unchanged.
///
/// Key files are one line of text: `loom-ed25519-private-key HEX` (32 bytes, the raw
/// private key, written with mode 0600) and `loom-ed25519-public-key HEX` beside it with
/// `.pub` appended. Text, so an operator can see which is which; hex, one spelling.
public struct OperatorKey {
    static let privatePrefix = "loom-ed25519-private-key "
    let key: Curve25519.Signing.PrivateKey

    public static func generate() -> OperatorKey { OperatorKey(key: Curve25519.Signing.PrivateKey()) }

    init(key: Curve25519.Signing.PrivateKey) { self.key = key }

    /// Reads a private key file. Like ssh, refuses one that others may read: a signature
    /// is only worth something while the key is the operator's alone.
    public init(file path: String) throws(ProofError) {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw ProofError(.io, "cannot read the key file: \(Errno.current.description)", at: path)
        }
        guard status.st_mode & 0o077 == 0 else {
            throw ProofError(
                .invalidKey,
                "the private key is readable by others (mode \(String(status.st_mode & 0o777, radix: 8))); chmod 600 it",
                at: path
            )
        }
        let raw = try Self.readKeyLine(path, prefix: Self.privatePrefix)
        do { key = try Curve25519.Signing.PrivateKey(rawRepresentation: raw) } catch {
            throw ProofError(.invalidKey, "not an Ed25519 private key: \(error)", at: path)
        }
    }

    public var publicKey: PublicOperatorKey { PublicOperatorKey(key: key.publicKey) }

    public func sign(_ message: [UInt8]) throws(ProofError) -> [UInt8] {
        do { return Array(try key.signature(for: message)) } catch {
            throw ProofError(.invalidKey, "signing failed: \(error)", at: "signing")
        }
    }

    /// Writes the private key to `path` (mode 0600, never over an existing file) and the
    /// public key to `path.pub`.
    public func write(to path: String) throws(ProofError) {
        try Self.writeNew(path, Self.privatePrefix + Array(key.rawRepresentation).hexString + "\n", mode: 0o600)
        try Self.writeNew(path + ".pub", PublicOperatorKey.prefix + publicKey.hex + "\n", mode: 0o644)
    }

    /// Created with O_EXCL and its final mode, so a private key is never readable by
    /// others even for a moment, and an existing key is never overwritten by mistake.
    static func writeNew(_ path: String, _ text: String, mode: mode_t) throws(ProofError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            let reason =
                errno == EEXIST ? "the file exists; remove it or choose another name" : Errno.current.description
            throw ProofError(.io, "cannot create the key file: \(reason)", at: path)
        }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            throw ProofError(.io, "cannot write the key file: \(Errno.current.description)", at: path)
        }
    }

    static func readKeyLine(_ path: String, prefix: String) throws(ProofError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ProofError(.io, "cannot read the key file", at: path)
        }
        guard data.count <= 4_096, let text = String(data: data, encoding: .utf8) else {
            throw ProofError(.invalidKey, "not a loom key file", at: path)
        }
        let line = text.hasSuffix("\n") ? String(text.dropLast()) : text
        guard line.hasPrefix(prefix), let raw = Hex.decode(String(line.dropFirst(prefix.count))), raw.count == 32 else {
            throw ProofError(
                .invalidKey,
                "not a loom key file: expected one line \"\(prefix)<64 hex digits>\"",
                at: path
            )
        }
        return raw
    }
}

/// The public half, which verifiers hold.
public struct PublicOperatorKey: Sendable, Equatable {
    static let prefix = "loom-ed25519-public-key "
    /// The 32 raw bytes (kept as bytes so the value is plainly Sendable; Crypto's key type
    /// is rebuilt for each check, which costs nothing next to the check).
    public let raw: [UInt8]

    init(key: Curve25519.Signing.PublicKey) { raw = Array(key.rawRepresentation) }

    public init(raw: [UInt8], at location: String) throws(ProofError) {
        do { _ = try Curve25519.Signing.PublicKey(rawRepresentation: raw) } catch {
            throw ProofError(.invalidKey, "not an Ed25519 public key: \(error)", at: location)
        }
        self.raw = raw
    }

    /// Reads a public key file (`KEYFILE.pub`).
    public init(file path: String) throws(ProofError) {
        try self.init(raw: try OperatorKey.readKeyLine(path, prefix: Self.prefix), at: path)
    }

    public var hex: String { raw.hexString }

    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}

/// A proof's signature line: who signed (the public key, so a verifier without one can
/// still check the signature is whole) and the Ed25519 signature of `ProofFile.signedMessage`.
public struct ProofSignature: Sendable {
    public static let algorithm = "ed25519"
    public let publicKey: [UInt8]
    public let signature: [UInt8]

    public init(publicKey: [UInt8], signature: [UInt8]) {
        self.publicKey = publicKey
        self.signature = signature
    }

    var json: JSONValue {
        .object([
            "type": "signature", "algorithm": .string(Self.algorithm),
            "public_key": .string(publicKey.hexString), "signature": .string(signature.hexString),
        ])
    }
}

extension ProofFile {
    /// Signs the header (and so the chain head) with `key`, replacing any signature.
    public mutating func sign(with key: OperatorKey) throws(ProofError) {
        signature = ProofSignature(publicKey: key.publicKey.raw, signature: try key.sign(signedMessage))
    }
}
