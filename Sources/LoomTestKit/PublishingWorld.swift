import LoomEngine
import LoomValues

/// A seeded outside world for the test suite's publishing bundle (draft → edit → legal
/// gate → render → publish): writers, editors and fact-checkers that answer in the bundle's
/// schemas (and now and then with garbage), and a person at the legal gate.
public enum PublishingWorld {
    /// Where the bundle lives in the repository, relative to its root.
    public static let bundlePath = "bundles/publishing"

    public struct Odds: Sendable {
        /// An agent answers with something that is not JSON on its first attempt.
        public var garbage = 0.08
        /// The editor raises a blocking finding in round 0 (later rounds converge).
        public var editorBlocks = 0.4
        /// The fact-checker questions a claim (forces a person at the legal gate).
        public var claim = 0.2
        /// The person requests changes (else approves), abandons, or cancels.
        public var requestChanges = 0.2
        public var abandon = 0.05
        public var cancel = 0.05

        public init() {}
    }

    public static func responder(odds: Odds = Odds()) -> Responder {
        Responder(
            agent: { request, value in
                var chance = SplitMix64(seed: value)
                let provider = "scripted"
                if request.attempt == 1 && chance.chance(odds.garbage) {
                    return AgentResult(
                        output: "I think the article is fine!",
                        tokensIn: 100,
                        tokensOut: 7,
                        provider: provider,
                        model: "garbage"
                    )
                }
                let output: JSONValue
                switch request.role {
                case "writer":
                    output = [
                        "title": .string("Draft \(request.iteration) for \(request.taskID)"),
                        "text": .string("Words \(value % 1000) about the brief."),
                    ]
                case "editor":
                    let blocks = request.iteration == 0 && chance.chance(odds.editorBlocks)
                    output = [
                        "findings": blocks
                            ? [
                                [
                                    "severity": "blocking", "summary": "the lede buries the news",
                                    "category": "structure",
                                ]
                            ]
                            : [["severity": "info", "summary": "reads well", "category": "style"]]
                    ]
                case "factchecker":
                    let claim = request.iteration == 0 && chance.chance(odds.claim)
                    output = [
                        "checked_claims": .int(Int64(value % 5)),
                        "findings": claim
                            ? [
                                [
                                    "severity": "warn", "summary": "the figure in paragraph 2 has no source",
                                    "category": "claim",
                                ]
                            ]
                            : [],
                    ]
                default:
                    output = .object([:])
                }
                return AgentResult(
                    output: output.canonicalText,
                    tokensIn: Int(value % 2000) + 200,
                    tokensOut: Int(value % 700) + 50,
                    tokensCached: Int(value % 100),
                    costMicroUSD: Int(value % 5000),
                    durationMs: Int(value % 3000),
                    provider: provider,
                    model: request.modelTier ?? "default"
                )
            },
            command: { _, value in
                CommandResult(status: .ok, exitCode: 0, output: "\(value % 900 + 100)\n", durationMs: Int(value % 50))
            },
            gate: { gate, value in
                var chance = SplitMix64(seed: value)
                let roll = Double(chance.next() >> 11) / Double(1 << 53)
                if roll < odds.cancel { return nil }
                if roll < odds.cancel + odds.abandon { return (.abandon, "not worth publishing") }
                if roll < odds.cancel + odds.abandon + odds.requestChanges {
                    return (.requestChanges, "tighten the second paragraph")
                }
                return (.approve, "")
            }
        )
    }
}
