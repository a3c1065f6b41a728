import ArgumentParser
import LoomEngine
import LoomViews

/// `loomctl graph TASK`: the path a task took over its bundle's graph, read from the
/// project's database (read-only, no daemon).
struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Draw the path a task took: visited steps, rounds, edges taken, where it parked and for how long.",
        discussion: "loomctl graph t3 -C ~/src/app | dot -Tsvg > t3.svg"
    )

    @Argument(help: "The task id.") var task: String
    @OptionGroup var project: ProjectOption
    @Option(help: "dot (Graphviz) or mermaid.") var format: GraphRenderer.Format = .dot
    @OptionGroup var bundles: BundleOption

    func run() throws {
        try runReporting {
            let store: Store
            do { store = try project.readOnlyStore() } catch { throw CLIError("\(error)", status: 3) }
            guard
                let bundleName = try store.query("SELECT bundle FROM tasks WHERE id = :task", bindings: [":task": task])
                    .first?["bundle"]?.stringValue
            else {
                throw CLIError("no task \(task) in \(project.root)", status: 3)
            }
            let bundle = try BundleCommand.find(bundleName, in: bundles)
            guard let path = try TaskPath.read(task: task, from: store, bundle: bundle) else {
                throw CLIError("no task \(task)", status: 3)
            }
            var graph = FlowGraph(bundle: bundle, flows: path.flows)
            graph.overlay(path)
            print(GraphRenderer.render(graph, as: format), terminator: "")
        }
    }
}
