/// A loaded, fully validated bundle: the manifest, its templates and its SQL
/// rules, interpreted into the model the engine runs.
///
/// The kernel never knows what a bundle is *about*; everything domain-specific
/// (step names, agents, prompts, rules) lives here as data. Instances come out
/// of `BundleLoader`, which refuses a bundle with any problem, so code holding
/// a `LoomBundle` may rely on every cross-reference in it being resolvable.
public struct LoomBundle: Sendable {
    public let name: String
    public let version: String
    /// Lowercase hex SHA-256 over every file of the bundle (see `BundleDigest`).
    /// The journal records it so a replay can prove it ran the same bundle.
    public let digest: String
    /// Relative path -> contents, exactly as loaded, so a proof export can
    /// include the bundle verbatim and a verifier can recompute `digest`.
    public let files: [String: String]
    /// Declared phases, in manifest order.
    public let phases: [String]
    public let flows: [String: Flow]
    public let defaultFlow: String
    public let agents: [String: AgentSpec]
    /// Keyed by gate role.
    public let gates: [String: GateSpec]
    /// Commit-time invariants: every row a rule returns is a violation.
    public let rules: [SQLRule]
    /// Rules that force a human answer at a gate whatever its policy: any row
    /// returned means the gate may not be decided automatically.
    public let safetyFloor: [SQLRule]
    public let budgets: Budgets
    /// Checks the host runs on a submission before it is acknowledged, by name: cheap, and
    /// writing nothing, so a refused submission leaves the folder as it was.
    public let admission: [String]

    // Internal on purpose: the digest must describe `files`, and every
    // reference must resolve, which only the loader guarantees.
    init(
        name: String,
        version: String,
        digest: String,
        files: [String: String],
        phases: [String],
        flows: [String: Flow],
        defaultFlow: String,
        agents: [String: AgentSpec],
        gates: [String: GateSpec],
        rules: [SQLRule],
        safetyFloor: [SQLRule],
        budgets: Budgets,
        admission: [String] = []
    ) {
        self.name = name
        self.version = version
        self.digest = digest
        self.files = files
        self.phases = phases
        self.flows = flows
        self.defaultFlow = defaultFlow
        self.agents = agents
        self.gates = gates
        self.rules = rules
        self.safetyFloor = safetyFloor
        self.budgets = budgets
        self.admission = admission
    }

    /// The flow called `named`, or nil if the bundle declares none by that name.
    public func flow(named: String) -> Flow? {
        flows[named]
    }

    /// A safety-floor rule by name (gates refer to them by name).
    public func safetyFloorRule(named: String) -> SQLRule? {
        safetyFloor.first { $0.name == named }
    }
}
