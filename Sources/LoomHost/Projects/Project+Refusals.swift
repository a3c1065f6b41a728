import LoomEngine
import LoomScheduling

/// Refused answers and cancels within a per-peer budget: a peer that keeps being refused
/// gets its refusals counted, and the count journaled as one summary (`RefusalBudget`).
extension Project {
    /// The engine's `refusalAudit`, on `queue`.
    func auditRefusal(_ input: JournalInput) -> RefusalAudit {
        guard var budget = refusalBudget else { return .journal(suppressedBefore: nil) }
        let peer = RefusalBudget.Peer(uid: input.caller.uid ?? 0)
        let decision = budget.admit(peer, kind: input.kind.rawValue, task: input.taskID, nowMs: clock())
        refusalBudget = budget
        switch decision {
        case .journal(let summary):
            return .journal(suppressedBefore: summary?.json)
        case .suppress(let opensWindow):
            onRefusalSuppressed?(input.kind.rawValue, opensWindow)
            return .skip
        }
    }

    /// Journals the summaries whose window has closed (on `queue`). `nowMs`: the project's
    /// clock unless given. A summary the store refuses is given back to the caller's log.
    @discardableResult
    package func journalClosedRefusalWindows(nowMs: Int64? = nil) -> [LoomError] {
        guard var budget = refusalBudget else { return [] }
        let closed = budget.closeWindows(nowMs: nowMs ?? clock())
        refusalBudget = budget
        var failures: [LoomError] = []
        for summary in closed {
            do throws(LoomError) {
                try (try engine).recordSuppressedRefusals(task: summary.task, summary: summary.json, by: .system)
            } catch {
                failures.append(error)
            }
        }
        return failures
    }
}
