import LoomEngine
import LoomSystem
import LoomValues

/// The pipe between `StreamingHTTPClient` (in loomd, loomctl and the tools) and the
/// `loom-http` helper that makes the request.
///
/// Why a helper process: URLSession on Linux is FoundationNetworking, which loads libcurl
/// and its TLS, Kerberos and compression libraries into every process that links it. Only
/// an HTTP backend's spawn needs them; in a helper they cost loomd nothing while it waits
/// (about 5 MB resident) and `loomctl` nothing at start-up.
///
/// stdin: one line of JSON (url, method, headers, body length, limits), then the body.
/// stdout: frames of one type byte, a 4-byte big-endian length, and the payload:
/// `H` the response head (JSON: status, lowercased headers), `B` a piece of the body,
/// `E` the end (JSON: the failure, if any). The API key travels on stdin, never in argv
/// or the environment.
public enum HTTPHelperWire {
    public static let executableName = "loom-http"
    /// The request line and the head frame are small; anything larger is a broken pipe.
    public static let headerMaxBytes = 1 << 20
    /// A body frame carries at most this much.
    public static let chunkMaxBytes = 1 << 20

    public enum Frame: Equatable, Sendable {
        case head(status: Int, headers: [String: String])
        case body([UInt8])
        case end(StreamingHTTPClient.Failure?)
    }

    // MARK: The request

    public static func encodeRequest(
        _ request: StreamingHTTPClient.Request,
        limits: StreamingHTTPClient.Limits
    ) -> [UInt8] {
        let line: JSONValue = .object([
            "url": .string(request.url), "method": .string(request.method),
            "headers": .array(request.headers.map { .array([.string($0.0), .string($0.1)]) }),
            "bodyBytes": .int(Int64(request.body.count)),
            "timeoutMs": .int(Int64(limits.timeoutMs)), "idleTimeoutMs": .int(Int64(limits.idleTimeoutMs)),
            "responseMaxBytes": .int(Int64(limits.responseMaxBytes)),
        ])
        return line.canonicalBytes() + [0x0A] + request.body
    }

    /// The request and its limits from everything the helper read on stdin; nil if malformed.
    public static func decodeRequest(_ input: [UInt8]) -> (StreamingHTTPClient.Request, StreamingHTTPClient.Limits)? {
        guard let newline = input.prefix(headerMaxBytes).firstIndex(of: 0x0A),
            let line = try? JSONValue.parse(String(decoding: input[..<newline], as: UTF8.self)),
            let url = line["url"]?.stringValue, let method = line["method"]?.stringValue,
            let bodyBytes = line["bodyBytes"]?.intValue, bodyBytes >= 0, input.count - newline - 1 == Int(bodyBytes),
            let timeoutMs = line["timeoutMs"]?.intValue, let idleTimeoutMs = line["idleTimeoutMs"]?.intValue,
            let responseMaxBytes = line["responseMaxBytes"]?.intValue
        else { return nil }
        let headers = (line["headers"]?.arrayValue ?? []).compactMap { pair -> (String, String)? in
            guard let name = pair[0]?.stringValue, let value = pair[1]?.stringValue else { return nil }
            return (name, value)
        }
        let request = StreamingHTTPClient.Request(
            url: url,
            method: method,
            headers: headers,
            body: Array(input[(newline + 1)...])
        )
        return (
            request,
            StreamingHTTPClient.Limits(
                timeoutMs: Int(timeoutMs),
                idleTimeoutMs: Int(idleTimeoutMs),
                responseMaxBytes: Int(responseMaxBytes)
            )
        )
    }

    // MARK: Frames

    public static func encode(_ frame: Frame) -> [UInt8] {
        let type: UInt8
        let payload: [UInt8]
        switch frame {
        case .head(let status, let headers):
            type = 0x48  // H
            payload = JSONValue.object([
                "status": .int(Int64(status)), "headers": .object(headers.mapValues { .string($0) }),
            ]).canonicalBytes()
        case .body(let bytes):
            type = 0x42  // B
            payload = bytes
        case .end(let failure):
            type = 0x45  // E
            payload = JSONValue.object(["failure": failure.map(json) ?? .null]).canonicalBytes()
        }
        var out: [UInt8] = [type]
        LengthPrefix.append(payload.count, to: &out)
        return out + payload
    }

    private static func json(_ failure: StreamingHTTPClient.Failure) -> JSONValue {
        switch failure {
        case .invalidURL: return .object(["kind": "invalidURL"])
        case .network(let message): return .object(["kind": "network", "message": .string(message)])
        case .timeout: return .object(["kind": "timeout"])
        case .idleTimeout: return .object(["kind": "idleTimeout"])
        case .responseTooLarge: return .object(["kind": "responseTooLarge"])
        case .stopped: return .object(["kind": "stopped"])
        }
    }

    private static func failure(_ json: JSONValue) -> StreamingHTTPClient.Failure? {
        switch json["kind"]?.stringValue {
        case "invalidURL": return .invalidURL
        case "network": return .network(json["message"]?.stringValue ?? "")
        case "timeout": return .timeout
        case "idleTimeout": return .idleTimeout
        case "responseTooLarge": return .responseTooLarge
        case "stopped": return .stopped
        default: return .network("loom-http reported an unknown failure")
        }
    }

    /// Splits the helper's stdout into frames as it arrives.
    public struct FrameReader {
        private var buffer: [UInt8] = []

        public init() {}

        public enum Problem: Error, Equatable { case malformed(String) }

        /// The frames completed by `bytes`, in order.
        public mutating func append(_ bytes: ArraySlice<UInt8>) throws(Problem) -> [Frame] {
            buffer += bytes
            var frames: [Frame] = []
            var offset = 0
            while buffer.count - offset >= 5 {
                let type = buffer[offset]
                let length = LengthPrefix.read(buffer, at: offset + 1)
                let limit = type == 0x42 ? chunkMaxBytes : headerMaxBytes
                guard length <= limit else { throw .malformed("a frame of \(length) bytes") }
                guard buffer.count - offset - 5 >= length else { break }
                let payload = Array(buffer[(offset + 5)..<(offset + 5 + length)])
                offset += 5 + length
                switch type {
                case 0x42:
                    frames.append(.body(payload))
                case 0x48:
                    guard let head = try? JSONValue.parse(String(decoding: payload, as: UTF8.self)),
                        let status = head["status"]?.intValue
                    else {
                        throw .malformed("a response head that is not JSON")
                    }
                    var headers: [String: String] = [:]
                    for (name, value) in head["headers"]?.objectValue ?? [:] { headers[name] = value.stringValue ?? "" }
                    frames.append(.head(status: Int(status), headers: headers))
                case 0x45:
                    guard let end = try? JSONValue.parse(String(decoding: payload, as: UTF8.self)) else {
                        throw .malformed("an end frame that is not JSON")
                    }
                    frames.append(.end(end["failure"].flatMap { $0.isNull ? nil : HTTPHelperWire.failure($0) }))
                default:
                    throw .malformed("a frame of type \(type)")
                }
            }
            buffer.removeFirst(offset)
            return frames
        }
    }
}
