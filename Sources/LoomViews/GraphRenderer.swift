import Foundation

/// Spells a `FlowGraph` as Graphviz `dot` or Mermaid `flowchart` text.
public enum GraphRenderer {
    public enum Format: String, Sendable, CaseIterable {
        case dot, mermaid
    }

    public static func render(_ graph: FlowGraph, as format: Format) -> String {
        switch format {
        case .dot: return dot(graph)
        case .mermaid: return mermaid(graph)
        }
    }

    static func dot(_ graph: FlowGraph) -> String {
        var lines = [
            "digraph loom {", "  rankdir=TB;", "  node [fontname=\"Helvetica\", fontsize=10];",
            "  edge [fontname=\"Helvetica\", fontsize=9];",
        ]
        if let task = graph.task { lines.append("  label=\(quoted("\(task.id) (\(task.status))")); labelloc=t;") }
        for flow in graph.flows {
            lines.append("  subgraph \(quoted("cluster_\(flow)")) {")
            lines.append("    label=\(quoted("flow \(flow)"));")
            for node in graph.nodes where node.flow == flow {
                var attributes = [
                    "label=\(quoted(node.note.isEmpty ? node.label : "\(node.label)\n\(node.note)"))",
                    "shape=\(dotShape(node.shape))",
                ]
                if graph.task != nil {
                    attributes.append(
                        node.visits > 0 ? "style=filled, fillcolor=\"#cfe8cf\"" : "color=gray, fontcolor=gray"
                    )
                }
                lines.append("    \(node.id) [\(attributes.joined(separator: ", "))];")
            }
            lines.append("  }")
        }
        for edge in graph.edges {
            var attributes: [String] = []
            let label = edge.taken > 1 ? "\(edge.label) ×\(edge.taken)".trimmedLeadingSpace : edge.label
            if !label.isEmpty { attributes.append("label=\(quoted(label))") }
            if edge.label.hasPrefix("blockers") || edge.label == "request changes" { attributes.append("style=dashed") }
            if graph.task != nil { attributes.append(edge.taken > 0 ? "penwidth=2" : "color=gray") }
            lines.append(
                "  \(edge.from) -> \(edge.to)"
                    + (attributes.isEmpty ? ";" : " [\(attributes.joined(separator: ", "))];")
            )
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    static func mermaid(_ graph: FlowGraph) -> String {
        var lines = ["flowchart TD"]
        for flow in graph.flows {
            lines.append("  subgraph \(flow)[\"flow \(flow)\"]")
            for node in graph.nodes where node.flow == flow {
                let text = (node.note.isEmpty ? node.label : "\(node.label)\n\(node.note)").replacingOccurrences(
                    of: "\n",
                    with: "<br/>"
                )
                let (open, close) = mermaidShape(node.shape)
                lines.append("    \(node.id)\(open)\"\(mermaidEscape(text))\"\(close)")
            }
            lines.append("  end")
        }
        for edge in graph.edges {
            let label = edge.taken > 1 ? "\(edge.label) ×\(edge.taken)".trimmedLeadingSpace : edge.label
            let arrow = edge.label.hasPrefix("blockers") || edge.label == "request changes" ? "-.->" : "-->"
            lines.append(
                "  \(edge.from) \(arrow)" + (label.isEmpty ? "" : "|\"\(mermaidEscape(label))\"|") + " \(edge.to)"
            )
        }
        if graph.task != nil {
            lines.append("  classDef visited fill:#cfe8cf,stroke:#2f6f2f")
            let visited = graph.nodes.filter { $0.visits > 0 }.map(\.id)
            if !visited.isEmpty { lines.append("  class \(visited.joined(separator: ",")) visited") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func dotShape(_ shape: FlowGraph.Shape) -> String {
        switch shape {
        case .agent: return "box"
        case .fanOut: return "box3d"
        case .gate: return "diamond"
        case .command: return "component"
        case .branch: return "hexagon"
        case .end: return "doublecircle"
        }
    }

    static func mermaidShape(_ shape: FlowGraph.Shape) -> (String, String) {
        switch shape {
        case .agent: return ("[", "]")
        case .fanOut: return ("[[", "]]")
        case .gate: return ("{", "}")
        case .command: return ("[/", "/]")
        case .branch: return ("{{", "}}")
        case .end: return ("((", "))")
        }
    }

    /// A dot double-quoted string.
    static func quoted(_ text: String) -> String {
        "\""
            + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }

    static func mermaidEscape(_ text: String) -> String {
        text.replacingOccurrences(of: "\"", with: "#quot;")
    }
}

extension String {
    fileprivate var trimmedLeadingSpace: String { first == " " ? String(dropFirst()) : self }
}
