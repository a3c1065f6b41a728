/// What a person sees when a gate asks them: declared by the bundle per gate, so the
/// kernel and every front-end stay domain-blind. A card is a question and sections; each
/// section shows one kind of fact the kernel keeps:
///
/// - `step`: the latest valid output of a step (each unit's, for a fan-out), reduced to the
///   named `fields` (dot paths into the output); the first listed step with an output wins,
///   so one card serves flows that name their checks differently;
/// - `findings`: the task's open findings, blocking first;
/// - `usage`: spawns against the cap, tokens and cost so far.
///
/// ```json
/// "final": {"policy": "human", "card": {"asks": "Deliver this change?", "show": [
///     {"title": "What changed", "step": "implement", "fields": ["summary", "files"]},
///     {"title": "Checks", "step": ["final_checks", "checks"], "fields": ["details.checks"]},
///     {"title": "Open findings", "findings": "open"},
///     {"title": "Spent", "usage": true}]}}
/// ```
public struct GateCardSpec: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        case steps([String], fields: [String])
        case findings
        case usage
    }

    public struct Section: Sendable, Equatable {
        public let title: String
        public let source: Source

        public init(title: String, source: Source) {
            self.title = title
            self.source = source
        }
    }

    /// The question, in a person's words ("Approve the plan?").
    public let asks: String
    public let sections: [Section]

    public init(asks: String, sections: [Section]) {
        self.asks = asks
        self.sections = sections
    }

    public static let sectionsMax = 16
    public static let fieldsMax = 16
    public static let stepsMax = 8
    public static let titleMaxCharacters = 80
    public static let asksMaxCharacters = 200
    /// A field path is at most this many dot-separated names.
    public static let pathDepthMax = 6
}
