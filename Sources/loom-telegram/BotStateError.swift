/// The state file could not be read or written.
struct BotStateError: Error, CustomStringConvertible {
    let path: String
    let message: String
    var description: String { "the bot's state file \(path): \(message)" }
}
