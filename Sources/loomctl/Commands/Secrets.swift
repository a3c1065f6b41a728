import ArgumentParser
import Foundation
import LoomConfiguration
import LoomEngine
import LoomProviders
import LoomSystem
import LoomValues

#if canImport(Glibc)
import Glibc
#endif

/// `loomctl secrets set|list|remove`: API keys in `secrets.json` (mode 0600) in loomd's
/// state directory. A value is read from stdin, never from the command line, where `ps`
/// and shell history would keep it; it is never printed back.
struct Secrets: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets",
        abstract: "Store API keys for providers (values never printed).",
        subcommands: [Set.self, List.self, Remove.self],
        defaultSubcommand: List.self
    )

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Store a secret; its value is read from stdin (typed without echo on a terminal).",
            discussion: "Example: printf %s \"$KEY\" | loomctl secrets set OPENROUTER_API_KEY"
        )
        @OptionGroup var state: StateDirectoryOption
        @Argument(help: "The secret's name, as providers refer to it (OPENROUTER_API_KEY).")
        var name: String

        func validate() throws {
            guard SecretsFile.isValidName(name) else {
                throw ValidationError(
                    "'\(name)' is not a valid secret name: use A-Z, 0-9 and _, starting with a letter or _"
                )
            }
        }

        func run() throws {
            try runReporting {
                let value = try readSecretValue(prompt: "value for \(name): ")
                do throws(ProviderConfigurationError) {
                    try ConfigurationFile.makeDirectories(state.path)
                    try SecretsFile(stateDirectory: state.path).set(name, value: value)
                } catch {
                    throw CLIError(error.message, status: error.code == .invalidValue ? 2 : 1)
                }
                print("\(name): stored in \(state.path)/\(SecretsFile.fileName)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the names of the stored secrets (never their values)."
        )
        @OptionGroup var state: StateDirectoryOption
        @Flag(name: .long, help: "Print the names as a JSON array.")
        var json = false

        func run() throws {
            try runReporting {
                let names: [String]
                do throws(ProviderConfigurationError) {
                    names = try SecretsFile(stateDirectory: state.path).load().keys.sorted()
                } catch { throw CLIError(error.message, status: 1) }
                if json {
                    print(JSONValue.array(names.map { .string($0) }).canonicalText)
                } else {
                    print(names.isEmpty ? "no secrets stored" : names.joined(separator: "\n"))
                }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a stored secret.")
        @OptionGroup var state: StateDirectoryOption
        @Argument(help: "The secret's name.")
        var name: String

        func run() throws {
            try runReporting {
                let removed: Bool
                do throws(ProviderConfigurationError) {
                    removed = try SecretsFile(stateDirectory: state.path).remove(name)
                } catch { throw CLIError(error.message, status: 1) }
                guard removed else { throw CLIError("no secret named \(name)", status: 3) }
                print("\(name): removed")
            }
        }
    }
}

/// The value from stdin: a line typed without echo on a terminal, else everything piped
/// (one trailing newline dropped), bounded.
func readSecretValue(prompt: String) throws -> String {
    let limit = SecretsFile.valueLengthMaxBytes + 2
    if isatty(0) == 1 {
        StandardError.write(prompt)
        var saved = termios()
        tcgetattr(0, &saved)
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(0, TCSANOW, &silent)
        defer {
            tcsetattr(0, TCSANOW, &saved)
            StandardError.write("\n")
        }
        return readLine(strippingNewline: true) ?? ""
    }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4_096)
    while bytes.count <= limit {
        let count = read(0, &buffer, buffer.count)
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { break }
        bytes += buffer[0..<count]
    }
    guard bytes.count <= limit else {
        throw CLIError("the value on stdin is longer than \(SecretsFile.valueLengthMaxBytes) bytes", status: 2)
    }
    if bytes.last == 10 { bytes.removeLast() }
    if bytes.last == 13 { bytes.removeLast() }
    return String(decoding: bytes, as: UTF8.self)
}
