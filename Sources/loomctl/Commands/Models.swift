import ArgumentParser
import LoomEngine
import LoomProviders

/// `loomctl models list|set`: the fallback chains in `models.json` (loomd reads the file
/// when it starts a spawn, so a change applies to the next spawn).
struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show or set the model chains of roles and tiers.",
                                                    subcommands: [List.self, Set.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the default chain, the tiers' and the roles' chains.")
        @OptionGroup var state: StateDirectoryOption
        @Flag(name: .long, help: "Print models.json as it resolves (defaults filled in), for scripts.")
        var json = false

        func run() throws {
            try runReporting {
                let models = try loadModels(state.path)
                if json {
                    print(models.json.canonicalText)
                    return
                }
                func line(_ label: String, _ chain: [ModelReference]) -> String {
                    label.padding(toLength: 22, withPad: " ", startingAt: 0) + chain.map(\.description).joined(separator: ",")
                }
                var lines = [line(ModelsConfiguration.defaultName, models.defaultChain)]
                for tier in ModelsConfiguration.tierNames {
                    lines.append(line("tier \(tier)", models.tiers[tier] ?? []) + (models.tiers[tier] == nil ? "(default chain)" : ""))
                }
                for role in models.roles.keys.sorted() { lines.append(line("role \(role)", models.roles[role]!)) }
                print(lines.joined(separator: "\n"))
            }
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set the chain of a role, a tier (fast, balanced, premium) or the default.",
            discussion: """
            The chain is a comma-separated list of provider:model, tried in order; the next \
            entry is used only when one is rate limited, refuses the credentials or does not \
            know the model. Example: loomctl models set implementer openrouter:deepseek/deepseek-chat,ollama:qwen2.5-coder
            """)
        @OptionGroup var state: StateDirectoryOption
        @Argument(help: "A role (an agent's name in its bundle), a tier (fast, balanced, premium) or 'default'.")
        var name: String
        @Argument(help: "provider:model[,provider:model...]")
        var chain: String

        func run() throws {
            try runReporting {
                var models = try loadModels(state.path)
                do throws(ProviderConfigurationError) {
                    try models.setChain(name, try ModelReference.parseChain(chain))
                    try ConfigurationFile.makeDirectories(state.path)
                    try models.save(path: "\(state.path)/\(ModelsConfiguration.fileName)")
                } catch {
                    throw CLIError(error.message, status: error.code == .io ? 1 : 2)
                }
                print("\(name): \(models.chain(role: name, tier: ModelsConfiguration.tierNames.contains(name) ? name : nil).chain.map(\.description).joined(separator: ","))")
            }
        }
    }
}

/// models.json, or a CLIError naming what is wrong with it.
func loadModels(_ stateDirectory: String) throws -> ModelsConfiguration {
    do throws(ProviderConfigurationError) { return try ModelsConfiguration.load(stateDirectory: stateDirectory) } catch { throw CLIError(error.message, status: 1) }
}
