/// Splits a byte stream into lines as it arrives, with a hard limit on a line's length:
/// a server that never sends a newline cannot make us buffer without end.
///
/// Lines end at `\n`; a `\r` before it is dropped (SSE allows CRLF).
public struct LineBuffer: Sendable {
    public struct LineTooLong: Error, Sendable, Equatable {
        public let limitBytes: Int
    }

    public let lineMaxBytes: Int
    private var pending: [UInt8] = []

    public init(lineMaxBytes: Int) {
        self.lineMaxBytes = lineMaxBytes
    }

    /// Appends `bytes` and returns the lines they completed.
    public mutating func append(_ bytes: some Collection<UInt8>) throws(LineTooLong) -> [String] {
        var lines: [String] = []
        for byte in bytes {
            if byte == 10 {
                if pending.last == 13 { pending.removeLast() }
                lines.append(String(decoding: pending, as: UTF8.self))
                pending.removeAll(keepingCapacity: true)
            } else {
                guard pending.count < lineMaxBytes else { throw LineTooLong(limitBytes: lineMaxBytes) }
                pending.append(byte)
            }
        }
        return lines
    }

    /// What is left after the stream ended without a final newline.
    public var remainder: String? { pending.isEmpty ? nil : String(decoding: pending, as: UTF8.self) }
}
