import ArgumentParser
import LoomEngine
import LoomViews

/// `loomctl bundle show|graph NAME`: what a bundle does, read from its files (no daemon).
struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Show a bundle's phases, steps, agents, gates, policies and rules, or draw its flows.",
        subcommands: [Show.self, Graph.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a bundle: phases, flows and steps, agents, gates and policies, rules.")
        @Argument(help: "The bundle's name.") var name: String
        @OptionGroup var bundles: BundleOption
        func run() throws {
            try runReporting { print(BundleOutline.text(try BundleCommand.find(name, in: bundles)), terminator: "") }
        }
    }

    struct Graph: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Draw a bundle's flows: steps as nodes, walk-backs, gate outcomes and branches as labelled edges.",
            discussion: "Pipe dot to Graphviz: loomctl bundle graph code | dot -Tsvg > code.svg")
        @Argument(help: "The bundle's name.") var name: String
        @Option(help: "dot (Graphviz) or mermaid.") var format: GraphRenderer.Format = .dot
        @Option(help: "Only this flow (repeatable; default: every flow).") var flow: [String] = []
        @OptionGroup var bundles: BundleOption
        func run() throws {
            try runReporting {
                let bundle = try BundleCommand.find(name, in: bundles)
                for name in flow where bundle.flows[name] == nil {
                    throw CLIError("bundle \(bundle.name) has no flow \(name) (it has \(bundle.flows.keys.sorted().joined(separator: ", ")))", status: 3)
                }
                print(GraphRenderer.render(FlowGraph(bundle: bundle, flows: flow.isEmpty ? nil : flow), as: format), terminator: "")
            }
        }
    }

    /// The bundle called `name` under --bundles / $LOOM_BUNDLES / ./bundles.
    static func find(_ name: String, in option: BundleOption) throws -> LoomBundle {
        let directory = option.resolved ?? "bundles"
        let loaded: [LoomBundle]
        do { loaded = try BundleOption.load(directory) } catch { throw CLIError("\(error)", status: 1) }
        guard let bundle = loaded.first(where: { $0.name == name }) else {
            throw CLIError("no bundle \(name) under \(directory) (found: \(loaded.map(\.name).joined(separator: ", ")))", status: 3)
        }
        return bundle
    }
}

extension GraphRenderer.Format: ExpressibleByArgument {}
