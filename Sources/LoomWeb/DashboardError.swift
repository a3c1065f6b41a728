import LoomIPC

/// A failure the dashboard turns into an HTTP status and a page, with what it was doing.
public struct DashboardError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case badRequest = "bad_request"
        case unauthorized
        case forbidden
        case notFound = "not_found"
        case conflict
        case tooLarge = "too_large"
        case busy
        case unavailable
        case failed
    }

    public let code: Code
    public let message: String
    /// What the dashboard was doing ("answering t3's gate").
    public let doing: String

    public init(_ code: Code, _ message: String, doing: String = "") {
        self.code = code
        self.message = message
        self.doing = doing
    }

    /// From loomd's answer: its wire code decides the HTTP status.
    public init(_ error: IPCError, doing: String) {
        let code: Code
        switch error.code {
        case .notFound: code = .notFound
        case .forbidden: code = .forbidden
        case .conflict: code = .conflict
        case .invalidParams, .unknownMethod: code = .badRequest
        case .busy: code = .busy
        case .unavailable: code = .unavailable
        default: code = .failed
        }
        self.init(code, "\(error.code.rawValue): \(error.message)", doing: doing)
    }

    public var httpStatus: Int {
        switch code {
        case .badRequest: return 400
        case .unauthorized: return 401
        case .forbidden: return 403
        case .notFound: return 404
        case .conflict: return 409
        case .tooLarge: return 413
        case .busy: return 503
        case .unavailable: return 502
        case .failed: return 500
        }
    }

    public var description: String { doing.isEmpty ? message : "\(doing): \(message)" }
}
