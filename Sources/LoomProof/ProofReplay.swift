import LoomEngine

/// Replays a verified proof against added rules, with the bundles it carries: where would
/// the new rule have stopped the proof's task?
public enum ProofReplay {
    /// - Returns: the history report; its catch for `proof.task` (if any) is the answer.
    public static func run(
        _ proof: ProofFile,
        extraRules: [SQLRule],
        progress: ((HistoryProgress) -> Void)? = nil
    ) throws(ProofError) -> HistoryReport {
        var bundles: [LoomBundle] = []
        for bundle in proof.bundles {
            do { bundles.append(try BundleLoader.load(files: bundle.files)) } catch {
                throw ProofError(.bundleMismatch, "the bundle does not load: \(error)", at: "bundle \(bundle.name)")
            }
        }
        do {
            return try HistoryReplayer(
                journal: JournalEntryList(proof.entries),
                bundles: bundles,
                extraRules: extraRules
            )
            .run(tasks: [proof.task], progress: progress)
        } catch {
            // Only the engine's set-up throws here (a rule that does not compile, say).
            throw ProofError(.invalidInput, "\(error)", at: "replaying \(proof.task)")
        }
    }
}
