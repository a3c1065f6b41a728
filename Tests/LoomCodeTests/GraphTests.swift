import Foundation
import LoomCode
import LoomEngine
import LoomProviders
import LoomSystem
import LoomViews
import Testing

/// Pictures of the machine: the code bundle's graph is valid Graphviz naming every step,
/// and a task's drawn path is the path its journal records.
@Suite struct GraphTests {
    private func dot(_ text: String) -> (ok: Bool, output: String) {
        let result = ChildProcess.run(
            .init(
                argv: ["dot", "-Tsvg"],
                environment: ["PATH": "/usr/bin:/bin"],
                input: Array(text.utf8),
                timeoutMs: 30_000,
                outputLimitBytes: 8 << 20
            )
        )
        return (result.exitCode == 0, String(decoding: result.output, as: UTF8.self))
    }

    @Test func theCodeBundlesGraphParsesWithDotAndNamesEveryStep() throws {
        let bundle = try BundleLoader.load(directory: "\(CodeWorld.repositoryRoot)/bundles/code")
        let text = GraphRenderer.render(FlowGraph(bundle: bundle), as: .dot)
        let svg = dot(text)
        #expect(svg.ok, "dot refused the graph: \(svg.output.prefix(500))")
        for flow in bundle.flows.values {
            for step in flow.steps {
                #expect(svg.output.contains(">\(step.name)<"), "step \(step.name) of \(flow.name) is drawn")
            }
        }
        // Walk-backs, gate outcomes and branch choices are labelled edges.
        for label in [
            "request changes", "approve", "blockers open (task)", "flow = question", "flow = medium (fallback)",
        ] {
            #expect(text.contains("label=\"\(label)\""), "an edge labelled \(label)")
        }
        let mermaid = GraphRenderer.render(FlowGraph(bundle: bundle), as: .mermaid)
        #expect(mermaid.hasPrefix("flowchart TD\n"))
        #expect(mermaid.contains("medium__adjudicate -.->|\"blockers open (task)\"| medium__implement"))
    }

    @Test func aTasksDrawnPathIsTheOneItsJournalRecords() throws {
        let world = try CodeWorld(
            script: CodeScript.script([
                "implementer": [CodeScript.implement(value: "4 2"), CodeScript.implement(value: "42")],
                "reviewer-logic": [CodeScript.block("value.txt holds '4 2', not 42"), CodeScript.approve],
                "adjudicator": [CodeScript.fix, CodeScript.accept],
            ])
        )
        let id = try world.submit(preset: .fullSupervised)
        try world.run()
        try world.approve(id)  // the plan
        try world.run()
        try world.approve(id)  // the final change
        try world.run()
        #expect(try world.task(id).status == .done)

        let path = try #require(try TaskPath.read(task: id, from: world.engine.store, bundle: world.bundle))
        #expect(path.flows == ["classify", "medium"])
        // The journal's effect results, in order, name each (step, iteration) the task worked in.
        var fromJournal: [String] = []
        for row in try world.rows(
            "SELECT json_extract(payload, '$.key') AS k FROM journal WHERE task_id = '\(id)' AND kind = 'effect_result' ORDER BY seq"
        ) {
            let parts = (row["k"]?.stringValue ?? "").split(separator: ":")
            let visit = "\(parts[1])@\(parts[3])"
            if !fromJournal.contains(visit) { fromJournal.append(visit) }
        }
        let gates = Set(["plan_gate", "final"])
        let drawn = path.visits.filter { !gates.contains($0.step) && $0.step != "done" }.map {
            "\($0.step)@\($0.iteration)"
        }
        #expect(drawn == fromJournal)
        #expect(path.visits.map(\.step).filter(gates.contains) == ["plan_gate", "final"])
        #expect(path.visits.last?.step == "done")
        #expect(path.notes["implement"] == "2 rounds")
        #expect(path.notes["plan_gate"]?.hasPrefix("parked ") == true)

        var graph = FlowGraph(bundle: world.bundle, flows: path.flows)
        graph.overlay(path)
        let text = GraphRenderer.render(graph, as: .dot)
        #expect(dot(text).ok)
        #expect(
            graph.edges.first { $0.from == "medium__adjudicate" && $0.to == "medium__implement" }?.taken == 1,
            "one walk-back"
        )
        #expect(graph.nodes.first { $0.id == "medium__implement" }?.visits == 2)
        #expect(graph.nodes.first { $0.id == "trivial__implement" } == nil, "only the flows it ran in are drawn")
    }
}
