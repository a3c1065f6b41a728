import ArgumentParser
import Foundation
import LoomEngine
import LoomIPC
import LoomProof
import LoomSystem
import LoomValues

/// Options every daemon command takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "The loomd socket (default: $LOOM_SOCKET, /run/loom/loomd.sock, $XDG_RUNTIME_DIR/loom/loomd.sock)."
    )
    var socket: String?

    @Flag(name: .long, help: "Print the result as JSON, for scripts.")
    var json = false

    var socketPath: String { socket ?? DefaultSocketPath.resolve(ProcessInfo.processInfo.environment, forClient: true) }

    /// Connects, or exits 5 saying how to start the daemon.
    func connect() throws -> IPCClient {
        do {
            return try IPCClient(socketPath: socketPath, clientName: "loomctl 0.1.0")
        } catch {
            let noDaemon = error.stage == .connect && error.code == .unavailable
            throw CLIError(
                error,
                hint: noDaemon
                    ? "start it with: loomd --state-dir ~/.local/state/loom --socket \(socketPath) &   (or: systemctl start loomd)"
                    : nil
            )
        }
    }

    /// Calls a method and prints the result (JSON or `human`).
    func call<M: IPCMethod>(_ method: M.Type, _ params: M.Params, human: (M.Result) -> String) throws {
        let client = try connect()
        defer { client.close() }
        let result: M.Result
        do { result = try client.call(method, params) } catch { throw CLIError(error) }
        print(json ? result.json.canonicalText : human(result))
    }
}

/// Options naming a project.
struct ProjectOption: ParsableArguments {
    @Option(name: .customShort("C"), help: "The project directory (default: the current directory).")
    var directory: String?

    /// The project's absolute path, symlinks resolved.
    var root: String { Self.resolve(directory) }

    /// The project's database, opened read-only (the commands that work without loomd).
    func readOnlyStore() throws(LoomError) -> Store {
        try Store(path: "\(root)/.loom/state.db", options: .readOnlyAccess)
    }

    static func resolve(_ directory: String?) -> String {
        let path = directory ?? FileManager.default.currentDirectoryPath
        return URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }
}

/// An error with the exit status it maps to.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    let status: Int32

    init(_ message: String, status: Int32) {
        self.message = message
        self.status = status
    }

    /// From a wire error (other errors are reported as they are, exit 1).
    init(_ anyError: any Error, hint: String? = nil) {
        guard let error = anyError as? IPCError else {
            self.init("\(anyError)", status: 1)
            return
        }
        let status: Int32
        switch error.code {
        case .notFound: status = 3
        case .forbidden: status = 4
        case .unavailable: status = 5
        case .invalidParams, .unknownMethod: status = 2
        default: status = 1
        }
        self.init("\(error.code.rawValue): \(error.message)" + (hint.map { "\n\($0)" } ?? ""), status: status)
    }

    var description: String { message }

    /// The exit status's name in a JSON error (the statuses `loomctl --help` lists).
    static func codeName(_ status: Int32) -> String {
        switch status {
        case 2: "usage"
        case 3: "not_found"
        case 4: "forbidden"
        case 5: "unavailable"
        case 6: "broken_chain"
        case 7: "replay_diverged"
        case 8: "bad_signature"
        case 9: "parked"
        default: "error"
        }
    }
}

/// Runs a command body, turning an error into its message (stderr) and exit status; under
/// `--json` the error is also a JSON object on stdout, `{"error": {"code", "message"}}`, so
/// a script reads one format either way.
func runReporting(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as CLIError {
        throw reported(error.message, status: error.status)
    } catch let error as LoomError {
        throw reported("\(error)", status: error.code == .notFound ? 3 : 1)
    } catch let error as ProofError {
        throw reported("\(error)", status: error.exitStatus)
    }
}

/// Prints a failure for people (and for scripts, under `--json`); the exit to throw.
private func reported(_ message: String, status: Int32) -> ExitCode {
    StandardError.write("loomctl: \(message)\n")
    let arguments = CommandLine.arguments.dropFirst().prefix { $0 != "--" }
    if arguments.contains("--json") {
        print(
            JSONValue.object([
                "error": .object([
                    "code": .string(CLIError.codeName(status)), "message": .string(message),
                    "status": .int(Int64(status)),
                ])
            ]).canonicalText
        )
    }
    return ExitCode(status)
}

/// Formats a time token (ms since the epoch) for people, in UTC.
func formatTime(_ milliseconds: Int64?) -> String {
    guard let milliseconds else { return "-" }
    let date = Date(timeIntervalSince1970: Double(milliseconds) / 1_000)
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: date)
}
