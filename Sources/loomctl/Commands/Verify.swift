import ArgumentParser
import Foundation
import LoomEngine
import LoomProof

/// `loomctl verify`: works on the file directly, read-only, without the daemon — a
/// project's state.db, or a proof file from `loomctl export` on a machine with no project.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a project's journal, or a proof file: recompute the hash chain and replay it. Read-only; no daemon needed.",
        discussion: """
        With a TASK (or --all), checks the project's state.db and replays it with the bundle \
        versions the database stores (plus --bundles or $LOOM_BUNDLES, for a database written \
        before it stored them). With a FILE (an existing file, from `loomctl export`), \
        checks the proof with nothing but the file: every entry's hash and link, the head, \
        each bundle's digest recomputed from its files, the provider identities, the signature \
        (against --public-key when given), and a replay with the bundles it carries.
        Exit status 0 when intact; 6 when the hash chain is broken (an entry edited, deleted or \
        inserted) or the proof file is damaged; 7 when the chain holds but replay diverges \
        (state edited without touching the journal); 8 when a proof's signature does not \
        verify, is by another key than --public-key, or is missing while --public-key is given.
        """)

    @Argument(help: "A task id to replay (default: every task), or a proof file.") var task: String?
    @Flag(help: "Check every task (the default when no task is named).") var all = false
    @OptionGroup var project: ProjectOption
    @Option(name: .customLong("bundles"), help: "A directory of bundles to replay with (default: $LOOM_BUNDLES); without bundles only the chain is checked.") var bundles: String?
    @Option(name: .customLong("public-key"), help: "For a proof file: the operator's public key file (KEYFILE.pub); the proof must be signed by it.") var publicKey: String?
    @Flag(name: .long, help: "Print the result as JSON.") var json = false

    /// The largest proof file read (the same bound the decoder applies).
    static let proofMaxBytes = ProofLimits().fileMaxBytes

    func validate() throws {
        if publicKey != nil && !(task.map(isProofFile) ?? false) {
            throw ValidationError("--public-key applies to a proof file; name an existing file")
        }
    }

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
        if case .intact = chain {} else { status = 6 }
        // The database stores every bundle version its tasks ran; --bundles adds versions a
        // database written before it stored them needs.
        let directory = bundles ?? ProcessInfo.processInfo.environment["LOOM_BUNDLES"]
        if try status == 0 && (directory != nil || !BundleArchive.all(in: store).isEmpty) {
            let loaded = try directory.map { try BundleOption.load($0) } ?? []
            let report = try Replayer(source: store, bundles: loaded).run(task: all ? nil : task)
            result["replay"] = .string(report.description)
            if case .identical = report {} else { status = 7 }
        }
        result["ok"] = .bool(status == 0)
        print(json ? JSONValue.object(result).canonicalText : [result["chain"]?.stringValue, result["replay"]?.stringValue].compactMap { $0 }.joined(separator: "\n"))
        if status != 0 { throw ExitCode(status) }
    }

    private func verifyProof(_ path: String) throws {
        let trusted = try publicKey.map { path throws -> PublicOperatorKey in try PublicOperatorKey(file: path) }
        let bytes = try readBounded(path, maxBytes: Self.proofMaxBytes)
        let proof: ProofFile
        let verification: ProofVerification
        do throws(ProofError) {
            (proof, verification) = try ProofVerifier.verify(bytes: bytes, trustedKey: trusted)
        } catch {
            if json {
                print(JSONValue.object(["ok": false, "file": .string(path), "code": .string(error.code.rawValue),
                                        "at": .string(error.location), "problem": .string(error.message)]).canonicalText)
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
