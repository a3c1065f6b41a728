import ArgumentParser
import Foundation
import LoomEngine
import LoomHost
import LoomViews

/// `loomctl bundle show|graph NAME`: what a bundle does, read from its files (no daemon).
struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Show a bundle's phases, steps, agents, gates, policies and rules, or draw its flows.",
        subcommands: [Show.self, Graph.self]
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Print a bundle: phases, flows and steps, agents, gates and policies, rules."
        )
        @Argument(help: "The bundle's name.") var name: String
        @OptionGroup var bundles: BundleOption
        func run() throws {
            try runReporting { print(BundleOutline.text(try BundleCommand.find(name, in: bundles)), terminator: "") }
        }
    }

    struct Graph: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "graph",
            abstract:
                "Draw a bundle's flows: steps as nodes, walk-backs, gate outcomes and branches as labelled edges.",
            discussion: "Pipe dot to Graphviz: loomctl bundle graph code | dot -Tsvg > code.svg"
        )
        @Argument(help: "The bundle's name.") var name: String
        @Option(help: "dot (Graphviz) or mermaid.") var format: GraphRenderer.Format = .dot
        @Option(help: "Only this flow (repeatable; default: every flow).") var flow: [String] = []
        @OptionGroup var bundles: BundleOption
        func run() throws {
            try runReporting {
                let bundle = try BundleCommand.find(name, in: bundles)
                for name in flow where bundle.flows[name] == nil {
                    throw CLIError(
                        "bundle \(bundle.name) has no flow \(name) (it has \(bundle.flows.keys.sorted().joined(separator: ", ")))",
                        status: 3
                    )
                }
                print(
                    GraphRenderer.render(FlowGraph(bundle: bundle, flows: flow.isEmpty ? nil : flow), as: format),
                    terminator: ""
                )
            }
        }
    }

    /// Every bundle under --bundles, $LOOM_BUNDLES, ./bundles, or the bundles shipped beside
    /// this loomctl (a checkout's `bundles/`, an install's `share/loom/bundles`).
    static func loadAll(_ option: BundleOption) throws -> [LoomBundle] {
        if let named = option.resolved {
            do { return try BundleOption.load(named) } catch { throw CLIError("\(error)", status: 1) }
        }
        // ./bundles, then the bundles shipped beside loomctl.
        guard let directory = ShippedBundles.directory(before: ["bundles"]) else {
            throw CLIError(
                "no bundles found (looked in \((["bundles"] + ShippedBundles.candidates()).joined(separator: ", "))); name a directory with --bundles",
                status: 3
            )
        }
        do { return try BundleOption.load(directory) } catch { throw CLIError("\(error)", status: 1) }
    }

    /// The bundle called `name` (see `loadAll` for where bundles are looked for).
    static func find(_ name: String, in option: BundleOption) throws -> LoomBundle {
        let loaded = try loadAll(option)
        guard let bundle = loaded.first(where: { $0.name == name }) else {
            throw CLIError("no bundle \(name) (found: \(loaded.map(\.name).joined(separator: ", ")))", status: 3)
        }
        return bundle
    }
}

extension GraphRenderer.Format: ExpressibleByArgument {}
