import ArgumentParser
import Foundation
import LoomProviders

/// `loomctl web`: starts the web dashboard. The dashboard is its own executable, loom-web,
/// installed beside loomctl, so loomctl carries no HTTP server; this command finds it next
/// to itself and replaces this process with it (exec), passing the options on.
struct Web: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "web",
        abstract: "Start the web dashboard (loom-web) on 127.0.0.1 and print its URL with an access token.",
        discussion: """
            The dashboard is a client of loomd's socket: a gate answered there is journaled as \
            the OS user running it. It listens on loopback unless --host names another address. \
            See docs/dashboard.md.
            """
    )

    @Option(help: "The TCP port (0: any free port).") var port: Int = 8_787
    @Option(help: "The address to listen on; anything but loopback must be asked for here.") var host: String =
        "127.0.0.1"
    @OptionGroup var state: StateDirectoryOption
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
    }

    func run() throws {
        try runReporting {
            var arguments = [
                "--port", String(port), "--host", host, "--socket", global.socketPath, "--state-dir", state.path,
            ]
            FrontEnd.exec("loom-web", arguments, hint: "build it with: swift build --product loom-web")
        }
    }
}
