import LoomEngine
import LoomValues

extension ProofFile {
    /// Reads a proof file's bytes, checking its form only: every line the canonical JSON of
    /// an object of the expected type with exactly the expected fields, in the documented
    /// order. Whether the content holds (hashes, digests, signature) is `ProofVerifier`'s.
    ///
    /// Refusing anything but the canonical spelling means every byte of the file is
    /// meaningful: a change anywhere either breaks the form here or changes a value that a
    /// later check recomputes.
    public static func decode(_ bytes: [UInt8], limits: ProofLimits = ProofLimits()) throws(ProofError) -> ProofFile {
        guard bytes.count <= limits.fileMaxBytes else {
            throw ProofError(.tooLarge, "the file is \(bytes.count) bytes; the limit is \(limits.fileMaxBytes)", at: "")
        }
        guard bytes.last == 0x0A else {
            throw ProofError(.malformed, "a proof file ends with a newline", at: "end of file")
        }
        var reader = LineReader(bytes: bytes, limits: limits)

        let headerFields: Set<String> = ["type", "format", "version", "task", "entries", "head", "missing_bundles"]
        let fileVersion = reader.peekHeaderVersion()
        let header = try reader.next(
            type: "header",
            fields: fileVersion == versionWithCheckpoints ? headerFields.union(["checkpoints"]) : headerFields
        )
        guard header.value["format"]?.stringValue == format else {
            throw ProofError(
                .malformed,
                "not a loom proof file (format \(header.value["format"]?.canonicalText ?? "missing"))",
                at: header.location
            )
        }
        guard let fileVersion, fileVersion == version || fileVersion == versionWithCheckpoints else {
            throw ProofError(
                .malformed,
                "proof format version \(header.value["version"]?.canonicalText ?? "?") is not one this loom reads (\(version), \(versionWithCheckpoints))",
                at: header.location
            )
        }
        let checkpointCount = fileVersion == versionWithCheckpoints ? try header.int("checkpoints") : 0
        guard fileVersion == version || (1...Int64(limits.entriesMax)).contains(checkpointCount) else {
            throw ProofError(
                .malformed,
                "a version \(versionWithCheckpoints) proof carries 1 to \(limits.entriesMax) checkpoints",
                at: header.location
            )
        }
        let task = try header.string("task")
        guard let count = header.value["entries"]?.intValue, count >= 1, count <= limits.entriesMax else {
            throw ProofError(.malformed, "entries must be 1 to \(limits.entriesMax)", at: header.location)
        }
        let head = try header.hash("head")
        var missing: [BundleReference] = []
        for item in header.value["missing_bundles"]?.arrayValue ?? [] {
            guard item.objectValue?.count == 2, let name = item["name"]?.stringValue,
                let digest = item["digest"]?.stringValue
            else {
                throw ProofError(.malformed, "missing_bundles holds {name, digest} objects", at: header.location)
            }
            missing.append(BundleReference(name: name, digest: digest))
        }
        guard header.value["missing_bundles"]?.arrayValue != nil else {
            throw ProofError(.malformed, "missing_bundles must be an array", at: header.location)
        }

        var entries: [JournalEntry] = []
        entries.reserveCapacity(Int(count))
        for _ in 0..<count {
            let line = try reader.next(
                type: "entry",
                fields: ["type", "seq", "tick", "time", "task", "kind", "actor", "payload", "prev", "hash"]
            )
            guard let kind = JournalKind(rawValue: try line.string("kind")) else {
                throw ProofError(
                    .malformed,
                    "unknown entry kind \(line.value["kind"]?.canonicalText ?? "")",
                    at: line.location
                )
            }
            guard let actor = line.value["actor"], actor.objectValue != nil, let payload = line.value["payload"] else {
                throw ProofError(.malformed, "an entry's actor is an object", at: line.location)
            }
            entries.append(
                JournalEntry(
                    seq: try line.int("seq"),
                    tick: try line.int("tick"),
                    timeMs: try line.int("time"),
                    taskID: try line.string("task"),
                    kind: kind,
                    actor: actor,
                    payload: payload,
                    previousHash: try line.hash("prev"),
                    hash: try line.hash("hash")
                )
            )
        }

        var bundles: [ProofBundle] = []
        while let type = reader.peekType(), type == "bundle" {
            guard bundles.count < limits.bundlesMax else {
                throw ProofError(.tooLarge, "more than \(limits.bundlesMax) bundles", at: reader.location)
            }
            let line = try reader.next(type: "bundle", fields: ["type", "name", "version", "digest", "files"])
            guard let object = line.value["files"]?.objectValue else {
                throw ProofError(.malformed, "files must be an object", at: line.location)
            }
            var files: [String: String] = [:]
            for (path, contents) in object {
                guard let text = contents.stringValue else {
                    throw ProofError(.malformed, "file \(path) must be a string", at: line.location)
                }
                files[path] = text
            }
            let bundle = ProofBundle(
                name: try line.string("name"),
                version: try line.string("version"),
                digest: try line.string("digest"),
                files: files
            )
            if let previous = bundles.last, !(previous.reference < bundle.reference) {
                throw ProofError(.malformed, "bundles must be sorted by name and digest, each once", at: line.location)
            }
            bundles.append(bundle)
        }

        let providersLine = try reader.next(type: "providers", fields: ["type", "providers"])
        var providers: [ProviderIdentity] = []
        for item in providersLine.value["providers"]?.arrayValue ?? [] {
            guard item.objectValue?.count == 4, let provider = item["provider"]?.stringValue,
                let model = item["model"]?.stringValue,
                let results = item["results"]?.intValue,
                let units = item["units"]?.arrayValue?.compactMap(\.stringValue)
            else {
                throw ProofError(
                    .malformed,
                    "providers holds {provider, model, results, units} objects",
                    at: providersLine.location
                )
            }
            providers.append(ProviderIdentity(provider: provider, model: model, results: Int(results), units: units))
        }

        var checkpoints: [ChainCheckpoint] = []
        for _ in 0..<checkpointCount {
            let line = try reader.next(type: "checkpoint", fields: ["type", "seq", "head", "public_key", "signature"])
            guard let key = line.value["public_key"]?.stringValue.flatMap(Hex.decode), key.count == 32,
                let bytes = line.value["signature"]?.stringValue.flatMap(Hex.decode), bytes.count == 64
            else {
                throw ProofError(
                    .malformed,
                    "a checkpoint needs a 32-byte public_key and a 64-byte signature in lowercase hex",
                    at: line.location
                )
            }
            let checkpoint = ChainCheckpoint(
                seq: try line.int("seq"),
                head: try line.hash("head"),
                publicKey: key,
                signature: bytes
            )
            if let previous = checkpoints.last, previous.seq >= checkpoint.seq {
                throw ProofError(.malformed, "checkpoints must be in increasing entry order", at: line.location)
            }
            checkpoints.append(checkpoint)
        }

        var signature: ProofSignature?
        if !reader.atEnd {
            let line = try reader.next(type: "signature", fields: ["type", "algorithm", "public_key", "signature"])
            guard line.value["algorithm"]?.stringValue == ProofSignature.algorithm else {
                throw ProofError(
                    .badSignature,
                    "unknown signature algorithm \(line.value["algorithm"]?.canonicalText ?? "")",
                    at: line.location
                )
            }
            guard let key = line.value["public_key"]?.stringValue.flatMap(Hex.decode), key.count == 32,
                let bytes = line.value["signature"]?.stringValue.flatMap(Hex.decode), bytes.count == 64
            else {
                throw ProofError(
                    .badSignature,
                    "the signature line needs a 32-byte public_key and a 64-byte signature in lowercase hex",
                    at: line.location
                )
            }
            signature = ProofSignature(publicKey: key, signature: bytes)
        }
        guard reader.atEnd else {
            throw ProofError(.malformed, "unexpected content after the last section", at: reader.location)
        }

        let proof = ProofFile(
            task: task,
            entries: entries,
            bundles: bundles,
            missingBundles: missing,
            providers: providers,
            checkpoints: checkpoints,
            signature: signature
        )
        guard proof.head == head else {
            throw ProofError(
                .chainBroken,
                "the header's head \(head.hexString) is not the hash of the last entry (\(proof.head.hexString))",
                at: header.location
            )
        }
        return proof
    }
}

/// Splits a proof into lines and parses each, insisting on canonical form.
struct LineReader {
    let bytes: [UInt8]
    let limits: ProofLimits
    private var offset = 0
    private(set) var lineNumber = 0

    init(bytes: [UInt8], limits: ProofLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    var atEnd: Bool { offset >= bytes.count }
    var location: String { "line \(lineNumber + 1)" }

    struct Line {
        let value: JSONValue
        let location: String

        func string(_ key: String) throws(ProofError) -> String {
            guard let text = value[key]?.stringValue else {
                throw ProofError(.malformed, "\(key) must be a string", at: location)
            }
            return text
        }

        func int(_ key: String) throws(ProofError) -> Int64 {
            guard let number = value[key]?.intValue else {
                throw ProofError(.malformed, "\(key) must be an integer", at: location)
            }
            return number
        }

        func hash(_ key: String) throws(ProofError) -> [UInt8] {
            guard let bytes = value[key]?.stringValue.flatMap(Hex.decode), bytes.count == 32 else {
                throw ProofError(.malformed, "\(key) must be 64 lowercase hex digits", at: location)
            }
            return bytes
        }
    }

    /// The header's `version`, read ahead of checking its fields (which depend on it); nil
    /// when unreadable (`next` then reports the problem).
    func peekHeaderVersion() -> Int64? {
        guard let end = lineEnd() else { return nil }
        return try? JSONValue.parse(
            bytes: Array(bytes[offset..<end]),
            limits: JSONLimits(maxBytes: limits.lineMaxBytes, maxDepth: limits.jsonDepthMax)
        )["version"]?.intValue
    }

    /// The type of the next line without consuming it (nil at the end or if unreadable;
    /// `next` then reports the problem).
    func peekType() -> String? {
        guard let end = lineEnd() else { return nil }
        // Canonical objects start with their smallest key; "type" is not always first, so parse.
        return try? JSONValue.parse(
            bytes: Array(bytes[offset..<end]),
            limits: JSONLimits(maxBytes: limits.lineMaxBytes, maxDepth: limits.jsonDepthMax)
        )["type"]?.stringValue
    }

    private func lineEnd() -> Int? {
        guard offset < bytes.count else { return nil }
        return bytes[offset...].firstIndex(of: 0x0A)
    }

    mutating func next(type: String, fields: Set<String>) throws(ProofError) -> Line {
        let location = self.location
        guard let end = lineEnd() else {
            throw ProofError(.malformed, "the file ends where a \(type) line was expected", at: location)
        }
        let raw = Array(bytes[offset..<end])
        guard raw.count <= limits.lineMaxBytes else {
            throw ProofError(
                .tooLarge,
                "the line is \(raw.count) bytes; the limit is \(limits.lineMaxBytes)",
                at: location
            )
        }
        let value: JSONValue
        do {
            value = try JSONValue.parse(
                bytes: raw,
                limits: JSONLimits(maxBytes: limits.lineMaxBytes, maxDepth: limits.jsonDepthMax)
            )
        } catch {
            throw ProofError(.malformed, "not JSON: \(error)", at: location)
        }
        guard value.canonicalBytes() == raw else {
            throw ProofError(.malformed, "the line is not in canonical form (docs/canonical-json.md)", at: location)
        }
        guard let object = value.objectValue, object["type"]?.stringValue == type else {
            throw ProofError(
                .malformed,
                "expected a \(type) line, found \(value["type"]?.canonicalText ?? "no type")",
                at: location
            )
        }
        guard Set(object.keys) == fields else {
            let extra = Set(object.keys).subtracting(fields).sorted(), absent = fields.subtracting(object.keys).sorted()
            throw ProofError(
                .malformed,
                "a \(type) line has exactly the fields \(fields.sorted().joined(separator: ", "))"
                    + (extra.isEmpty ? "" : "; unexpected: \(extra.joined(separator: ", "))")
                    + (absent.isEmpty ? "" : "; missing: \(absent.joined(separator: ", "))"),
                at: location
            )
        }
        offset = end + 1
        lineNumber += 1
        let described =
            type == "entry" ? "\(location) (entry \(object["seq"]?.intValue.map(String.init) ?? "?"))" : location
        return Line(value: value, location: described)
    }
}
