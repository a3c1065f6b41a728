import LoomEngine
import LoomProof
import LoomProviders
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// loomd's chain-signing key (`STATE/keys/chain.key`, an operator key in `loomctl keys`
/// format) and the signing of chain heads with it (docs/journal.md, "Checkpoints").
///
/// The point is that history cannot be rewritten without the key: anyone who can write a
/// project's state.db can recompute the unkeyed hash chain after an edit, but cannot sign
/// the new heads, so `loomctl verify` sees the old signatures no longer match. The key
/// lives in the state directory, out of the agents' view (their sandbox hides it), and
/// never in a project's `.loom`.
///
/// `@unchecked Sendable`: every property is a constant, and the key (an immutable value
/// that Crypto does not mark Sendable) is only read to sign, which any thread may do.
public final class ChainSigner: @unchecked Sendable {
    /// Under the state directory; the directory is 0700, the key 0600, the `.pub` 0644.
    public static let keyDirectoryName = "keys"
    public static let keyFileName = "chain.key"
    /// A checkpoint at least every this many entries (one tick journals one entry), besides
    /// those at gates, task ends, idle and shutdown: signing every tick would cost an
    /// Ed25519 signature and a second fsync'd transaction per tick.
    public static let entriesPerCheckpointDefault: Int64 = 32

    package let key: OperatorKey
    public let entriesPerCheckpoint: Int64
    /// Where the key lives, and the notes of what was signed (`SignedHeadRecord`).
    package let stateDirectory: String
    public var publicKey: PublicOperatorKey { key.publicKey }

    public static func keyPath(stateDirectory: String) -> String {
        "\(stateDirectory)/\(keyDirectoryName)/\(keyFileName)"
    }

    /// Loads loomd's key, creating it (and its 0700 directory) on first start.
    public init(
        stateDirectory: String,
        entriesPerCheckpoint: Int64 = ChainSigner.entriesPerCheckpointDefault
    ) throws(LoomError) {
        precondition(entriesPerCheckpoint >= 1, "a checkpoint interval of \(entriesPerCheckpoint) entries")
        self.entriesPerCheckpoint = entriesPerCheckpoint
        self.stateDirectory = stateDirectory
        let directory = "\(stateDirectory)/\(Self.keyDirectoryName)"
        let path = Self.keyPath(stateDirectory: stateDirectory)
        let context = "loading loomd's chain-signing key \(path)"
        guard FileSystem.makeDirectories(directory, mode: 0o700) else {
            throw LoomError(.io, "cannot create \(directory): \(Errno.current.description)", context: context)
        }
        var status = stat()
        guard stat(directory, &status) == 0, status.st_mode & 0o077 == 0 else {
            throw LoomError(
                .forbidden,
                "\(directory) is open to others (mode \(String(status.st_mode & 0o777, radix: 8))); chmod 700 it",
                context: context
            )
        }
        do {
            if access(path, F_OK) != 0 {
                try OperatorKey.generate().write(to: path)
            }
            key = try OperatorKey(file: path)
        } catch {
            throw LoomError(error.code == .io ? .io : .invalidInput, error.description, context: context)
        }
    }

    /// Notes, outside the project, that `root`'s head at `position` was signed.
    package func noteSigned(_ position: ChainPosition, project root: String) throws(LoomError) {
        try SignedHeadRecord.write(position, stateDirectory: stateDirectory, project: root)
    }

    /// Signs `position` as a checkpoint.
    package func sign(_ position: ChainPosition) throws(LoomError) -> ChainCheckpoint {
        do { return try ChainCheckpoint.signed(position, with: key) } catch {
            throw LoomError(.internal, error.description, context: "signing the chain head at entry \(position.seq)")
        }
    }
}
