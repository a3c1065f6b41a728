import Foundation
import LoomIPC
import LoomValues

/// The real `loomd` on a temporary socket and the real `loom-web` in front of it, on an
/// ephemeral loopback port. Everything it starts it stops (SIGKILL, then wait); every wait
/// is bounded.
final class WebHarness: @unchecked Sendable {
    static let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The code bundle's agents, scripted (the same answers the daemon's end-to-end test uses).
    static let codeScript = """
        {"agents": {
          "classifier": [{"output": {"flow": "medium", "reason": "needs a plan"}}],
          "planner": [{"output": {"summary": "Write 42.", "steps": ["edit value.txt"]}, "tokensIn": 900, "tokensOut": 120, "costMicroUSD": 2100}],
          "implementer": [{"output": {"summary": "Wrote 42."}, "edits": {"value.txt": "42\\n"}, "delayMs": 300, "tokensIn": 2400, "tokensOut": 310, "costMicroUSD": 5400}],
          "reviewer-logic": [{"output": {"verdict": "APPROVE", "summary": "ok", "findings": []}, "tokensIn": 1200, "tokensOut": 60, "costMicroUSD": 900}],
          "reviewer-security": [{"output": {"verdict": "APPROVE", "summary": "ok", "findings": []}, "tokensIn": 1100, "tokensOut": 50, "costMicroUSD": 800}],
          "reviewer-tests": [{"output": {"verdict": "WARN", "summary": "no new test", "findings": [{"severity": "warn", "category": "tests", "summary": "no test for the new value"}]}, "tokensIn": 1000, "tokensOut": 80, "costMicroUSD": 700}],
          "adjudicator": [{"output": {"verdict": "accept", "summary": "fine", "dismissed": [], "findings": []}}],
          "summarizer": [{"output": {"summary": "value.txt holds 42."}}]
        }}
        """

    let directory: String
    let socket: String
    let state: String
    var loomd: Process?
    var web: Process?
    /// The URL loom-web printed, with its token.
    private(set) var url = ""
    private(set) var token = ""
    private(set) var base = ""
    var webArguments: [String] = []

    init(script: String = WebHarness.codeScript) throws {
        directory = "/tmp/loomweb-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        socket = "\(directory)/d.sock"
        state = "\(directory)/state"
        try script.write(toFile: "\(directory)/script.json", atomically: true, encoding: .utf8)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func start() throws {
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: "\(Self.binaries)/loomd")
        daemon.arguments = [
            "--state-dir", state, "--socket", socket, "--bundles", "\(Self.repositoryRoot)/bundles",
            "--default-bundle", "publishing", "--provider-script", "\(directory)/script.json",
        ]
        var environment = ProcessInfo.processInfo.environment
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID"] {
            environment[key] = nil
        }
        daemon.environment = environment
        FileManager.default.createFile(atPath: "\(directory)/loomd.log", contents: nil)
        let log = FileHandle(forWritingAtPath: "\(directory)/loomd.log")!
        daemon.standardOutput = log
        daemon.standardError = log
        try daemon.run()
        loomd = daemon
        var up = false
        for _ in 0..<200 where !up {
            if (try? IPCClient(socketPath: socket, clientName: "test", timeoutMs: 1_000)) != nil {
                up = true
            } else {
                usleep(50_000)
            }
        }
        guard up else { throw HarnessFailure("loomd did not come up: \(text("loomd.log"))") }

        let dashboard = Process()
        dashboard.executableURL = URL(fileURLWithPath: "\(Self.binaries)/loom-web")
        dashboard.arguments = ["--port", "0", "--socket", socket, "--state-dir", state] + webArguments
        dashboard.environment = environment
        let output = Pipe()
        dashboard.standardOutput = output
        FileManager.default.createFile(atPath: "\(directory)/web.log", contents: nil)
        dashboard.standardError = FileHandle(forWritingAtPath: "\(directory)/web.log")!
        try dashboard.run()
        web = dashboard
        let printed = Self.firstLine(of: output)
        guard let printed, let range = printed.range(of: #"http://[^\s]+"#, options: .regularExpression) else {
            throw HarnessFailure("loom-web printed no URL: \(printed ?? "") \(text("web.log"))")
        }
        url = String(printed[range])
        token = String(url[url.range(of: "token=")!.upperBound...])
        base = String(url[..<url.range(of: "/?token=")!.lowerBound])
    }

    func stop() {
        for process in [web, loomd].compactMap({ $0 }) where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        web = nil
        loomd = nil
    }

    /// SIGTERM to loom-web; its exit status and how long it took (nil if it did not exit in `seconds`).
    func terminateWeb(seconds: Double = 10) -> (status: Int32, seconds: Double)? {
        guard let web else { return nil }
        let started = Date()
        kill(web.processIdentifier, SIGTERM)
        while web.isRunning && Date().timeIntervalSince(started) < seconds { usleep(10_000) }
        guard !web.isRunning else { return nil }
        self.web = nil
        return (web.terminationStatus, Date().timeIntervalSince(started))
    }

    func text(_ file: String) -> String { (try? String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8)) ?? "" }

    final class Box: @unchecked Sendable {
        private let lock = NSLock()
        private var value: String?
        func set(_ text: String) { lock.withLock { value = text } }
        func get() -> String? { lock.withLock { value } }
    }

    // MARK: - HTTP

    var http: RawHTTP { RawHTTP(url: base) }
    var cookie: [String: String] { ["Cookie": "loom_web=\(token)"] }

    func get(_ path: String, authenticated: Bool = true) throws -> RawHTTP.Response {
        try http.send("GET", path, headers: authenticated ? cookie : [:])
    }

    func post(
        _ path: String,
        _ fields: [(String, String)],
        authenticated: Bool = true,
        extraHeaders: [String: String] = [:]
    ) throws -> RawHTTP.Response {
        try http.send(
            "POST",
            path,
            headers: (authenticated ? cookie : [:]).merging(extraHeaders) { $1 },
            body: FormFieldsText.encode(fields)
        )
    }

    /// The CSRF token from a page's form.
    static func csrf(in html: String) -> String? {
        guard let range = html.range(of: #"name="csrf" value="[0-9a-f]+""#, options: .regularExpression) else {
            return nil
        }
        return String(html[range]).components(separatedBy: "value=\"")[1].replacingOccurrences(of: "\"", with: "")
    }

    // MARK: - loomd directly

    func call(_ method: String, _ params: [String: JSONValue]) throws -> JSONValue {
        let client = try IPCClient(socketPath: socket, clientName: "test", timeoutMs: 10_000)
        defer { client.close() }
        return try client.call(method, .object(params))
    }

    func waitFor(project: String, task: String, seconds: Double = 30, until done: (JSONValue) -> Bool) -> JSONValue? {
        let deadline = Date().addingTimeInterval(seconds)
        var last: JSONValue?
        while Date() < deadline {
            last = try? call("status", ["project": .string(project), "task": .string(task)])
            if let last, done(last) { return last }
            usleep(50_000)
        }
        return last
    }

    /// A committed repository whose check passes when value.txt holds 42.
    func makeRepository(_ name: String = "repo") throws -> String {
        let project = "\(directory)/\(name)"
        try FileManager.default.createDirectory(atPath: project, withIntermediateDirectories: true)
        for arguments in [
            ["init", "-q", "-b", "main"], ["config", "user.name", "P"], ["config", "user.email", "p@example.org"],
        ] {
            try git(project, arguments)
        }
        try "41\n".write(toFile: "\(project)/value.txt", atomically: true, encoding: .utf8)
        try "test \"$(cat value.txt)\" = 42\n".write(toFile: "\(project)/check.sh", atomically: true, encoding: .utf8)
        try git(project, ["add", "-A"])
        try git(project, ["commit", "-q", "-m", "initial"])
        try FileManager.default.createDirectory(atPath: "\(project)/.loom", withIntermediateDirectories: true)
        try #"{"checks": [{"name": "test", "run": "sh check.sh"}]}"#.write(
            toFile: "\(project)/.loom/config",
            atomically: true,
            encoding: .utf8
        )
        return project
    }

    @discardableResult
    func git(_ directory: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", directory] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw HarnessFailure("git \(arguments.joined(separator: " ")): \(text)")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The first line a child prints (loom-web's URL), read on a thread so a silent child
    /// cannot hang the test; nil after 20 s.
    static func firstLine(of output: Pipe) -> String? {
        let line = Box()
        let reader = Thread {
            var data = Data()
            while !data.contains(UInt8(ascii: "\n")) {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                data += chunk
            }
            line.set(String(decoding: data, as: UTF8.self))
        }
        reader.start()
        let deadline = Date().addingTimeInterval(20)
        while line.get() == nil && Date() < deadline { usleep(20_000) }
        return line.get()
    }
}

/// Form encoding for the tests (the same rules as the dashboard's own).
enum FormFieldsText {
    static func encode(_ fields: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return fields.map {
            "\($0.0.addingPercentEncoding(withAllowedCharacters: allowed)!)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)"
        }.joined(separator: "&")
    }

}

/// Something the harness needed (a process, a port, an answer) did not happen.
struct HarnessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
