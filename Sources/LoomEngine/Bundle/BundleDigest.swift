import LoomValues

/// The bundle digest: lowercase hex SHA-256 over every file, sorted by
/// relative path in byte order, each contributing
/// `path 0x00 byte-count-in-decimal 0x00 bytes`.
///
/// The length prefix makes the encoding unambiguous (no two different file
/// sets produce the same byte stream), and byte-order sorting keeps it
/// independent of locale and of Unicode normalization.
/// Public so a proof verifier can recompute it from the files a proof carries.
public enum BundleDigest {
    public static func compute(files: [String: String]) -> String {
        var hasher = SHA256()
        for path in files.keys.sorted(by: BundleNames.utf8Less) {
            let contents = Array(files[path]!.utf8)
            hasher.update(Array(path.utf8))
            hasher.update([0])
            hasher.update(Array(String(contents.count).utf8))
            hasher.update([0])
            hasher.update(contents)
        }
        return hasher.finalize().hexString
    }
}
