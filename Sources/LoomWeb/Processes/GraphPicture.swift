import Foundation
import LoomEngine
import LoomViews

/// The flow graph with a task's path over it, as SVG drawn by Graphviz (`dot -Tsvg`, a
/// child process with a deadline), or as the dot text when Graphviz is not installed.
/// The path is read from the project's database opened read-only, the way `loomctl graph`
/// reads it; the bundle comes from the dashboard's bundles directory.
public enum GraphPicture {
    public enum Picture: Sendable {
        case svg(String)
        case dotText(String, problem: String)
    }

    /// The dot text for a task's path, or for a whole bundle when `task` is nil.
    public static func dot(project: String?, task: String?, bundleName: String?, bundlesDirectory: String) throws(DashboardError) -> String {
        var name = bundleName
        var path: TaskPath?
        if let project, let task {
            do {
                let store = try Store(path: "\(project)/.loom/state.db", options: .readOnlyAccess)
                guard let found = try store.query("SELECT bundle FROM tasks WHERE id = :task", bindings: [":task": task]).first?["bundle"]?.stringValue else {
                    throw DashboardError(.notFound, "no task \(task) in \(project)", doing: "drawing the task's path")
                }
                name = found
                let bundle = try loadBundle(found, from: bundlesDirectory)
                path = try TaskPath.read(task: task, from: store, bundle: bundle)
                var graph = FlowGraph(bundle: bundle, flows: path?.flows)
                if let path { graph.overlay(path) }
                return GraphRenderer.render(graph, as: .dot)
            } catch let error as DashboardError {
                throw error
            } catch {
                throw DashboardError(.failed, "\(error)", doing: "reading \(task)'s path from \(project)")
            }
        }
        guard let name else { throw DashboardError(.badRequest, "name a bundle or a task", doing: "drawing a graph") }
        let bundle = try loadBundle(name, from: bundlesDirectory)
        return GraphRenderer.render(FlowGraph(bundle: bundle), as: .dot)
    }

    public static func render(dot: String, limits: DashboardLimits) async -> Picture {
        let output = await BoundedProcess.run(["dot", "-Tsvg"], input: dot, timeoutMs: limits.childProcessTimeoutMs, outputBytesMax: limits.svgBytesMax)
        guard output.ok, !output.truncated else {
            return .dotText(dot, problem: output.failure ?? "the picture is larger than \(limits.svgBytesMax) bytes")
        }
        return .svg(output.text)
    }

    public static func bundleNames(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.sorted().filter { FileManager.default.fileExists(atPath: "\(directory)/\($0)/bundle.json") }
    }

    static func loadBundle(_ name: String, from directory: String) throws(DashboardError) -> LoomBundle {
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), bundleNames(in: directory).contains(name) else {
            throw DashboardError(.notFound, "no bundle \(name) under \(directory)", doing: "drawing a graph")
        }
        do { return try BundleLoader.load(directory: "\(directory)/\(name)") } catch {
            throw DashboardError(.failed, "\(error)", doing: "loading bundle \(name)")
        }
    }
}
