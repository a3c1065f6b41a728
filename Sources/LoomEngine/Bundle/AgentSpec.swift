/// An agent a bundle declares: the prompt template it is given, where each
/// template variable's value comes from, and the shape its output must have.
public struct AgentSpec: Sendable, Equatable {
    public let name: String
    /// Bundle-relative path of the template file.
    public let templatePath: String
    public let template: PromptTemplate
    /// Template variable name -> where its value comes from. The loader
    /// guarantees these keys are exactly the template's placeholders.
    public let variables: [String: VariableSource]
    public let outputSchema: OutputSchema
    /// Whether the output carries a `findings` array the kernel records (the
    /// loader has checked the schema requires one).
    public let producesFindings: Bool
    /// Whether the output may carry `dismissed: [{"finding": ID, "reason": TEXT}]`, which
    /// closes other agents' open findings as dismissed (never a harness finding: only a
    /// person settles those).
    public let dismissesFindings: Bool
    /// Free-text capability hint ("fast", "balanced", "premium", ...) the host
    /// maps to a concrete model; the kernel does not interpret it.
    public let tier: String?
    /// Variables that may be cut to fit a model's window, and how (absent: `.none`).
    public let shrink: [String: ShrinkRule]

    public init(
        name: String,
        templatePath: String,
        template: PromptTemplate,
        variables: [String: VariableSource],
        outputSchema: OutputSchema,
        producesFindings: Bool,
        dismissesFindings: Bool = false,
        tier: String?,
        shrink: [String: ShrinkRule] = [:]
    ) {
        self.name = name
        self.templatePath = templatePath
        self.template = template
        self.variables = variables
        self.outputSchema = outputSchema
        self.producesFindings = producesFindings
        self.dismissesFindings = dismissesFindings
        self.tier = tier
        self.shrink = shrink.filter { $0.value != .none }
    }
}
