import LoomEngine
import LoomProviders
import LoomSystem
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// loomd's own note, outside the project, of the last chain head it signed for each project
/// (`STATE/heads/<sha256 of the project path>.json`).
///
/// Checkpoints live in the project's database, so whoever rewrites history there can also
/// delete the checkpoints after the rewrite (or cut entries off the end), which would read
/// as an unsigned tail. This note is out of an agent's reach (the state directory), and
/// `loomctl verify` requires valid checkpoints up to the entry it names.
public enum SignedHeadRecord {
    public static let directoryName = "heads"

    public static func path(stateDirectory: String, project root: String) -> String {
        "\(stateDirectory)/\(directoryName)/\(SHA256.hash(root).hexString).json"
    }

    /// Records `position` as the last head signed for `root` (atomically: a crash leaves the
    /// old note or the new one).
    package static func write(_ position: ChainPosition, stateDirectory: String, project root: String) throws(LoomError)
    {
        let directory = "\(stateDirectory)/\(directoryName)"
        guard FileSystem.makeDirectories(directory, mode: 0o750) else {
            throw LoomError(
                .io,
                "cannot create \(directory): \(Errno.current.description)",
                context: "recording the signed head of \(root)"
            )
        }
        let note: JSONValue = .object([
            "project": .string(root), "seq": .int(position.seq), "head": .string(position.head.hexString),
        ])
        try writeFileAtomically(path(stateDirectory: stateDirectory, project: root), note.canonicalText + "\n")
    }

    /// The last head loomd noted signing for `root`; nil when there is no readable note
    /// (another machine, another user, a project loomd never signed).
    public static func read(stateDirectory: String, project root: String) -> ChainPosition? {
        guard let text = FileSystem.readText(path(stateDirectory: stateDirectory, project: root), limit: 4_096),
            let note = try? JSONValue.parse(text), note["project"]?.stringValue == root,
            let seq = note["seq"]?.intValue, let head = note["head"]?.stringValue
        else { return nil }
        let digits = Array(head.utf8)
        guard digits.count == 64 else { return nil }
        let bytes = stride(from: 0, to: 64, by: 2).compactMap {
            UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)
        }
        return bytes.count == 32 ? ChainPosition(seq: seq, head: bytes) : nil
    }
}
