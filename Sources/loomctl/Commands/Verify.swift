import ArgumentParser
import Foundation
import LoomEngine

/// `loomctl verify`: works on the file directly, read-only, without the daemon.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a project's journal: recompute its hash chain and, with bundles, replay it. Read-only; no daemon needed.",
        discussion: "Exit status 0 when intact; 6 at the first entry whose hash does not match, or the first tick where replay diverges.")

    @Argument(help: "A task id to replay (default: every task).") var task: String?
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
            var ok: Bool
            if case .intact = chain { ok = true } else { ok = false }
            if ok, let directory = bundles ?? ProcessInfo.processInfo.environment["LOOM_BUNDLES"] {
                let loaded = try loadBundles(directory)
                let report = try Replayer(source: store, bundles: loaded).run(task: task)
                result["replay"] = .string(report.description)
                if case .identical = report {} else { ok = false }
            }
            result["ok"] = .bool(ok)
            print(json ? JSONValue.object(result).canonicalText : [result["chain"]?.stringValue, result["replay"]?.stringValue].compactMap { $0 }.joined(separator: "\n"))
            if !ok { throw ExitCode(6) }
        }
    }

    private func loadBundles(_ directory: String) throws -> [LoomBundle] {
        if FileManager.default.fileExists(atPath: "\(directory)/bundle.json") { return [try BundleLoader.load(directory: directory)] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return try names.sorted().filter { FileManager.default.fileExists(atPath: "\(directory)/\($0)/bundle.json") }
            .map { try BundleLoader.load(directory: "\(directory)/\($0)") }
    }
}
