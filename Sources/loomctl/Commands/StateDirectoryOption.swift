import ArgumentParser
import Foundation
import LoomHost
import LoomProof

/// `--state-dir`, for the commands that edit loomd's files directly (models, secrets):
/// the same default as loomd's (`$STATE_DIRECTORY`, as systemd sets it, else
/// `~/.local/state/loom`).
struct StateDirectoryOption: ParsableArguments {
    @Option(name: .long, help: "loomd's state directory (default: $STATE_DIRECTORY, else ~/.local/state/loom).")
    var stateDir: String?

    var path: String {
        if let stateDir { return stateDir }
        let environment = ProcessInfo.processInfo.environment
        if let state = environment["STATE_DIRECTORY"], let first = state.split(separator: ":").first {
            return String(first)
        }
        return "\(environment["HOME"] ?? "/tmp")/.local/state/loom"
    }

    /// loomd's chain-signing public key (`STATE/keys/chain.key.pub`) and where it was read,
    /// when it is readable here; nil otherwise (another machine, another user).
    func loomdChainKey() throws(ProofError) -> (key: PublicOperatorKey, source: String)? {
        let path = ChainSigner.keyPath(stateDirectory: self.path) + ".pub"
        guard access(path, R_OK) == 0 else { return nil }
        return (try PublicOperatorKey(file: path), "loomd's key (\(path))")
    }
}
