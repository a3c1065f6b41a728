#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under /tmp with a short name (sun_path is only 108 bytes),
/// removed with everything in it on deinit.
final class IPCTempDir {
    let path: String

    init() {
        var template = Array("/tmp/loomipc-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed: errno \(errno)")
        path = String(cString: made!)
    }

    func file(_ name: String) -> String { path + "/" + name }

    deinit { Self.remove(path, depth: 0) }

    /// Test directories are a few levels deep at most; the bound stops a runaway.
    private static let maxDepth = 8

    private static func remove(_ path: String, depth: Int) {
        var st = stat()
        guard depth <= maxDepth, lstat(path, &st) == 0 else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            if let dir = opendir(path) {
                var names: [String] = []
                while let entry = readdir(dir) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                    }
                    if name != "." && name != ".." { names.append(name) }
                }
                closedir(dir)
                for name in names { remove(path + "/" + name, depth: depth + 1) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
