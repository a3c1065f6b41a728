import ArgumentParser
import Foundation
import LoomProof

/// `loomctl keys generate -o KEYFILE`: an operator's Ed25519 key for signing proofs.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Operator keys for signing proof files.",
        subcommands: [Generate.self]
    )

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Create an Ed25519 key pair: KEYFILE (private, mode 0600) and KEYFILE.pub. Never overwrites."
        )

        @Option(name: .shortAndLong, help: "The private key file to create (the public key goes to FILE.pub).")
        var output: String

        func run() throws {
            try runReporting {
                let key = OperatorKey.generate()
                try key.write(to: output)
                print(
                    "private key: \(output) (mode 0600; keep it secret)\npublic key:  \(output).pub \(key.publicKey.hex)"
                )
            }
        }
    }
}
