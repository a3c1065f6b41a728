#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads a bundle directory into `[relative path: contents]`, recording a
/// problem for anything it will not read instead of skipping it silently
/// (a file that silently drops out would change the bundle's meaning and
/// its digest without anyone noticing).
///
/// Directory entries are visited in byte order of their names so the walk,
/// and therefore the order of reported problems, is the same everywhere.
struct BundleDirectoryReader {
    let directory: String
    private(set) var problems: [BundleProblem] = []
    private var files: [String: String] = [:]
    private var total = 0
    private var overTotal = false
    private var root = ""
    private let fileManager = FileManager.default

    init(directory: String) {
        self.directory = directory
    }

    mutating func read() -> [String: String] {
        let resolved = URL(fileURLWithPath: directory, isDirectory: true).resolvingSymlinksInPath().path
        guard let attributes = try? fileManager.attributesOfItem(atPath: resolved),
            let type = attributes[.type] as? FileAttributeType
        else {
            problems.append(
                BundleProblem(
                    file: directory,
                    location: "",
                    message: "the bundle directory does not exist or cannot be read"
                )
            )
            return [:]
        }
        guard type == .typeDirectory else {
            problems.append(BundleProblem(file: directory, location: "", message: "the bundle path is not a directory"))
            return [:]
        }
        root = resolved.hasSuffix("/") ? String(resolved.dropLast()) : resolved
        walk(relative: "")
        if overTotal {
            problems.append(
                BundleProblem(
                    file: "(bundle)",
                    location: "",
                    message: "the bundle is larger than \(BundleLoader.maxTotalBytes) bytes"
                )
            )
        }
        return files
    }

    private mutating func walk(relative: String) {
        let absolute = relative.isEmpty ? root : root + "/" + relative
        let names: [String]
        do {
            names = try fileManager.contentsOfDirectory(atPath: absolute)
        } catch {
            problems.append(
                BundleProblem(
                    file: relative.isEmpty ? "." : relative,
                    location: "",
                    message: "cannot list the directory"
                )
            )
            return
        }
        for name in names.sorted(by: BundleNames.utf8Less) {
            if overTotal { return }
            let path = relative.isEmpty ? name : relative + "/" + name
            let full = root + "/" + path
            guard let attributes = try? fileManager.attributesOfItem(atPath: full),
                let type = attributes[.type] as? FileAttributeType
            else {
                problems.append(BundleProblem(file: path, location: "", message: "cannot read the file's attributes"))
                continue
            }
            switch type {
            case .typeDirectory:
                walk(relative: path)
            case .typeRegular:
                readFile(path, at: full, attributes: attributes)
            case .typeSymbolicLink:
                followLink(path, at: full)
            default:
                problems.append(
                    BundleProblem(
                        file: path,
                        location: "",
                        message:
                            "not a regular file (only files, directories and links to files inside the bundle are allowed)"
                    )
                )
            }
        }
    }

    private mutating func followLink(_ path: String, at full: String) {
        let target = URL(fileURLWithPath: full).resolvingSymlinksInPath().path
        // A link may only point inside the bundle: otherwise the bundle's
        // meaning would depend on files its digest does not describe as
        // being part of it, and loading could read arbitrary host files.
        guard target.hasPrefix(root + "/") else {
            problems.append(
                BundleProblem(file: path, location: "", message: "symbolic link points outside the bundle directory")
            )
            return
        }
        guard let attributes = try? fileManager.attributesOfItem(atPath: target),
            let type = attributes[.type] as? FileAttributeType
        else {
            problems.append(BundleProblem(file: path, location: "", message: "symbolic link cannot be resolved"))
            return
        }
        switch type {
        case .typeRegular:
            readFile(path, at: target, attributes: attributes)
        case .typeDirectory:
            // Following directory links invites cycles and double counting.
            problems.append(
                BundleProblem(file: path, location: "", message: "symbolic links to directories are not followed")
            )
        default:
            problems.append(
                BundleProblem(file: path, location: "", message: "symbolic link does not point to a regular file")
            )
        }
    }

    private mutating func readFile(_ path: String, at full: String, attributes: [FileAttributeKey: Any]) {
        // Check the size before reading so an oversized file is never loaded.
        if let size = Self.size(attributes), size > BundleLoader.maxFileBytes {
            problems.append(
                BundleProblem(
                    file: path,
                    location: "",
                    message: "file is \(size) bytes; the limit is \(BundleLoader.maxFileBytes)"
                )
            )
            return
        }
        guard let data = fileManager.contents(atPath: full) else {
            problems.append(BundleProblem(file: path, location: "", message: "cannot read the file"))
            return
        }
        if data.count > BundleLoader.maxFileBytes {
            problems.append(
                BundleProblem(
                    file: path,
                    location: "",
                    message: "file is \(data.count) bytes; the limit is \(BundleLoader.maxFileBytes)"
                )
            )
            return
        }
        total += data.count
        if total > BundleLoader.maxTotalBytes {
            overTotal = true
            return
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            problems.append(BundleProblem(file: path, location: "", message: "file is not valid UTF-8 text"))
            return
        }
        if files[path] != nil {
            // Two names that Swift strings consider equal (Unicode canonical
            // equivalence) would silently overwrite each other.
            problems.append(
                BundleProblem(
                    file: path,
                    location: "",
                    message: "another file has a name that differs only in Unicode normalization"
                )
            )
            return
        }
        files[path] = text
    }

    private static func size(_ attributes: [FileAttributeKey: Any]) -> Int? {
        switch attributes[.size] {
        case let value as Int: return value
        case let value as UInt: return Int(exactly: value)
        case let value as UInt64: return Int(exactly: value)
        case let value as Int64: return Int(exactly: value)
        default: return nil
        }
    }
}
