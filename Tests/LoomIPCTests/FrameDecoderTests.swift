import LoomIPC
import LoomValues
import Testing

/// The incremental decoder: arbitrary splits, many frames at once, the hard limit.
@Suite struct FrameDecoderTests {
    private func frame(_ body: [UInt8]) -> [UInt8] {
        let n = UInt32(body.count)
        return [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + body
    }

    @Test func encodeWritesBigEndianLengthAndCanonicalBody() {
        let value: JSONValue = ["b": 1, "a": "x"]
        let bytes = FrameCodec.encode(value)
        #expect(bytes == frame(value.canonicalBytes()))
        #expect(Array(bytes[4...]) == Array(#"{"a":"x","b":1}"#.utf8))
    }

    @Test func oneByteAtATime() throws {
        let bodies = [Array("{\"a\":1}".utf8), Array("[1,2,3]".utf8), Array("7".utf8)]
        let stream = bodies.flatMap(frame)
        var decoder = FrameDecoder()
        var got: [[UInt8]] = []
        for (index, byte) in stream.enumerated() {
            decoder.append([byte])
            while let body = try decoder.next() { got.append(body) }
            if index == 1 { #expect(decoder.state == .header(have: 2)) }
            if index == 5 { #expect(decoder.state == .body(expected: 7, have: 2)) }
        }
        #expect(got == bodies)
        #expect(decoder.state == .header(have: 0))
        #expect(decoder.bufferedBytes == 0)
    }

    @Test func manyFramesInOneAppend() throws {
        let bodies = (0..<1000).map { Array("{\"n\":\($0)}".utf8) }
        var decoder = FrameDecoder()
        decoder.append(bodies.flatMap(frame))
        var got: [[UInt8]] = []
        for _ in 0..<2000 {  // bounded: at most one body per iteration
            guard let body = try decoder.next() else { break }
            got.append(body)
        }
        #expect(got == bodies)
        #expect(decoder.bufferedBytes == 0)
    }

    @Test func rawBufferAppend() throws {
        var decoder = FrameDecoder()
        let bytes = frame(Array("true".utf8))
        bytes.withUnsafeBytes { decoder.append($0) }
        #expect(try decoder.next() == Array("true".utf8))
    }

    @Test func exactlyAtTheLimitIsAccepted() throws {
        var decoder = FrameDecoder(maxFrameBytes: 16)
        let body = [UInt8](repeating: UInt8(ascii: "1"), count: 16)
        decoder.append(frame(body))
        #expect(try decoder.next() == body)
    }

    @Test func oneOverTheLimitIsTooLargeAsSoonAsTheHeaderArrives() {
        var decoder = FrameDecoder(maxFrameBytes: 16)
        decoder.append(Array(frame([UInt8](repeating: 0x31, count: 17)).prefix(4)))
        #expect(decoder.state == .body(expected: 17, have: 0))
        #expect(throws: IPCError.self) { try decoder.next() }
        do {
            _ = try decoder.next()
            Issue.record("a failed decoder must keep failing")
        } catch {
            #expect(error.code == .tooLarge)
        }
    }

    @Test func defaultLimitIsOneMiB() throws {
        var decoder = FrameDecoder()
        decoder.append([0x00, 0x10, 0x00, 0x01])  // 1 MiB + 1
        do {
            _ = try decoder.next()
            Issue.record("expected too_large")
        } catch {
            #expect(error.code == .tooLarge)
        }
        var ok = FrameDecoder()
        ok.append([0x00, 0x10, 0x00, 0x00])
        #expect(try ok.next() == nil)
        #expect(ok.state == .body(expected: 1 << 20, have: 0))
    }

    @Test func zeroLengthIsBadFrame() {
        var decoder = FrameDecoder()
        decoder.append([0, 0, 0, 0])
        do {
            _ = try decoder.next()
            Issue.record("expected bad_frame")
        } catch {
            #expect(error.code == .badFrame)
        }
    }

    @Test func headerSplitAcrossAppends() throws {
        var decoder = FrameDecoder()
        let bytes = frame(Array("\"hello\"".utf8))
        decoder.append(Array(bytes[0..<1]))
        #expect(try decoder.next() == nil)
        decoder.append(Array(bytes[1..<3]))
        #expect(decoder.state == .header(have: 3))
        #expect(try decoder.next() == nil)
        decoder.append(Array(bytes[3..<6]))
        #expect(decoder.state == .body(expected: 7, have: 2))
        #expect(try decoder.next() == nil)
        decoder.append(Array(bytes[6...]) + Array(frame([0x31]).prefix(2)))
        #expect(try decoder.next() == Array("\"hello\"".utf8))
        #expect(try decoder.next() == nil)
        #expect(decoder.state == .header(have: 2))
        #expect(decoder.bufferedBytes == 2)
    }
}
