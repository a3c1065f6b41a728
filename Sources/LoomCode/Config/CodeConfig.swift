import LoomEngine
import LoomProviders
import LoomSystem
import LoomValues

/// A project's settings for code tasks, from `<project>/.loom/config` (JSON):
///
///     {"base": "main",
///      "checks": [{"name": "test", "run": "make test", "timeoutMs": 600000},
///                 {"name": "lint", "argv": ["ruff", "check", "."]},
///                 {"name": "deps", "run": "pip download -r requirements.txt", "network": true}],
///      "testGlobs": ["tests/*", "*_test.go"],
///      "checkOutputLimitBytes": 65536}
///
/// Every field is optional: no file means no checks, the current branch as the base and
/// the default test-file globs. Unknown fields are refused, so a typo is not silently
/// a missing check.
public struct CodeConfig: Sendable, Equatable {
    public struct Check: Sendable, Equatable {
        public var name: String
        /// Run without a shell; `run` in the file is `["sh", "-c", run]`.
        public var argv: [String]
        public var timeoutMs: Int
        /// Checks run without a network unless they ask (the journal records that they did).
        public var network = false
    }

    public var base: String?
    public var checks: [Check] = []
    public var testGlobs: [String] = TestFileGlobs.defaults
    public var checkOutputLimitBytes = 65_536
    /// Variables set for checks (and over loomd's PATH, when it names `PATH`): which
    /// programs the checks run, such as a virtualenv's python. Journaled with the checks'
    /// result, secret-named values redacted.
    public var environment: [String: String] = [:]

    public static let environmentMax = 64
    public static let environmentValueMaxBytes = 8_192

    public static let checksMax = 16
    public static let checkTimeoutMsRange = 1_000...3_600_000
    public static let defaultCheckTimeoutMs = 600_000

    public init() {}

    public static func path(project: String) -> String { "\(project)/.loom/config" }

    /// Every key of `.loom/config`, and of one of its checks (docs/CONFIG.md lists each).
    public static let settingNames: Set<String> = ["base", "checks", "testGlobs", "checkOutputLimitBytes", "env"]
    public static let checkSettingNames: Set<String> = ["name", "run", "argv", "timeoutMs", "network"]

    /// Reads the project's file; a missing file is the defaults, a bad one a clear error.
    public static func load(project: String) throws(CodeConfigError) -> CodeConfig {
        let path = path(project: project)
        guard let text = FileSystem.readText(path, limit: 256 * 1024) else { return CodeConfig() }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws(CodeConfigError) -> CodeConfig {
        let root: JSONValue
        do {
            root = try JSONValue.parse(text)
        } catch {
            throw CodeConfigError(path: path, "not JSON: \(error.message) at byte \(error.offset)")
        }
        guard let fields = root.objectValue else { throw CodeConfigError(path: path, "expected a JSON object") }
        for key in fields.keys where !settingNames.contains(key) {
            throw CodeConfigError(
                path: path,
                "unknown field \"\(key)\" (known: base, checks, testGlobs, checkOutputLimitBytes, env)"
            )
        }
        var config = CodeConfig()
        if let env = fields["env"] {
            guard let entries = env.objectValue, entries.count <= environmentMax else {
                throw CodeConfigError(path: path, "env must be an object of at most \(environmentMax) variables")
            }
            for (name, value) in entries {
                guard let first = name.unicodeScalars.first,
                    first == "_" || (first.isASCII && first.properties.isAlphabetic),
                    name.unicodeScalars.allSatisfy({
                        $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)))
                    }), name.count <= 128
                else {
                    throw CodeConfigError(path: path, "env: \"\(name)\" is not a variable name (letters, digits, _)")
                }
                // The agent marker is loom's: a check cannot pass for a person's shell.
                guard name != AgentMarker.variable else {
                    throw CodeConfigError(path: path, "env: \(name) is set by loom")
                }
                guard let text = value.stringValue, text.utf8.count <= environmentValueMaxBytes, !text.contains("\u{0}")
                else {
                    throw CodeConfigError(
                        path: path,
                        "env: \(name) must be a string of at most \(environmentValueMaxBytes) bytes"
                    )
                }
                config.environment[name] = text
            }
        }
        if let base = fields["base"] {
            guard let text = base.stringValue, !text.isEmpty, !text.hasPrefix("-") else {
                throw CodeConfigError(path: path, "base must be a branch or commit name")
            }
            config.base = text
        }
        if let limit = fields["checkOutputLimitBytes"] {
            guard let value = limit.intValue, (1_024...1_048_576).contains(value) else {
                throw CodeConfigError(path: path, "checkOutputLimitBytes must be an integer from 1024 to 1048576")
            }
            config.checkOutputLimitBytes = Int(value)
        }
        if let globs = fields["testGlobs"] {
            guard let list = globs.arrayValue?.compactMap(\.stringValue), list.count == globs.arrayValue?.count,
                list.count <= 64
            else {
                throw CodeConfigError(path: path, "testGlobs must be a list of at most 64 strings")
            }
            config.testGlobs = list
        }
        if let checks = fields["checks"] {
            guard let list = checks.arrayValue, list.count <= checksMax else {
                throw CodeConfigError(path: path, "checks must be a list of at most \(checksMax) checks")
            }
            for (index, entry) in list.enumerated() {
                config.checks.append(
                    try check(entry, at: "checks[\(index)]", path: path, taken: Set(config.checks.map(\.name)))
                )
            }
        }
        return config
    }

    private static func check(
        _ entry: JSONValue,
        at location: String,
        path: String,
        taken: Set<String>
    ) throws(CodeConfigError) -> Check {
        guard let fields = entry.objectValue else {
            throw CodeConfigError(path: path, "\(location): expected an object")
        }
        for key in fields.keys where !checkSettingNames.contains(key) {
            throw CodeConfigError(
                path: path,
                "\(location): unknown field \"\(key)\" (known: name, run, argv, timeoutMs, network)"
            )
        }
        guard let name = fields["name"]?.stringValue, !name.isEmpty, name.count <= 64 else {
            throw CodeConfigError(path: path, "\(location): a check needs a name (1 to 64 characters)")
        }
        guard !taken.contains(name) else {
            throw CodeConfigError(path: path, "\(location): the check name \"\(name)\" is used twice")
        }
        let argv: [String]
        switch (fields["run"]?.stringValue, fields["argv"]?.arrayValue) {
        case (let run?, nil) where !run.isEmpty:
            argv = ["sh", "-c", run]
        case (nil, let list?) where !list.isEmpty && list.allSatisfy({ $0.stringValue != nil }):
            argv = list.compactMap(\.stringValue)
        default:
            throw CodeConfigError(
                path: path,
                "\(location) (\(name)): give either \"run\" (a shell line) or \"argv\" (a non-empty list of strings)"
            )
        }
        var timeoutMs = defaultCheckTimeoutMs
        if let value = fields["timeoutMs"] {
            guard let number = value.intValue, checkTimeoutMsRange.contains(Int(number)) else {
                throw CodeConfigError(
                    path: path,
                    "\(location) (\(name)): timeoutMs must be an integer from \(checkTimeoutMsRange.lowerBound) to \(checkTimeoutMsRange.upperBound)"
                )
            }
            timeoutMs = Int(number)
        }
        var check = Check(name: name, argv: argv, timeoutMs: timeoutMs)
        if let value = fields["network"] {
            guard let network = value.boolValue else {
                throw CodeConfigError(path: path, "\(location) (\(name)): network must be true or false")
            }
            check.network = network
        }
        return check
    }
}

/// A `.loom/config` that cannot be used, with the file and what is wrong.
public struct CodeConfigError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let message: String

    init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}
