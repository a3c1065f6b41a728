import LoomEngine
import LoomProviders

/// The step handlers the code bundle names, by handler name. The checks run the project's
/// commands, which are the agent's code, so they take the daemon's confinement.
public enum CodeHandlers {
    /// The admission checks the code bundle names (`admission` in its manifest).
    public static let admission: [String: any AdmissionCheck] = ["git.ready": GitReadiness()]

    public static func make(confinement: Confinement) -> [String: any StepHandler] {
        [
            "git.prepare": PrepareWorktree(),
            "git.diff": DiffWorktree(),
            "git.deliver": DeliverBranch(),
            "checks": RunChecks(confinement: confinement),
            "git.ship_check": ShipBranch(check: true),
            "git.ship": ShipBranch(check: false),
        ]
    }
}
