import Foundation
import LoomConfiguration
import LoomIPC
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

/// loom-telegram's configuration: flags, then the environment (`LOOM_TG_TOKEN`,
/// `LOOM_TG_ALLOWED_USERS`, `LOOM_SOCKET`), then loomd's secrets store for the token
/// (`TELEGRAM_BOT_TOKEN`, set with `loomctl secrets set`). Parsed by hand: a dozen flags do
/// not need a package.
struct BotOptions: Sendable {
    var socketPath: String
    /// The Bot API's base URL; a test points it at a double on loopback.
    var apiBase = "https://api.telegram.org"
    var token = ""
    /// Default-deny: only these Telegram user ids are served.
    var allowedUsers: Set<Int64> = []
    /// Where the getUpdates offset and what was pushed are kept (written atomically, mode 0600).
    var statePath: String
    /// The project free text is submitted to; nil when loomd supervises exactly one.
    var project: String?
    /// A chat told about every task of the project(s) (its gates, with buttons, and its end),
    /// not only those submitted from Telegram.
    var notifyChat: Int64?
    /// The dashboard's address (`loomctl web`'s base URL): a gate message links to the task's page.
    var dashboardURL: String?
    var bundle: String?
    var flow: String?
    var policy: String?
    /// getUpdates long-poll timeout (Telegram's own limit is 50 s).
    var pollTimeoutSeconds = 25
    /// How often tracked tasks are checked for gates and completion.
    var watchIntervalMs = 1_000
    /// Backoff after a failed Bot API or loomd call: base × 2ⁿ, capped.
    var backoffBaseMs = 250
    var backoffMaxMs = 30_000
    /// A message is tried this many times before it is given up (and logged).
    var sendAttemptsMax = 12

    static let usage = """
        usage: loom-telegram [--socket PATH] [--api-base URL] [--token-file FILE] [--state-dir DIR] [--allow ID,ID…]
                             [--state FILE] [--project DIR] [--notify CHAT_ID] [--bundle NAME] [--flow NAME] [--policy PRESET]
                             [--poll-timeout SECONDS] [--watch-interval-ms MS] [--backoff-max-ms MS] [--dashboard URL]
        The Telegram bot for loomd: long polling, outbound only. The token comes from
        $LOOM_TG_TOKEN, --token-file (a file only its owner can read, mode 0600), or the
        secret TELEGRAM_BOT_TOKEN in loomd's state directory (loomctl secrets set); the
        allowlist from --allow or $LOOM_TG_ALLOWED_USERS. See docs/telegram.md.
        """

    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    static func parse(_ arguments: [String], environment: [String: String]) throws(UsageError) -> BotOptions {
        let stateHome = environment["XDG_STATE_HOME"] ?? "\(environment["HOME"] ?? "/tmp")/.local/state"
        var options = BotOptions(
            socketPath: DefaultSocketPath.resolve(environment, forClient: true),
            statePath: "\(stateHome)/loom/telegram-state.json"
        )
        var tokenFile: String?
        var stateDirectory =
            environment["STATE_DIRECTORY"]?.split(separator: ":").first.map(String.init)
            ?? "\(environment["HOME"] ?? "/tmp")/.local/state/loom"
        var allow = environment["LOOM_TG_ALLOWED_USERS"]
        var index = 0
        func value(_ name: String) throws(UsageError) -> String {
            index += 1
            guard index < arguments.count else { throw UsageError(description: "\(name) needs a value") }
            return arguments[index]
        }
        func number(_ name: String, _ range: ClosedRange<Int>) throws(UsageError) -> Int {
            guard let parsed = Int(try value(name)), range.contains(parsed) else {
                throw UsageError(description: "\(name) must be \(range.lowerBound) to \(range.upperBound)")
            }
            return parsed
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--socket": options.socketPath = try value("--socket")
            case "--api-base": options.apiBase = try value("--api-base")
            case "--dashboard":
                let url = try value("--dashboard")
                guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                    throw UsageError(description: "--dashboard takes the dashboard's http(s) URL")
                }
                options.dashboardURL = url.hasSuffix("/") ? String(url.dropLast()) : url
            case "--token-file": tokenFile = try value("--token-file")
            case "--state-dir": stateDirectory = try value("--state-dir")
            case "--allow": allow = try value("--allow")
            case "--state": options.statePath = try value("--state")
            case "--project", "-C":
                options.project =
                    URL(fileURLWithPath: try value("--project")).standardizedFileURL.resolvingSymlinksInPath().path
            case "--notify":
                guard let chat = Int64(try value("--notify")) else {
                    throw UsageError(description: "--notify takes a Telegram chat id (a number)")
                }
                options.notifyChat = chat
            case "--bundle": options.bundle = try value("--bundle")
            case "--flow": options.flow = try value("--flow")
            case "--policy": options.policy = try value("--policy")
            case "--poll-timeout": options.pollTimeoutSeconds = try number("--poll-timeout", 0...50)
            case "--watch-interval-ms": options.watchIntervalMs = try number("--watch-interval-ms", 50...600_000)
            case "--backoff-max-ms": options.backoffMaxMs = try number("--backoff-max-ms", 10...3_600_000)
            case "--help", "-h", "--help-bot": throw UsageError(description: "")
            case let other: throw UsageError(description: "unknown argument '\(other)'")
            }
            index += 1
        }
        while options.apiBase.hasSuffix("/") { options.apiBase.removeLast() }
        guard options.apiBase.hasPrefix("https://") || options.apiBase.hasPrefix("http://") else {
            throw UsageError(description: "--api-base must be an http(s) URL")
        }
        if let tokenFile {
            options.token = try readToken(tokenFile)
        } else if let token = environment["LOOM_TG_TOKEN"] {
            options.token = token
        } else {
            do {
                options.token =
                    try SecretsLookup.load(stateDirectory: stateDirectory, environment: [:]).value(Self.tokenSecret)
                    ?? ""
            } catch {
                throw UsageError(description: "\(error)")
            }
        }
        guard !options.token.isEmpty, options.token.utf8.count <= 256, !options.token.contains("/") else {
            throw UsageError(
                description:
                    "no bot token: set LOOM_TG_TOKEN, pass --token-file FILE (mode 0600), or store it: loomctl secrets set \(Self.tokenSecret)"
            )
        }
        for part in (allow ?? "").split(whereSeparator: { $0 == "," || $0 == " " }) {
            guard let id = Int64(part) else {
                throw UsageError(description: "the allowlist holds Telegram user ids (numbers), not '\(part)'")
            }
            options.allowedUsers.insert(id)
        }
        if options.allowedUsers.isEmpty {
            StandardError.write(
                "loom-telegram: the allowlist is empty: every sender will be refused (set LOOM_TG_ALLOWED_USERS or --allow)\n"
            )
        }
        return options
    }

    /// The token's name in loomd's secrets store.
    static let tokenSecret = "TELEGRAM_BOT_TOKEN"

    /// The token file must be readable by its owner only: a token is a password.
    static func readToken(_ path: String) throws(UsageError) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { throw UsageError(description: "cannot read the token file \(path)") }
        guard info.st_mode & 0o077 == 0 else {
            throw UsageError(
                description:
                    "the token file \(path) is readable by others (mode \(String(info.st_mode & 0o777, radix: 8))); chmod 600 it"
            )
        }
        guard let data = FileManager.default.contents(atPath: path), data.count <= 1_024 else {
            throw UsageError(description: "cannot read the token file \(path)")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
