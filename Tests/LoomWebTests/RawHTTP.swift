import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A deliberately small HTTP/1.1 client over a TCP socket: one request per connection,
/// no redirects followed and no cookie jar, so the tests see exactly what the server sends.
struct RawHTTP {
    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: String
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let host: String
    let port: Int

    init(url: String) {
        let rest = url.replacingOccurrences(of: "http://", with: "")
        let hostPort = rest.split(separator: "/").first.map(String.init) ?? rest
        let parts = hostPort.split(separator: ":")
        host = String(parts[0])
        port = Int(parts[1].split(separator: "?").first ?? "0") ?? 0
    }

    /// Sends a request and reads the whole answer (bounded by `timeout` seconds and `maxBytes`).
    func send(
        _ method: String,
        _ path: String,
        headers: [String: String] = [:],
        body: String = "",
        timeout: Double = 30,
        maxBytes: Int = 8 << 20
    ) throws -> Response {
        let fd = try connect()
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" {
            if headers["Content-Length"] == nil { head += "Content-Length: \(body.utf8.count)\r\n" }
            if headers["Content-Type"] == nil { head += "Content-Type: application/x-www-form-urlencoded\r\n" }
        }
        let bytes = Array((head + "\r\n" + body).utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }  // the server may refuse early (413) and close
            sent += n
        }
        // Some servers (chromedriver) keep the connection open despite Connection: close;
        // a known Content-Length ends the read as soon as the body is in.
        let raw = read(fd, until: Self.complete, timeout: timeout, maxBytes: maxBytes)
        return try Self.parse(raw)
    }

    /// Opens a GET and reads until `until` says the text so far is enough (or the timeout).
    func stream(
        _ path: String,
        headers: [String: String] = [:],
        timeout: Double,
        until: (String) -> Bool
    ) throws -> String {
        let fd = try connect()
        defer { close(fd) }
        var head = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nAccept: text/event-stream\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let bytes = Array((head + "\r\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        return String(
            decoding: read(
                fd,
                until: { until(String(decoding: $0, as: UTF8.self)) },
                timeout: timeout,
                maxBytes: 1 << 20
            ),
            as: UTF8.self
        )
    }

    /// Holds a connection open with a GET sent; the caller closes the descriptor.
    func open(_ path: String, headers: [String: String]) throws -> Int32 {
        let fd = try connect()
        var head = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let bytes = Array((head + "\r\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        return fd
    }

    private func connect() throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr)
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw Failure(description: "cannot connect to \(host):\(port)")
        }
        return fd
    }

    private func read(_ fd: Int32, until: ([UInt8]) -> Bool, timeout: Double, maxBytes: Int) -> [UInt8] {
        var data: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while Date() < deadline && data.count < maxBytes {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, min(200, deadline.timeIntervalSinceNow * 1_000))))
            if ready <= 0 { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            data += buffer[0..<n]
            if until(data) { break }
        }
        return data
    }

    static func complete(_ raw: [UInt8]) -> Bool {
        guard let end = raw.firstRange(of: Array("\r\n\r\n".utf8)) else { return false }
        let head = String(decoding: raw[..<end.lowerBound], as: UTF8.self).lowercased()
        guard let line = head.components(separatedBy: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
            let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        else { return false }
        return raw.count - end.upperBound >= length
    }

    static func parse(_ raw: [UInt8]) throws -> Response {
        let text = String(decoding: raw, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else {
            throw Failure(description: "no HTTP answer: \(text.prefix(200))")
        }
        let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        let headers = lines.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var body = String(text[split.upperBound...])
        if headers.contains(where: { $0.0.lowercased() == "transfer-encoding" && $0.1.lowercased().contains("chunked") }
        ) {
            body = dechunk(body)
        }
        return Response(status: status, headers: headers, body: body)
    }

    static func dechunk(_ text: String) -> String {
        var bytes = Array(text.utf8)[...]
        var out: [UInt8] = []
        while let lineEnd = bytes.firstRange(of: Array("\r\n".utf8)) {
            let size =
                Int(
                    String(decoding: bytes[bytes.startIndex..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";")[
                        0
                    ],
                    radix: 16
                ) ?? 0
            if size == 0 { break }
            let start = lineEnd.upperBound
            let end = min(bytes.endIndex, start + size)
            out += bytes[start..<end]
            bytes = bytes[min(bytes.endIndex, end + 2)...]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
