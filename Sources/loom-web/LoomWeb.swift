import ArgumentParser
import Foundation
import LoomIPC
import LoomSystem
import LoomWeb

/// loom-web: the web dashboard, a client of loomd's socket. `loomctl web` starts it.
@main
struct LoomWebCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loom-web",
        abstract: "Serve loom's web dashboard: the fleet, tasks, gates, diffs, flows, models and metrics.",
        discussion: """
            Listens on 127.0.0.1 unless --host says otherwise, and prints a URL with a random \
            access token; open it once and the browser keeps the token in a cookie. Every \
            change (submit, answer a gate, ship) goes to loomd through its socket, as the OS \
            user running this process.
            """,
        version: "loom-web 0.1.0"
    )

    @Option(help: "The TCP port (0: any free port).") var port: Int = 8_787
    @Option(
        help: "The address to listen on. Anything but loopback exposes the dashboard to the network; say so explicitly."
    ) var host: String = "127.0.0.1"
    @Option(help: "The loomd socket (default: $LOOM_SOCKET, /run/loom/loomd.sock, $XDG_RUNTIME_DIR/loom/loomd.sock).")
    var socket: String?
    @Option(help: "loomd's state directory, for models.json (default: $STATE_DIRECTORY, else ~/.local/state/loom).")
    var stateDir: String?

    @Option(help: "Live-update streams open at once (1...1000).") var eventStreamsMax: Int = DashboardLimits()
        .eventStreamsMax
    @Option(help: "Seconds between heartbeats on a live stream (1...300).") var heartbeatSeconds: Int =
        DashboardLimits().heartbeatSeconds

    func validate() throws {
        guard (1...1_000).contains(eventStreamsMax) else {
            throw ValidationError("--event-streams-max must be 1 to 1000")
        }
        guard (1...300).contains(heartbeatSeconds) else {
            throw ValidationError("--heartbeat-seconds must be 1 to 300")
        }
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        guard !host.isEmpty else { throw ValidationError("--host must name an address") }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let state =
            stateDir ?? environment["STATE_DIRECTORY"].flatMap { $0.split(separator: ":").first.map(String.init) }
            ?? "\(environment["HOME"] ?? "/tmp")/.local/state/loom"
        var configuration = DashboardConfiguration(
            socketPath: socket ?? DefaultSocketPath.resolve(environment, forClient: true),
            stateDirectory: state
        )
        configuration.host = host
        configuration.port = port
        configuration.limits.eventStreamsMax = eventStreamsMax
        configuration.limits.heartbeatSeconds = heartbeatSeconds
        if !DashboardConfiguration.isLoopback(host) {
            StandardError.write(
                "loom-web: listening on \(host), not loopback: anyone who can reach it and learns the token can answer gates\n"
            )
        }
        let server = DashboardServer(configuration: configuration)
        let socketPath = configuration.socketPath
        try await server.run { url in
            // One write, so a test or a wrapper reading the first line gets all of it.
            FileHandle.standardOutput.write(Data("loom-web: dashboard for \(socketPath) at \(url)\n".utf8))
        }
    }
}
