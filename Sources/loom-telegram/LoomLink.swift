import LoomIPC

/// The bot's connection to loomd: one per bot thread, re-made after loomd restarts.
typealias LoomLink = ReconnectingClient

extension ReconnectingClient {
    convenience init(socketPath: String) {
        self.init(socketPath: socketPath, clientName: "loom-telegram 0.1.0")
    }
}
