import ArgumentParser
import Foundation
import LoomEngine

/// `loomctl verify`: works on the file directly, read-only, without the daemon.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a project's journal: recompute its hash chain and, with bundles, replay it. Read-only; no daemon needed.",
        discussion: "Exit status 0 when intact; 6 when the hash chain is broken (an entry edited, deleted or inserted); 7 when the chain holds but replay diverges (state edited without touching the journal).")

    @Argument(help: "A task id to replay (default: every task).") var task: String?
    @Flag(help: "Check every task (the default when no task is named).") var all = false
    @OptionGroup var project: ProjectOption
    @Option(name: .customLong("bundles"), help: "A directory of bundles to replay with (default: $LOOM_BUNDLES); without bundles only the chain is checked.") var bundles: String?
    @Flag(name: .long, help: "Print the result as JSON.") var json = false

    func run() throws {
        try runReporting {
            var options = StoreOptions()
            options.readOnly = true
            let store = try Store(path: "\(project.root)/.loom/state.db", options: options)
            let chain = try ChainVerifier.verify(store)
            var result: [String: JSONValue] = ["chain": .string(chain.description)]
            var status: Int32 = 0
            if case .intact = chain {} else { status = 6 }
            if status == 0, let directory = bundles ?? ProcessInfo.processInfo.environment["LOOM_BUNDLES"] {
                let loaded = try loadBundles(directory)
                let report = try Replayer(source: store, bundles: loaded).run(task: all ? nil : task)
                result["replay"] = .string(report.description)
                if case .identical = report {} else { status = 7 }
            }
            result["ok"] = .bool(status == 0)
            print(json ? JSONValue.object(result).canonicalText : [result["chain"]?.stringValue, result["replay"]?.stringValue].compactMap { $0 }.joined(separator: "\n"))
            if status != 0 { throw ExitCode(status) }
        }
    }

    private func loadBundles(_ directory: String) throws -> [LoomBundle] {
        if FileManager.default.fileExists(atPath: "\(directory)/bundle.json") { return [try BundleLoader.load(directory: directory)] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return try names.sorted().filter { FileManager.default.fileExists(atPath: "\(directory)/\($0)/bundle.json") }
            .map { try BundleLoader.load(directory: "\(directory)/\($0)") }
    }
}
