import Foundation
import LoomEngine
import LoomSystem
import Testing

@testable import LoomProviders

/// The pipe to the `loom-http` helper, and a request made through it.
struct HTTPHelperTests {
    @Test func framesReadTheSameByteAtATimeAndAllAtOnce() throws {
        let frames: [HTTPHelperWire.Frame] = [
            .head(status: 200, headers: ["content-type": "text/event-stream"]),
            .body(Array("data: {\"a\":1}\n\n".utf8)), .body([]), .body([0, 255, 10, 13]),
            .end(nil), .end(.network("connection reset")), .end(.idleTimeout), .end(.responseTooLarge),
        ]
        let bytes = frames.flatMap(HTTPHelperWire.encode)
        var whole = HTTPHelperWire.FrameReader()
        #expect(try whole.append(bytes[...]) == frames)
        var single = HTTPHelperWire.FrameReader()
        var read: [HTTPHelperWire.Frame] = []
        for byte in bytes { read += try single.append([byte][...]) }
        #expect(read == frames)
    }

    @Test func anOversizedOrUnknownFrameIsRefused() {
        var reader = HTTPHelperWire.FrameReader()
        #expect(throws: HTTPHelperWire.FrameReader.Problem.self) {
            _ = try reader.append([0x42, 0x7F, 0xFF, 0xFF, 0xFF][...])
        }
        var unknown = HTTPHelperWire.FrameReader()
        #expect(throws: HTTPHelperWire.FrameReader.Problem.self) { _ = try unknown.append([0x5A, 0, 0, 0, 0][...]) }
    }

    @Test func aRequestCrossesThePipeIntact() throws {
        let request = StreamingHTTPClient.Request(
            url: "https://api.example/v1/messages",
            method: "POST",
            headers: [("x-api-key", "sk-secret"), ("content-type", "application/json")],
            body: Array("{\"prompt\":\"line one\\nline two\"}\n".utf8) + [0, 1, 2]
        )
        let limits = StreamingHTTPClient.Limits(timeoutMs: 1_000, idleTimeoutMs: 500, responseMaxBytes: 4_096)
        let (decoded, decodedLimits) = try #require(
            HTTPHelperWire.decodeRequest(HTTPHelperWire.encodeRequest(request, limits: limits))
        )
        #expect(decoded.url == request.url && decoded.method == request.method && decoded.body == request.body)
        #expect(decoded.headers.map { "\($0.0)=\($0.1)" } == request.headers.map { "\($0.0)=\($0.1)" })
        #expect(
            decodedLimits.timeoutMs == 1_000 && decodedLimits.idleTimeoutMs == 500
                && decodedLimits.responseMaxBytes == 4_096
        )
        // A body shorter than announced is not a request.
        #expect(
            HTTPHelperWire.decodeRequest(Array(HTTPHelperWire.encodeRequest(request, limits: limits).dropLast())) == nil
        )
    }

    @Test func theHelperStreamsTheBodyAndStopsWhenTheConsumerDoes() throws {
        let server = try LoopbackHTTPServer { _ in
            .stream(["data: one\n\n", "data: two\n\n", "data: three\n\n"], delayMs: 300)
        }
        defer { server.stop() }
        let limits = StreamingHTTPClient.Limits(timeoutMs: 10_000, idleTimeoutMs: 5_000, responseMaxBytes: 1 << 20)
        let received = Locked<[String]>([])
        let whole = StreamingHTTPClient.send(
            .init(url: server.baseURL + "/stream", body: Array("{}".utf8)),
            limits: limits
        ) { chunk in
            received.mutate { $0.append(String(decoding: chunk, as: UTF8.self)) }
            return true
        }
        #expect(whole.failure == nil)
        #expect(whole.status == 200)
        #expect(whole.headers["content-type"] == "text/event-stream")
        #expect(received.value.joined() == "data: one\n\ndata: two\n\ndata: three\n\n")

        let started = MonotonicClock.milliseconds()
        let stopped = StreamingHTTPClient.send(
            .init(url: server.baseURL + "/stream", body: Array("{}".utf8)),
            limits: limits
        ) { _ in false }
        #expect(stopped.failure == .stopped)
        // Stopped at the first piece, not after the server's last one.
        #expect(MonotonicClock.milliseconds() - started < 800)
    }

    @Test func theHelperEnforcesTheIdleTimeout() throws {
        let server = try LoopbackHTTPServer { _ in .stream(["data: one\n\n", "data: two\n\n"], delayMs: 1_500) }
        defer { server.stop() }
        let outcome = StreamingHTTPClient.send(
            .init(url: server.baseURL + "/slow", body: []),
            limits: .init(timeoutMs: 10_000, idleTimeoutMs: 400, responseMaxBytes: 1 << 20)
        ) { _ in true }
        #expect(outcome.failure == .idleTimeout)
    }
}

/// A value shared with a @Sendable closure.
private final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func mutate(_ change: (inout Value) -> Void) { lock.withLock { change(&stored) } }
}
