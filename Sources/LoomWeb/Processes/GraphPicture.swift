import Foundation
import LoomIPC

/// The flow graph with a task's path over it, as SVG drawn by Graphviz (`dot -Tsvg`, a
/// child process with a deadline), or as the dot text when Graphviz is not installed.
/// loomd writes the dot text (it holds the bundles and the journal); the dashboard only
/// draws it.
public enum GraphPicture {
    public enum Picture: Sendable {
        case svg(String)
        case dotText(String, problem: String)
    }

    public static func render(dot: String, limits: DashboardLimits) async -> Picture {
        let output = await BoundedProcess.run(
            ["dot", "-Tsvg"],
            input: dot,
            timeoutMs: limits.childProcessTimeoutMs,
            outputBytesMax: limits.svgBytesMax
        )
        guard output.ok, !output.truncated else {
            return .dotText(dot, problem: output.failure ?? "the picture is larger than \(limits.svgBytesMax) bytes")
        }
        return .svg(output.text)
    }
}
