import Dispatch
import Foundation
import LoomIPC
import LoomValues

/// The dashboard's only way into loom: loomd's socket, through the same blocking client
/// loomctl uses. Each call takes a fresh connection on a worker queue, so a slow answer
/// never holds an HTTP event loop, and the peer loomd sees (SO_PEERCRED) is this process:
/// the OS user who started the dashboard is who every answer is journaled as.
public struct DaemonGateway: Sendable {
    public static let clientName = "loom-web 0.1.0"

    public let socketPath: String
    public let timeoutMs: Int

    public init(socketPath: String, timeoutMs: Int) {
        self.socketPath = socketPath
        self.timeoutMs = timeoutMs
    }

    /// One request, answered off the event loop.
    public func call<M: IPCMethod>(
        _ method: M.Type,
        _ params: M.Params,
        doing: String
    ) async throws(DashboardError) -> M.Result {
        let socketPath = self.socketPath, timeoutMs = self.timeoutMs
        let outcome: Result<M.Result, DashboardError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(
                    returning: Self.callNow(socketPath: socketPath, timeoutMs: timeoutMs, method, params, doing: doing)
                )
            }
        }
        return try outcome.get()
    }

    /// A method that takes no params, answered off the event loop.
    public func call<M: IPCMethod>(_ method: M.Type, doing: String) async throws(DashboardError) -> M.Result
    where M.Params == NoParams {
        try await call(method, NoParams(), doing: doing)
    }

    /// The same call, blocking the calling thread (for the watch threads).
    static func callNow<M: IPCMethod>(
        socketPath: String,
        timeoutMs: Int,
        _ method: M.Type,
        _ params: M.Params,
        doing: String
    ) -> Result<M.Result, DashboardError> {
        do {
            let client = try IPCClient(socketPath: socketPath, clientName: clientName, timeoutMs: timeoutMs)
            defer { client.close() }
            return .success(try client.call(method, params))
        } catch {
            return .failure(DashboardError(error, doing: doing))
        }
    }

    /// The projects loomd supervises; also how the dashboard decides a `project` parameter
    /// may be handed to git or opened read-only: only a path loomd already knows.
    public func projects() async throws(DashboardError) -> [String] {
        let result = try await call(ProjectsList.self, doing: "listing projects")
        return (result["projects"]?.arrayValue ?? []).compactMap { $0["path"]?.stringValue }
    }

    /// Throws unless `project` is one loomd supervises.
    public func requireProject(_ project: String) async throws(DashboardError) {
        guard try await projects().contains(project) else {
            throw DashboardError(.notFound, "\(project) is not a project loomd supervises", doing: "opening a project")
        }
    }
}
