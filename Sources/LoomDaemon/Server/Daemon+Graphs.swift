import LoomEngine
import LoomIPC
import LoomIPCServer
import LoomValues
import LoomViews

/// `bundles` and `graph`: pictures are drawn where the bundles and the journal are, so a
/// front-end (the dashboard) draws them without opening a database or loading a bundle.
extension Daemon {
    /// The loaded bundles' names, sorted, and the one a submission without a bundle runs.
    func bundleNames(_ reply: IPCReply) {
        reply.result(
            Bundles.self,
            .init(bundles: bundles.map(\.name).sorted(), defaultBundle: configuration.defaultBundle)
        )
    }

    /// The dot text of a bundle's flows (`bundle`), or of a task's path over its bundle's
    /// flows (`project` and `task`), read from the journal by the bundle version it ran.
    func graph(_ params: Graph.Params, _ reply: IPCReply) throws {
        if params.task == nil {
            guard let name = params.bundle else {
                throw IPCError(.invalidParams, "name a bundle (params.bundle) or a task (params.project, params.task)")
            }
            guard let bundle = bundles.first(where: { $0.name == name }) else {
                throw IPCError(.notFound, "no bundle \(name) is loaded")
            }
            return reply.result(Graph.self, .init(dot: GraphRenderer.render(FlowGraph(bundle: bundle), as: .dot)))
        }
        try withTask(params.project, params.task, reply) { project, task in
            guard let record = try project.engine.task(task),
                let bundle = try project.engine.bundle(digest: record.bundleDigest)
            else { throw IPCError(.notFound, "the bundle version task \(task) ran is not loaded") }
            let path = try TaskPath.read(task: task, from: project.engine.store, bundle: bundle)
            var graph = FlowGraph(bundle: bundle, flows: path?.flows)
            if let path { graph.overlay(path) }
            reply.result(Graph.self, .init(dot: GraphRenderer.render(graph, as: .dot)))
        }
    }
}
