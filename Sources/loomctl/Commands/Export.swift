import ArgumentParser
import Foundation
import LoomEngine
import LoomProof
import LoomValues

/// `loomctl export TASK -o FILE`: a proof file another machine can verify without the project.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract:
            "Write a self-contained proof of a task's run (its journal with the chain, the bundles, the providers, the chain head). Read-only; no daemon needed.",
        discussion: """
            The format is described in docs/proof-file.md. Check it anywhere with `loomctl verify FILE`; \
            replay it with `loomctl replay FILE --rules new.sql`. With --sign KEYFILE the header (and \
            with it the chain head) is signed with an Ed25519 key from `loomctl keys generate`. The \
            proof carries loomd's latest signed chain head within it (docs/journal.md), once every \
            checkpoint of the project has verified (by loomd's key, when its state directory is readable).
            Exit status: 0 written; 3 no such task, or its bundle is not under --bundles; 6 the \
            project's journal does not verify; 8 its signed chain heads do not (nothing is written).
            """
    )

    @Argument(help: "The task id.") var task: String
    @Option(name: .shortAndLong, help: "The proof file to write.") var output: String
    @Option(name: .long, help: "A private key file (from `loomctl keys generate`) to sign the proof with.") var sign:
        String?
    @OptionGroup var project: ProjectOption
    @OptionGroup var bundles: BundleOption
    @OptionGroup var stateDirectory: StateDirectoryOption
    @Flag(name: .long, help: "Print the result as JSON.") var json = false

    func run() throws {
        try runReporting {
            let signer = try sign.map { path throws -> OperatorKey in try OperatorKey(file: path) }
            let store = try project.readOnlyStore()
            // The versions the project's database stores come first: they are what ran.
            let loaded = try BundleArchive.all(in: store) + bundles.load()
            guard !loaded.isEmpty else {
                throw CLIError(
                    "export needs the bundles the task ran: this database stores none, so pass --bundles DIR or set LOOM_BUNDLES",
                    status: 2
                )
            }
            let proof = try ProofExporter.export(
                store: store,
                task: task,
                bundles: loaded,
                signer: signer,
                trustedChainKey: try stateDirectory.loomdChainKey()
            )
            let bytes = proof.encoded()
            do {
                try Data(bytes).write(to: URL(fileURLWithPath: output), options: .atomic)
            } catch {
                throw CLIError("cannot write \(output): \(error.localizedDescription)", status: 1)
            }
            let result: JSONValue = .object([
                "task": .string(task), "file": .string(output), "bytes": .int(Int64(bytes.count)),
                "entries": .int(Int64(proof.entries.count)), "head": .string(proof.head.hexString),
                "bundles": .array(proof.bundles.map { .string("\($0.name)@\($0.digest)") }),
                "signed_by": proof.signature.map { .string($0.publicKey.hexString) } ?? .null,
                "checkpoint": proof.checkpoints.last.map {
                    .object(["seq": .int($0.seq), "public_key": .string($0.publicKey.hexString)])
                } ?? .null,
            ])
            print(
                json
                    ? result.canonicalText
                    : """
                    exported task \(task) to \(output) (\(bytes.count) bytes): \(proof.entries.count) entries, head \(proof.head.hexString)
                    bundles: \(proof.bundles.map { "\($0.name) \($0.digest)" }.joined(separator: ", "))\(proof.missingBundles.isEmpty ? "" : "; not available: \(proof.missingBundles.map(\.description).joined(separator: ", "))")
                    \(proof.checkpoints.last.map { "loomd's signed chain head at entry \($0.seq) (key \($0.publicKey.hexString))" } ?? "no signed chain head (loomd did not sign this project's chain)")
                    \(proof.signature.map { "signed by \($0.publicKey.hexString)" } ?? "unsigned")
                    """
            )
        }
    }
}
