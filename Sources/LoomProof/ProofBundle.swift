import LoomEngine
import LoomValues

/// A bundle as a proof carries it: every file verbatim, so a verifier can recompute the
/// digest the journal recorded and a replay can load the very bundle that ran.
public struct ProofBundle: Sendable {
    public let name: String
    public let version: String
    public let digest: String
    public let files: [String: String]

    public init(name: String, version: String, digest: String, files: [String: String]) {
        self.name = name
        self.version = version
        self.digest = digest
        self.files = files
    }

    public init(_ bundle: LoomBundle) {
        self.init(name: bundle.name, version: bundle.version, digest: bundle.digest, files: bundle.files)
    }

    public var reference: BundleReference { BundleReference(name: name, digest: digest) }

    var json: JSONValue {
        .object([
            "type": "bundle", "name": .string(name), "version": .string(version), "digest": .string(digest),
            "files": .object(files.mapValues { .string($0) }),
        ])
    }
}
