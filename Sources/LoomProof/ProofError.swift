/// Why a proof file could not be written, read or trusted. Each code maps to one exit
/// status of `loomctl` (see `exitStatus`), so a script can tell a damaged proof from a
/// forged signature from a missing file.
public struct ProofError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        /// The file could not be read or written at all.
        case io
        /// Over a limit (`ProofLimits`).
        case tooLarge
        /// Not a proof file, or a line that is not canonical JSON of the expected shape.
        case malformed
        /// An entry's hash, link or sequence does not check, or the head is not the last hash.
        case chainBroken
        /// A bundle's files do not hash to its digest, or it is not the bundle the journal names.
        case bundleMismatch
        /// A derived section (provider identities, missing bundles) does not match the entries.
        case derivedMismatch
        /// The signature does not verify, was made by another key, or is missing when one is required.
        case badSignature
        /// A key file that is not a loom Ed25519 key.
        case invalidKey
        /// The task or a needed bundle is not there.
        case notFound
        /// An argument that cannot be used (an added rule that does not compile, say).
        case invalidInput
    }

    public let code: Code
    public let message: String
    /// What was being read or checked: "line 7 (entry 6)", "bundle publishing", "header".
    public let location: String

    public init(_ code: Code, _ message: String, at location: String) {
        self.code = code
        self.message = message
        self.location = location
    }

    public var description: String { location.isEmpty ? message : "\(location): \(message)" }

    /// `loomctl`'s exit status for this error: 6 for a proof whose content does not check
    /// (the same status `verify` gives a broken chain), 8 for a signature problem, 3 for
    /// something missing, 2 for a bad argument, 1 otherwise.
    public var exitStatus: Int32 {
        switch code {
        case .malformed, .chainBroken, .bundleMismatch, .derivedMismatch: return 6
        case .badSignature: return 8
        case .notFound: return 3
        case .invalidInput: return 2
        case .io, .tooLarge, .invalidKey: return 1
        }
    }
}
