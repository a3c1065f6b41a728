import Crypto

/// SHA-256 for the journal's chain, bundle digests and finding fingerprints: swift-crypto's,
/// which on Linux is BoringSSL's assembly (SHA extensions where the CPU has them).
/// `loom-bench kernel` measured it at about nine times the speed of the hand-written Swift
/// one it replaced, on the run's own journal entries; the digests are the same bytes.
///
/// A type of the kernel's own, so the rest of loom hashes without importing the crypto
/// package, and the kernel's sources import it in this file only (`PurityTests`).
public struct SHA256 {
    private var hasher = Crypto.SHA256()

    public init() {}

    public mutating func update(_ bytes: [UInt8]) {
        hasher.update(data: bytes)
    }

    public mutating func update(_ string: String) {
        var text = string
        text.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
    }

    /// The 32-byte digest.
    public consuming func finalize() -> [UInt8] {
        Self.bytes(of: hasher.finalize())
    }

    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        Self.bytes(of: Crypto.SHA256.hash(data: bytes))
    }

    public static func hash(_ string: String) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(string)
        return hasher.finalize()
    }

    /// One copy of the digest's bytes; iterating the digest as a sequence cost more than the
    /// hash of a journal entry.
    private static func bytes(of digest: SHA256Digest) -> [UInt8] {
        digest.withUnsafeBytes { Array($0) }
    }
}

private let lowercaseHexDigits: [UInt8] = Array("0123456789abcdef".utf8)

extension Array where Element == UInt8 {
    /// Lowercase hexadecimal rendering of the bytes.
    public var hexString: String {
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for b in self {
            out.append(lowercaseHexDigits[Int(b >> 4)])
            out.append(lowercaseHexDigits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
