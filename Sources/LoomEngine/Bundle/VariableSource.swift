/// Where the value of one template variable comes from when the engine
/// renders an agent's prompt. Every source is something the journal already
/// holds, which is what keeps prompt rendering replay-deterministic.
public enum VariableSource: Sendable, Equatable, Hashable {
    /// "input": the task's input text.
    case input
    /// "task": the task id.
    case taskID
    /// "feedback": message of the latest request-changes answer, "" if none.
    case feedback
    /// "findings": open findings as canonical JSON text.
    case openFindings
    /// "iteration": the current loop iteration.
    case iteration
    /// "validation_error": why the previous output was rejected, "" if none.
    case validationError
    /// "output:STEP" (the whole output as canonical JSON) or "output:STEP.FIELD"
    /// (one top-level field; a string field is inserted as its text).
    case output(step: String, field: String?)

    /// Parses the manifest spelling; nil if it is not one of the forms above.
    /// Step and field names are checked for shape here; whether the step
    /// exists is the loader's business.
    public init?(parsing text: String) {
        switch text {
        case "input": self = .input
        case "task": self = .taskID
        case "feedback": self = .feedback
        case "findings": self = .openFindings
        case "iteration": self = .iteration
        case "validation_error": self = .validationError
        default:
            guard text.hasPrefix("output:") else { return nil }
            let rest = text.dropFirst("output:".count)
            let parts = rest.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            let step = String(parts[0])
            guard BundleNames.isName(step) else { return nil }
            if parts.count == 2 {
                let field = String(parts[1])
                guard BundleNames.isFieldName(field) else { return nil }
                self = .output(step: step, field: field)
            } else {
                self = .output(step: step, field: nil)
            }
        }
    }

    /// The manifest spelling (the inverse of `init(parsing:)`).
    public var manifestText: String {
        switch self {
        case .input: return "input"
        case .taskID: return "task"
        case .feedback: return "feedback"
        case .openFindings: return "findings"
        case .iteration: return "iteration"
        case .validationError: return "validation_error"
        case .output(let step, nil): return "output:\(step)"
        case .output(let step, let field?): return "output:\(step).\(field)"
        }
    }
}
