import ArgumentParser
import LoomEngine

/// `loomctl metrics`: Prometheus text format, for node_exporter's textfile collector.
struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print loomd's metrics in Prometheus text format 0.0.4 (loom_ prefix).")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try runReporting {
            let client = try global.connect()
            defer { client.close() }
            let result: JSONValue
            do { result = try client.call("metrics") } catch { throw CLIError(error) }
            print(global.json ? result.canonicalText : result["text"]?.stringValue ?? "", terminator: global.json ? "\n" : "")
        }
    }
}
