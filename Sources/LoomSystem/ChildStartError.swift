#if canImport(Glibc)
import Glibc
#endif

/// Why a child could not be started: nothing ran. `ChildProcess.run` reports it as the
/// result's `spawnError` (its message), `BackgroundChild` throws it.
public struct ChildStartError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case emptyCommand, pipe, spawn, standardStreams
    }

    public let code: Code
    /// What was being done and what the system said (`cannot start git: No such file or directory`).
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// A failed system call, with `errno` as the system words it.
    static func system(_ code: Code, _ doing: String, errno number: Int32) -> ChildStartError {
        ChildStartError(code, "\(doing): \(Errno(number).description)")
    }

    public var description: String { message }
}
