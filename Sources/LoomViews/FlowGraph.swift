import LoomEngine

/// A bundle's flows as a graph: each step a node, each way the machine can move an edge
/// labelled with why (the next step, a walk-back while blockers are open, a gate's answer,
/// a branch's choice). Optionally overlaid with the path one task took.
///
/// One model, two spellings (`dot`, `mermaid`), so the CLI and the dashboard draw the same
/// picture.
public struct FlowGraph: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        public let id: String
        public let flow: String
        public let step: String
        public let label: String
        public let shape: Shape
        /// How often the task entered it (0: not visited, or no task overlaid).
        public var visits = 0
        /// What the task's stay there says for people (iterations, time parked).
        public var note = ""
    }

    public enum Shape: String, Sendable, Equatable {
        case agent, fanOut, gate, command, branch, end
    }

    public struct Edge: Sendable, Equatable {
        public let from: String
        public let to: String
        public let label: String
        /// How often the task moved along it.
        public var taken = 0
    }

    public private(set) var flows: [String] = []
    public private(set) var nodes: [Node] = []
    public private(set) var edges: [Edge] = []
    /// Set when a task's path is overlaid: its id and status, for the title.
    public private(set) var task: (id: String, status: String)?

    public static func == (lhs: FlowGraph, rhs: FlowGraph) -> Bool {
        lhs.flows == rhs.flows && lhs.nodes == rhs.nodes && lhs.edges == rhs.edges && lhs.task?.id == rhs.task?.id
    }

    /// The graph of `flows` of `bundle` (all of them, in name order, when nil).
    public init(bundle: LoomBundle, flows selected: [String]? = nil) {
        let names = selected ?? bundle.flows.keys.sorted()
        flows = names.filter { bundle.flows[$0] != nil }
        for name in flows {
            let flow = bundle.flows[name]!
            for (index, step) in flow.steps.enumerated() {
                nodes.append(
                    Node(
                        id: Self.nodeID(name, step.name),
                        flow: name,
                        step: step.name,
                        label: Self.label(step, bundle: bundle),
                        shape: Self.shape(step.kind)
                    )
                )
                let next = index + 1 < flow.steps.count ? Self.nodeID(name, flow.steps[index + 1].name) : nil
                let id = Self.nodeID(name, step.name)
                switch step.kind {
                case .agent(_, let loopTo, let scope):
                    if let next { edges.append(Edge(from: id, to: next, label: "")) }
                    if let loopTo {
                        edges.append(
                            Edge(
                                from: id,
                                to: Self.nodeID(name, loopTo),
                                label: scope == .task ? "blockers open (task)" : "blockers open"
                            )
                        )
                    }
                case .fanOut(_, let loopTo, _):
                    if let next { edges.append(Edge(from: id, to: next, label: "")) }
                    if let loopTo {
                        edges.append(Edge(from: id, to: Self.nodeID(name, loopTo), label: "blockers open"))
                    }
                case .gate(_, let onRequestChanges):
                    if let next { edges.append(Edge(from: id, to: next, label: "approve")) }
                    edges.append(Edge(from: id, to: Self.nodeID(name, onRequestChanges), label: "request changes"))
                case .command(let spec):
                    if let next { edges.append(Edge(from: id, to: next, label: spec.required ? "ok" : "")) }
                case .branch(_, let field, let targets, let fallback):
                    for target in targets {
                        guard let first = bundle.flows[target]?.steps.first else { continue }
                        let label = "\(field) = \(target)" + (target == fallback ? " (fallback)" : "")
                        edges.append(Edge(from: id, to: Self.nodeID(target, first.name), label: label))
                    }
                case .finalize:
                    break
                }
            }
        }
        // A branch may point into a flow that was not selected: keep only edges between drawn nodes.
        let drawn = Set(nodes.map(\.id))
        edges = edges.filter { drawn.contains($0.from) && drawn.contains($0.to) }
    }

    /// Overlays a task's path: visits per step, edges taken, notes.
    public mutating func overlay(_ path: TaskPath) {
        task = (path.taskID, path.status)
        let index = Dictionary(uniqueKeysWithValues: nodes.enumerated().map { ($1.id, $0) })
        func nodeID(_ step: String) -> String? {
            for flow in path.flows { if index[Self.nodeID(flow, step)] != nil { return Self.nodeID(flow, step) } }
            return nil
        }
        var previous: String?
        for visit in path.visits {
            guard let id = nodeID(visit.step), let position = index[id] else { continue }
            nodes[position].visits += 1
            if let previous, let edge = edges.firstIndex(where: { $0.from == previous && $0.to == id }) {
                edges[edge].taken += 1
            }
            previous = id
        }
        for (step, note) in path.notes {
            if let id = nodeID(step), let position = index[id] { nodes[position].note = note }
        }
    }

    static func nodeID(_ flow: String, _ step: String) -> String {
        "\(flow)__\(step)".map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
    }

    static func shape(_ kind: StepKind) -> Shape {
        switch kind {
        case .agent: return .agent
        case .fanOut: return .fanOut
        case .gate: return .gate
        case .command: return .command
        case .branch: return .branch
        case .finalize: return .end
        }
    }

    static func label(_ step: Step, bundle: LoomBundle) -> String {
        switch step.kind {
        case .agent(let agent, _, _): return "\(step.name)\n\(agent)"
        case .fanOut(let agents, _, _): return "\(step.name)\n\(agents.joined(separator: ", "))"
        case .gate(let role, _):
            let policy = bundle.gates[role]?.defaultPolicy.rawValue ?? "human"
            return "\(step.name)\ngate \(role) (\(policy))"
        case .command(let spec): return "\(step.name)\n\(spec.handler ?? spec.argv?.first ?? "")"
        case .branch(let agent, let field, _, _): return "\(step.name)\n\(agent) → \(field)"
        case .finalize: return step.name
        }
    }
}
