import Foundation
import LoomEngine
import LoomSystem
import LoomValues

/// Starts the real `loomd` binary on a temporary state directory and socket, and runs the
/// real `loomctl` against it. Everything it starts it stops; every wait is bounded.
final class DaemonHarness: @unchecked Sendable {
    static let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let publishingScript = """
        {"agents": {
          "writer": [{"output": {"title": "T", "text": "Words."}, "tokensIn": 100, "tokensOut": 10, "costMicroUSD": 700}],
          "editor": [{"output": {"findings": []}, "tokensIn": 20, "tokensOut": 5}],
          "factchecker": [{"output": {"checked_claims": 1, "findings": [{"severity": "warn", "summary": "unsourced figure", "category": "claim"}]}, "tokensIn": 30, "tokensOut": 5}]
        }}
        """

    /// The publishing bundle's agents answering at once, but the writer only after
    /// `writerDelayMs`: a task that stays "running" a while.
    static func slowWriterScript(writerDelayMs: Int) -> String {
        """
        {"agents": {
          "writer": [{"output": {"title": "T", "text": "Words."}, "delayMs": \(writerDelayMs)}],
          "editor": [{"output": {"findings": []}}],
          "factchecker": [{"output": {"checked_claims": 0, "findings": []}}]
        }}
        """
    }

    let directory: String
    let socket: String
    let state: String
    var process: BackgroundChild?
    var environment: [String: String]
    var arguments: [String]
    let stderrFile: String

    /// - Parameters:
    ///   - script: the scripted provider's answers.
    ///   - config: a JSON config file's text, if any.
    init(
        script: String = DaemonHarness.publishingScript,
        config: String? = nil,
        environment: [String: String] = [:]
    ) throws {
        // Short: sun_path holds 108 bytes.
        directory = "/tmp/loomd-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        socket = "\(directory)/d.sock"
        state = "\(directory)/state"
        stderrFile = "\(directory)/loomd.log"
        try script.write(toFile: "\(directory)/script.json", atomically: true, encoding: .utf8)
        arguments = [
            "--state-dir", state, "--socket", socket, "--bundles", "\(Self.repositoryRoot)/bundles", "--default-bundle",
            "publishing", "--provider-script", "\(directory)/script.json",
        ]
        if let config {
            try config.write(toFile: "\(directory)/config.json", atomically: true, encoding: .utf8)
            arguments += ["--config", "\(directory)/config.json"]
        }
        self.environment = environment
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A new project directory under the harness's folder.
    func makeProject(_ name: String = "p") throws -> String {
        let path = "\(directory)/\(name)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Starts loomd and waits (bounded) until its socket answers.
    /// - Parameter wrapper: a program that starts loomd itself, given loomd's command line
    ///   after its own (`systemd-socket-activate --listen …`).
    func start(
        extraEnvironment: [String: String] = [:],
        waitForSocket: Bool = true,
        under wrapper: [String] = []
    ) throws {
        var env = ProcessInfo.processInfo.environment
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LOOMD_CRASH_AT"] {
            env[key] = nil
        }
        for (key, value) in environment.merging(extraEnvironment, uniquingKeysWith: { $1 }) { env[key] = value }
        FileManager.default.createFile(atPath: stderrFile, contents: nil)
        let process = try BackgroundChild(
            argv: wrapper + ["\(Self.binaries)/loomd"] + arguments,
            environment: env,
            outputPath: stderrFile
        )
        self.process = process
        guard waitForSocket else { return }
        for _ in 0..<200 {
            if FileManager.default.fileExists(atPath: socket), ctl(["projects", "list"]).status == 0 { return }
            if process.termination != nil { break }
            usleep(50_000)
        }
        throw LoomError(.internal, "loomd did not come up: \(log())")
    }

    func log() -> String { (try? String(contentsOfFile: stderrFile, encoding: .utf8)) ?? "" }

    /// Waits (bounded) for loomd to exit; returns its exit status (the signal's number when
    /// a signal ended it) and whether a signal did.
    @discardableResult
    func waitForExit(seconds: Double = 20) -> (status: Int32, signaled: Bool)? {
        guard let ending = process?.wait(timeoutMs: Int(seconds * 1_000)) else { return nil }
        process = nil
        return (ending.exitCode ?? ending.signal ?? -1, ending.signal != nil)
    }

    func signal(_ number: Int32) {
        process?.signal(number)
    }

    /// Kills loomd and waits (bounded) until it is reaped.
    func stop() {
        process?.kill(waitingMs: 20_000)
        process = nil
    }

    struct Output {
        let status: Int32
        let stdout: String
        let stderr: String
        var json: JSONValue? { try? JSONValue.parse(stdout.trimmingCharacters(in: .whitespacesAndNewlines)) }

        init(status: Int32, stdout: String, stderr: String) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }

        /// A finished child's: its exit status (the signal's number when a signal ended
        /// it, -1 when it never started), stdout, and stderr or why it could not start.
        init(_ result: ChildProcess.Result) {
            status = result.exitCode ?? result.signal ?? -1
            stdout = String(decoding: result.output, as: UTF8.self)
            stderr = result.spawnError ?? String(decoding: result.standardError, as: UTF8.self)
        }
    }

    /// The most of loomctl's stdout a test keeps (exports and journals included).
    static let ctlOutputLimitBytes = 256 << 20

    /// Runs loomctl with `--socket` pointing here (bounded by `timeout` seconds).
    @discardableResult
    func ctl(_ arguments: [String], timeout: Double = 30) -> Output {
        var env = ProcessInfo.processInfo.environment
        env["LOOM_SOCKET"] = socket
        // As under systemd: loomctl finds this loomd's state directory (its chain key) here.
        env["STATE_DIRECTORY"] = state
        let result = ChildProcess.run(
            .init(
                argv: ["\(Self.binaries)/loomctl"] + arguments,
                environment: env,
                timeoutMs: Int(timeout * 1_000),
                outputLimitBytes: Self.ctlOutputLimitBytes,
                separateStandardError: true
            )
        )
        return Output(result)
    }

    /// Polls a task's status until `done` says stop (bounded).
    func waitFor(task: String, project: String, seconds: Double = 20, until done: (String) -> Bool) -> String {
        let deadline = Date().addingTimeInterval(seconds)
        var status = "?"
        while Date() < deadline {
            status = ctl(["status", task, "-C", project, "--json"]).json?["status"]?.stringValue ?? "?"
            if done(status) { return status }
            usleep(50_000)
        }
        return status
    }

    /// The project's database, opened read-only for checks.
    func store(_ project: String) throws -> Store {
        var options = StoreOptions()
        options.readOnly = true
        return try Store(path: "\(project)/.loom/state.db", options: options)
    }
}
