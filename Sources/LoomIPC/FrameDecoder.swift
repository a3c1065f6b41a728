import LoomSystem

/// Splits a byte stream into frame bodies, incrementally and with a hard size limit.
///
/// Bytes arrive in arbitrary pieces (one byte, half a header, ten frames at once),
/// so the decoder buffers and reports progress as an explicit `State`. The length
/// is checked as soon as the 4-byte header is complete, before any of the body is
/// buffered, so an oversized frame costs the reader 4 bytes, not N.
///
/// After `next()` throws, the stream is unusable (frame boundaries are lost) and
/// every later `next()` throws the same error.
public struct FrameDecoder: Sendable {
    /// Progress within the current (not yet complete) frame.
    public enum State: Sendable, Equatable {
        /// Waiting for the 4-byte length; `have` of them are buffered.
        case header(have: Int)
        /// The length is known; `have` of the `expected` body bytes are buffered.
        case body(expected: Int, have: Int)
    }

    /// The largest accepted body; a longer announced length is `too_large`.
    public let maxFrameBytes: Int
    public private(set) var state: State = .header(have: 0)

    private var buffer: [UInt8] = []
    /// Start of the unconsumed bytes in `buffer`; compacted lazily so that taking many
    /// small frames out of one large append stays linear.
    private var readIndex = 0
    private var failure: IPCError?

    public init(maxFrameBytes: Int = IPCProtocol.maxFrameBytesDefault) {
        precondition(maxFrameBytes > 0, "maxFrameBytes must be positive")
        self.maxFrameBytes = maxFrameBytes
    }

    /// Unconsumed bytes held (the partial frame plus any whole frames not yet taken).
    public var bufferedBytes: Int { buffer.count - readIndex }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        buffer.append(contentsOf: bytes)
        refreshState()
    }

    public mutating func append(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        buffer.append(contentsOf: bytes)
        refreshState()
    }

    /// The next complete frame body, or nil when more bytes are needed.
    /// Throws `too_large` for a length over `maxFrameBytes` and `bad_frame` for a zero length.
    public mutating func next() throws(IPCError) -> [UInt8]? {
        if let failure { throw failure }
        let available = bufferedBytes
        guard available >= IPCProtocol.headerBytes else { return nil }
        let length = headerLength()
        if let error = Self.check(length: length, limit: maxFrameBytes) {
            failure = error
            throw error
        }
        guard available - IPCProtocol.headerBytes >= length else { return nil }
        let start = readIndex + IPCProtocol.headerBytes
        let body = Array(buffer[start..<(start + length)])
        readIndex = start + length
        compactIfWorthIt()
        refreshState()
        return body
    }

    // MARK: - Internals

    private static func check(length: Int, limit: Int) -> IPCError? {
        if length == 0 { return IPCError(.badFrame, "a frame of length 0 is not allowed") }
        if length > limit {
            return IPCError(.tooLarge, "a frame of \(length) bytes is over the limit of \(limit) bytes")
        }
        return nil
    }

    private func headerLength() -> Int { LengthPrefix.read(buffer, at: readIndex) }

    private mutating func compactIfWorthIt() {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 64 << 10)
            readIndex = 0
        } else if readIndex * 2 >= buffer.count {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
    }

    private mutating func refreshState() {
        let available = bufferedBytes
        if available < IPCProtocol.headerBytes {
            state = .header(have: available)
        } else {
            let length = headerLength()
            state = .body(expected: length, have: min(available - IPCProtocol.headerBytes, length))
        }
    }
}
