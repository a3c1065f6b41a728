/// How a template variable's value may be shortened when the rendered prompt does not fit
/// a model's context window. Declared per variable in the bundle (`"shrink"`), so the
/// kernel stays blind to what the value is (a log, a diff, a list): it only records, with
/// the spawn's request, where each shrinkable value sits in the prompt and how it shrinks.
/// The host, which knows the model's window, does the cutting and journals the cut with
/// the spawn's result (see `AgentRequest.shrinkable` and docs/ARCHITECTURE.md).
public enum ShrinkRule: String, Sendable, Equatable, CaseIterable {
    /// Never cut (the default).
    case none
    /// Keep the head and the tail, with a marked cut between them (logs, diffs).
    case headTail = "head-tail"
    /// Keep the first items (a JSON array's elements, else lines), with a marked count of the rest.
    case firstItems = "first-items"
}
