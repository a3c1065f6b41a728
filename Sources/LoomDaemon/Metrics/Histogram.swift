import LoomSystem

/// Cumulative histogram with fixed bucket bounds (seconds), thread-safe to observe.
///
/// Observations are counted per bucket under a mutex and made cumulative only when a
/// snapshot is taken, so `observe` is a binary search and three additions. A snapshot is
/// consistent: its +Inf bucket always equals its count.
public final class Histogram: @unchecked Sendable {
    /// Most finite bounds. Each bound is one more series per label set in Prometheus;
    /// more than this is a design error.
    public static let boundLimit = 64

    /// The finite upper bounds, ascending; the +Inf bucket is implicit.
    public let bounds: [Double]

    // Guarded by `lock` (why @unchecked Sendable is sound).
    private let lock = Lock()
    private var bucketCounts: [UInt64]  // not cumulative; last = above every bound (+Inf)
    private var count: UInt64 = 0
    private var sum: Double = 0

    /// `bounds` must be finite, strictly ascending and at most `boundLimit` long; +Inf is
    /// added implicitly.
    public init(bounds: [Double]) {
        precondition(bounds.count <= Self.boundLimit, "Histogram: more than \(Self.boundLimit) bounds")
        precondition(bounds.allSatisfy { $0.isFinite }, "Histogram: bounds must be finite (+Inf is implicit)")
        precondition(
            zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 },
            "Histogram: bounds must be strictly ascending"
        )
        self.bounds = bounds
        self.bucketCounts = Array(repeating: 0, count: bounds.count + 1)
    }

    /// Durations from half a millisecond (a store write) to a minute (a long command), in
    /// 1–2.5–5 steps: roughly doubling, and round numbers a reader can compare.
    public static func secondsDefault() -> Histogram {
        Histogram(bounds: [
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
            0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60,
        ])
    }

    /// Counts `value` in the first bucket whose bound is ≥ it. NaN lands only in +Inf (no
    /// bound is ≥ NaN) and makes the sum NaN, as in Prometheus' own clients.
    public func observe(_ value: Double) {
        let index = bucketIndex(value)
        lock.withLock {
            bucketCounts[index] &+= 1
            count &+= 1
            sum += value
        }
    }

    /// Cumulative bucket counts, the last one for bound +Inf (equal to `count`), with the
    /// count and sum of all observations, taken together under the lock.
    public func snapshot() -> (buckets: [(bound: Double, count: UInt64)], count: UInt64, sum: Double) {
        let (counts, total, totalSum) = lock.withLock { (bucketCounts, count, sum) }

        var buckets: [(bound: Double, count: UInt64)] = []
        buckets.reserveCapacity(counts.count)
        var running: UInt64 = 0
        for (index, bucketCount) in counts.enumerated() {
            running &+= bucketCount
            buckets.append((bound: index < bounds.count ? bounds[index] : .infinity, count: running))
        }
        return (buckets: buckets, count: total, sum: totalSum)
    }

    /// First index whose bound is ≥ `value` (binary search), or `bounds.count` for +Inf.
    private func bucketIndex(_ value: Double) -> Int {
        var low = 0
        var high = bounds.count
        while low < high {
            let middle = (low + high) / 2
            if value <= bounds[middle] { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
