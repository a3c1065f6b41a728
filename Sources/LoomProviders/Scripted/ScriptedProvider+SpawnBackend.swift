import LoomEngine

/// The scripted provider behind the same seam as the real ones, so a fallback chain can
/// mix it with them (`scripted` in a chain) and the demo runs through the router.
extension ScriptedProvider: SpawnBackend {
    public var providerName: String { "scripted" }

    public func spawn(_ request: AgentRequest, model: String, context: SpawnContext) -> AgentResult {
        answer(request, directory: context.workingDirectory).redacted(context.secrets)
    }
}
