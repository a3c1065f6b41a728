import Foundation
import LoomTestKit

#if canImport(Glibc)
import Glibc
#endif

/// An HTTP/1.1 server on 127.0.0.1 and an ephemeral port that speaks exactly the bytes a
/// test scripts: the double for an LLM vendor's API. It accepts at most `connectionsMax`
/// connections, records each request, and is stopped (socket closed, thread joined) by
/// `stop()` — which every test calls in a `defer`.
final class LoopbackHTTPServer: @unchecked Sendable {
    struct Request: Sendable {
        var method: String
        var path: String
        /// Names lowercased.
        var headers: [String: String]
        var body: String
    }

    /// What to send back: a status line and headers, then body pieces (each sent as one
    /// HTTP chunk, after `delayMs`), then the end of the body unless `cut` (the connection
    /// just closes, mid-stream).
    struct Response: Sendable {
        var status: Int
        var headers: [(String, String)] = []
        var pieces: [String] = []
        var delayMs = 0
        var cut = false

        static func json(_ status: Int, _ body: String, headers: [(String, String)] = []) -> Response {
            Response(status: status, headers: [("Content-Type", "application/json")] + headers, pieces: [body])
        }

        static func stream(
            _ pieces: [String],
            contentType: String = "text/event-stream",
            delayMs: Int = 0,
            cut: Bool = false
        ) -> Response {
            Response(
                status: 200,
                headers: [("Content-Type", contentType), ("Cache-Control", "no-cache")],
                pieces: pieces,
                delayMs: delayMs,
                cut: cut
            )
        }
    }

    let port: Int
    private let listener: Int32
    private let handler: @Sendable (Request) -> Response
    private let lock = NSLock()
    private var recorded: [Request] = []
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)
    let connectionsMax: Int

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var requests: [Request] { lock.withLock { recorded } }

    init(connectionsMax: Int = 8, handler: @escaping @Sendable (Request) -> Response) throws {
        self.handler = handler
        self.connectionsMax = connectionsMax
        let (fd, port) = try LoopbackListener.open(backlog: 16)
        self.port = port
        listener = fd
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    func stop() {
        lock.withLock { stopping = true }
        // The accept loop polls with a short timeout and sees the flag.
        _ = finished.wait(timeout: .now() + 10)
        close(listener)
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    private func acceptLoop() {
        defer { finished.signal() }
        var served = 0
        while served < connectionsMax && !isStopping {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 50) > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            served += 1
            serve(connection)
            close(connection)
        }
    }

    private func serve(_ connection: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var headerEnd: Int?
        var sentContinue = false
        while true {
            if headerEnd == nil, let range = find(data, Array("\r\n\r\n".utf8)) { headerEnd = range }
            if let end = headerEnd {
                let head = String(decoding: data[..<end], as: UTF8.self)
                let headers = parseHeaders(head)
                if headers["expect"]?.lowercased() == "100-continue" && !sentContinue {
                    sendAll(connection, "HTTP/1.1 100 Continue\r\n\r\n")
                    sentContinue = true
                }
                let length = Int(headers["content-length"] ?? "0") ?? 0
                if data.count - (end + 4) >= length {
                    let lines = head.split(separator: "\r\n")
                    let requestLine = lines.first?.split(separator: " ") ?? []
                    let body = String(decoding: data[(end + 4)..<(end + 4 + length)], as: UTF8.self)
                    let request = Request(
                        method: requestLine.count > 0 ? String(requestLine[0]) : "",
                        path: requestLine.count > 1 ? String(requestLine[1]) : "",
                        headers: headers,
                        body: body
                    )
                    lock.withLock { recorded.append(request) }
                    respond(connection, handler(request))
                    return
                }
            }
            let count = read(connection, &buffer, buffer.count)
            if count <= 0 { return }
            data += buffer[0..<count]
        }
    }

    private func respond(_ connection: Int32, _ response: Response) {
        var head = "HTTP/1.1 \(response.status) \(reasonPhrase(response.status))\r\n"
        for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
        head += "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        sendAll(connection, head)
        for piece in response.pieces {
            if response.delayMs > 0 { usleep(useconds_t(response.delayMs * 1_000)) }
            let bytes = Array(piece.utf8)
            guard !bytes.isEmpty else { continue }
            // A client that hung up ends the response.
            guard sendAll(connection, String(bytes.count, radix: 16) + "\r\n" + piece + "\r\n") else { return }
        }
        if !response.cut { sendAll(connection, "0\r\n\r\n") }
    }

    @discardableResult
    private func sendAll(_ connection: Int32, _ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes {
                send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }

    private func parseHeaders(_ head: String) -> [String: String] {
        var headers: [String: String] = [:]
        for line in head.split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces
            )
        }
        return headers
    }

    private func find(_ data: [UInt8], _ needle: [UInt8]) -> Int? {
        guard data.count >= needle.count else { return nil }
        for index in 0...(data.count - needle.count) where Array(data[index..<(index + needle.count)]) == needle {
            return index
        }
        return nil
    }

    private func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 404: "Not Found"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 529: "Overloaded"
        default: "Status"
        }
    }
}
