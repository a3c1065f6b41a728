import Foundation
import Testing

@testable import LoomEngine

/// Branch steps, task-wide loops and dismissing agents, as the loader checks them.
@Suite struct BranchStepLoaderTests {
    let loader = BundleLoaderTests()

    /// `main` branches on the maker's `text` to flows `a` or `b`.
    static func branching(
        _ branch: String,
        flowA: String =
            #"[{"name": "make", "phase": "work", "kind": "agent", "agent": "maker"}, {"name": "done", "phase": "check", "kind": "finalize"}]"#
    ) -> [String: String] {
        BundleLoaderTests.mini { manifest in
            manifest.replacingOccurrences(
                of: #"{"name": "make", "phase": "work", "kind": "agent", "agent": "maker"},"#,
                with: branch + ","
            )
            .replacingOccurrences(of: #", "loopTo": "make"}"#, with: "}")
            .replacingOccurrences(
                of: #""flows": {"main""#,
                with:
                    #""flows": {"a": {"steps": \#(flowA)}, "b": {"steps": [{"name": "end", "phase": "check", "kind": "finalize"}]}, "main""#
            )
        }
    }

    @Test func aBranchToDeclaredFlowsLoads() throws {
        let bundle = try BundleLoader.load(
            files: Self.branching(
                #"{"name": "route", "phase": "work", "kind": "branch", "agent": "maker", "field": "text", "flows": ["a", "b"], "fallback": "b"}"#
            )
        )
        let route = try #require(bundle.flow(named: "main")?.step(named: "route"))
        #expect(route.kind == .branch(agent: "maker", field: "text", flows: ["a", "b"], fallback: "b"))
    }

    @Test func aBranchToAMissingFlowOrAForeignFallbackIsRefused() {
        let problems = loader.problems(
            Self.branching(
                #"{"name": "route", "phase": "work", "kind": "branch", "agent": "maker", "field": "text", "flows": ["a", "c"], "fallback": "z"}"#
            )
        )
        loader.expectProblem(problems, at: "flows.main.steps[0].flows[1]", containing: "no flow named \"c\"")
        loader.expectProblem(
            problems,
            at: "flows.main.steps[0].fallback",
            containing: "must be one of the branch's flows"
        )
    }

    @Test func aBranchTargetSharingAStepNameIsRefusedBecauseEffectKeysWouldCollide() {
        let shared =
            #"[{"name": "check", "phase": "work", "kind": "agent", "agent": "maker"}, {"name": "done", "phase": "check", "kind": "finalize"}]"#
        let problems = loader.problems(
            Self.branching(
                #"{"name": "route", "phase": "work", "kind": "branch", "agent": "maker", "field": "text", "flows": ["a"], "fallback": "a"}"#,
                flowA: shared
            )
        )
        loader.expectProblem(problems, at: "flows.main.steps[0]", containing: "shares step name(s) \"check\"")
    }

    /// Branches that lead back to their own flow would run its steps again at the same
    /// iteration (the same effect keys): refused at load, not at run time.
    @Test func branchesThatFormACycleAreRefused() {
        let back =
            #"[{"name": "again", "phase": "work", "kind": "branch", "agent": "maker", "field": "text", "flows": ["main"], "fallback": "main"}, {"name": "done", "phase": "check", "kind": "finalize"}]"#
        let problems = loader.problems(
            Self.branching(
                #"{"name": "route", "phase": "work", "kind": "branch", "agent": "maker", "field": "text", "flows": ["a", "b"], "fallback": "b"}"#,
                flowA: back
            )
        )
        loader.expectProblem(
            problems,
            at: "flows.main.steps[0]",
            containing: "main → a → main lead back to flow \"main\""
        )
        loader.expectProblem(problems, at: "flows.a.steps[0]", containing: "a → main → a lead back to flow \"a\"")
    }

    @Test func loopScopeNeedsALoopAndAKnownValue() {
        let noLoop = loader.problems(
            BundleLoaderTests.mini {
                $0.replacingOccurrences(of: #""loopTo": "make"}"#, with: #""loopScope": "task"}"#)
            }
        )
        loader.expectProblem(
            noLoop,
            at: "flows.main.steps[1].loopScope",
            containing: "only matters when the step loops"
        )
        let unknown = loader.problems(
            BundleLoaderTests.mini {
                $0.replacingOccurrences(of: #""loopTo": "make"}"#, with: #""loopTo": "make", "loopScope": "project"}"#)
            }
        )
        loader.expectProblem(unknown, at: "flows.main.steps[1].loopScope", containing: "must be \"step\" or \"task\"")
    }

    @Test func aDismissingAgentMustDeclareWhatItDismisses() {
        let problems = loader.problems(
            BundleLoaderTests.mini {
                $0.replacingOccurrences(
                    of: #""findings": true}"#,
                    with: #""findings": true, "dismissesFindings": true}"#
                )
            }
        )
        loader.expectProblem(
            problems,
            at: "agents.checker.dismissesFindings",
            containing: "declaring a \"dismissed\" property"
        )
    }
}
