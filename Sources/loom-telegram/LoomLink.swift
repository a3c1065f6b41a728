import LoomEngine
import LoomIPC

/// One connection to loomd per bot thread (`IPCClient` is one-request-at-a-time), re-made
/// after loomd restarts or the connection drops.
final class LoomLink {
    let socketPath: String
    private var client: IPCClient?

    init(socketPath: String) {
        self.socketPath = socketPath
    }

    func call(_ method: String, _ params: JSONValue) throws(IPCError) -> JSONValue {
        let client: IPCClient
        if let existing = self.client {
            client = existing
        } else {
            client = try IPCClient(socketPath: socketPath, clientName: "loom-telegram 0.1.0")
            self.client = client
        }
        do {
            return try client.call(method, params)
        } catch {
            if error.code == .unavailable || error.code == .internal {
                client.close()
                self.client = nil
            }
            throw error
        }
    }
}
