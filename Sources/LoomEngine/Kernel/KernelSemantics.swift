import LoomValues

/// Which semantics of the transitions a journal was written by. Raised whenever a change to
/// the kernel makes the same inputs produce different rows (a new rule of the transitions, a
/// changed default), so that a replay that diverges because the kernel changed says so
/// instead of looking like a rewritten journal.
///
/// Recorded in each submission's journaled payload (`kernelSemantics`), not in a column: the
/// entry is hashed into the chain, so the version is as tamper-evident as the submission; the
/// replay feeds the recorded payload back, so a replay reproduces it whatever build runs it;
/// and a journal written before versions were recorded reads as version 0, with no migration.
public enum KernelSemantics {
    /// This build's semantics. 1: the first recorded version.
    public static let version = 1
    /// What a submission written before versions were recorded counts as.
    public static let unrecorded = 0
    /// The submitted payload's field that holds it.
    public static let payloadKey = "kernelSemantics"
    /// At most this many distinct versions are read from one journal (a replay names them).
    public static let versionsReadMax = 16

    /// The distinct versions of the submissions journaled up to `lastTick`, ascending.
    static func recorded(in store: Store, upToTick lastTick: Int64) throws(LoomError) -> [Int] {
        try store.read { tx throws(LoomError) in
            try tx.rows(
                """
                SELECT DISTINCT coalesce(json_extract(payload, '$.\(payloadKey)'), \(unrecorded)) AS version
                FROM journal WHERE kind = 'submitted' AND tick <= :tick ORDER BY version
                """,
                bindings: [":tick": String(lastTick)],
                limit: versionsReadMax
            ).map { Int($0["version"]?.intValue ?? Int64(unrecorded)) }
        }
    }

    /// How a replay report names versions: 0 is "before versions were recorded".
    static func describe(_ version: Int) -> String {
        version == unrecorded ? "0 (written before kernel versions were recorded)" : "\(version)"
    }
}
