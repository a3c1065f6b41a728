import ArgumentParser
import Foundation
import LoomEngine
import LoomHost
import LoomProof
import LoomValues

/// `loomctl verify`: works on the file directly, read-only, without the daemon — a
/// project's state.db, or a proof file from `loomctl export` on a machine with no project.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract:
            "Check a project's journal, or a proof file: recompute the hash chain and replay it. Read-only; no daemon needed.",
        discussion: """
            With a TASK (or --all), checks the project's state.db and replays it with the bundle \
            versions the database stores (plus --bundles or $LOOM_BUNDLES, for a database written \
            before it stored them). It also checks the chain heads loomd signed: each checkpoint's \
            head must be the recomputed hash at its entry and its signature must verify, by the key \
            in --public-key, else by loomd's key in its state directory when readable (--state-dir), \
            else by the key each checkpoint names. Entries after the last checkpoint are reported \
            as an unsigned tail, not as tampering. With a FILE (an existing file, from `loomctl export`), \
            checks the proof with nothing but the file: every entry's hash and link, the head, \
            each bundle's digest recomputed from its files, the provider identities, loomd's signed \
            chain head if the proof carries one (by loomd's key when its state directory is readable \
            here), the signature (against --public-key when given), and a replay with the bundles it carries.
            Exit status 0 when intact; 6 when the hash chain is broken (an entry edited, deleted or \
            inserted) or the proof file is damaged; 7 when the chain holds but replay diverges \
            (state edited without touching the journal); 8 when a signature does not verify: a \
            project's checkpoint does not match the recomputed chain (history rewritten without the \
            key) or is by another key than the trusted one, or a proof's signature is bad, by \
            another key than --public-key, or missing while --public-key is given.
            """
    )

    @Argument(help: "A task id to replay (default: every task), or a proof file.") var task: String?
    @Flag(help: "Check every task (the default when no task is named).") var all = false
    @OptionGroup var project: ProjectOption
    @Option(
        name: .customLong("bundles"),
        help:
            "A directory of bundles to replay with (default: $LOOM_BUNDLES); without bundles only the chain is checked."
    ) var bundles: String?
    @Option(
        name: .customLong("public-key"),
        help:
            "The public key file (KEYFILE.pub) signatures must be by: for a proof file the operator's, for a project loomd's (STATE/keys/chain.key.pub)."
    ) var publicKey: String?
    @OptionGroup var stateDirectory: StateDirectoryOption
    @Flag(name: .long, help: "Print the result as JSON.") var json = false

    /// The largest proof file read (the same bound the decoder applies).
    static let proofMaxBytes = ProofLimits().fileMaxBytes

    func run() throws {
        try runReporting {
            if let task, isProofFile(task) {
                try verifyProof(task)
            } else {
                try verifyProject()
            }
        }
    }

    private func verifyProject() throws {
        let store = try project.readOnlyStore()
        let chain = try ChainVerifier.verify(store)
        var result: [String: JSONValue] = ["chain": .string(chain.description)]
        var status: Int32 = 0
        var lines = [chain.description]
        if case .intact(let entries, _) = chain {
            // The chain recomputes; now check nobody recomputed it without loomd's key.
            let noted = SignedHeadRecord.read(stateDirectory: stateDirectory.path, project: project.root)
            let signatures = try CheckpointVerifier.verify(
                store,
                entries: entries,
                trustedKey: try trustedChainKey(),
                signedThrough: noted.map {
                    (
                        $0,
                        "loomd's note \(SignedHeadRecord.path(stateDirectory: stateDirectory.path, project: project.root))"
                    )
                }
            )
            result["signatures"] = signatures.json
            lines += signatures.summary
            if !signatures.isValid { status = 8 }
        } else {
            status = 6
        }
        // The database stores every bundle version its tasks ran; --bundles adds versions a
        // database written before it stored them needs.
        let directory = bundles ?? ProcessInfo.processInfo.environment["LOOM_BUNDLES"]
        // Replay runs after a signature failure too: it says what the rewrite changed.
        if try status != 6 && (directory != nil || !BundleArchive.all(in: store).isEmpty) {
            let loaded = try directory.map { try BundleOption.load($0) } ?? []
            let report = try Replayer(source: store, bundles: loaded).run(task: all ? nil : task)
            result["replay"] = .string(report.description)
            lines.append(report.description)
            if case .identical = report {} else if status == 0 { status = 7 }
        }
        result["ok"] = .bool(status == 0)
        print(json ? JSONValue.object(result).canonicalText : lines.joined(separator: "\n"))
        if status != 0 { throw ExitCode(status) }
    }

    /// The key a project's checkpoints must be signed by: --public-key, else loomd's own
    /// public key when its state directory is readable here, else none (each checkpoint is
    /// checked against the key it names, and the output says so).
    private func trustedChainKey() throws -> (key: PublicOperatorKey, source: String)? {
        if let publicKey { return (try PublicOperatorKey(file: publicKey), "the key in \(publicKey)") }
        return try stateDirectory.loomdChainKey()
    }

    private func verifyProof(_ path: String) throws {
        let trusted = try publicKey.map { path throws -> PublicOperatorKey in try PublicOperatorKey(file: path) }
        let bytes = try readBounded(path, maxBytes: Self.proofMaxBytes)
        let proof: ProofFile
        let verification: ProofVerification
        do throws(ProofError) {
            (proof, verification) = try ProofVerifier.verify(
                bytes: bytes,
                trustedKey: trusted,
                trustedChainKey: try stateDirectory.loomdChainKey()
            )
        } catch {
            if json {
                print(
                    JSONValue.object([
                        "ok": false, "file": .string(path), "code": .string(error.code.rawValue),
                        "at": .string(error.location), "problem": .string(error.message),
                    ]).canonicalText
                )
                throw ExitCode(error.exitStatus)
            }
            throw error
        }
        var result = verification.json.objectValue ?? [:]
        result["file"] = .string(path)
        var lines = verification.summary
        var status: Int32 = 0
        // The chain is sound; now check it is a run of the bundles it carries.
        if verification.missingBundles.isEmpty {
            let report = try ProofReplay.run(proof, extraRules: [])
            if let problem = report.problem {
                status = 7
                result["replay"] = .string(problem.description)
                lines.append("replay: \(problem)")
            } else {
                result["replay"] = .string("reproduced \(report.ticks) entries hash for hash")
                lines.append("replay: reproduced all \(report.ticks) entries hash for hash with the included bundles")
            }
        } else {
            result["replay"] = .string("skipped: bundles missing")
            lines.append("replay: skipped, the proof lacks an earlier bundle version")
        }
        result["ok"] = .bool(status == 0)
        print(json ? JSONValue.object(result).canonicalText : lines.joined(separator: "\n"))
        if status != 0 { throw ExitCode(status) }
    }
}
