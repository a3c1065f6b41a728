import Foundation
import LoomConfiguration
import LoomEngine
import LoomProviders
import LoomSystem
import LoomTestKit
import LoomValues

/// `loom-bench providers`: what the HTTP provider path costs on top of the wire. A loopback
/// server streams the same chat-completions SSE answer (`events` chunks) to (a) the real
/// OpenAI-compatible backend (the loom-http helper, SSE parsing, JSON per event, accounting) and
/// (b) a baseline that reads the same bytes over a plain socket and does nothing with
/// them. Both measured in the same run; the ratio is the figure.
struct ProviderBench {
    let requests: Int
    let events: Int

    func run() throws {
        var body = ""
        for index in 0..<events {
            body +=
                "data: {\"id\":\"b\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"token\(index) \"}}]}\n\n"
        }
        body +=
            "data: {\"id\":\"b\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":\(events)}}\n\ndata: [DONE]\n\n"
        let response =
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
            + body
        let server = try BenchServer(response: Array(response.utf8), connections: requests * 2 + 2)
        defer { server.stop() }

        var settings = ProviderSettings(kind: .openai)
        settings.baseURL = "http://127.0.0.1:\(server.port)/v1"
        let backend = OpenAICompatibleBackend(providerName: "bench", settings: settings)
        let request = AgentRequest(
            taskID: "b",
            step: "s",
            role: "r",
            prompt: "hello",
            modelTier: nil,
            iteration: 0,
            attempt: 1
        )
        let context = SpawnContext(workingDirectory: "/tmp", confinement: .unconfined)
        _ = backend.spawn(request, model: "m", context: context)  // warm-up

        var started = MonotonicClock.milliseconds()
        for _ in 0..<requests {
            let result = backend.spawn(request, model: "m", context: context)
            guard result.errorClass == nil else { throw POSIXError(.EIO) }
        }
        let backendMs = Double(MonotonicClock.milliseconds() - started) / Double(requests)

        started = MonotonicClock.milliseconds()
        for _ in 0..<requests { _ = server.rawFetch() }
        let rawMs = Double(MonotonicClock.milliseconds() - started) / Double(requests)

        print(
            String(
                format:
                    "providers: %d requests of %d SSE events: backend %.2f ms/request, raw socket %.2f ms/request, ratio %.1f×",
                requests,
                events,
                backendMs,
                rawMs,
                backendMs / max(rawMs, 0.001)
            )
        )
        print(
            JSONValue.object([
                "bench": "providers", "requests": .int(Int64(requests)), "events": .int(Int64(events)),
                "backendMsPerRequest": .double(backendMs), "rawMsPerRequest": .double(rawMs),
                "ratio": .double(backendMs / max(rawMs, 0.001)),
            ]).canonicalText
        )
    }
}

/// Answers every connection with the same bytes, after reading the request.
private final class BenchServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let response: [UInt8]
    private let done = DispatchSemaphore(value: 0)

    init(response: [UInt8], connections: Int) throws {
        self.response = response
        let (fd, port) = try LoopbackListener.open(backlog: 64)
        self.port = port
        listener = fd
        Thread { [self] in
            defer { done.signal() }
            for _ in 0..<connections {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }
                readRequest(connection)
                response.withUnsafeBytes { _ = send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                close(connection)
            }
        }.start()
    }

    private func readRequest(_ connection: Int32) {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let text = String(decoding: data, as: UTF8.self)
            if let range = text.range(of: "\r\n\r\n") {
                let head = text[..<range.lowerBound].lowercased()
                let length =
                    head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text.utf8.distance(from: text.utf8.startIndex, to: range.upperBound) + length <= data.count {
                    return
                }
            }
            let count = read(connection, &buffer, buffer.count)
            if count <= 0 { return }
            data += buffer[0..<count]
        }
    }

    /// The baseline: a plain socket request that reads the whole response and parses nothing.
    func rawFetch() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        let request = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}"
        _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        var total = 0
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            total += count
        }
        return total
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        _ = done.wait(timeout: .now() + 5)
    }
}
