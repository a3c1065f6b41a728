import LoomEngine

/// The named policy presets people choose from (`--supervised`, `--auto`, …), as tables of
/// kernel `TaskPolicy` overrides. They live outside the kernel because they name gate roles
/// (`plan`, `final`) that only bundles give meaning to.
public enum PolicyPreset: String, Sendable, CaseIterable {
    /// A person answers every gate.
    case fullSupervised = "full-supervised"
    /// A person approves the plan; later gates are resolved above the safety floor.
    case reviewPlanOnly = "review-plan-only"
    /// A person approves the final result; earlier gates are resolved above the safety floor.
    case reviewFinalOnly = "review-final-only"
    /// A person is asked only while a blocking finding is open.
    case gatesOnBlockers = "gates-on-blockers"
    /// The resolver answers every gate, above the safety floor.
    case fullAutonomous = "full-autonomous"

    public var policy: TaskPolicy {
        switch self {
        case .fullSupervised: return TaskPolicy(label: rawValue, fallback: .human)
        case .reviewPlanOnly: return TaskPolicy(label: rawValue, fallback: .auto, roles: ["plan": .human])
        case .reviewFinalOnly: return TaskPolicy(label: rawValue, fallback: .auto, roles: ["final": .human])
        case .gatesOnBlockers: return TaskPolicy(label: rawValue, fallback: .onBlockers)
        case .fullAutonomous: return TaskPolicy(label: rawValue, fallback: .auto)
        }
    }
}
