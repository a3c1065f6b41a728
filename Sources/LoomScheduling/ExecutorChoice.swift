import LoomEngine

/// Who executes a task's agent spawns, as recorded in its submission's options.
public enum ExecutorChoice: Sendable, Equatable {
    /// loomd runs them on its pool.
    case daemon
    /// An agent host runs them and delivers through `effects.deliver`; loomd leaves them pending.
    case host
    /// The submission could not be read (the store failed): decide again later, on record.
    case unknown(LoomError)

    public static func == (lhs: ExecutorChoice, rhs: ExecutorChoice) -> Bool {
        switch (lhs, rhs) {
        case (.daemon, .daemon), (.host, .host): return true
        case (.unknown(let a), .unknown(let b)): return a.code == b.code
        default: return false
        }
    }
}

/// Which of the kernel's effects the host runs now: loomd's scheduling filter as a pure
/// function, shared with the simulator.
public enum ScheduleDecision {
    /// `run`: start on the pool. `lookupFailed`: spawns whose executor could not be read;
    /// the caller retries the lookup after a delay, and ends the task on record when it
    /// keeps failing, never leaving the effect waiting for the next start.
    public static func split(
        _ effects: [Effect],
        quarantined: Bool,
        executor: (String) -> ExecutorChoice
    ) -> (run: [Effect], lookupFailed: [(Effect, LoomError)]) {
        guard !quarantined else { return ([], []) }
        var run: [Effect] = []
        var failed: [(Effect, LoomError)] = []
        for effect in effects {
            guard effect.kind == .spawn else {
                run.append(effect)
                continue
            }
            switch executor(effect.taskID) {
            case .daemon: run.append(effect)
            case .host: continue
            case .unknown(let error): failed.append((effect, error))
            }
        }
        return (run, failed)
    }

    /// How often an executor lookup that failed is tried again before the task is ended on
    /// record, and the first delay (doubled each time).
    public static let lookupRetriesMax = 5
    public static let lookupRetryBaseMs = 500
    /// The class an executor lookup's retry is journaled under (`effect_retry`); numbered by
    /// `wait` (1, 2, …) so that each try is a decision of its own on record.
    public static let lookupErrorClass = "executor_lookup"
}
