import Crypto
import LoomEngine

/// SHA-256 as the kernel uses it, once per journal entry: the kernel's `SHA256` against
/// swift-crypto's called directly (what the kernel's own type costs), on the same messages
/// in the same run, alternating round by round so a machine that gets busier weighs on both
/// alike.
struct HashComparison {
    /// The messages to hash: the recorded run's journal entries, as the chain hashes them.
    let messages: [[UInt8]]
    let rounds: Int

    /// Megabytes per second of each, medians of the rounds.
    func run() -> (kernel: Double, crypto: Double) {
        let bytes = Double(messages.reduce(0) { $0 + $1.count })
        var kernelRates: [Double] = []
        var cryptoRates: [Double] = []
        var sink: UInt8 = 0
        for _ in 1...rounds {
            var started = ContinuousClock.now
            for message in messages { sink ^= LoomEngine.SHA256.hash(message)[0] }
            kernelRates.append(bytes / 1e6 / seconds(since: started))
            started = ContinuousClock.now
            for message in messages { sink ^= Crypto.SHA256.hash(data: message).withUnsafeBytes { $0[0] } }
            cryptoRates.append(bytes / 1e6 / seconds(since: started))
        }
        // Keeps the optimiser from dropping hashes whose results are never read.
        if sink == 0x5A && bytes < 0 { print(sink) }
        return (median(kernelRates), median(cryptoRates))
    }

    private func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    private func seconds(since start: ContinuousClock.Instant) -> Double {
        let duration = ContinuousClock.now - start
        return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
