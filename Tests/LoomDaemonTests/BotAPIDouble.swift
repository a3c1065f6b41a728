import Foundation
import LoomEngine
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// A Telegram Bot API double on 127.0.0.1 (an ephemeral port): it speaks the real wire
/// (POST /bot<token>/<method>, JSON in, `{"ok": …, "result": …}` out), records every call,
/// serves queued updates to `getUpdates` (long polling, bounded), and can fail on demand
/// with 500s and dropped connections. Everything it starts ends in `stop()`.
final class BotAPIDouble: @unchecked Sendable {
    struct Call: @unchecked Sendable {
        let method: String
        let path: String
        let contentType: String
        let body: JSONValue
        /// Whether the double answered it successfully (not a failure it was told to inject).
        let answered: Bool
    }

    let token: String
    private(set) var port: UInt16 = 0
    private let listener: Int32
    private let condition = NSCondition()
    private var recorded: [Call] = []
    private var updates: [JSONValue] = []
    private var nextUpdateID: Int64 = 1
    private var nextMessageID: Int64 = 1
    private var stopped = false
    /// Failures to inject, by method ("*": any); they alternate between a 500 and a dropped connection.
    private var failures: [String: Int] = [:]
    private var failureCount = 0
    /// Longest a getUpdates is held open, whatever timeout the bot asks for.
    static let longPollMaxSeconds = 2.0

    init(token: String) throws {
        self.token = token
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw LoomError(.io, "socket failed", context: "starting the Bot API double") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(listener, 64) == 0 else {
            throw LoomError(.io, "bind/listen failed", context: "starting the Bot API double")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    var base: String { "http://127.0.0.1:\(port)" }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    deinit { stop() }

    // MARK: What the test does

    func fail(_ method: String = "*", times: Int) {
        condition.lock()
        failures[method] = times
        condition.unlock()
    }

    func message(from user: Int64, chat: Int64? = nil, text: String, replyTo: Int64? = nil) {
        var message: [String: JSONValue] = [
            "message_id": .int(1_000 + nextUpdateID), "date": 0, "text": .string(text),
            "from": .object(["id": .int(user), "is_bot": false, "first_name": "U"]),
            "chat": .object(["id": .int(chat ?? user), "type": "private"]),
        ]
        if let replyTo {
            message["reply_to_message"] = .object([
                "message_id": .int(replyTo), "date": 0, "chat": .object(["id": .int(chat ?? user), "type": "private"]),
            ])
        }
        enqueue(["message": .object(message)])
    }

    func press(from user: Int64, chat: Int64? = nil, data: String) {
        enqueue([
            "callback_query": .object([
                "id": .string("cb\(nextUpdateID)"), "data": .string(data), "chat_instance": "i",
                "from": .object(["id": .int(user), "is_bot": false, "first_name": "U"]),
                "message": .object([
                    "message_id": 1, "date": 0, "chat": .object(["id": .int(chat ?? user), "type": "private"]),
                ]),
            ])
        ])
    }

    private func enqueue(_ update: [String: JSONValue]) {
        condition.lock()
        var update = update
        update["update_id"] = .int(nextUpdateID)
        nextUpdateID += 1
        updates.append(.object(update))
        condition.broadcast()
        condition.unlock()
    }

    var calls: [Call] {
        condition.lock()
        defer { condition.unlock() }
        return recorded
    }

    /// Waits (bounded) for an answered call that `matches`; returns it.
    func waitFor(seconds: Double = 20, _ matches: (Call) -> Bool) -> Call? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let found = calls.first(where: { $0.answered && matches($0) }) { return found }
            usleep(20_000)
        }
        return nil
    }

    func sent(_ containing: String) -> [Call] {
        calls.filter {
            $0.answered && $0.method == "sendMessage" && ($0.body["text"]?.stringValue ?? "").contains(containing)
        }
    }

    // MARK: Serving

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                condition.lock()
                let done = stopped
                condition.unlock()
                if done { return }
                continue
            }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let thread = Thread { [self] in
                serve(connection)
                close(connection)
            }
            thread.start()
        }
    }

    private func serve(_ connection: Int32) {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        var headerEnd: Int?
        var contentLength = 0
        while true {
            if headerEnd == nil, let range = findHeaderEnd(buffer) {
                headerEnd = range
                let head = String(decoding: buffer[..<range], as: UTF8.self)
                for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                    contentLength = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            if let headerEnd, buffer.count >= headerEnd + 4 + contentLength { break }
            guard buffer.count < 4 << 20 else { return }
            let count = recv(connection, &chunk, chunk.count, 0)
            guard count > 0 else { return }
            buffer.append(contentsOf: chunk[..<count])
        }
        let head = String(decoding: buffer[..<headerEnd!], as: UTF8.self)
        let lines = head.split(separator: "\r\n").map(String.init)
        let requestLine = lines.first?.split(separator: " ").map(String.init) ?? []
        let path = requestLine.count > 1 ? requestLine[1] : ""
        let contentType =
            lines.first { $0.lowercased().hasPrefix("content-type:") }.map {
                String($0.dropFirst("content-type:".count)).trimmingCharacters(in: .whitespaces)
            } ?? ""
        let body = (try? JSONValue.parse(bytes: Array(buffer[(headerEnd! + 4)...]))) ?? .null
        let method = path.split(separator: "/").last.map(String.init) ?? ""

        condition.lock()
        let key = failures[method, default: 0] > 0 ? method : (failures["*", default: 0] > 0 ? "*" : nil)
        if let key {
            failures[key]! -= 1
            failureCount += 1
            let drop = failureCount % 2 == 0
            recorded.append(Call(method: method, path: path, contentType: contentType, body: body, answered: false))
            condition.unlock()
            if !drop {
                respond(
                    connection,
                    status: 500,
                    #"{"ok":false,"error_code":500,"description":"Internal Server Error"}"#
                )
            }
            return
        }
        condition.unlock()

        guard requestLine.first == "POST", path == "/bot\(token)/\(method)" else {
            record(method, path, contentType, body)
            return respond(connection, status: 404, #"{"ok":false,"error_code":404,"description":"Not Found"}"#)
        }
        let result: JSONValue
        switch method {
        case "getUpdates":
            let offset = body["offset"]?.intValue ?? 0
            let wait = min(Double(body["timeout"]?.intValue ?? 0), Self.longPollMaxSeconds)
            let deadline = Date().addingTimeInterval(wait)
            condition.lock()
            updates.removeAll { ($0["update_id"]?.intValue ?? 0) < offset }
            while updates.isEmpty && !stopped && Date() < deadline {
                _ = condition.wait(until: deadline)
                updates.removeAll { ($0["update_id"]?.intValue ?? 0) < offset }
            }
            result = .array(updates)
            condition.unlock()
        case "sendMessage":
            condition.lock()
            result = .object([
                "message_id": .int(nextMessageID), "date": 0,
                "chat": .object(["id": body["chat_id"] ?? .null, "type": "private"]),
                "text": body["text"] ?? .null,
            ])
            nextMessageID += 1
            condition.unlock()
        case "answerCallbackQuery":
            result = true
        default:
            record(method, path, contentType, body)
            return respond(
                connection,
                status: 404,
                #"{"ok":false,"error_code":404,"description":"Not Found: method \#(method)"}"#
            )
        }
        record(method, path, contentType, body)
        respond(connection, status: 200, JSONValue.object(["ok": true, "result": result]).canonicalText)
    }

    private func record(_ method: String, _ path: String, _ contentType: String, _ body: JSONValue) {
        condition.lock()
        recorded.append(Call(method: method, path: path, contentType: contentType, body: body, answered: true))
        condition.unlock()
    }

    private func findHeaderEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }

    private func respond(_ connection: Int32, status: Int, _ body: String) {
        let reason = status == 200 ? "OK" : (status == 404 ? "Not Found" : "Internal Server Error")
        let bytes = Array(
            "HTTP/1.1 \(status) \(reason)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
                .utf8
        )
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes {
                send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard count > 0 else { return }
            sent += count
        }
    }
}
