#if canImport(Glibc)
import Glibc
#endif

/// Writes to standard error with `write(2)`: no buffering to lose at exit, no Foundation, safe
/// from any thread, and whole lines stay whole up to `PIPE_BUF` bytes.
public enum StandardError {
    public static func write(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }

    /// `text` and a newline, prefixed by the program's name (`loom-web: …`).
    public static func line(_ program: String, _ text: String) {
        write("\(program): \(text)\n")
    }
}
