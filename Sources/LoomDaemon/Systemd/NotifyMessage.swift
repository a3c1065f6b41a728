import Glibc

/// The texts loomd sends over the notify socket, built apart from the sending so their exact
/// bytes can be checked without a socket.
///
/// sd_notify's message is newline-separated `KEY=value` assignments, so a value must never
/// contain a newline (it would start a new, unintended assignment) nor a NUL (the C string
/// would end there).
enum NotifyMessage {
    /// Longest STATUS= text sent, in UTF-8 bytes. `systemctl status` shows one line; a longer
    /// status is noise there and costs a bigger datagram on every update.
    static let statusByteLimit = 256

    static let ready = "READY=1"
    static let stopping = "STOPPING=1"
    static let watchdog = "WATCHDOG=1"

    static func ready(status: String?) -> String {
        guard let status else { return ready }
        return ready + "\n" + self.status(status)
    }

    static func status(_ line: String) -> String {
        "STATUS=" + oneLine(line)
    }

    /// Type=notify-reload requires MONOTONIC_USEC with RELOADING=1, so systemd can tell this
    /// reload's READY=1 from one sent before the reload began.
    static func reloading(monotonicUsec: UInt64) -> String {
        "RELOADING=1\nMONOTONIC_USEC=\(monotonicUsec)"
    }

    static func extendTimeout(usec: UInt64) -> String {
        "EXTEND_TIMEOUT_USEC=\(usec)"
    }

    /// `text` as one line of at most `statusByteLimit` UTF-8 bytes: every newline (including
    /// CR, CRLF and the Unicode line separators) and NUL becomes a space, and the text is cut
    /// at a scalar boundary so it stays valid UTF-8.
    static func oneLine(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        var bytes = 0
        for character in text {
            let replaced: Character = (character.isNewline || character == "\0") ? " " : character
            for scalar in replaced.unicodeScalars {
                let width = UTF8.width(scalar)
                if bytes + width > statusByteLimit { return String(result) }
                result.append(scalar)
                bytes += width
            }
        }
        return String(result)
    }

    /// CLOCK_MONOTONIC in microseconds: the clock systemd compares MONOTONIC_USEC against.
    static func monotonicUsec() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }
}
