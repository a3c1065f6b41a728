import ArgumentParser
import LoomEngine
import LoomIPC
import LoomValues

/// `loomctl metrics`: Prometheus text format, for node_exporter's textfile collector.
struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Print loomd's metrics in Prometheus text format 0.0.4 (loom_ prefix)."
    )
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try runReporting {
            let client = try global.connect()
            defer { client.close() }
            let result: LoomIPC.Metrics.Result
            do { result = try client.call(LoomIPC.Metrics.self) } catch { throw CLIError(error) }
            print(global.json ? result.json.canonicalText : result.text, terminator: global.json ? "\n" : "")
        }
    }
}
