#if canImport(Glibc)
import Glibc
#endif
import Foundation

// loom-telegram: the Telegram bot (`loomctl bot telegram`).
signal(SIGPIPE, SIG_IGN)
let options: BotOptions
do {
    options = try BotOptions.parse(Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
} catch {
    FileHandle.standardError.write(Data(((error.description.isEmpty ? "" : "loom-telegram: \(error.description)\n") + BotOptions.usage + "\n").utf8))
    exit(error.description.isEmpty ? 0 : 2)
}
do {
    let bot = try TelegramBot(options: options)
    bot.log("serving \(options.allowedUsers.count) user id(s) through \(options.apiBase); loomd at \(options.socketPath)")
    bot.run()
} catch {
    FileHandle.standardError.write(Data("loom-telegram: \(error)\n".utf8))
    exit(1)
}
