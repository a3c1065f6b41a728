/// A failed Bot API call, in the terms the bot acts on.
struct BotAPIError: Error, CustomStringConvertible {
    enum Kind: Sendable {
        /// Worth retrying: no connection, a dropped one, a timeout, a 5xx, a 429.
        case transient
        /// Retrying cannot help: the API refused the request (4xx but 429).
        case refused
    }

    let kind: Kind
    let method: String
    let message: String
    /// From a 429's `parameters.retry_after`.
    var retryAfterSeconds: Int?

    var description: String { "\(method): \(message)" }
}
