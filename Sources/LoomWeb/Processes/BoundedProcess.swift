import Foundation
import LoomSystem

/// git and dot as children of the dashboard: a deadline, a cap on output, a fixed
/// environment, and never a shell. The dashboard's own pages wait for them off the event loop.
///
/// not-a-task-process: git and dot, started by the dashboard for the person looking at it,
/// on the dashboard's own arguments.
public enum BoundedProcess {
    public struct Output: Sendable {
        public var exitCode: Int32?
        public var text: String
        public var truncated: Bool
        public var failure: String?
        public var ok: Bool { failure == nil && exitCode == 0 }
    }

    public static func run(
        _ argv: [String],
        directory: String? = nil,
        input: String = "",
        timeoutMs: Int,
        outputBytesMax: Int
    ) async -> Output {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(
                    returning: runNow(
                        argv,
                        directory: directory,
                        input: input,
                        timeoutMs: timeoutMs,
                        outputBytesMax: outputBytesMax
                    )
                )
            }
        }
    }

    static func runNow(
        _ argv: [String],
        directory: String?,
        input: String,
        timeoutMs: Int,
        outputBytesMax: Int
    ) -> Output {
        var environment = [
            "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "GIT_TERMINAL_PROMPT": "0",
        ]
        if let home = ProcessInfo.processInfo.environment["HOME"] { environment["HOME"] = home }
        let result = ChildProcess.run(
            .init(
                argv: argv,
                directory: directory,
                environment: environment,
                input: Array(input.utf8),
                timeoutMs: timeoutMs,
                outputLimitBytes: outputBytesMax,
                separateStandardError: true
            )
        )
        var failure: String?
        if let spawnError = result.spawnError {
            failure = "\(argv.first ?? "") could not be started (\(spawnError))"
        } else if result.timedOut {
            failure = "\(argv.first ?? "") did not finish within \(timeoutMs) ms"
        } else if result.exitCode != 0 {
            failure =
                "\(argv.first ?? "") exited \(result.exitCode.map(String.init) ?? "on a signal"): \(String(decoding: result.standardError.prefix(500), as: UTF8.self))"
        }
        return Output(
            exitCode: result.exitCode,
            text: String(decoding: result.output, as: UTF8.self),
            truncated: result.truncated,
            failure: failure
        )
    }
}
