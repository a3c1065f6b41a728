#if canImport(Glibc)
import Glibc
#endif

/// A system call's error number and its text, read once where the call failed.
public struct Errno: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: Int32

    public init(_ code: Int32) { self.code = code }

    /// The calling thread's `errno`, now: read it before anything else can overwrite it.
    public static var current: Errno { Errno(errno) }

    /// The C library's text for the code (thread-safe `strerror_r`, not `strerror`).
    public var description: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard strerror_r(code, &buffer, buffer.count) == 0 else { return "errno \(code)" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
