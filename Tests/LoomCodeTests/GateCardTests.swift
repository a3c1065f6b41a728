import Foundation
import LoomCode
import LoomEngine
import LoomPolicy
import LoomValues
import LoomViews
import Testing

/// The cards both bundles declare, as a person reads them: golden text, built from the
/// real record of a task driven to each gate.
@Suite struct GateCardTests {
    func card(_ world: CodeWorld, _ task: String) throws -> GateCard {
        let record = try world.task(task)
        let gate = try #require(try world.engine.waitingGate(task: task))
        return try GateCard.build(engine: world.engine, task: record, gate: gate)
    }

    static let warn = CodeScript.output([
        "verdict": "WARN", "summary": "No new test.",
        "findings": [
            [
                "file": "value.txt", "lines": ["start": 1, "end": 1], "severity": "warn", "category": "tests",
                "summary": "no test pins the value",
                "evidence": "value.txt", "suggestedFix": "add a test",
            ]
        ],
    ])

    @Test func theCodeBundlesPlanAndFinalGatesShowWhatDecidesThem() throws {
        let world = try CodeWorld(script: CodeScript.script(["reviewer-tests": [Self.warn]]))
        let id = try world.submit(preset: .fullSupervised)
        try world.run()
        let plan = try card(world, id)
        #expect(
            plan.text == """
                Approve this plan? The implementer follows it.
                  because policy: human

                Plan
                  summary: Set value.txt to 42.
                  steps:
                  - Write 42 into value.txt
                  files:
                  - value.txt

                Spent
                  spawns 2/40, tokens in 200 out 40, cost $0.0000
                """
        )
        try world.approve(id)
        try world.run()
        let final = try card(world, id)
        #expect(
            final.text == """
                Deliver this change? It is committed on the task's branch, never merged for you.
                  because policy: human

                What the implementer says it did
                  summary: Wrote 42 into value.txt.
                  files:
                  - value.txt

                The change (loomctl diff TASK)
                  fileCount: 1
                  insertions: 1
                  deletions: 1
                  testFiles: none

                Checks
                  - name: test, status: ok, exitCode: 0

                Reviews
                  reviewer-logic: APPROVE — Looks right.
                  reviewer-security: APPROVE — Looks right.
                  reviewer-tests: WARN — No new test.

                Adjudication
                  verdict: accept
                  summary: Nothing left to fix.

                Open findings
                  [warn] no test pins the value — value.txt:1 (reviewer-tests)

                Spent
                  spawns 7/40, tokens in 700 out 140, cost $0.0000
                """
        )
        #expect(
            final.summary
                == "Deliver this change? It is committed on the task's branch, never merged for you. (open findings: 1 warn)"
        )
        #expect(final.json["sections"]?.arrayValue?.count == 7 && final.json["text"]?.stringValue == final.text)
    }

    @Test func thePublishingBundlesLegalGateShowsTheDraftAndTheFactCheck() throws {
        let script: JSONValue = [
            "agents": [
                "writer": [CodeScript.output(["title": "Tides", "text": "The moon pulls the sea.\nTwice a day."])],
                "editor": [CodeScript.output(["findings": []])],
                "factchecker": [
                    CodeScript.output([
                        "checked_claims": 2,
                        "findings": [["severity": "warn", "summary": "unsourced figure", "category": "claim"]],
                    ])
                ],
            ]
        ]
        let world = try CodeWorld(script: script, bundleName: "publishing")
        let id = try world.submit("Write about tides", preset: .fullSupervised)
        try world.run()
        let legal = try card(world, id)
        #expect(
            legal.text == """
                Clear this piece for publication?
                  because policy: human
                  because safety floor claims_unchecked: an open finding questions a factual claim; a person must sign off

                Draft
                  title: Tides
                  text:
                    The moon pulls the sea.
                    Twice a day.

                Fact check
                  factchecker: 2

                Open findings
                  [warn] unsourced figure (factchecker)

                Spent
                  spawns 3/40, tokens in 300 out 60, cost $0.0000
                """
        )
    }
}
