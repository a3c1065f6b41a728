/// A tiny seeded generator (SplitMix64): the simulator's only source of chance, so a seed
/// reproduces a run exactly.
public struct SplitMix64: Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in 0..<bound.
    public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }

    /// True with probability `probability`.
    public mutating func chance(_ probability: Double) -> Bool {
        Double(next() >> 11) / Double(1 << 53) < probability
    }

    /// A stable 64-bit value for a (seed, text) pair: decisions keyed by content rather than
    /// by the order they are asked in, so a run with crashes decides exactly as one without.
    public static func hash(seed: UInt64, _ text: String) -> UInt64 {
        var generator = SplitMix64(seed: seed)
        var value = generator.next()
        for byte in text.utf8 {
            value = (value ^ UInt64(byte)) &* 0x100_0000_01B3
        }
        var mixer = SplitMix64(seed: value)
        return mixer.next()
    }
}
