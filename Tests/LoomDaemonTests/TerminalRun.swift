import LoomEngine
import LoomSystem

/// A command run under script(1), which gives it a pseudo-terminal whose input is
/// `shell`'s pipeline (typed answers, pauses): how a person at a terminal drives
/// `loomctl run`, and how a hostile agent would reach that terminal.
enum TerminalRun {
    /// `feed` is the shell pipeline whose output is the terminal's input (`(sleep 1; printf 'a\n')`).
    static func run(_ command: String, feed: String, home: String) throws -> ChildProcess.Result {
        let quoted = command.replacingOccurrences(of: "\"", with: "\\\"")
        let shell = "\(feed) | script -qfec \"\(quoted)\" /dev/null"
        let environment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8", "TERM": "dumb"]
        let result = ChildProcess.run(
            .init(
                argv: ["/bin/sh", "-c", shell],
                environment: environment,
                timeoutMs: 60_000,
                outputLimitBytes: DaemonHarness.ctlOutputLimitBytes
            )
        )
        if let spawnError = result.spawnError { throw LoomError(.internal, spawnError) }
        return result
    }
}
