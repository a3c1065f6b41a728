import Dispatch
import Foundation
import Hummingbird
import LoomValues
import NIOCore

/// The web dashboard: an HTTP server in front of loomd's socket. It owns nothing of loom's
/// state; every read and every change goes through the socket (or, for pictures and the
/// list of finished tasks, a read-only look at a project's database), so the dashboard can
/// stop and start at any time and what it does is journaled like any other client's.
public struct DashboardServer: Sendable {
    public let configuration: DashboardConfiguration
    let gateway: DaemonGateway
    let hub: EventStreamHub
    let guardian: AccessGuard

    public init(configuration: DashboardConfiguration) {
        self.configuration = configuration
        gateway = DaemonGateway(
            socketPath: configuration.socketPath,
            timeoutMs: configuration.limits.daemonCallTimeoutMs
        )
        hub = EventStreamHub(socketPath: configuration.socketPath, limits: configuration.limits)
        guardian = AccessGuard(accessToken: configuration.accessToken, csrfToken: configuration.csrfToken)
    }

    /// Listens until SIGTERM or SIGINT. `onListening` gets the URL with the access token,
    /// once the port is bound (with port 0, the one the kernel chose).
    public func run(onListening: @escaping @Sendable (String) -> Void) async throws {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: AccessMiddleware<BasicRequestContext>(guardian: guardian))
        DashboardRoutes(server: self).register(on: router)
        let token = configuration.accessToken
        let host = configuration.host
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: configuration.port), serverName: "loom-web"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                let shownHost = host.contains(":") ? "[\(host)]" : host
                onListening("http://\(shownHost):\(port)/?token=\(token)")
            }
        )
        // Open event streams would hold a graceful shutdown open: end them on the signal.
        let hub = self.hub
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { hub.stopAll() }
            source.resume()
            sources.append(source)
        }
        try await app.runService()
        sources.forEach { $0.cancel() }
    }
}
