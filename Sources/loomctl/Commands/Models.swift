import ArgumentParser
import LoomConfiguration
import LoomEngine
import LoomProviders

/// `loomctl models list|set`: the fallback chains in `models.json` (loomd reads the file
/// when it starts a spawn, so a change applies to the next spawn).
struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Show or set the model chains of roles and tiers.",
        subcommands: [List.self, Set.self],
        defaultSubcommand: List.self
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the default chain, the tiers' and the roles' chains."
        )
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
                var rows = [
                    [ModelsConfiguration.defaultName, models.defaultChain.map(\.description).joined(separator: ",")]
                ]
                for tier in ModelsConfiguration.tierNames {
                    rows.append([
                        "tier \(tier)",
                        models.tiers[tier].map { $0.map(\.description).joined(separator: ",") } ?? "(default chain)",
                    ])
                }
                for role in models.roles.keys.sorted() {
                    rows.append(["role \(role)", models.roles[role]!.map(\.description).joined(separator: ",")])
                }
                var text = Self.aligned(rows)
                // The providers the file sets, with the window and concurrency it states (a
                // blank window is asked of the server, else the kind's default: providers.md).
                if !models.providers.isEmpty {
                    var table = [["provider", "kind", "window", "answer", "at once", "base URL"]]
                    for name in models.providers.keys.sorted() {
                        let settings = models.providers[name]!
                        table.append([
                            name, settings.kind.rawValue, settings.contextTokens.map(String.init) ?? "-",
                            settings.maxTokens.map(String.init) ?? "-",
                            (settings.maxConcurrent ?? EndpointSlots.defaultLimit(for: settings)).map(String.init)
                                ?? "-", settings.baseURL ?? "",
                        ])
                        for model in settings.models.keys.sorted() {
                            let limits = settings.models[model]!
                            table.append([
                                "  \(name):\(model)", "", limits.contextTokens.map(String.init) ?? "-",
                                limits.maxTokens.map(String.init) ?? "-", "", "",
                            ])
                        }
                    }
                    text += "\n\n" + Self.aligned(table)
                }
                print(text)
            }
        }

        /// Rows as columns padded to their widest cell (in characters), two spaces apart,
        /// without trailing blanks.
        static func aligned(_ rows: [[String]]) -> String {
            let columns = rows.map(\.count).max() ?? 0
            let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0
            }
            return rows.map { row in
                row.enumerated().map { column, cell in
                    column == row.count - 1
                        ? cell : cell + String(repeating: " ", count: widths[column] - cell.count + 2)
                }.joined()
            }.map { String($0.reversed().drop(while: { $0 == " " }).reversed()) }.joined(separator: "\n")
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set the chain of a role, a tier (fast, balanced, premium) or the default.",
            discussion: """
                The chain is a comma-separated list of provider:model, tried in order; the next \
                entry is used only when one is rate limited, refuses the credentials or does not \
                know the model. Example: loomctl models set implementer openrouter:deepseek/deepseek-chat,ollama:qwen2.5-coder
                """
        )
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
                print(
                    "\(name): \(models.chain(role: name, tier: ModelsConfiguration.tierNames.contains(name) ? name : nil).chain.map(\.description).joined(separator: ","))"
                )
            }
        }
    }
}

/// models.json, or a CLIError naming what is wrong with it.
func loadModels(_ stateDirectory: String) throws -> ModelsConfiguration {
    do throws(ProviderConfigurationError) { return try ModelsConfiguration.load(stateDirectory: stateDirectory) } catch
    { throw CLIError(error.message, status: 1) }
}
