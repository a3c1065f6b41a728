import ArgumentParser
import Foundation

/// `--state-dir`, for the commands that edit loomd's files directly (models, secrets):
/// the same default as loomd's (`$STATE_DIRECTORY`, as systemd sets it, else
/// `~/.local/state/loom`).
struct StateDirectoryOption: ParsableArguments {
    @Option(name: .long, help: "loomd's state directory (default: $STATE_DIRECTORY, else ~/.local/state/loom).")
    var stateDir: String?

    var path: String {
        if let stateDir { return stateDir }
        let environment = ProcessInfo.processInfo.environment
        if let state = environment["STATE_DIRECTORY"], let first = state.split(separator: ":").first { return String(first) }
        return "\(environment["HOME"] ?? "/tmp")/.local/state/loom"
    }
}
