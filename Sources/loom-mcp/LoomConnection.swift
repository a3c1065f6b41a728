import LoomIPC

/// The MCP server's connection to loomd, shared by every tool call and re-made after a
/// failure. Each new connection first calls `hosts.attach`: loomd then treats this server
/// and the host that started it as an agent host, whose gate answers are an agent's.
typealias LoomConnection = ReconnectingClient

extension ReconnectingClient {
    convenience init(socketPath: String) {
        self.init(socketPath: socketPath, clientName: "loom-mcp 0.1.0") { client throws(IPCError) in
            _ = try client.call(HostsAttach.self)
        }
    }
}
