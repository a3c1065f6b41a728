import ArgumentParser
import Foundation
import LoomEngine
import LoomHost

/// `--bundles DIR`, for the commands that work on a project's file without the daemon and
/// need the bundles it ran (verify, export, replay --since).
struct BundleOption: ParsableArguments {
    @Option(name: .customLong("bundles"), help: "A directory of bundles, or one bundle (default: $LOOM_BUNDLES).")
    var directory: String?

    var resolved: String? { directory ?? ProcessInfo.processInfo.environment["LOOM_BUNDLES"] }

    /// The bundles under `resolved` (one bundle, or a directory of them); none without one.
    func load() throws -> [LoomBundle] {
        guard let directory = resolved else { return [] }
        return try Self.load(directory)
    }

    static func load(_ directory: String) throws -> [LoomBundle] {
        try BundleCatalog.load([directory])
    }
}

/// Operator rule files for replay: one SQL query each, named after the file.
enum RuleFiles {
    /// The largest rule file read.
    static let fileMaxBytes = 64 << 10

    static func load(_ paths: [String]) throws -> [SQLRule] {
        try paths.map { path in
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CLIError("cannot read \(path)", status: 1)
            }
            guard data.count <= fileMaxBytes, var sql = String(data: data, encoding: .utf8) else {
                throw CLIError("\(path) is not a UTF-8 SQL file of at most \(fileMaxBytes) bytes", status: 2)
            }
            // One statement: a trailing semicolon (as an editor or sqlite3 habit leaves it) is dropped.
            sql = sql.trimmingCharacters(in: .whitespacesAndNewlines)
            while sql.hasSuffix(";") { sql = String(sql.dropLast()).trimmingCharacters(in: .whitespacesAndNewlines) }
            let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            return SQLRule(name: name, sql: sql, message: "rule from \(path)", file: path)
        }
    }
}

/// Whether `argument` names a proof file rather than a task: an existing regular file.
func isProofFile(_ argument: String) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) && !isDirectory.boolValue
}

/// Reads a file with a size limit checked before reading.
func readBounded(_ path: String, maxBytes: Int) throws -> [UInt8] {
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
        throw CLIError("cannot read \(path)", status: 1)
    }
    if let size = attributes[.size] as? Int, size > maxBytes {
        throw CLIError("\(path) is \(size) bytes; the limit is \(maxBytes)", status: 1)
    }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CLIError("cannot read \(path)", status: 1)
    }
    return Array(data)
}
