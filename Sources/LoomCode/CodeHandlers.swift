import LoomEngine

/// The step handlers the code bundle names, by handler name.
public enum CodeHandlers {
    public static let all: [String: any StepHandler] = [
        "git.prepare": PrepareWorktree(),
        "git.diff": DiffWorktree(),
        "git.deliver": DeliverBranch(),
        "checks": RunChecks(),
    ]
}
