import ArgumentParser

/// `loomctl mcp`: the MCP server on stdio, for agent hosts such as Claude Code (docs/mcp.md).
struct MCP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve loom's tools over MCP on stdio (runs loom-mcp).",
        discussion:
            "The host submits tasks, executes their agent steps itself and reports each result; gates stay with people. See docs/mcp.md."
    )

    @Argument(parsing: .captureForPassthrough, help: "Passed to loom-mcp (see: loom-mcp --help).")
    var arguments: [String] = []

    func run() throws {
        FrontEnd.exec("loom-mcp", arguments)
    }
}
