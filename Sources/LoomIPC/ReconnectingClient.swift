import LoomSystem
import LoomValues

/// One connection to loomd for a long-lived client (the MCP server, the Telegram bot),
/// made on first use and made again after a transport failure (loomd restarted, the
/// connection dropped). Calls are serialized: `IPCClient` is one-request-at-a-time.
public final class ReconnectingClient: @unchecked Sendable {
    public let socketPath: String
    private let clientName: String
    /// Run on each new connection before its first call (the MCP server attaches as a host).
    private let onConnect: (IPCClient) throws(IPCError) -> Void
    private let lock = Lock()
    private var client: IPCClient?

    public init(
        socketPath: String,
        clientName: String,
        onConnect: @escaping (IPCClient) throws(IPCError) -> Void = { _ in }
    ) {
        self.socketPath = socketPath
        self.clientName = clientName
        self.onConnect = onConnect
    }

    /// Calls a method that takes no params.
    public func call<M: IPCMethod>(_ method: M.Type) throws(IPCError) -> M.Result where M.Params == NoParams {
        try call(method, NoParams())
    }

    /// Connects now (running `onConnect`) if not connected, rather than at the first call.
    public func connect() throws(IPCError) {
        try lock.withLock { () throws(IPCError) in _ = try connected() }
    }

    /// The open connection, made (and `onConnect` run) if there is none. Under `lock`.
    private func connected() throws(IPCError) -> IPCClient {
        if let client { return client }
        let fresh = try IPCClient(socketPath: socketPath, clientName: clientName)
        try onConnect(fresh)
        client = fresh
        return fresh
    }

    public func call<M: IPCMethod>(_ method: M.Type, _ params: M.Params) throws(IPCError) -> M.Result {
        try lock.withLock { () throws(IPCError) -> M.Result in
            let client = try connected()
            do throws(IPCError) {
                return try client.call(method, params)
            } catch {
                // A transport failure leaves the client closed; the next call reconnects.
                if error.code == .unavailable || error.code == .internal {
                    client.close()
                    self.client = nil
                }
                throw error
            }
        }
    }
}
