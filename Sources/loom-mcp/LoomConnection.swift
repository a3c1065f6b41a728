import Foundation
import LoomEngine
import LoomIPC

/// One connection to loomd, shared by every tool call and re-made after a failure.
///
/// `IPCClient` is blocking and one-request-at-a-time, so calls are serialized by a lock.
/// Each new connection first calls `hosts.attach`: loomd then treats this server and the
/// host that started it as an agent host, whose gate answers are an agent's.
final class LoomConnection: @unchecked Sendable {
    let socketPath: String
    private let lock = NSLock()
    private var client: IPCClient?

    init(socketPath: String) {
        self.socketPath = socketPath
    }

    func call(_ method: String, _ params: JSONValue) throws(IPCError) -> JSONValue {
        lock.lock()
        defer { lock.unlock() }
        let client: IPCClient
        if let existing = self.client {
            client = existing
        } else {
            client = try IPCClient(socketPath: socketPath, clientName: "loom-mcp 0.1.0")
            _ = try client.call("hosts.attach", .object([:]))
            self.client = client
        }
        do {
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
