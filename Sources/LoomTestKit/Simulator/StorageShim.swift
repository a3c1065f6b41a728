import CFaultVFS

/// The simulator's handle on its SQLite VFS shim (`CFaultVFS`): registered under a name of
/// its own for one simulation, it fails reads, writes and syncs at the given rates, and at a
/// power cut drops the writes no sync covered, whole or torn. Unregistered on deinit.
public final class StorageShim {
    public let name: String
    private let vfs: OpaquePointer

    /// What the shim injected so far.
    public struct Counts: Sendable {
        public var ioErrors = 0, diskFull = 0, shortWrites = 0, powerCuts = 0, tornWrites = 0, droppedWrites = 0
    }

    /// nil when SQLite refused the registration.
    public init?(name: String, seed: UInt64) {
        guard let vfs = faultvfs_create(name, seed) else { return nil }
        self.name = name
        self.vfs = vfs
    }

    deinit { faultvfs_destroy(vfs) }

    public func set(_ rates: StorageFaultRates) {
        faultvfs_set_rates(
            vfs,
            faultvfs_rates(
                io_error_rate: rates.ioErrorRate,
                disk_full_rate: rates.diskFullRate,
                short_write_rate: rates.shortWriteRate
            )
        )
    }

    /// Power is lost: unsynced writes go, and all I/O fails until `revive()`.
    public func powerCut(torn: Bool) { faultvfs_power_cut(vfs, torn ? 1 : 0) }

    /// The process dies: nothing is undone, but the dead process's connections write nothing more.
    public func crash() { faultvfs_crash(vfs) }

    public func revive() { faultvfs_revive(vfs) }

    public enum Operation { case read, write, sync }
    public enum Failure { case ioError, diskFull }

    /// The `nth` operation of that kind from now on (1: the next) fails, once: the fault a
    /// test aims at one point (the third WAL frame of a commit, say).
    public func fail(_ operation: Operation, nth: Int, with failure: Failure) {
        let op: faultvfs_operation =
            switch operation {
            case .read: FAULTVFS_READ
            case .write: FAULTVFS_WRITE
            case .sync: FAULTVFS_SYNC
            }
        faultvfs_fail_nth(vfs, op, Int32(nth), failure == .diskFull ? FAULTVFS_ENOSPC : FAULTVFS_EIO)
    }

    public var counts: Counts {
        let raw = faultvfs_get_counts(vfs)
        return Counts(
            ioErrors: Int(raw.io_errors),
            diskFull: Int(raw.disk_full),
            shortWrites: Int(raw.short_writes),
            powerCuts: Int(raw.power_cuts),
            tornWrites: Int(raw.torn_writes),
            droppedWrites: Int(raw.dropped_writes)
        )
    }
}
