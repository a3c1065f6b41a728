import LoomValues

/// What kind of input a journal entry records. `violation` and `refused` record inputs the
/// kernel rejected, so the audit trail shows attempts as well as effects.
public enum JournalKind: String, Sendable, CaseIterable {
    case submitted
    case effectResult = "effect_result"
    case gateAnswered = "gate_answered"
    case timerFired = "timer_fired"
    case cancelled
    /// A host retried an effect after a transient failure or a rate limit (no state change).
    case effectRetry = "effect_retry"
    case violation
    case refused
}

/// One input to the machine, as journaled.
public struct JournalInput: Sendable, Equatable {
    public let kind: JournalKind
    public let taskID: String
    public let payload: JSONValue
    public let caller: Caller

    public init(kind: JournalKind, taskID: String, payload: JSONValue, caller: Caller) {
        self.kind = kind
        self.taskID = taskID
        self.payload = payload
        self.caller = caller
    }
}

/// A stored journal entry with its place in the hash chain.
public struct JournalEntry: Sendable, Equatable {
    public let seq: Int64
    public let tick: Int64
    public let timeMs: Int64
    public let taskID: String
    public let kind: JournalKind
    public let actor: JSONValue
    public let payload: JSONValue
    public let previousHash: [UInt8]
    public let hash: [UInt8]

    /// An entry as read back from somewhere other than the kernel's own table (a proof
    /// file). Nothing is checked here: `chainHash` is how a reader checks it.
    public init(
        seq: Int64,
        tick: Int64,
        timeMs: Int64,
        taskID: String,
        kind: JournalKind,
        actor: JSONValue,
        payload: JSONValue,
        previousHash: [UInt8],
        hash: [UInt8]
    ) {
        self.seq = seq
        self.tick = tick
        self.timeMs = timeMs
        self.taskID = taskID
        self.kind = kind
        self.actor = actor
        self.payload = payload
        self.previousHash = previousHash
        self.hash = hash
    }

    /// The chain link: SHA-256 over the previous entry's hash followed by the canonical JSON
    /// of this entry's content (docs/journal.md). Any edit, insertion or deletion of a row
    /// breaks every hash after it.
    public static func chainHash(
        previous: [UInt8],
        seq: Int64,
        tick: Int64,
        timeMs: Int64,
        taskID: String,
        kind: String,
        actor: JSONValue,
        payload: JSONValue
    ) -> [UInt8] {
        chainHash(
            previous: previous,
            seq: seq,
            tick: tick,
            timeMs: timeMs,
            taskID: taskID,
            kind: kind,
            actorBytes: actor.canonicalBytes(),
            payloadBytes: payload.canonicalBytes()
        )
    }

    /// The same hash from already-encoded actor and payload, so the kernel encodes each once.
    /// The bytes are exactly the canonical encoding of the object with keys actor, kind,
    /// payload, seq, task, tick, time (the canonical key order).
    static func chainHash(
        previous: [UInt8],
        seq: Int64,
        tick: Int64,
        timeMs: Int64,
        taskID: String,
        kind: String,
        actorBytes: [UInt8],
        payloadBytes: [UInt8]
    ) -> [UInt8] {
        // One buffer, hashed in one pass: the pieces are small, and feeding them one by one
        // cost more in buffering than the hash itself.
        var message: [UInt8] = []
        message.reserveCapacity(
            previous.count + actorBytes.count + payloadBytes.count + kind.utf8.count + taskID.utf8.count + 96
        )
        message += previous
        message += #"{"actor":"#.utf8
        message += actorBytes
        message += #","kind":"#.utf8
        JSONCanonicalEncoder.appendString(kind, &message)
        message += #","payload":"#.utf8
        message += payloadBytes
        message += #","seq":"#.utf8
        JSONCanonicalEncoder.appendInt(seq, &message)
        message += #","task":"#.utf8
        JSONCanonicalEncoder.appendString(taskID, &message)
        message += #","tick":"#.utf8
        JSONCanonicalEncoder.appendInt(tick, &message)
        message += #","time":"#.utf8
        JSONCanonicalEncoder.appendInt(timeMs, &message)
        message.append(0x7D)
        return SHA256.hash(message)
    }

    public static let genesisHash = [UInt8](repeating: 0, count: 32)

    public var input: JournalInput {
        JournalInput(kind: kind, taskID: taskID, payload: payload, caller: Caller(json: actor) ?? .system)
    }
}
