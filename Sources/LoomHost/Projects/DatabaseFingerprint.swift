#if canImport(Glibc)
import Glibc
#endif

/// What the file system says about a project's database and its WAL while loomd has them
/// closed (a hibernating project), so a write made meanwhile by anyone else shows when
/// loomd opens them again. While the connection is open, `PRAGMA data_version` does this
/// job (`StoreOptions.soleWriter`); a closed connection has no data version to compare.
///
/// Inode, size, and modification and change times to the nanosecond: a writer changes at
/// least the change time, which no one can set back. Readers (verify, the dashboard) open
/// the file read-only and change none of it; an empty WAL counts as none, since a reader
/// may leave an empty one behind.
package struct DatabaseFingerprint: Equatable {
    package struct FileState: Equatable {
        let inode: UInt64
        let size: Int64
        let modifiedNs: Int64
        let changedNs: Int64
    }

    package let database: FileState?
    package let wal: FileState?

    package init(databasePath: String) {
        database = Self.state(of: databasePath)
        let wal = Self.state(of: databasePath + "-wal")
        self.wal = wal?.size == 0 ? nil : wal
    }

    package static func state(of path: String) -> FileState? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return FileState(
            inode: UInt64(status.st_ino),
            size: Int64(status.st_size),
            modifiedNs: Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec),
            changedNs: Int64(status.st_ctim.tv_sec) * 1_000_000_000 + Int64(status.st_ctim.tv_nsec)
        )
    }
}
