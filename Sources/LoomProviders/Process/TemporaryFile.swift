#if canImport(Glibc)
import Glibc
#endif

/// A file in a private temporary directory, for handing a prompt to a program by path.
struct TemporaryFile {
    let directory: String
    let path: String

    init?(contents: String, environment: [String: String]) {
        var template = Array("\(environment["TMPDIR"] ?? "/tmp")/loom-prompt-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { return nil }
        directory = String(cString: made)
        path = "\(directory)/prompt.md"
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            rmdir(directory)
            return nil
        }
        let bytes = Array(contents.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count else {
            unlink(path)
            rmdir(directory)
            return nil
        }
    }

    func remove() {
        unlink(path)
        rmdir(directory)
    }
}
