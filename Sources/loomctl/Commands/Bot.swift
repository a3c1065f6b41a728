import ArgumentParser

/// `loomctl bot telegram`: chat front-ends, each its own executable.
struct Bot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bot",
        abstract: "Run a chat bot that drives loomd.",
        subcommands: [Telegram.self]
    )

    /// `loomctl bot telegram`: runs loom-telegram (docs/telegram.md).
    struct Telegram: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "telegram",
            abstract:
                "Run the Telegram bot: long polling, an allowlist of user ids, gates as buttons (runs loom-telegram).",
            discussion:
                "Needs LOOM_TG_TOKEN (or --token-file) and LOOM_TG_ALLOWED_USERS (or --allow). See docs/telegram.md."
        )

        @Argument(parsing: .captureForPassthrough, help: "Passed to loom-telegram (see: loom-telegram --help).")
        var arguments: [String] = []

        func run() throws {
            FrontEnd.exec("loom-telegram", arguments)
        }
    }
}
