import Foundation
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

// loom-telegram: the Telegram bot (`loomctl bot telegram`).
signal(SIGPIPE, SIG_IGN)
let options: BotOptions
do {
    options = try BotOptions.parse(
        Array(CommandLine.arguments.dropFirst()),
        environment: ProcessInfo.processInfo.environment
    )
} catch {
    StandardError.write(
        ((error.description.isEmpty ? "" : "loom-telegram: \(error.description)\n") + BotOptions.usage + "\n")
    )
    exit(error.description.isEmpty ? 0 : 2)
}
do {
    let bot = try TelegramBot(options: options)
    bot.log(
        "serving \(options.allowedUsers.count) user id(s) through \(options.apiBase); loomd at \(options.socketPath)"
    )
    bot.run()
} catch {
    StandardError.write("loom-telegram: \(error)\n")
    exit(1)
}
