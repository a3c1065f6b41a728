import Foundation
import LoomIPC

/// loom-mcp's command line: `--socket PATH`, `--project DIR`, `--wait-seconds-max N`.
/// Parsed by hand: the server has four options and should not pull in a parser package.
struct MCPOptions: Sendable {
    var socketPath: String
    /// The project tools act on when a call names none: `--project`, else the current directory
    /// (an agent host starts its MCP servers in the project it works on).
    var project: String
    /// Upper bound on how long `next_step` waits for a step to become ready.
    var waitSecondsMax = 60

    static let usage = """
        usage: loom-mcp [--socket PATH] [--project DIR] [--wait-seconds-max N]
        An MCP server on stdio for agent hosts (Claude Code): tools submit, status, next_step,
        report_step, gates, answer_gate, replay. The host executes each agent step itself;
        gates stay with people. See docs/mcp.md.
        """

    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    static func parse(_ arguments: [String], environment: [String: String]) throws(UsageError) -> MCPOptions {
        var options = MCPOptions(
            socketPath: DefaultSocketPath.resolve(environment, forClient: true),
            project: FileManager.default.currentDirectoryPath
        )
        var index = 0
        func value(_ name: String) throws(UsageError) -> String {
            index += 1
            guard index < arguments.count else { throw UsageError(description: "\(name) needs a value") }
            return arguments[index]
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--socket": options.socketPath = try value("--socket")
            case "--project", "-C": options.project = try value("--project")
            case "--wait-seconds-max":
                guard let seconds = Int(try value("--wait-seconds-max")), (0...600).contains(seconds) else {
                    throw UsageError(description: "--wait-seconds-max must be 0 to 600")
                }
                options.waitSecondsMax = seconds
            case "--help", "-h", "--help-server": throw UsageError(description: "")
            case let other: throw UsageError(description: "unknown argument '\(other)'")
            }
            index += 1
        }
        options.project = URL(fileURLWithPath: options.project).standardizedFileURL.resolvingSymlinksInPath().path
        return options
    }
}
