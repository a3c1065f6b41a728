import LoomEngine
import Testing

@testable import LoomProviders

/// The incremental decoders, fed one byte at a time and all at once.
struct StreamFramingTests {
    static let stream =
        ": comment\r\nevent: message_start\r\ndata: {\"a\":1}\r\n\r\ndata: line one\ndata: line two\n\nretry: 10\ndata: [DONE]\n\n"

    func decode(_ chunks: [[UInt8]]) throws -> [ServerSentEvents.Event] {
        var lines = LineBuffer(lineMaxBytes: 1_024)
        var events = ServerSentEvents(eventMaxBytes: 1_024)
        var result: [ServerSentEvents.Event] = []
        for chunk in chunks {
            for line in try lines.append(chunk) {
                if let event = try events.feed(line) { result.append(event) }
            }
        }
        return result
    }

    @Test func byteAtATimeEqualsAllAtOnce() throws {
        let bytes = Array(Self.stream.utf8)
        let whole = try decode([bytes])
        let single = try decode(bytes.map { [$0] })
        #expect(whole == single)
        #expect(
            whole == [
                .init(name: "message_start", data: "{\"a\":1}"), .init(name: "message", data: "line one\nline two"),
                .init(name: "message", data: "[DONE]"),
            ]
        )
    }

    @Test func aLineWithoutEndIsBounded() {
        var lines = LineBuffer(lineMaxBytes: 16)
        #expect(throws: LineBuffer.LineTooLong.self) { _ = try lines.append(Array(repeating: UInt8(65), count: 17)) }
        var fits = LineBuffer(lineMaxBytes: 16)
        #expect(
            (try? fits.append(Array(repeating: UInt8(65), count: 16) + [10])) == [String(repeating: "A", count: 16)]
        )
    }

    @Test func anEventIsBounded() {
        var events = ServerSentEvents(eventMaxBytes: 10)
        #expect(throws: ServerSentEvents.EventTooLarge.self) {
            _ = try events.feed("data: 12345")
            _ = try events.feed("data: 67890")
        }
    }
}
