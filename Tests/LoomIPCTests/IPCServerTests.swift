import Dispatch
import LoomIPC
import LoomIPCServer
import LoomValues
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The server and the client together over a real socket, including clients that
/// misbehave. Serialized: several cases measure time and would be skewed by
/// 256-thread neighbours.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct IPCServerTests {
    private func expectError(_ code: IPCErrorCode, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected \(code.rawValue)")
        } catch {
            #expect((error as? IPCError)?.code == code, "\(error)")
        }
    }

    @Test func roundTrip() throws {
        let fixture = try TestServer()
        let client = try fixture.client()
        #expect(client.serverVersion == "loomd-test 9.9")
        let params: JSONValue = ["a": [1, 2, ["b": nil]], "s": "é\u{0}", "d": 1.5]
        #expect(try client.call("echo", params) == params)
        #expect(try client.call("echo") == .object([:]))
        expectError(.conflict) { _ = try client.call("boom") }
        // An error answer leaves the connection usable.
        #expect(try client.call("echo", ["again": true]) == ["again": true])
    }

    @Test func streamDeliversEventsThenResult() throws {
        let fixture = try TestServer()
        let client = try fixture.client()
        var events: [JSONValue] = []
        let result = try client.stream("count", ["n": 5]) {
            events.append($0)
            return true
        }
        #expect(result == ["count": 5])
        #expect(events == (0..<5).map { ["i": .int(Int64($0))] })
        // A plain call to a streaming method just gets the result.
        #expect(try client.call("count", ["n": 2]) == ["count": 2])
    }

    @Test func aStreamLargerThanTheSocketBufferReachesASlowReader() throws {
        let fixture = try TestServer()
        let client = try fixture.client()
        // Twice: the second stream needs the write source resumed after the first drained it.
        for round in 0..<2 {
            var next: Int64 = 0
            var inOrder = true
            // ~2 MB: far more than the socket buffer, so the server must queue and flush.
            let result = try client.stream("count", ["n": 2_000, "pad": 1_000]) { event in
                inOrder = inOrder && event["i"]?.intValue == next
                next += 1
                if next % 100 == 0 { usleep(2_000) }
                return true
            }
            #expect(result == ["count": 2_000], "round \(round)")
            #expect(next == 2_000)
            #expect(inOrder)
            #expect(try client.call("echo", ["after": .int(Int64(round))]) == ["after": .int(Int64(round))])
        }
    }

    @Test func unknownMethodComesFromTheHandler() throws {
        let fixture = try TestServer()
        let client = try fixture.client()
        expectError(.unknownMethod) { _ = try client.call("no.such.method") }
    }

    @Test func pipelinedRequestsAreAnsweredByID() throws {
        let fixture = try TestServer()
        let raw = try RawConnection(path: fixture.path)
        try raw.hello()
        let frames = [
            IPCRequest(id: 2, method: "slow", params: ["ms": 100]),
            IPCRequest(id: 3, method: "echo", params: ["n": 3]),
            IPCRequest(id: 4, method: "echo", params: ["n": 4]),
            IPCRequest(id: 5, method: "boom", params: [:]),
        ].flatMap { FrameCodec.encode($0.json) }
        #expect(raw.send(frames))  // one write: all four in flight at once
        var answers: [Int64: JSONValue] = [:]
        var order: [Int64] = []
        for _ in 0..<4 {
            let answer = try #require(try raw.readFrame())
            let id = try #require(answer["id"]?.intValue)
            answers[id] = answer
            order.append(id)
        }
        #expect(answers[2]?["result"] == ["slow": true])
        #expect(answers[3]?["result"] == ["n": 3])
        #expect(answers[4]?["result"] == ["n": 4])
        #expect(answers[5]?["error"]?["code"] == "conflict")
        #expect(order.last == 2, "the slow answer should come last: \(order)")
    }

    @Test func tooManyInFlightIsBusy() throws {
        var limits = IPCServer.Limits()
        limits.maxInFlightPerConnection = 2
        let fixture = try TestServer(limits: limits)
        let raw = try RawConnection(path: fixture.path)
        try raw.hello()
        #expect(
            raw.send(
                (2...4).flatMap { FrameCodec.encode(IPCRequest(id: $0, method: "slow", params: ["ms": 200]).json) }
            )
        )
        let first = try #require(try raw.readFrame())
        #expect(first["id"] == 4)
        #expect(first["error"]?["code"] == "busy")
        let later = try [raw.readFrame(), raw.readFrame()].compactMap { $0?["id"]?.intValue }
        #expect(Set(later) == [2, 3])
    }

    @Test func helloProtocolMismatchIsRefusedAndClosed() throws {
        let fixture = try TestServer()
        let raw = try RawConnection(path: fixture.path)
        raw.request(1, "hello", ["protocol": 2, "client": "future"])
        let answer = try #require(try raw.readFrame())
        #expect(answer["id"] == 1)
        #expect(answer["error"]?["code"] == "invalid_params")
        let message = answer["error"]?["message"]?.stringValue ?? ""
        #expect(message.contains("2") && message.contains("1"), "\(message)")
        #expect(raw.waitForEOF())
    }

    @Test func requestBeforeHelloIsRefusedButTheConnectionStays() throws {
        let fixture = try TestServer()
        let raw = try RawConnection(path: fixture.path)
        raw.request(9, "echo", ["x": 1])
        let answer = try #require(try raw.readFrame())
        #expect(answer["id"] == 9)
        #expect(answer["error"]?["code"] == "invalid_params")
        #expect(answer["error"]?["message"]?.stringValue?.contains("send hello first") == true)
        try raw.hello()
        raw.request(10, "echo", ["x": 2])
        #expect(try raw.readFrame()?["result"] == ["x": 2])
        raw.request(11, "hello", ["protocol": 1])
        #expect(try raw.readFrame()?["error"]?["code"] == "invalid_params")
    }

    @Test func malformedJSONIsBadJSONThenClose() throws {
        let fixture = try TestServer()
        let raw = try RawConnection(path: fixture.path)
        try raw.hello()
        let body = Array("{\"v\":1,".utf8)
        raw.send([0, 0, 0, UInt8(body.count)] + body)
        let answer = try #require(try raw.readFrame())
        #expect(answer["id"] == 0)
        #expect(answer["error"]?["code"] == "bad_json")
        #expect(raw.waitForEOF())
        #expect(try fixture.client().call("echo", ["still": "serving"]) == ["still": "serving"])
    }

    @Test func invalidEnvelopeKeepsTheConnection() throws {
        let fixture = try TestServer()
        let raw = try RawConnection(path: fixture.path)
        try raw.hello()
        raw.send(["v": 1, "id": 5, "method": 3])
        let answer = try #require(try raw.readFrame())
        #expect(answer["id"] == 5)
        #expect(answer["error"]?["code"] == "invalid_params")
        raw.send(["not": "a request"])
        #expect(try raw.readFrame()?["id"] == 0)
        raw.request(6, "echo", ["ok": true])
        #expect(try raw.readFrame()?["result"] == ["ok": true])
    }

    @Test func oversizedFrameIsTooLargeThenClose() throws {
        let fixture = try TestServer()
        let raw = try RawConnection(path: fixture.path)
        try raw.hello()
        raw.send([0x00, 0x10, 0x00, 0x01])  // announces 1 MiB + 1; no body needed
        let answer = try #require(try raw.readFrame())
        #expect(answer["error"]?["code"] == "too_large")
        #expect(raw.waitForEOF())
    }

    @Test func zeroLengthFrameIsBadFrameThenClose() throws {
        let fixture = try TestServer()
        let raw = try RawConnection(path: fixture.path)
        try raw.hello()
        raw.send([0, 0, 0, 0])
        #expect(try raw.readFrame()?["error"]?["code"] == "bad_frame")
        #expect(raw.waitForEOF())
    }

    @Test func resultOverTheFrameLimitBecomesTooLarge() throws {
        var limits = IPCServer.Limits()
        limits.maxFrameBytes = 4096
        let fixture = try TestServer(limits: limits)
        let client = try fixture.client()
        expectError(.tooLarge) { _ = try client.call("big", ["bytes": 5000]) }
        #expect(try client.call("big", ["bytes": 10]) == "xxxxxxxxxx")
    }

    @Test func truncatedFrameThenEOFJustCloses() throws {
        // A long frame deadline, so only EOF handling can explain a prompt close.
        var limits = IPCServer.Limits()
        limits.frameDeadlineMs = 60_000
        let fixture = try TestServer(limits: limits)
        let raw = try RawConnection(path: fixture.path)
        try raw.hello()
        raw.send([0, 0, 0, 100] + Array("{\"v\":1".utf8))
        raw.shutdownWrite()
        // No answer: the server just closes.
        #expect(try raw.readFrame() == nil)
        #expect(eventually { fixture.server.connectionCount == 0 })
        // Bytes and EOF arriving together (send then close at once) must close too.
        for _ in 0..<20 {
            let quick = try RawConnection(path: fixture.path)
            try quick.hello()
            quick.send([0, 0, 0, 50, 1, 2])
        }
        #expect(eventually(timeoutMs: 3_000) { fixture.server.connectionCount == 0 })
    }

    @Test func halfCloseStillGetsTheAnswers() throws {
        let fixture = try TestServer()
        let raw = try RawConnection(path: fixture.path)
        try raw.hello()
        raw.request(2, "slow", ["ms": 100])
        raw.shutdownWrite()
        #expect(try raw.readFrame()?["result"] == ["slow": true])
        #expect(raw.waitForEOF())
    }

    @Test func slowClientIsClosedAfterTheFrameDeadline() throws {
        var limits = IPCServer.Limits()
        limits.frameDeadlineMs = 300
        let fixture = try TestServer(limits: limits)
        let raw = try RawConnection(path: fixture.path)
        try raw.hello()
        let bytes = FrameCodec.encode(IPCRequest(id: 2, method: "echo", params: ["pad": "0123456789"]).json)
        let start = DispatchTime.now().uptimeNanoseconds
        var closedAfterMs: Int?
        for byte in bytes {
            if !raw.send([byte]) || raw.peerClosed() {
                closedAfterMs = milliseconds(since: start)
                break
            }
            usleep(100_000)
        }
        let ms = try #require(closedAfterMs, "the trickling client was never dropped")
        #expect(ms < 1_000, "closed after \(ms) ms")
        #expect(eventually { fixture.server.connectionCount == 0 })
        #expect(try fixture.client().call("echo", ["fine": true]) == ["fine": true])
    }

    /// A connection that never says hello is closed after the hello deadline: a thousand
    /// silent connections would otherwise hold every slot for ever. A greeted connection
    /// may stay quiet (a watch does).
    @Test func aConnectionThatNeverSaysHelloIsClosed() throws {
        var limits = IPCServer.Limits()
        limits.helloDeadlineMs = 300
        let fixture = try TestServer(limits: limits)
        let silent = try RawConnection(path: fixture.path)
        let greeted = try RawConnection(path: fixture.path)
        try greeted.hello()
        #expect(silent.waitForEOF(timeoutMs: 3_000), "the silent connection was never closed")
        usleep(500_000)
        #expect(greeted.request(2, "echo", ["still": true]))
        #expect(try greeted.readFrame()?["result"] == ["still": true])
    }

    @Test func twoHundredFiftySixConcurrentClients() throws {
        let fixture = try TestServer()
        let clients = 256, calls = 10
        let answered = Tally(), connected = Tally(), failures = Tally()
        let path = fixture.path
        onThreads(clients) { index in
            do {
                let client = try IPCClient(socketPath: path, clientName: "t\(index)", timeoutMs: 30_000)
                connected.add()
                // Hold until everyone is connected (bounded), so the calls really overlap.
                _ = eventually(timeoutMs: 10_000) { connected.value == clients }
                for call in 0..<calls {
                    let params: JSONValue = ["client": .int(Int64(index)), "call": .int(Int64(call))]
                    if try client.call("echo", params) == params { answered.add() }
                }
            } catch {
                failures.add()
            }
        }
        #expect(failures.value == 0)
        #expect(answered.value == clients * calls)
        #expect(eventually { fixture.server.connectionCount == 0 })
    }

    @Test func connectionsOverTheLimitAreClosedAtOnce() throws {
        var limits = IPCServer.Limits()
        limits.maxConnections = 2
        let fixture = try TestServer(limits: limits)
        let a = try fixture.client(), b = try fixture.client()
        expectError(.unavailable) { _ = try IPCClient(socketPath: fixture.path, timeoutMs: 5_000) }
        #expect(try a.call("echo", [:]) == [:])
        b.close()
        #expect(eventually { fixture.server.connectionCount == 1 })
        #expect(try fixture.client().call("echo", ["third": true]) == ["third": true])
    }

    @Test func clientDisconnectingMidStreamRunsOnClose() throws {
        let fixture = try TestServer()
        let client = try fixture.client()
        var seen = 0
        let result = try client.stream("forever") { _ in
            seen += 1
            return seen < 3
        }
        #expect(result == nil)
        #expect(seen == 3)
        #expect(eventually { fixture.streamsClosed.value == 1 })
        #expect(eventually { fixture.streamsStopped.value == 1 })
        expectError(.unavailable) { _ = try client.call("echo") }
        #expect(try fixture.client().call("echo", ["next": 1]) == ["next": 1])
        #expect(fixture.streamsClosed.value == 1)
    }

    @Test func readerThatFallsBehindIsDropped() throws {
        var limits = IPCServer.Limits()
        limits.maxBufferedWriteBytes = 1 << 20
        let fixture = try TestServer(limits: limits)
        let raw = try RawConnection(path: fixture.path)
        try raw.hello()
        raw.request(2, "flood", ["bytes": 65536])  // and never read
        #expect(eventually { fixture.streamsStopped.value == 1 })
        #expect(eventually { fixture.streamsClosed.value == 1 })
        #expect(eventually { fixture.server.connectionCount == 0 })
        #expect(try fixture.client().call("echo", ["after": true]) == ["after": true])
    }

    @Test func aReplyDroppedUnansweredIsAnsweredInternal() throws {
        let fixture = try TestServer()
        let client = try fixture.client(timeoutMs: 5_000)
        expectError(.internal) { _ = try client.call("drop") }
        #expect(try client.call("echo", [:]) == [:])
    }

    @Test func streamIdleTimeoutBoundsASilentStream() throws {
        let fixture = try TestServer()
        let client = try fixture.client()
        client.streamIdleTimeoutMs = 100
        let start = DispatchTime.now().uptimeNanoseconds
        expectError(.unavailable) { _ = try client.stream("slow", ["ms": 2_000]) { _ in true } }
        #expect(milliseconds(since: start) < 1_500)
    }

    @Test func stopClosesEverythingAndRunsOnClose() throws {
        let fixture = try TestServer()
        let raw = try RawConnection(path: fixture.path)
        try raw.hello()
        raw.request(2, "forever")
        #expect(try raw.readFrame()?["event"]?["tick"] == 0)
        fixture.server.stop()
        fixture.server.stop()
        #expect(raw.waitForEOF())
        #expect(eventually { fixture.streamsClosed.value == 1 })
        #expect(fixture.server.connectionCount == 0)
        expectError(.unavailable) { _ = try IPCClient(socketPath: fixture.path, timeoutMs: 2_000) }
    }

    @Test func peerCredentialsAreOurs() throws {
        let fixture = try TestServer()
        let answer = try fixture.client().call("whoami")
        #expect(answer["pid"] == .int(Int64(getpid())))
        #expect(answer["uid"] == .int(Int64(getuid())))
        #expect(answer["gid"] == .int(Int64(getgid())))
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count)
        let exe = String(decoding: buffer[0..<max(0, n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #expect(answer["exe"] == .string(exe))
    }

    @Test func peerCredentialsOfASocketPair() throws {
        var fds: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        let peer = try #require(PeerCredentials.of(socket: fds[0]))
        #expect(peer.pid == getpid())
        #expect(peer.uid == getuid())
        #expect(peer.executable != nil)
        #expect(PeerCredentials.of(socket: -1) == nil)
    }

    /// A listener that takes the connection and hangs up: a daemon is there, so the error is
    /// marked as failing at hello, and loomctl does not suggest starting one.
    @Test func aConnectionDroppedBeforeHelloIsMarkedSo() throws {
        let dir = IPCTempDir()
        let path = dir.file("rude.sock")
        let listener = try UnixSocket.makeSocket()
        defer { close(listener) }
        let bound = UnixSocket.withAddress(path) { address, length in bind(listener, address, length) }
        try #require(bound == 0 && listen(listener, 4) == 0)
        DispatchQueue.global().async {
            let accepted = accept(listener, nil, nil)
            if accepted >= 0 { close(accepted) }
        }
        do {
            _ = try IPCClient(socketPath: path, timeoutMs: 2_000)
            Issue.record("a client said hello to a listener that never answers")
        } catch {
            #expect(error.code == .unavailable && error.stage == .hello, "\(error)")
        }
    }

    @Test func noDaemonIsUnavailable() {
        let dir = IPCTempDir()
        do {
            _ = try IPCClient(socketPath: dir.file("nobody.sock"), timeoutMs: 1_000)
            Issue.record("connected to nothing")
        } catch {
            #expect(error == IPCError(.unavailable, "no daemon is listening on \(dir.file("nobody.sock"))"))
            #expect(error.stage == .connect, "loomctl's start-loomd hint is for this stage only")
        }
    }
}
