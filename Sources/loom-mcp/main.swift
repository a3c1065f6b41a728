import Foundation
import LoomSystem
import LoomValues
import MCP

// loom-mcp: the MCP server on stdio (`loomctl mcp`). Stdout carries the protocol only;
// anything for people goes to stderr.
let options: MCPOptions
do {
    options = try MCPOptions.parse(
        Array(CommandLine.arguments.dropFirst()),
        environment: ProcessInfo.processInfo.environment
    )
} catch {
    StandardError.write(
        ((error.description.isEmpty ? "" : "loom-mcp: \(error.description)\n") + MCPOptions.usage + "\n")
    )
    exit(error.description.isEmpty ? 0 : 2)
}

let connection = LoomConnection(socketPath: options.socketPath)
// Attach as an agent host at once, not at the first tool call: until loomd knows this host,
// a gate answer from its shell would pass for a person's.
do {
    try connection.connect()
} catch {
    StandardError.write(
        "loom-mcp: loomd at \(options.socketPath) is not reachable yet (\(error)); this host attaches at the first call\n"
    )
}
let tools = LoomTools(options: options, connection: connection)
let server = Server(
    name: "loom",
    version: "0.1.0",
    instructions: """
        loom runs multi-step agent work as a recorded, replayable state machine. Submit a task, then loop: \
        next_step → do the step in its worktree → report_step. Run review and adjudication steps in a fresh \
        context with their own session name. Gates are answered by a person, not by you.
        """,
    capabilities: .init(tools: .init(listChanged: false))
)
await server.withMethodHandler(ListTools.self) { _ in .init(tools: LoomTools.definitions) }
await server.withMethodHandler(CallTool.self) { params in await tools.call(params.name, params.arguments ?? [:]) }
do {
    try await server.start(transport: StdioTransport())
    await server.waitUntilCompleted()
} catch {
    StandardError.write("loom-mcp: \(error)\n")
    exit(1)
}
