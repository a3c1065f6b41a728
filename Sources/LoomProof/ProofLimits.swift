/// Bounds on what a proof reader accepts, so a hostile or damaged file cannot make a
/// verifier use unbounded memory or time. Each has a name and a default.
public struct ProofLimits: Sendable {
    /// The whole file (it is read into memory): 512 MiB.
    public var fileMaxBytes = 512 << 20
    /// One line: a bundle line holds up to 4 MiB of files, which escaping can grow.
    public var lineMaxBytes = 32 << 20
    /// Journal entries in one proof.
    public var entriesMax = 20_000_000
    /// Bundles in one proof.
    public var bundlesMax = 256
    /// Nesting of any JSON value in a line.
    public var jsonDepthMax = 128

    public init() {}
}
