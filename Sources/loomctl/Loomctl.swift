import ArgumentParser
import Foundation
import LoomIPC
import LoomSystem

/// loomctl: the command line for loomd, and for what works without it (verify).
@main
struct Loomctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loomctl",
        abstract: "Drive loom: submit tasks, watch them, answer their gates, replay and verify their journals.",
        discussion: """
            Most commands talk to loomd over its Unix socket (--socket, $LOOM_SOCKET, else \
            /run/loom/loomd.sock or $XDG_RUNTIME_DIR/loom/loomd.sock). A task is named by its \
            id within a project; -C DIR names the project (default: the current directory).

            Exit status: 0 ok, 1 error, 2 usage, 3 not found, 4 forbidden or refused, \
            5 daemon unavailable, 6 a broken hash chain (or a damaged proof file) or a replay \
            that found a difference, 7 (verify) a chain that holds but a replay that diverges, \
            8 a proof whose signature does not verify or is not by the trusted key, 9 (run) a task \
            parked at a gate with nobody at a terminal to answer it, 130 (run) interrupted.
            """,
        version: "loomctl 0.1.0",
        subcommands: [
            Submit.self, Run.self, Status.self, Gates.self, Tasks.self, Diff.self, Log.self, Approve.self, Reject.self,
            Abandon.self, Cancel.self,
            Replay.self, Verify.self, Export.self, Keys.self, Ship.self, BundleCommand.self, GraphCommand.self,
            Models.self, Secrets.self, Metrics.self, Projects.self, MCP.self, Bot.self, Web.self,
        ]
    )

    /// Usage errors exit 2 (as documented), not ArgumentParser's 64.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                StandardError.write((fullMessage(for: error) + "\n"))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
