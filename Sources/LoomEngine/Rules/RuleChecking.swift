/// Which commit-time rules an engine runs at each tick, and what a violation does.
///
/// Replay runs only the rules added since the journal was recorded. The rules in force then
/// (the kernel's, and the bundle version's that the task's submission names by digest) found
/// nothing on the recorded rows, or the tick would not be in the journal; a replay whose rows
/// come out the same gets the same verdicts, and the replay compares every row. Running them
/// again would cost a statement per task per tick and find nothing. A tick they refused is on
/// record as its own entry (kind `violation`) and replays as that entry.
enum RuleChecking: Equatable {
    /// A live engine: every rule in force and any added one; rows roll the tick back.
    case enforceAll
    /// `Replayer`: only the added rules (`RuleBook.added(bundle:)`); rows roll the tick back,
    /// and the replay reports the tick the rule would have caught.
    case enforceAdded
    /// `HistoryReplayer`: only the added rules; their rows are recorded in
    /// `Engine.observedViolations` and the tick commits as recorded, so every later task
    /// sees the recorded state.
    case observeAdded
}
