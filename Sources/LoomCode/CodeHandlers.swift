import LoomEngine

/// The step handlers the code bundle names, by handler name.
public enum CodeHandlers {
    public static let all: [String: any StepHandler] = [
        "git.prepare": PrepareWorktree(),
        "git.diff": DiffWorktree(),
        "git.deliver": DeliverBranch(),
        "checks": RunChecks(),
        "git.ship_check": ShipBranch(check: true),
        "git.ship": ShipBranch(check: false),
    ]
}
