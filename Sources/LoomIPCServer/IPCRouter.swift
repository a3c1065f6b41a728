import LoomIPC
import LoomValues

/// Routes each request to the handler of its method, the params decoded as that method
/// declares them (`IPCMethod.Params`) before the handler runs: a malformed params object is
/// `invalid_params` naming the field, and a handler never reads the wire by string keys.
public struct IPCRouter<Context>: Sendable {
    public typealias Route = @Sendable (Context, IPCReply) throws -> Void
    private var routes: [String: Route] = [:]

    public init() {}

    /// Handles `method` with `handler`; one handler per method.
    public mutating func add<M: IPCMethod>(
        _ method: M.Type,
        _ handler: @escaping @Sendable (Context, M.Params, IPCReply) throws -> Void
    ) {
        precondition(routes[M.name] == nil, "IPCRouter: \(M.name) routed twice")
        routes[M.name] = { context, reply in try handler(context, try M.Params(json: reply.request.params), reply) }
    }

    /// The methods routed, sorted.
    public var methods: [String] { routes.keys.sorted() }

    /// Runs the handler of the request's method; an unknown method is `unknown_method`
    /// listing the known ones.
    public func dispatch(_ context: Context, _ reply: IPCReply) throws {
        guard let route = routes[reply.request.method] else {
            throw IPCError(
                .unknownMethod,
                "unknown method '\(reply.request.method)'; known: \(methods.joined(separator: ", "))"
            )
        }
        try route(context, reply)
    }
}

extension IPCReply {
    /// The final answer, of the type `method` declares.
    public func result<M: IPCMethod>(_ method: M.Type, _ value: M.Result) {
        result(value.json)
    }
}
