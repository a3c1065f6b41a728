/// Where a replay reads recorded inputs from: a project's database, or the entries of a
/// proof file that travelled to a machine with no project.
///
/// Both answer in journal order and in bounded batches, so a replay's memory does not
/// grow with the history it reads.
public protocol JournalSource {
    /// The tick of `task`'s last entry, or nil when the journal does not name the task.
    func lastTick(task: String) throws(LoomError) -> Int64?
    /// Up to `limit` entries after `seq`, in order, none from a tick after `upToTick`.
    func entries(after seq: Int64, upToTick: Int64, limit: Int) throws(LoomError) -> [JournalEntry]
    /// The bundle versions the source's tasks ran, as it stores them (none by default).
    func storedBundles() throws(LoomError) -> [LoomBundle]
}

extension JournalSource {
    public func storedBundles() throws(LoomError) -> [LoomBundle] { [] }
}

extension Store: JournalSource {
    public func storedBundles() throws(LoomError) -> [LoomBundle] {
        try BundleArchive.all(in: self)
    }

    public func lastTick(task: String) throws(LoomError) -> Int64? {
        try read { tx throws(LoomError) in try tx.maxTick(task: task) }
    }

    public func entries(after seq: Int64, upToTick: Int64, limit: Int) throws(LoomError) -> [JournalEntry] {
        try read { tx throws(LoomError) in try tx.journalEntries(after: seq, upToTick: upToTick, limit: limit) }
    }
}

/// Entries already in memory (a decoded proof file), answered as a journal source.
public struct JournalEntryList: JournalSource {
    public let entries: [JournalEntry]

    /// - Parameter entries: in journal order, `seq` rising.
    public init(_ entries: [JournalEntry]) {
        self.entries = entries
    }

    public func lastTick(task: String) throws(LoomError) -> Int64? {
        entries.last { $0.taskID == task }?.tick
    }

    public func entries(after seq: Int64, upToTick: Int64, limit: Int) throws(LoomError) -> [JournalEntry] {
        // seq rises by one from the first entry, so the start is found without a search.
        guard let first = entries.first else { return [] }
        let start = Int(max(0, min(Int64(entries.count), seq - first.seq + 1)))
        var batch: [JournalEntry] = []
        for entry in entries[start...] {
            if entry.tick > upToTick || batch.count >= limit { break }
            batch.append(entry)
        }
        return batch
    }
}
