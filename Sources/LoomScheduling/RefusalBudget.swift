import LoomValues

/// How many refused requests of one peer are journaled one by one: a token bucket per peer
/// uid, time passed in (per uid, not per process: a process that forks new pids must not get
/// a fresh budget with each). Anyone who reaches the socket can cause a refusal and each
/// journaled one stays for ever; past the budget, refusals are counted, and the count goes on
/// record as one summary, carried by the peer's next journaled refusal or journaled alone
/// when its window closes. Accepted inputs never pass through here.
public struct RefusalBudget: Sendable {
    /// Who was refused, by uid. A peer without credentials counts as uid 0's.
    public struct Peer: Hashable, Sendable {
        public let uid: UInt32

        public init(uid: UInt32) { self.uid = uid }

        /// Where the refusals of new peers are counted while the table is full of peers that
        /// still have something to report: they share one budget rather than grow the table.
        public static let overflow = Peer(uid: UInt32.max)
    }

    /// Refusals of one peer that were counted, not journaled.
    public struct Summary: Sendable, Equatable {
        public let peer: Peer
        public var count: Int
        /// By the refused input's kind (`gate_answered`, `cancelled`): a small closed set.
        public var kinds: [String: Int]
        public var firstMs: Int64
        public var lastMs: Int64
        /// The task the last of them named; the summary is filed under it.
        public var task: String

        public var json: JSONValue {
            .object([
                "uid": .int(Int64(peer.uid)),
                "count": .int(Int64(count)),
                "kinds": .object(kinds.mapValues { .int(Int64($0)) }),
                "firstMs": .int(firstMs), "lastMs": .int(lastMs),
            ])
        }
    }

    public enum Decision: Sendable, Equatable {
        /// Journal this refusal, with the summary of those suppressed before it, if any.
        case journal(suppressedBefore: Summary?)
        /// Count it only. `opensWindow`: the first suppressed one since the peer's last summary
        /// (the caller arranges for `closeWindows` to run `windowMs` later).
        case suppress(opensWindow: Bool)
    }

    /// Refusals journaled one by one in a burst, per peer.
    public static let capacityDefault = 20
    /// One more refusal may be journaled per this many milliseconds.
    public static let refillMsDefault = 1_000
    /// How long after its first suppressed refusal a peer's summary is journaled at the latest.
    public static let windowMsDefault = 60_000
    /// Peers tracked at once (the overflow peer included).
    public static let peersMaxDefault = 256

    public let capacity: Int
    public let refillMs: Int64
    public let windowMs: Int64
    public let peersMax: Int

    private struct Bucket {
        var tokens: Int
        var refilledMs: Int64
        var suppressed: Summary?
    }
    private var buckets: [Peer: Bucket] = [:]

    public init(
        capacity: Int = Self.capacityDefault,
        refillMs: Int = Self.refillMsDefault,
        windowMs: Int = Self.windowMsDefault,
        peersMax: Int = Self.peersMaxDefault
    ) {
        precondition(capacity >= 1 && refillMs >= 1 && windowMs >= 1 && peersMax >= 2, "RefusalBudget: limits below 1")
        self.capacity = capacity
        self.refillMs = Int64(refillMs)
        self.windowMs = Int64(windowMs)
        self.peersMax = peersMax
    }

    /// Peers tracked now (at most `peersMax`).
    public var peerCount: Int { buckets.count }

    /// Decides about one refusal of `peer` at `nowMs`.
    public mutating func admit(_ peer: Peer, kind: String, task: String, nowMs: Int64) -> Decision {
        let peer = slot(for: peer, nowMs: nowMs)
        var bucket = buckets[peer] ?? Bucket(tokens: capacity, refilledMs: nowMs, suppressed: nil)
        refill(&bucket, nowMs: nowMs)
        defer { buckets[peer] = bucket }
        guard bucket.tokens > 0 else {
            if var summary = bucket.suppressed {
                summary.count += 1
                summary.kinds[kind, default: 0] += 1
                summary.lastMs = max(summary.lastMs, nowMs)
                summary.task = task
                bucket.suppressed = summary
                return .suppress(opensWindow: false)
            }
            bucket.suppressed = Summary(
                peer: peer,
                count: 1,
                kinds: [kind: 1],
                firstMs: nowMs,
                lastMs: nowMs,
                task: task
            )
            return .suppress(opensWindow: true)
        }
        bucket.tokens -= 1
        let summary = bucket.suppressed
        bucket.suppressed = nil
        return .journal(suppressedBefore: summary)
    }

    /// The summaries whose window has closed by `nowMs`, taken out (the caller journals each).
    public mutating func closeWindows(nowMs: Int64) -> [Summary] {
        var closed: [Summary] = []
        for (peer, bucket) in buckets {
            guard let summary = bucket.suppressed, nowMs - summary.firstMs >= windowMs else { continue }
            closed.append(summary)
            buckets[peer]?.suppressed = nil
        }
        return closed.sorted { ($0.firstMs, $0.peer.uid) < ($1.firstMs, $1.peer.uid) }
    }

    private func refill(_ bucket: inout Bucket, nowMs: Int64) {
        guard nowMs > bucket.refilledMs else { return }
        let earned = (nowMs - bucket.refilledMs) / refillMs
        guard earned > 0 else { return }
        if Int64(capacity - bucket.tokens) <= earned {
            bucket.tokens = capacity
            bucket.refilledMs = nowMs
        } else {
            bucket.tokens += Int(earned)
            bucket.refilledMs += earned * refillMs
        }
    }

    /// The peer whose bucket counts this refusal: its own, or the shared overflow one when the
    /// table is full. A full table first forgets peers whose bucket is full again and who have
    /// nothing to report: forgetting them loses nothing, they would start afresh the same way.
    private mutating func slot(for peer: Peer, nowMs: Int64) -> Peer {
        guard buckets[peer] == nil, buckets.count >= peersMax - 1 else { return peer }
        for (known, var bucket) in buckets where known != Peer.overflow {
            refill(&bucket, nowMs: nowMs)
            if bucket.tokens == capacity, bucket.suppressed == nil { buckets[known] = nil }
        }
        return buckets.count < peersMax - 1 ? peer : Peer.overflow
    }
}
